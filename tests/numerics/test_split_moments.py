"""The split of E_roll|Σ_t u_t| into a large (L1) and a small (L2) part (numerics.split_moments, THEORY §11)."""
import math

import numpy as np
from hypothesis import given

from numerics.enumeration import enumerate_sequences
from numerics.exact import as_automaton, exact_quantities
from numerics.pair import AutomatonPair
from numerics.path_moments import path_moments
from numerics.split_moments import THRESHOLDS, split_columns, split_sum_bounds
from tests.strategies import any_pair, heavy_tail_pairs, sparse_flip_pairs
from tests.tolerances import assert_close, assert_le


@given(any_pair | sparse_flip_pairs() | heavy_tail_pairs())
def test_every_split_bounds_the_mean_absolute_sum(pair):
    auto = as_automaton(pair)
    table = enumerate_sequences(auto)
    P = (table.prompt_prob[:, None] * np.exp(table.log_p_roll)).ravel()
    E_abs = float(P @ np.abs(table.rho_minus_one.reshape(auto.T, -1).sum(axis=0)))
    splits = split_sum_bounds(pair)
    for r, A_b, Q_s in splits:
        assert_le(E_abs, A_b + math.sqrt(Q_s), f"E|S| ≤ A_b + sqrt(Q_s) at r* = {r}")
    q = exact_quantities(pair, tv_seq_budget=0, second_moments=False)
    ends = {r: (A, Q) for r, A, Q in splits}
    assert_close(ends[0.0][0], 2 * q.tv_pos_mean.sum(), "every token large: Σ_t E|u_t| = 2 Σ_t D̄_t")
    assert ends[0.0][1] == 0 and ends[math.inf][0] == 0
    assert_close(ends[math.inf][1], path_moments(pair).q_sum, "no token large: Q_s = Q")


@given(sparse_flip_pairs(max_T=6))
def test_time_dependent_sweep_agrees(pair):
    tiled = AutomatonPair(pair.init, pair.next_state, np.broadcast_to(pair.roll, (pair.T,) + pair.roll.shape).copy(),
                          np.broadcast_to(pair.theta, (pair.T,) + pair.theta.shape).copy(), pair.reward, pair.T)
    for (r, a, q), (_, b, p) in zip(split_sum_bounds(pair), split_sum_bounds(tiled)):
        assert_close(a, b, f"A_b at {r}", scale=1 + a)
        assert_close(q, p, f"Q_s at {r}", scale=1 + q)


def test_split_columns_are_mean_zero_parts():
    roll = np.array([[0.7, 0.2, 0.1 - 1e-5, 1e-5]])
    theta = np.array([[0.1, 0.2, 0.2, 0.5]])
    u = (theta - roll) / roll
    for r in THRESHOLDS:
        g, q = split_columns(roll, theta, r)
        big = (u + 1 > r) if r > 0 else np.ones_like(u, dtype=bool)
        a = float((roll * u * big).sum())
        ub, us = u * big - a, u * ~big + a
        assert abs(float((roll * ub).sum())) < 1e-12 and abs(float((roll * us).sum())) < 1e-9
        assert_close(g[0], float((roll * np.abs(ub)).sum()), f"g_b at {r}")
        assert_close(q[0], float((roll * us * us).sum()), f"q_s at {r}", scale=1 + q[0])


def test_path_inputs_hold_nothing_of_length_T():
    """At T = 2^22 one float64 array of length T is 32 MiB: the path-moment DPs, the split's occupation sums and
    the weighted χ² search of a time-homogeneous pair (what `trm exact` runs) must stay far below that (they are
    O(S³ log T) powers of small operators). 24 per-position arrays here once took `trm exact` at T = 10⁷ to 2 GB."""
    import tracemalloc

    from numerics.path_bounds import search_weighted_chi2

    rng = np.random.default_rng(0)
    S, V, T = 8, 4, 2**22
    roll = rng.dirichlet(np.ones(V), S)
    theta = 0.9 * roll + 0.1 * rng.dirichlet(np.ones(V), S)
    pair = AutomatonPair(np.full(S, 1 / S), rng.integers(0, S, (S, V)), roll, theta, rng.uniform(0, 1, S), T)
    tracemalloc.start()
    try:
        path_moments(pair)
        split_sum_bounds(pair)
        search_weighted_chi2(pair, 1.0, grid="auto", max_seconds=30.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20, f"peak {peak / 2**20:.1f} MiB: something of length T was allocated"
