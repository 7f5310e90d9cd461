"""Sweeps: grids of exact / simulate / worst-case jobs run on a process pool or a Ray cluster.

``spec`` reads and expands a JSON or TOML grid, ``jobs`` computes one job (numerics and gpu_sim),
``runner`` executes the jobs (a job that fails is reported with its parameters and the sweep goes
on) and stores the results in the figure cache with a provenance record. `trm sweep SPEC` is the
command line. Nothing here prints.
"""
