"""Batched torch simulation of long sequences (any device; CUDA when present).

``device`` resolves devices and dtypes; ``stats`` holds float64 estimators with standard errors;
``criteria`` parses and evaluates masking criteria (exact and sample-based); ``finite_state`` and
``neural`` are the two policy families; ``simulate`` runs a simulation in bounded-memory chunks
and collects every estimate; ``baseline`` is the straightforward per-step loop the benchmark
compares against. Nothing here prints; the command line reports.
"""
