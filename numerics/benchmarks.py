"""Timing of the exact dynamic programme (run by `trm bench exact`; not a timed test)."""
from __future__ import annotations

import time

import numpy as np

from numerics.exact import exact_quantities
from numerics.generators import random_automaton


def bench_exact(states: int = 64, vocab: int = 64, lengths=(4096, 65536), repeats: int = 3, seed: int = 0) -> list[dict]:
    """Best-of-``repeats`` wall time of exact_quantities for a random time-homogeneous automaton."""
    records = []
    for T in lengths:
        pair = random_automaton(np.random.default_rng(seed), states=states, vocab=vocab, T=T, prompts=1)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            exact_quantities(pair, tv_seq_budget=0)
            times.append(time.perf_counter() - start)
        best = min(times)
        records.append({"S": states, "V": vocab, "T": T, "seconds": best, "ns_per_position": 1e9 * best / T})
    return records
