"""A numerical search for the worst pair at small T: maximise sup_R|Error| over all policy pairs with a fixed
statistic (this suite's analysis, beside numerics.lower_bounds; THEORY §10–§11).

Where numerics.lower_bounds builds explicit families at any T, this module asks whether anything outside them
does better, over every pair the enumeration can afford:
    'tabular'    every prefix is its own context (the most general pair at horizon T): one prompt, V tokens,
                 N = Σ_(k<T) V^k contexts; 2·N·(V − 1) free logits
    'automaton'  a time-homogeneous automaton with S states and a seeded random transition table (one per
                 restart), T up to what enumeration allows: history-dependent mismatch at larger T
π_roll(·|c) = softmax(a_c) and a direction π'(·|c) = softmax(b_c); π_θ(·|c) = π_roll + λ_c (π' − π_roll) with the
statistic fixed exactly by the choice of λ ∈ [0, 1] (then shrunk by 1e−9 so that it holds with room):
    'kl'       λ_c the largest with D_KL(π_roll ‖ π_θ)(c) ≤ δ (Newton from λ = 1 on the convex KL(λ))
    'chi2'     λ_c = min(1, sqrt(χ²_max / χ²(π' ‖ π_roll)(c)))  (χ² is quadratic in λ)
    'kl_seq'   λ_c as for 'kl'; then the pair is mixed with an identical-policy prompt of weight 1 − w,
               w = min(1, D / D_KL^seq): sup_R|Error| and D_KL^seq both scale by w, δ is unchanged
    'additive' one λ for all contexts, min(1, sqrt(Q / Q(π'))) (Q = Σ_t E_roll[χ²(c_t)] is quadratic in λ, the
               roll law does not move); the objective is then sup_R|Error| / (D_TV^seq + ½ sqrt(Q))
Objective: sup_R|Error| = ½ E_roll|W| over every sequence (W through its martingale transform
Σ_t (M_(t−1) − 1)u_t, M − 1 = expm1 of a running log-sum, so nothing cancels), maximised by L-BFGS-B with
finite-difference gradients from seeded restarts (np.random.default_rng(seed)). The best pair is rebuilt as a
TabularPair or AutomatonPair and re-measured by the independent engines (numerics.enumeration for
sup_R|Error| and D_TV^seq, numerics.exact and numerics.second_moment for the statistics).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from numerics.bounds import check_horizon
from numerics.enumeration import worst_case_error
from numerics.errors import TRMInputError
from numerics.exact import exact_quantities
from numerics.generators import softmax
from numerics.lower_bounds import PairStatistics, check_statistic, ratios_of
from numerics.pair import AutomatonPair, TabularPair, num_prefixes
from numerics.second_moment import second_moment_dp
from numerics.statistic_bounds import additive_bound, best_bound, bounds_for

FAMILIES = ("tabular", "automaton")
#: Largest number of (sequence, position) elements one objective evaluation may touch.
MAX_ELEMENTS = 2**18
#: λ is shrunk by this factor after it is found, so that the statistic holds with room in float64.
SHRINK = 1.0 - 1e-9


@dataclass(frozen=True)
class Layout:
    """The enumeration of one pair shape: for every sequence y (rows) and position t, the context index and the
    token; C contexts of V tokens."""

    ctx: np.ndarray      # [M, T] context index
    tok: np.ndarray      # [M, T] token
    C: int
    V: int
    T: int
    next_state: np.ndarray | None = None   # automaton transition table ([C, V]), None for tabular


def tabular_layout(V: int, T: int) -> Layout:
    M = V**T
    seq = np.arange(M)
    tok = np.stack([(seq // V ** (T - 1 - t)) % V for t in range(T)], axis=1)
    ctx = np.zeros((M, T), dtype=np.int64)
    offset, prefix = 0, np.zeros(M, dtype=np.int64)
    for t in range(T):
        ctx[:, t] = offset + prefix
        offset += V**t
        prefix = prefix * V + tok[:, t]
    return Layout(ctx, tok, num_prefixes(V, T), V, T)


def automaton_layout(next_state: np.ndarray, T: int) -> Layout:
    S, V = next_state.shape
    M = V**T
    seq = np.arange(M)
    tok = np.stack([(seq // V ** (T - 1 - t)) % V for t in range(T)], axis=1)
    ctx = np.zeros((M, T), dtype=np.int64)
    state = np.zeros(M, dtype=np.int64)
    for t in range(T):
        ctx[:, t] = state
        state = next_state[state, tok[:, t]]
    return Layout(ctx, tok, S, V, T, next_state)


def _kl_rows(roll: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """D_KL(roll ‖ θ) per row as Σ_v roll·(x − log1p x), x = θ/roll − 1 (Σ_v roll·x = 0, and each term is ≥ 0, so a
    KL of 1e-12 keeps its relative accuracy); +inf where θ = 0 < roll (roll > 0 everywhere here, a softmax)."""
    x = theta / roll - 1.0
    with np.errstate(divide="ignore"):
        return np.sum(roll * (x - np.log1p(x)), axis=-1)


def project_kl(roll: np.ndarray, direction: np.ndarray, delta: float) -> np.ndarray:
    """[C] the largest λ ∈ [0, 1] with D_KL(roll ‖ roll + λ(direction − roll)) ≤ δ at every context (Newton from
    λ = 1: KL(λ) is convex and increasing on [0, 1], so the iterates decrease monotonically to the root)."""
    d = direction - roll
    lam = np.ones(roll.shape[0])
    over = _kl_rows(roll, direction) > delta
    for _ in range(60):
        theta = roll + lam[:, None] * d
        f = _kl_rows(roll, theta) - delta
        slope = -np.sum(roll * d / theta, axis=-1)
        step = np.where(over & (slope > 0), f / np.where(slope > 0, slope, 1.0), 0.0)
        lam = np.clip(lam - step, 0.0, 1.0)
        if np.all(np.abs(step) <= 1e-12 * lam):
            break
    return lam * SHRINK


def project_chi2(roll: np.ndarray, direction: np.ndarray, chi2: float) -> np.ndarray:
    """[C] min(1, sqrt(χ²_max / χ²(direction ‖ roll))) at every context (χ² is quadratic in λ)."""
    x = np.sum((direction - roll) ** 2 / roll, axis=-1)
    with np.errstate(divide="ignore"):
        lam = np.where(x > chi2, np.sqrt(chi2 / np.where(x > 0, x, 1.0)), 1.0)
    return lam * SHRINK


@dataclass(frozen=True)
class Evaluation:
    worst: float         # sup_R|Error| of the (unmixed) pair
    kl_seq: float
    tv_seq: float
    Q: float             # Σ_t E_roll[χ²(c_t)]


class Objective:
    """The objective of one (statistic, value, layout, prompt law): x ↦ −score, with ``pair_policies(x)``
    giving the projected (roll, θ) of [C, V]."""

    def __init__(self, statistic: str, value: float, layout: Layout, kl_seq: float | None = None):
        self.statistic, self.value, self.layout, self.kl_seq = statistic, value, layout, kl_seq
        self.size = 2 * layout.C * (layout.V - 1)

    def pair_policies(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        C, V = self.layout.C, self.layout.V
        half = C * (V - 1)
        zeros = np.zeros((C, 1))
        roll = softmax(np.hstack([x[:half].reshape(C, V - 1), zeros]))
        direction = softmax(np.hstack([x[half:].reshape(C, V - 1), zeros]))
        if self.statistic in ("kl", "kl_seq"):
            lam = project_kl(roll, direction, self.value)
        elif self.statistic == "chi2":
            lam = project_chi2(roll, direction, self.value)
        else:
            full = self.evaluate(roll, direction)
            lam = np.full(C, min(1.0, math.sqrt(self.value / full.Q)) * SHRINK if full.Q > 0 else 1.0)
        return roll, roll + lam[:, None] * (direction - roll)

    def evaluate(self, roll: np.ndarray, theta: np.ndarray) -> Evaluation:
        L = self.layout
        r = roll[L.ctx, L.tok]
        u = theta[L.ctx, L.tok] / r - 1.0
        P = np.exp(np.log(r).sum(axis=1))
        with np.errstate(divide="ignore"):                         # π_θ = 0 at a token: log1p(−1) = −inf, M = 0 after
            logs = np.log1p(u)
        running = np.cumsum(logs, axis=1)
        before = np.expm1(np.hstack([np.zeros((u.shape[0], 1)), running[:, :-1]]))   # M_(t−1) − 1
        W = np.sum(before * u, axis=1)
        kl_ctx = _kl_rows(roll, theta)
        d = theta - roll
        chi2_ctx = np.sum(d * d / roll, axis=-1)
        Ptheta = P * np.exp(running[:, -1])
        return Evaluation(worst=0.5 * float(P @ np.abs(W)), kl_seq=float(P @ kl_ctx[L.ctx].sum(axis=1)),
                          tv_seq=0.5 * float(np.abs(Ptheta - P).sum()), Q=float(P @ chi2_ctx[L.ctx].sum(axis=1)))

    def weight(self, ev: Evaluation) -> float:
        """The mixture weight w of 'kl_seq' (1 otherwise)."""
        if self.statistic != "kl_seq" or ev.kl_seq <= self.kl_seq:
            return 1.0
        return self.kl_seq / ev.kl_seq

    def score(self, x: np.ndarray) -> float:
        roll, theta = self.pair_policies(x)
        ev = self.evaluate(roll, theta)
        if self.statistic == "additive":
            return ev.worst / additive_bound(ev.Q, ev.tv_seq) if ev.worst > 0 else 0.0
        return self.weight(ev) * ev.worst

    def __call__(self, x: np.ndarray) -> float:
        s = self.score(x)
        return -s if math.isfinite(s) else 0.0


@dataclass(frozen=True)
class SearchResult:
    """The best pair of a search and its independent re-measurement.

    pair         the pair (mixed with an identical-policy prompt of weight 1 − weight for 'kl_seq')
    score        the objective at the optimum (sup_R|Error|, or sup/bound for 'additive')
    stats        re-measured: sup_R|Error| by enumeration, the statistics by the exact engines
    bounds, ratios, best  as in numerics.lower_bounds.LowerBound (ratio = bound / sup_R|Error| of this pair; the
                 'additive' key at this pair's own D_TV^seq, the Q-only keys at its Q)
    """

    statistic: str
    value: float
    kl_seq_cap: float | None
    T: int
    family: str
    V: int
    states: int | None
    weight: float
    pair: TabularPair | AutomatonPair
    score: float
    stats: PairStatistics
    bounds: dict
    ratios: dict
    best: tuple
    restarts: int
    evaluations: int

    def to_json(self) -> dict:
        s = self.stats
        return {"statistic": self.statistic, "value": self.value, "kl_seq_cap": self.kl_seq_cap, "T": self.T,
                "family": self.family, "V": self.V, "states": self.states, "weight": self.weight, "score": self.score,
                "worst_case_error": s.worst_case_error,
                "statistics": {"kl_tok_max": s.kl_tok_max, "tv_tok_max": s.tv_tok_max, "chi2_tok_max": s.chi2_tok_max,
                               "kl_seq": s.kl_seq, "tv_seq": s.tv_seq, "chi2_pos_sum": s.chi2_pos_sum},
                "bounds": dict(self.bounds), "ratios": dict(self.ratios),
                "best": {"bound": self.best[0], "value": self.best[1],
                         "ratio": self.best[1] / s.worst_case_error if s.worst_case_error > 0 else math.inf},
                "restarts": self.restarts,
                "evaluations": self.evaluations}


def _layout_for(family: str, V: int, T: int, states: int, rng: np.random.Generator) -> Layout:
    if family == "tabular":
        return tabular_layout(V, T)
    return automaton_layout(rng.integers(0, states, size=(states, V)), T)


def _build_pair(layout: Layout, roll: np.ndarray, theta: np.ndarray, weight: float) -> TabularPair | AutomatonPair:
    """The pair object; for weight < 1 a second prompt (or copy of the states) with π_θ = π_roll."""
    T, V = layout.T, layout.V
    if layout.next_state is None:
        X = 1 if weight == 1.0 else 2
        rolls = np.stack([roll] * X)
        thetas = np.stack([theta] + [roll] * (X - 1))
        prompt = np.array([1.0]) if X == 1 else np.array([weight, 1.0 - weight])
        return TabularPair(rolls, thetas, np.zeros((X, V**T)), prompt)
    S = layout.C
    if weight == 1.0:
        init = np.zeros(S)
        init[0] = 1.0
        return AutomatonPair(init, layout.next_state, roll, theta, np.zeros(S), T)
    init = np.zeros(2 * S)
    init[0], init[S] = weight, 1.0 - weight
    next_state = np.vstack([layout.next_state, layout.next_state + S])
    return AutomatonPair(init, next_state, np.vstack([roll, roll]), np.vstack([theta, roll]), np.zeros(2 * S), T)


def measure(pair) -> PairStatistics:
    """Every statistic of a pair by the independent engines: sup_R|Error| and D_TV^seq by enumeration, δ, ε, χ²_max
    and D_KL^seq by the exact DP, Q = Σ_t E_roll[χ²(c_t)] by the second-moment DP."""
    q = exact_quantities(pair)
    sm = second_moment_dp(pair)
    return PairStatistics(worst_case_error=worst_case_error(pair).value, kl_tok_max=q.kl_tok_max,
                          tv_tok_max=q.tv_tok_max, chi2_tok_max=float(q.chi2_tok_max), kl_seq=q.kl_seq,
                          tv_seq=float(q.tv_seq), chi2_pos_sum=float(np.sum(sm.chi2_pos_mean)))


def search_worst_pair(statistic: str, value: float, T: int, *, kl_seq: float | None = None, family: str = "tabular",
                      V: int = 2, states: int = 4, restarts: int = 4, maxiter: int = 200, seed: int = 0,
                      init_scale: float = 1.0) -> SearchResult:
    """The best pair found by ``restarts`` seeded L-BFGS-B runs (module docstring), re-measured."""
    statistic, value, kl_seq = check_statistic(statistic, value, kl_seq)
    T = check_horizon(T)
    if family not in FAMILIES:
        raise TRMInputError(f"family = {family!r}: choose one of {', '.join(FAMILIES)}")
    if isinstance(V, bool) or not isinstance(V, int) or not 2 <= V <= 8:
        raise TRMInputError(f"V = {V!r}: the vocabulary must have 2..8 tokens")
    if isinstance(states, bool) or not isinstance(states, int) or not 1 <= states <= 64:
        raise TRMInputError(f"states = {states!r}: the automaton must have 1..64 states")
    if T * math.log2(V) > 30 or V**T * T > MAX_ELEMENTS:
        raise TRMInputError(f"T = {T}, V = {V}: the search enumerates V^T·T = {V**T * T:,} elements per evaluation, "
                            f"beyond {MAX_ELEMENTS:,}; lower T or V")
    for name, n, lo in (("restarts", restarts, 1), ("maxiter", maxiter, 1)):
        if isinstance(n, bool) or not isinstance(n, int) or n < lo:
            raise TRMInputError(f"{name} = {n!r}: must be an integer ≥ {lo}")
    rng = np.random.default_rng(seed)
    best, evaluations = None, 0
    for _ in range(restarts):
        layout = _layout_for(family, V, T, states, rng)
        objective = Objective(statistic, value, layout, kl_seq)
        half = layout.C * (V - 1)
        a = init_scale * rng.standard_normal(half)
        x0 = np.concatenate([a, a + 2.0 * init_scale * rng.standard_normal(half)])
        res = minimize(objective, x0, method="L-BFGS-B", options={"maxiter": maxiter, "maxfun": 40 * maxiter})
        evaluations += int(res.nfev)
        score = -float(res.fun)
        if best is None or score > best[0]:
            best = (score, res.x, objective)
    score, x, objective = best
    roll, theta = objective.pair_policies(x)
    ev = objective.evaluate(roll, theta)
    weight = objective.weight(ev)
    pair = _build_pair(objective.layout, roll, theta, weight)
    stats = measure(pair)
    bounds = bounds_for(statistic, value if statistic != "additive" else stats.chi2_pos_sum, T, kl_seq,
                        tv_seq=stats.tv_seq)
    return SearchResult(statistic, value, kl_seq, T, family, V, states if family == "automaton" else None, weight,
                        pair, score, stats, bounds, ratios_of(bounds, stats.worst_case_error),
                        best_bound(statistic, bounds), restarts, evaluations)
