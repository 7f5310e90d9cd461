"""`trm bench sim`: sampled tokens per second of the fast finite-state path against the per-step
baseline, measured in the same run, with peak memory (CUDA: allocator peak; always: the process's
peak resident set so far, a high-water mark that includes torch itself) and, on CUDA, achieved
bandwidth."""
from __future__ import annotations

import resource
import time

import numpy as np
import torch

from gpu_sim.baseline import run_baseline
from gpu_sim.finite_state import FiniteStateFamily
from gpu_sim.running import RunningStats
from numerics.generators import random_automaton


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def copy_bandwidth(device: torch.device, megabytes: int = 1024) -> float | None:
    """Achievable device memory bandwidth (bytes/s) from a large device-to-device copy (CUDA only)."""
    if device.type != "cuda":
        return None
    n = megabytes * 2**20 // 4
    a = torch.empty(n, dtype=torch.float32, device=device)
    b = torch.empty_like(a)
    b.copy_(a)
    _sync(device)
    start = time.perf_counter()
    for _ in range(10):
        b.copy_(a)
    _sync(device)
    return 10 * 2 * a.numel() * 4 / (time.perf_counter() - start)


def bench_sim(device: torch.device, grid, states: int = 64, baseline_T: int | None = None, seed: int = 0) -> list[dict]:
    """For each (batch, T, V): fast-path and baseline tokens/s (baseline on min(T, baseline_T) positions,
    rates compared per token), peak CUDA memory and the fast path's bytes moved per token."""
    records = []
    peak_bw = copy_bandwidth(device)
    for batch, T, V in grid:
        pair = random_automaton(np.random.default_rng(seed), states=states, vocab=V, T=T, prompts=2)
        family = FiniteStateFamily(pair, device)
        g = torch.Generator(device=device).manual_seed(seed)
        running = RunningStats(T, [T], [], 0.05, device)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        _sync(device)
        start = time.perf_counter()
        family.run_chunk(batch, T, running, g)
        _sync(device)
        fast = time.perf_counter() - start
        peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
        T_base = T if baseline_T is None else min(T, baseline_T)
        _sync(device)
        start = time.perf_counter()
        run_baseline(family, batch, T_base, g)
        _sync(device)
        base = time.perf_counter() - start
        fast_rate, base_rate = batch * T / fast, batch * T_base / base
        # per token per chain: 3 uniforms, ~6 table gathers, state and block records (bytes, float64/int64)
        bytes_per_token = 8 * (3 + 2 * 6 + 4 + 3)
        record = {"device": str(device), "batch": batch, "T": T, "V": V, "S": states,
                  "fast_tokens_per_s": fast_rate, "baseline_tokens_per_s": base_rate, "speedup": fast_rate / base_rate,
                  "baseline_T": T_base, "peak_device_bytes": peak,
                  "process_peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
        if peak_bw is not None:
            record["achieved_bandwidth_GBps"] = fast_rate * bytes_per_token / 1e9
            record["copy_bandwidth_GBps"] = peak_bw / 1e9
        records.append(record)
    return records
