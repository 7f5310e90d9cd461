"""E_roll|Σ_t u_t| bounded by splitting each ratio into a large and a small part (THEORY §11; this suite's own).

At a context c with π_roll = p and u = ρ − 1 per token, a threshold r* picks the large tokens B = {v : ρ(v) > r*}
and splits u into two martingale differences (each with mean 0 under p):

    u^b = u·1_B − a(c),   u^s = u·1_(not B) + a(c),   a(c) = Σ_(v∈B) p(v) u(v),

so S = Σ_t u_t = S^b + S^s and E|S| ≤ Σ_t E|u^b_t| + sqrt(E[(S^s)²]) = A_b + sqrt(Q_s) with
    g_b(c) = E|u^b| = Σ_(v∈B) p |u − a| + a (1 − p(B)),   q_s(c) = E[(u^s)²] = Σ_(v∉B) p (u + a)² + p(B) a²,
    A_b = Σ_t E_(d_t^roll)[g_b(c_t)],  Q_s = Σ_t E_(d_t^roll)[q_s(c_t)]
(the small parts' increments are orthogonal). r* = ∞ gives (0, Q): E|S| ≤ sqrt(Q); "every token large" gives
(Σ_t E|u_t| = 2 Σ_t D̄_t, 0), the L1 triangle inequality. Large ratios (heavy tails, flips to a token π_roll
almost never emits) go to the L1 part, where a rare huge u costs its mean, not its square. Every sum over
positions is the occupation measure Σ_t d_t^roll applied to a per-context column (numerics.transition.power_series
for time-homogeneous pairs: O(S³ log T), nothing of length T; one push per position otherwise).
"""
from __future__ import annotations

import math

import numpy as np

from numerics.pair import AutomatonPair, TabularPair, as_automaton
from numerics.transition import DENSE_STATE_LIMIT, TransitionOperator, forward_matrix, power_series

#: Thresholds r* on ρ searched (0: every token large, the L1 triangle inequality; inf: none, sqrt(Q)).
THRESHOLDS = (0.0, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 100.0, 1e3, 1e4, math.inf)


def split_columns(roll: np.ndarray, theta: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(g_b, q_s) per context ([...] from laws [..., V]) for the threshold r* (module docstring); tokens π_roll
    cannot emit are ignored (π_θ on them breaks importance sampling and is reported elsewhere)."""
    on = roll > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(on, (theta - roll) / np.where(on, roll, 1.0), 0.0)
    p = np.where(on, roll, 0.0)
    if threshold <= 0:                                         # every token large: u^b = u, u^s = 0
        return (p * np.abs(u)).sum(axis=-1), np.zeros(roll.shape[:-1])
    big = on & (u + 1.0 > threshold)
    a = (np.where(big, p * u, 0.0)).sum(axis=-1, keepdims=True)
    pB = np.where(big, p, 0.0).sum(axis=-1, keepdims=True)
    g = (np.where(big, p * np.abs(u - a), 0.0)).sum(axis=-1) + (a * (1.0 - pB))[..., 0]
    q = (np.where(big | ~on, 0.0, p * (u + a) ** 2)).sum(axis=-1) + (pB * a * a)[..., 0]
    return g, q


def occupation_sums(auto: AutomatonPair, columns) -> list[float]:
    """[Σ_(t<T) E_(d_t^roll)[c_t]] for per-context columns: a list of [S] arrays (homogeneous) or of functions
    t0, t1 → [t1 − t0, S] (time-dependent pairs)."""
    T, S = auto.T, auto.S
    if not auto.time_dependent:
        cols = [np.asarray(c, dtype=np.float64) for c in columns]
        if S <= DENSE_STATE_LIMIT:                             # Σ_t d_t by binary powering: nothing of length T
            F = forward_matrix(auto.next_state, auto.roll)
            _, occupation = power_series(np.ascontiguousarray(F.T), auto.init.astype(np.float64), T)
            return [float(occupation @ c) for c in cols]
        op = TransitionOperator(auto.next_state, auto.roll)
        d, totals = auto.init.astype(np.float64), np.zeros(len(cols))
        for t in range(T):
            totals += [d @ c for c in cols]
            d = op.push(d, t)
        return [float(v) for v in totals]
    op = TransitionOperator(auto.next_state, auto.roll)
    d, totals = auto.init.astype(np.float64), np.zeros(len(columns))
    chunk = max(1, 2**20 // (S * auto.V))
    for t0 in range(0, T, chunk):
        t1 = min(T, t0 + chunk)
        blocks = [fn(t0, t1) for fn in columns]
        for t in range(t0, t1):
            totals += [d @ b[t - t0] for b in blocks]
            d = op.push(d, t)
    return [float(v) for v in totals]


def split_sum_bounds(pair: AutomatonPair | TabularPair, T: int | None = None,
                     thresholds=THRESHOLDS) -> list[tuple[float, float, float]]:
    """[(r*, A_b, Q_s)] for every threshold: E_roll|Σ_t u_t| ≤ A_b + sqrt(Q_s) for each."""
    auto = as_automaton(pair, T)
    columns = []
    for r in thresholds:
        if auto.time_dependent:
            columns += [lambda t0, t1, r=r, k=k: split_columns(auto.roll[t0:t1], auto.theta[t0:t1], r)[k]
                        for k in (0, 1)]
        else:
            columns += list(split_columns(auto.roll, auto.theta, r))
    sums = occupation_sums(auto, columns)
    return [(r, sums[2 * i], sums[2 * i + 1]) for i, r in enumerate(thresholds)]
