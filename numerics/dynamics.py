"""Forward state distributions and backward value functions of an automaton pair.

    d_t^π   [T+1, S]  state distribution after t tokens (row 0 = init), d_(t+1) = d_t M_t^π
    V_t^π   [T+1, S]  E_π[R | state after t tokens], V_T = R, V_t = M_t^π V_(t+1)
These are the building blocks of the exact engine (:mod:`numerics.exact`) and of the per-position
decomposition used to check the lemmas (:mod:`numerics.decomposition`).
"""
from __future__ import annotations

import numpy as np

from numerics.pair import AutomatonPair
from numerics.transition import TransitionOperator


def state_distributions(pair: AutomatonPair, operator: TransitionOperator) -> np.ndarray:
    """[T+1, S] distributions pushed forward from ``pair.init`` by ``operator``."""
    d = np.empty((pair.T + 1, pair.S))
    d[0] = pair.init
    for t in range(pair.T):
        d[t + 1] = operator.push(d[t], t)
    return d


def value_functions(pair: AutomatonPair, operator: TransitionOperator, terminal: np.ndarray | None = None) -> np.ndarray:
    """[T+1, S] values pulled back from ``terminal`` (default the reward) by ``operator``."""
    V = np.empty((pair.T + 1, pair.S))
    V[pair.T] = pair.reward if terminal is None else terminal
    for t in range(pair.T - 1, -1, -1):
        V[t] = operator.pull(V[t + 1], t)
    return V


def operators(pair: AutomatonPair) -> tuple[TransitionOperator, TransitionOperator, TransitionOperator]:
    """(M^roll, M^θ, M^(θ|roll)) where M^(θ|roll) keeps π_θ only on tokens π_roll can emit."""
    theta_seen = np.where(pair.roll > 0, pair.theta, 0.0)
    return (TransitionOperator(pair.next_state, pair.roll), TransitionOperator(pair.next_state, pair.theta),
            TransitionOperator(pair.next_state, theta_seen))
