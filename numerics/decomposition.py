"""Per-position decomposition of the surrogate error: the quantities the lemmas speak about.

For an automaton pair (for a tabular pair, states are contexts, so state-level quantities are the
context-level ones of the paper):
    g[t, s]          g_t(c) = Σ_v π_θ(v|c) Q_t(c, v) − V_t(c), Q_t(c, v) = V_(t+1)^roll(n(c, v))
    osc_q[t, s]      max_v Q_t(c, v) − min_v Q_t(c, v)
    shift_tv[t]      TV(d_t^θ, d_t^roll) over states before token t+1
    future_gap[t, s] |V_(t+1)^roll − V_(t+1)^θ| at the state after token t+1
    future_tv[t, s]  TV of the laws of the remaining tokens from that state (by enumeration of the
                     future; only for small V^(T−t))
Rows are 0-based positions t = 0..T−1 (the paper's t = 1..T).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.divergence import token_kl, token_tv
from numerics.dynamics import operators, state_distributions, value_functions
from numerics.exact import as_automaton
from numerics.pair import AutomatonPair, TabularPair


@dataclass(frozen=True)
class Decomposition:
    pair: AutomatonPair
    d_roll: np.ndarray
    d_theta: np.ndarray
    V_roll: np.ndarray
    V_theta: np.ndarray
    g: np.ndarray
    osc_q: np.ndarray
    shift_tv: np.ndarray
    tv_context: np.ndarray
    kl_context: np.ndarray


def decompose(pair: AutomatonPair | TabularPair, T: int | None = None) -> Decomposition:
    auto = as_automaton(pair, T)
    T = auto.T
    roll_op, theta_op, _ = operators(auto)
    d_roll = state_distributions(auto, roll_op)
    d_theta = state_distributions(auto, theta_op)
    V_roll = value_functions(auto, roll_op)
    V_theta = value_functions(auto, theta_op)
    g = theta_op.pull_each(V_roll[1:]) - V_roll[:T]
    Q = V_roll[1:][:, auto.next_state]                          # [T, S, V]
    osc_q = Q.max(axis=-1) - Q.min(axis=-1)
    shift_tv = 0.5 * np.abs(d_theta[:T] - d_roll[:T]).sum(axis=1)
    tv = token_tv(auto.roll, auto.theta)
    kl = token_kl(auto.roll, auto.theta)
    tv_c = tv if tv.ndim == 2 else np.broadcast_to(tv, (T, auto.S))
    kl_c = kl if kl.ndim == 2 else np.broadcast_to(kl, (T, auto.S))
    return Decomposition(auto, d_roll, d_theta, V_roll, V_theta, g, osc_q, shift_tv, tv_c, kl_c)
