"""Batched torch simulation of long sequences (any device; CUDA when present).

``device`` resolves devices and dtypes; ``stats`` holds float64 estimators with standard errors;
``criteria`` parses and evaluates masking criteria (exact and sample-based); ``finite_state`` and
``neural`` are the two policy families (``fused`` is the finite-state step compiled with numba, used
on CPU when installed); ``simulate`` runs a simulation in bounded-memory chunks and collects every
estimate; ``baseline`` is the straightforward per-step loop the benchmark compares against, and
``bench`` times them all. Nothing here prints; the command line reports.
"""
