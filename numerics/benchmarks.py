"""Benchmarks of the exact engine (run by `trm bench exact`; not timed tests).

In one run, on the same pair: the suite's engine (:func:`numerics.exact.exact_quantities`), the plain
vectorised numpy loop a researcher would write (:func:`numpy_loop`: dense operators, one step per
position, no [T, S] storage), and the per-step dynamic programme the suite used before the block
operators (:func:`per_step_dp`: [T, S] forward distributions and backward value functions, kept as
a reference), with a same-run roofline (GEMM GFLOP/s, copy GB/s) so that ratios, not absolute
times, are compared on a shared machine.
"""
from __future__ import annotations

import os
import resource
import time
import tracemalloc

import numpy as np

from numerics.bounds import pinsker_cap
from numerics.divergence import expectation_with_inf, token_kl, token_tv
from numerics.dynamics import operators, state_distributions, value_functions
from numerics.errors import TRMInputError
from numerics.exact import exact_quantities, plan_exact
from numerics.generators import random_automaton, softmax
from numerics.pair import AutomatonPair, TabularPair, as_automaton
from numerics.result import ExactQuantities
from numerics.transition import TransitionOperator, forward_matrix

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def thread_settings() -> dict:
    """The thread-count variables of the BLAS libraries, as set for this process, and the core count."""
    return {**{name: os.environ.get(name) for name in THREAD_VARIABLES}, "cpu_count": os.cpu_count()}


