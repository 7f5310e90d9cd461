"""Maxima of per-context quantities over the reachable contexts of an automaton pair (THEORY §3:
δ, ε and χ²_max are maxima over contexts with positive probability under either policy), with the
earliest context attaining them named. Used by the exact engine and the second-moment pass."""
from __future__ import annotations

import math

import numpy as np

from numerics.pair import AutomatonPair


def first_reach(init: np.ndarray, next_state: np.ndarray, support: np.ndarray, T: int) -> np.ndarray:
    """[S] the first position t (0-based, the context before token t+1) at which each state is
    reachable with positive probability under a time-homogeneous law with ``support`` [S, V];
    T where it is not reachable before the horizon (breadth-first search: shortest walk lengths)."""
    S = init.shape[0]
    first = np.full(S, T, dtype=np.int64)
    frontier = np.flatnonzero(init > 0)
    t = 0
    while frontier.size and t < T:
        first[frontier] = t
        t += 1
        successors = np.unique(next_state[frontier][support[frontier]])
        frontier = successors[first[successors] == T]
    return first


def homogeneous_argmax(auto: AutomatonPair, values: np.ndarray, first: np.ndarray) -> tuple[float, str]:
    """Max over reachable contexts of per-state ``values``, named at the earliest (t, then s) context
    attaining it: the earliest t among the maximal states is their smallest first-reach time."""
    reachable = first < auto.T
    best = float(np.max(values[reachable]))
    candidates = reachable & (values == best)
    t = int(first[candidates].min())
    s = int(np.flatnonzero(candidates & (first == t))[0])
    return best, auto.describe_context(t + 1, s)


def reachable_max(auto: AutomatonPair, values: np.ndarray, supports) -> tuple[float, str]:
    """Max of per-context ``values`` ([S], or [T, S] for time-dependent pairs) over the contexts
    reachable by a path whose every token has positive probability under one of ``supports``
    (boolean [S, V] or [T, S, V] tables; for THEORY §3's "reachable under either policy" pass
    (π_roll > 0, π_θ > 0)), with the earliest context attaining it named. (−inf, "") when nothing is
    reachable. Memory O(S·V) beyond the inputs; time O(T·S·V) for time-dependent pairs."""
    T, S = auto.T, auto.S
    supports = [np.asarray(s, dtype=bool) for s in supports]
    if values.ndim == 1 and all(s.ndim == 2 for s in supports):
        first = np.full(S, T)
        for s in supports:
            first = np.minimum(first, first_reach(auto.init, auto.next_state, s, T))
        if not (first < T).any():
            return -math.inf, ""
        return homogeneous_argmax(auto, values, first)
    current = [auto.init > 0 for _ in supports]
    best, where = -math.inf, ""
    for t in range(T):
        reach = np.logical_or.reduce(current)
        row = values[t] if values.ndim == 2 else values
        if reach.any():
            masked = np.where(reach, row, -np.inf)
            s = int(np.argmax(masked))
            if masked[s] > best:
                best, where = float(masked[s]), auto.describe_context(t + 1, s)
        nxt = []
        for cur, sup in zip(current, supports):
            table = sup[t] if sup.ndim == 3 else sup
            step = np.zeros(S, dtype=bool)
            step[auto.next_state[cur][table[cur]]] = True
            nxt.append(step)
        current = nxt
    return best, where
