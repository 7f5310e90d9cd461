"""`trm bench sim`: sampled tokens per second of the simulator, in one run, against the alternatives.

Finite-state family (:func:`bench_sim`), on the same pair and the same batch:
- suite       FiniteStateFamily.run_chunk with RunningStats (the fused compiled loop on CPU when numba
              is installed, else per-position torch ops), everything `trm simulate` computes;
- torch ops   the same step as per-position torch ops over the batch (the CUDA path; the CPU path
              when numba is absent);
- numpy loop  the plain vectorised numpy loop a researcher would write (:func:`numpy_loop`): one
              step per position over the batch, the same alias tables, the coupled θ-chain and the
              per-sequence sums the estimates need (no criteria);
- torch.distributions  the per-step loop with Categorical objects (:mod:`gpu_sim.baseline`),
              timed on fewer positions and compared per token.
Neural family (:func:`bench_neural`): tokens/s of NeuralFamily.run_chunk with the inverse-CDF sampler
against the same model sampled with torch.multinomial. Thread counts and a same-run roofline (GEMM
GFLOP/s, copy GB/s, measured with torch on the device) are reported beside the rates.
"""
from __future__ import annotations

import os
import resource
import time

import numpy as np
import torch

from gpu_sim.baseline import run_baseline
from gpu_sim.finite_state import FiniteStateFamily, fused_available
from gpu_sim.running import RunningStats
from numerics.generators import random_automaton


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def roofline(device: torch.device, gemm_n: int | None = None, copy_mib: int | None = None, repeats: int = 5) -> dict:
    """Same-run rates on ``device`` with torch's current thread count: float64 GEMM GFLOP/s and copy GB/s
    (bytes read + written). By default n = 512 and 64 MiB on CPU; n = 4096 and 2 GiB on CUDA (a copy that
    fits the GPU's L2 cache would measure the cache)."""
    cuda = device.type == "cuda"
    gemm_n = gemm_n or (4096 if cuda else 512)
    copy_mib = copy_mib or (2048 if cuda else 64)
    g = torch.Generator(device=device).manual_seed(0)
    a = torch.rand((gemm_n, gemm_n), generator=g, dtype=torch.float64, device=device)
    b = torch.rand((gemm_n, gemm_n), generator=g, dtype=torch.float64, device=device)
    src = torch.ones(copy_mib * 2**20 // 8, dtype=torch.float64, device=device)
    dst = torch.empty_like(src)

    def best(fn):
        fn()
        times = []
        for _ in range(repeats):
            _sync(device)
            start = time.perf_counter()
            fn()
            _sync(device)
            times.append(time.perf_counter() - start)
        return min(times)

    gemm = best(lambda: a @ b)
    copy = best(lambda: dst.copy_(src))
    return {"gemm_GFLOPs": 2 * gemm_n**3 / gemm / 1e9, "copy_GBps": 2 * src.numel() * 8 / copy / 1e9,
            "gemm_n": gemm_n, "copy_MiB": copy_mib}


def thread_settings() -> dict:
    """torch's intra-op threads (the fused loop is serial), the BLAS variable and the core count."""
    return {"torch_threads": torch.get_num_threads(), "fused_loop_threads": 1 if fused_available() else None,
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"), "cpu_count": os.cpu_count()}


def set_threads(n: int) -> None:
    """torch on ``n`` intra-op threads (the benchmark's --threads)."""
    torch.set_num_threads(n)


def numpy_loop(family: FiniteStateFamily, batch: int, T: int, seed: int = 0) -> dict:
    """The plain vectorised loop: per position, alias draws for the roll chain and the coupled θ-chain
    over the batch (numpy fancy indexing on the family's tables), and the per-sequence sums of ℓ, D_KL,
    ρ − 1, the running max of D_KL, and the per-position sums of D_KL and D_TV."""
    tab, V, S = family.tables, family.V, family.S
    if not tab.use_alias:
        raise ValueError("numpy_loop uses the alias tables")
    rng = np.random.default_rng(seed)
    init_cdf = family.init_cdf.cpu().numpy()
    state_r = np.searchsorted(init_cdf, rng.random(batch), side="right")
    state_q = state_r.copy()
    sum_lr, sum_kl, sum_x, max_kl = (np.zeros(batch) for _ in range(4))
    pos_kl, pos_tv = np.zeros(T), np.zeros(T)

    def draw(prob, alias, base, u):
        scaled = u * V
        k = np.minimum(scaled.astype(np.int64), V - 1)
        return np.where(scaled - k < prob[base + k], k, alias[base + k])

    for t in range(T):
        shift = t * S if family.time_dependent else 0
        row = state_r + shift
        base = row * V
        u = rng.random((2, batch))
        y = draw(tab.prob_roll, tab.alias_roll, base, u[0])
        a = tab.accept[base + y]
        keep = u[1] < a
        with np.errstate(divide="ignore", invalid="ignore"):
            u_res = np.where(keep, 0.0, (u[1] - a) / (1.0 - a))
        y_coupled = np.where(keep, y, draw(tab.prob_res, tab.alias_res, base, u_res))
        y_free = draw(tab.prob_theta, tab.alias_theta, (state_q + shift) * V, u[1])
        y_q = np.where(state_q == state_r, y_coupled, y_free)
        lr = tab.log_ratio[base + y]
        kl = tab.kl_row[row]
        sum_lr += lr
        sum_x += np.expm1(lr)
        sum_kl += kl
        np.maximum(max_kl, kl, out=max_kl)
        pos_kl[t] = kl.sum()
        pos_tv[t] = tab.tv_row[row].sum()
        state_r = tab.next_state[state_r * V + y]
        state_q = tab.next_state[state_q * V + y_q]
    reward = family.pair.reward
    return {"R_roll": reward[state_r], "R_theta": reward[state_q], "sum_lr": sum_lr, "sum_kl": sum_kl,
            "sum_x": sum_x, "max_kl": max_kl, "pos_kl": pos_kl, "pos_tv": pos_tv}


def _time(device, fn) -> float:
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - start


def bench_sim(device: torch.device, grid, states: int = 64, baseline_T: int | None = None, seed: int = 0,
              repeats: int = 3) -> list[dict]:
    """For each (batch, T, V): tokens/s of the suite, the torch-ops path, the numpy loop (CPU) and the
    torch.distributions loop (on min(T, baseline_T) positions), best of ``repeats`` interleaved runs,
    with the speedups and the process's peak resident set."""
    records = []
    roof = roofline(device)
    for batch, T, V in grid:
        pair = random_automaton(np.random.default_rng(seed), states=states, vocab=V, T=T, prompts=2)
        suite = FiniteStateFamily(pair, device)
        torch_ops = FiniteStateFamily(pair, device, kernel="torch")
        T_base = T if baseline_T is None else min(T, baseline_T)

        def run(family, T_run):
            g = torch.Generator(device=device).manual_seed(seed)
            family.run_chunk(batch, T_run, RunningStats(T_run, [T_run], [], 0.05, device), g)

        run(suite, min(T, 64))                                    # compile / warm up
        runs = {"suite": lambda: run(suite, T), "torch_ops": lambda: run(torch_ops, T_base),
                "torch_distributions": lambda: run_baseline(suite, batch, T_base,
                                                            torch.Generator(device=device).manual_seed(seed))}
        if device.type == "cpu" and suite.use_alias:
            runs["numpy_loop"] = lambda: numpy_loop(suite, batch, T_base, seed)
        if suite.kernel == "torch":                               # the suite is the torch path here
            runs.pop("torch_ops")
        lengths = {"suite": T, "torch_ops": T_base, "torch_distributions": T_base, "numpy_loop": T_base}
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        best = dict.fromkeys(runs, float("inf"))
        for _ in range(repeats):
            for name, fn in runs.items():
                best[name] = min(best[name], _time(device, fn))
        rates = {name: batch * lengths[name] / best[name] for name in runs}
        record = {"device": str(device), "kernel": suite.kernel, "batch": batch, "T": T, "V": V, "S": states,
                  "baseline_T": T_base, **{f"{name}_tokens_per_s": rate for name, rate in rates.items()},
                  "peak_device_bytes": torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None,
                  "process_peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
        for name in ("torch_ops", "numpy_loop", "torch_distributions"):
            record[f"speedup_vs_{name}"] = rates["suite"] / rates[name] if name in rates else None
        # the keys of earlier versions of this record
        record.update(fast_tokens_per_s=rates["suite"], baseline_tokens_per_s=rates["torch_distributions"],
                      speedup=record["speedup_vs_torch_distributions"])
        # bytes the suite moves through memory per token, at least: its two float64 uniforms, written by the
        # generator and read by the step (the reduced statistics stay in cache or registers; the tables are small)
        record["bytes_per_token"] = 32
        record["achieved_GBps"] = rates["suite"] * 32 / 1e9
        record["copy_GBps"] = roof["copy_GBps"]
        records.append(record)
    return records


def bench_neural(device: torch.device, vocab: int = 32768, hidden: int = 64, batch: int = 64, T: int = 32,
                 seed: int = 0, repeats: int = 3) -> dict:
    """Tokens/s of the neural family with the inverse-CDF sampler and with torch.multinomial (same model,
    same run, best of ``repeats`` interleaved)."""
    from gpu_sim.neural import NeuralFamily

    family = NeuralFamily(vocab, hidden, device=device, seed=seed)
    best = {}
    for _ in range(repeats):
        for sampler in ("inverse_cdf", "multinomial"):
            family.sampler = sampler
            g = torch.Generator(device=device).manual_seed(seed)
            running = RunningStats(T, [T], [], 0.05, device)
            elapsed = _time(device, lambda: family.run_chunk(batch, T, running, g))
            best[sampler] = min(best.get(sampler, float("inf")), elapsed)
    family.sampler = "inverse_cdf"
    rates = {name: batch * T / seconds for name, seconds in best.items()}
    return {"device": str(device), "vocab": vocab, "hidden": hidden, "batch": batch, "T": T,
            "inverse_cdf_tokens_per_s": rates["inverse_cdf"], "multinomial_tokens_per_s": rates["multinomial"],
            "speedup": rates["inverse_cdf"] / rates["multinomial"]}