def roofline(gemm_n: int = 512, copy_mib: int = 64, repeats: int = 5) -> dict:
    """Same-run machine rates: float64 GEMM GFLOP/s (n×n @ n×n) and copy GB/s (bytes read + written)."""
    rng = np.random.default_rng(0)
    a, b = rng.random((gemm_n, gemm_n)), rng.random((gemm_n, gemm_n))
    a @ b
    gemm = min(_timed(lambda: a @ b) for _ in range(repeats))
    src = np.ones(copy_mib * 2**20 // 8)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    copy = min(_timed(lambda: np.copyto(dst, src)) for _ in range(repeats))
    return {"gemm_GFLOPs": 2 * gemm_n**3 / gemm / 1e9, "copy_GBps": 2 * src.nbytes / copy / 1e9,
            "gemm_n": gemm_n, "copy_MiB": copy_mib}


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def per_step_dp(pair: AutomatonPair | TabularPair, T: int | None = None) -> ExactQuantities:
    """The per-step dynamic programme (reference and benchmark baseline), D_TV^seq not computed.

    Forward d_t^π and backward V_t^roll, W_t (importance-weighted future) as [T+1, S] arrays, one
    matrix-vector product per position and policy; then
        L' = Σ_t ⟨d_t^roll, (M^(θ|roll) − M^roll) V_(t+1)^roll⟩,
        Δ  = Σ_t ⟨d_t^roll, (M^(θ|roll) − M^roll)(V_(t+1)^roll − W_(t+1))⟩,
    and the argmax contexts from a [T, S] reachability table. Memory O(T·S) (O(T·S·V) when
    time-dependent); Δ loses relative accuracy for nearly equal policies (V − W cancels).
    """
    auto = as_automaton(pair, T)
    T, S = auto.T, auto.S
    roll_op, theta_op, seen_op = operators(auto)
    d_roll = state_distributions(auto, roll_op)
    d_theta = state_distributions(auto, theta_op)
    V = value_functions(auto, roll_op)
    W = value_functions(auto, seen_op)
    seen_V = seen_op.pull_each(V[1:])
    roll_W = roll_op.pull_each(W[1:])
    surrogate_terms = np.einsum("ts,ts->t", d_roll[:T], seen_V - V[:T])
    delta_terms = np.einsum("ts,ts->t", d_roll[:T], (seen_V - V[:T]) - (W[:T] - roll_W))
    J_roll, J_theta = float(d_roll[T] @ auto.reward), float(d_theta[T] @ auto.reward)
    surrogate = float(surrogate_terms.sum())
    if np.any((auto.roll == 0) & (auto.theta > 0)):
        seen_mass = value_functions(auto, seen_op, terminal=np.ones(S))[0]
        off_support = max(0.0, 1.0 - float(auto.init @ seen_mass))
    else:
        off_support = 0.0
    kl, tv = token_kl(auto.roll, auto.theta), token_tv(auto.roll, auto.theta)
    kl_t = kl if kl.ndim == 2 else np.broadcast_to(kl, (T, S))
    tv_t = tv if tv.ndim == 2 else np.broadcast_to(tv, (T, S))
    kl_pos = expectation_with_inf(d_roll[:T], kl_t, axis=1)
    tv_pos = (d_roll[:T] * tv_t).sum(axis=1)
    reach = _reachability(auto, auto.roll) | _reachability(auto, auto.theta)
    kl_max, kl_ctx = _argmax_context(auto, kl_t, reach)
    tv_max, tv_ctx = _argmax_context(auto, tv_t, reach)
    kl_seq = float(kl_pos.sum())
    return ExactQuantities(
        T=T, J_roll=J_roll, J_theta=J_theta, surrogate=surrogate, error=J_theta - J_roll - surrogate,
        delta_identity=float(delta_terms.sum()), kl_tok_max=kl_max, kl_tok_max_context=kl_ctx,
        tv_tok_max=tv_max, tv_tok_max_context=tv_ctx, kl_seq=kl_seq, tv_seq=None,
        tv_seq_upper=pinsker_cap(kl_seq), tv_pos_mean=tv_pos, kl_pos_mean=kl_pos,
        theta_mass_off_roll_support=off_support, method="per-step dynamic programming (reference)",
    )


def _reachability(pair: AutomatonPair, probs: np.ndarray) -> np.ndarray:
    """[T, S]: state s is reachable before token t+1 with positive probability under ``probs``."""
    T, S = pair.T, pair.S
    support = TransitionOperator(pair.next_state, (probs > 0).astype(np.float64))
    reach = np.zeros((T, S), dtype=bool)
    current = pair.init > 0
    for t in range(T):
        reach[t] = current
        current = support.push(current.astype(np.float64), t) > 0
    return reach


def _argmax_context(pair: AutomatonPair, table: np.ndarray, reach: np.ndarray) -> tuple[float, str]:
    masked = np.where(reach, table, -np.inf)
    t, s = divmod(int(np.argmax(masked)), pair.S)
    return float(masked[t, s]), pair.describe_context(t + 1, s)


def numpy_loop(pair: AutomatonPair) -> dict:
    """The plain vectorised loop: dense S×S operators and one forward step per position,
        d ← d F^roll,  e ← e F^roll + d D,  f ← f F^θ − e D,  d_θ ← d_θ F^θ,
    with E_(d_t)[D_KL] and D̄_t read off d_t at every step. Returns J_roll, J_theta, surrogate, Δ and
    the [T] per-position KL/TV (time-homogeneous pairs whose π_θ stays on π_roll's support)."""
    if pair.time_dependent:
        raise TRMInputError("numpy_loop: the benchmark loop takes time-homogeneous pairs")
    F_roll, F_theta = forward_matrix(pair.next_state, pair.roll), forward_matrix(pair.next_state, pair.theta)
    D = forward_matrix(pair.next_state, pair.theta - pair.roll)
    kl, tv = token_kl(pair.roll, pair.theta), token_tv(pair.roll, pair.theta)
    d, d_theta = pair.init.copy(), pair.init.copy()
    e, f = np.zeros(pair.S), np.zeros(pair.S)
    kl_pos, tv_pos = np.empty(pair.T), np.empty(pair.T)
    for t in range(pair.T):
        kl_pos[t], tv_pos[t] = d @ kl, d @ tv
        d, e, f, d_theta = d @ F_roll, e @ F_roll + d @ D, f @ F_theta - e @ D, d_theta @ F_theta
    R = pair.reward
    return {"J_roll": d @ R, "J_theta": d_theta @ R, "surrogate": e @ R, "delta_identity": f @ R,
            "kl_pos_mean": kl_pos, "tv_pos_mean": tv_pos}


def time_dependent_pair(states: int, vocab: int, T: int, seed: int = 0, sigma: float = 0.1) -> AutomatonPair:
    """A random time-dependent automaton built a few positions at a time (peak memory ≈ the pair itself):
    π_θ = softmax(N(0, 1) logits), π_roll = softmax(logits + N(0, σ²) noise)."""
    rng = np.random.default_rng(seed)
    roll, theta = np.empty((T, states, vocab)), np.empty((T, states, vocab))
    step = max(1, 2**22 // (states * vocab))
    for t in range(0, T, step):
        base = rng.standard_normal((min(step, T - t), states, vocab))
        theta[t:t + step] = softmax(base)
        roll[t:t + step] = softmax(base + sigma * rng.standard_normal(base.shape))
    init = np.zeros(states)
    init[0] = 1.0
    return AutomatonPair(init, rng.integers(0, states, size=(states, vocab)), roll, theta, rng.random(states), T)


def _best_time(fn, repeats: int) -> float:
    return min(_timed(fn) for _ in range(repeats))


def traced_peak(fn) -> int:
    """Peak bytes allocated through Python's allocators (numpy included) while ``fn`` runs."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def benchmark_pair(states: int, vocab: int, T: int, seed: int = 0, time_dependent: bool = False) -> AutomatonPair:
    """The pair :func:`bench_exact` times at (S, V, T): a random automaton with one prompt (or a time-dependent
    one); the same arguments give the same pair."""
    if time_dependent:
        return time_dependent_pair(states, vocab, T, seed)
    return random_automaton(np.random.default_rng(seed), states=states, vocab=vocab, T=T, prompts=1)


def bench_exact(states: int = 64, vocab: int = 64, lengths=(4096, 65536), repeats: int = 3, seed: int = 0,
                time_dependent: bool = False, baseline_max_T: int = 65536) -> list[dict]:
    """Best-of-``repeats`` wall times, on the same pair and in the same run, of the suite's engine, the
    numpy loop and the per-step DP (baselines only up to ``baseline_max_T`` positions, where they fit in
    memory), with the suite's traced peak memory and its speedups. The engine computes what the baselines
    compute (the paper's quantities), so the second-moment pass of THEORY §10 is left out of the timing."""
    records = []
    for T in lengths:
        pair = benchmark_pair(states, vocab, T, seed, time_dependent)
        plan = plan_exact(pair)
        suite = _best_time(lambda: exact_quantities(pair, tv_seq_budget=0, max_memory=None, max_seconds=None,
                                                       second_moments=False), repeats)
        record = {"S": states, "V": vocab, "T": T, "time_dependent": time_dependent, "engine": plan.method,
                  "suite_seconds": suite, "ns_per_position": 1e9 * suite / T,
                  "suite_peak_bytes": traced_peak(lambda: exact_quantities(pair, tv_seq_budget=0, max_memory=None,
                                                                           max_seconds=None, second_moments=False)),
                  "pair_bytes": pair.roll.nbytes + pair.theta.nbytes,
                  "numpy_loop_seconds": None, "per_step_dp_seconds": None}
        if T <= baseline_max_T:
            if not time_dependent:
                record["numpy_loop_seconds"] = _best_time(lambda: numpy_loop(pair), repeats)
            record["per_step_dp_seconds"] = _best_time(lambda: per_step_dp(pair), repeats)
        for name in ("numpy_loop", "per_step_dp"):
            base = record[f"{name}_seconds"]
            record[f"speedup_vs_{name}"] = None if base is None else base / suite
        # the process's resident-set high-water mark so far (pair, baselines and earlier rows included)
        record["process_peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        records.append(record)
    return records
