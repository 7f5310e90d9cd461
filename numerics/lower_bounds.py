"""Lower bounds on what each statistic forces: explicit policy pairs whose statistic is fixed and whose exact
sup over rewards of |Error| is as large as we can make it, against the bound that statistic feeds (this suite's
own analysis, beside THEORY §10–§11; not the paper's).

For a bound B(s) of a statistic s and a pair P with that statistic, B(s)/sup_R|Error|(P) = [B(s)/worst(s)] ·
[worst(s)/sup_R|Error|(P)], worst(s) = sup over all pairs with statistic s. The first factor is what the proof
loses, the second what s forces. A construction P* gives worst(s) ≥ sup_R|Error|(P*), so B(s)/sup_R|Error|(P*)
is the most a better proof from s alone could gain (and ≥ 1 whenever B is valid: a test).

The statistics and the suite's bounds that read only them (numerics.statistic_bounds; KL is roll ‖ θ, χ² is
χ²(θ ‖ roll)):
    'kl'      δ = max token KL                      → B* (paper and sharp), sequence_kl at D_KL^seq = Tδ, the ceiling
    'kl_seq'  δ and D_KL^seq ≤ D                    → the same at D_KL^seq = min(D, Tδ)
    'chi2'    χ²_max                                → B_χ²-max (THEORY §10); the tangent bound at γ = 0 and the
                                                      additive bound with D_TV^seq ≤ 1, both at Q ≤ Tχ²_max
    'additive' Q = Σ_t E_roll[χ²(c_t)]              → the tangent bound at γ = 0, the additive bound with
                                                      D_TV^seq ≤ 1, and (a witness pair's own) D_TV^seq + ½ sqrt(Q)
Each row also names the smallest of its statistic-only bounds ('best'): worst found ≤ worst(s) ≤ best, so best /
worst found brackets what the statistic forces, and bound / best is the least a bound's proof loses.

The constructions (one family, every member exact at any T by a binomial sum, numerics.iid):
    BranchPair(p, q, m, w): with probability w (the prompt) the i.i.d. two-token pair π_roll = (p, 1 − p),
    π_θ = (q, 1 − q) at the first m positions and identical policies after them; with probability 1 − w
    identical policies throughout. W vanishes off the mismatched branch and after position m, so
        sup_R|Error| = w·E[W⁻] of the i.i.d. pair at horizon m,   D_TV^seq = w·(its D_TV^seq),
        D_KL^seq = w·m·D_KL,  Q = w·m·χ²,  max token KL, TV and χ² those of (p, q).
    w = 1, m = T is the i.i.d. pair itself. For each statistic the search fixes the statistic exactly (q from p
    by a root of D_KL(p, q) = δ, or q = p + sqrt(χ² p(1 − p))) and maximises sup_R|Error| over p on a log-odds grid
    refined by a bounded scalar search, and over m and w where they enter; for 'additive' it also keeps, as the
    witness of the pair-dependent bound D_TV^seq + ½ sqrt(Q), the member that minimises that bound's ratio. The one-rare-token member (p → 0) has the closed forms proved in proofs.lower_bounds; the
    small-automaton optimiser in numerics.lower_bound_search checks that nothing at small T beats the family.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import sympy as sp
from scipy.optimize import brentq, minimize_scalar

from numerics.bounds import check_horizon, check_value
from numerics.errors import TRMInputError
from numerics.iid import iid_pair, iid_worst_case
from numerics.pair import AutomatonPair
from numerics.statistic_bounds import PAIR_KEYS, STATISTICS, additive_bound, best_bound, bounds_for
from proofs import lower_bounds as proved
from proofs.symbols import T as T_sym, delta as delta_sym
#: Largest δ the KL search accepts (q with 1 − q ≈ e^(−δ/(1−p)) must stay representable below 1).
MAX_KL = 20.0
#: Smallest statistic value searched: below it the two-token constructions are beneath float64's resolution.
MIN_VALUE = 1e-12
#: Log-odds grid points of the coarse search over p, before the bounded refinement.
GRID_POINTS = 48


@lru_cache(maxsize=None)
def _closed_form(name: str):
    exprs = {"single_rare_error": (proved.SINGLE_RARE_ERROR, [proved.p, proved.q_, T_sym]),
             "rare_limit": (proved.RARE_LIMIT_WORST, [delta_sym, T_sym])}
    expr, args = exprs[name]
    return sp.lambdify(args, expr, modules="math")


def single_rare_error(p_roll: float, p_theta: float, T: int) -> float:
    """Error(R₁), R₁ = 1[exactly one rare token], of the i.i.d. pair (p_roll, p_theta) at horizon T, from the closed
    form proved in proofs.lower_bounds (single_rare_error): a lower bound on sup_R|Error| of that pair."""
    return float(_closed_form("single_rare_error")(p_roll, p_theta, T))


def rare_limit_lower_bound(delta: float, T: int) -> float:
    """T(1 − e^(−δ))(1 − e^(−δ(T−1))), the limit p → 0 of |Error(R₁)| at q = 1 − e^(−δ) (proofs.lower_bounds,
    single_rare_limit_*): the supremum over pairs with max token KL ≤ δ is at least this."""
    return float(_closed_form("rare_limit")(delta, T))


# ----------------------------------------------------------------------------------------------- the family
@dataclass(frozen=True)
class PairStatistics:
    """Exact quantities of a construction: sup_R|Error| and every statistic a bound here takes."""

    worst_case_error: float
    kl_tok_max: float
    tv_tok_max: float
    chi2_tok_max: float
    kl_seq: float
    tv_seq: float
    chi2_pos_sum: float          # Q = Σ_t E_roll[χ²(c_t)]


@dataclass(frozen=True)
class BranchPair:
    """With probability ``weight`` the i.i.d. pair π_roll = (p_roll, 1 − p_roll), π_θ = (p_theta, 1 − p_theta) at
    positions 1..m, identical policies (π_θ = π_roll) after them; with probability 1 − weight identical policies
    throughout. Horizon T ≥ m."""

    p_roll: float
    p_theta: float
    T: int
    m: int
    weight: float = 1.0

    def __post_init__(self):
        T = check_horizon(self.T)
        if isinstance(self.m, bool) or not isinstance(self.m, (int, np.integer)) or not 1 <= self.m <= T:
            raise TRMInputError(f"m = {self.m!r}: the mismatched positions must number 1..T = {T}")
        if not (isinstance(self.weight, (int, float)) and 0.0 < self.weight <= 1.0):
            raise TRMInputError(f"weight = {self.weight!r}: the branch probability must lie in (0, 1]")
        for name, value in (("p_roll", self.p_roll), ("p_theta", self.p_theta)):
            if not (isinstance(value, (int, float)) and 0.0 < value < 1.0):
                raise TRMInputError(f"{name} = {value!r}: must lie strictly between 0 and 1")
        object.__setattr__(self, "T", T)
        object.__setattr__(self, "m", int(self.m))

    def automaton(self) -> AutomatonPair:
        """The pair as an automaton: the i.i.d. pair itself when weight = 1 and m = T; otherwise state 0 is the
        mismatched branch, state 1 the matched one, policies time-dependent of shape (T, 2, 2)."""
        p, q = self.p_roll, self.p_theta
        if self.weight == 1.0 and self.m == self.T:
            return iid_pair(p, q, self.T)
        roll = np.tile(np.array([p, 1 - p]), (self.T, 2, 1))
        theta = roll.copy()
        theta[: self.m, 0] = [q, 1 - q]
        init = np.array([self.weight, 1.0 - self.weight])
        return AutomatonPair(init, np.array([[0, 0], [1, 1]]), roll, theta, np.array([0.5, 0.5]), self.T)

    def statistics(self) -> PairStatistics:
        """Every quantity exactly: the binomial sum at horizon m, scaled by the branch probability."""
        r = iid_worst_case(self.p_roll, self.p_theta, self.m)
        w = self.weight
        return PairStatistics(worst_case_error=w * r.worst_case_error, kl_tok_max=r.kl_tok, tv_tok_max=r.tv_tok,
                              chi2_tok_max=r.chi2_tok, kl_seq=w * r.kl_seq, tv_seq=w * r.tv_seq,
                              chi2_pos_sum=w * self.m * r.chi2_tok)


def two_token_kl(p: float, q: float) -> float:
    """D_KL((p, 1 − p) ‖ (q, 1 − q)) for 0 < p, q < 1, term by term as numerics.divergence.token_kl evaluates it
    (p(x − log1p x) near x = q/p − 1 = 0, p(log p − log q) + (q − p) elsewhere; the −p·x parts of the near
    terms sum to 0), in scalar arithmetic because the searches call it thousands of times."""
    total = 0.0
    for a, b in ((p, q), (1.0 - p, 1.0 - q)):
        if b <= 0.0:
            return math.inf
        x = (b - a) / a
        total += a * (x - math.log1p(x)) if abs(x) <= 0.5 else a * (math.log(a) - math.log(b)) + (b - a)
    return total


def theta_for_kl(p: float, delta: float) -> float | None:
    """The q ∈ (p, 1) with D_KL((p, 1 − p) ‖ (q, 1 − q)) = δ, found on y = −log(1 − q) (monotone, and 1 − q keeps
    its relative accuracy as q → 1); None when that q is not representable below 1 in float64 (δ beyond about
    (1 − p)·36)."""
    y_lo = -math.log1p(-p)
    f = lambda y: two_token_kl(p, -math.expm1(-y)) - delta
    y_hi = y_lo + max(1.0, 2.0 * delta / (1.0 - p))
    while f(y_hi) < 0:
        y_hi = y_lo + 2.0 * (y_hi - y_lo)
        if y_hi > 745:
            return None
    y = brentq(f, y_lo, y_hi, xtol=1e-15 * y_hi, rtol=1e-14, maxiter=200)
    q = -math.expm1(-y)
    for _ in range(3):                       # Newton on q itself: ∂KL/∂q = (q − p)/(q(1 − q))
        slope = (q - p) / (q * (1.0 - q)) if q < 1.0 else 0.0
        if slope <= 0:
            break
        q = min(max(q - (two_token_kl(p, q) - delta) / slope, math.nextafter(p, 1.0)), math.nextafter(1.0, 0.0))
    for _ in range(64):                      # on the safe side: the largest float q found with KL ≤ δ
        if q >= 1.0 or two_token_kl(p, q) > delta:
            q = math.nextafter(q, 0.0)
        else:
            break
    return q if p < q < 1.0 and delta - two_token_kl(p, q) <= kl_resolution(p, q, delta) else None


def kl_resolution(p: float, q: float, delta: float) -> float:
    """How closely a float q can meet D_KL = δ: 1e-9·δ plus four ulps of q times |∂KL/∂q| = |(1 − p)/(1 − q) − p/q|
    (near q → 1 the spacing of floats, not the root finder, limits it)."""
    return 1e-9 * delta + 4.0 * abs((1.0 - p) / (1.0 - q) - p / q) * math.ulp(q)


def theta_for_chi2(p: float, chi2: float) -> float | None:
    """q = p + sqrt(χ² p(1 − p)), so that χ²(θ ‖ roll) = (q − p)²/(p(1 − p)) = χ²; None when q ≥ 1."""
    q = p + math.sqrt(chi2 * p * (1.0 - p))
    return q if q < 1.0 else None


# ----------------------------------------------------------------------------------------------- searches
def _logit(p: float) -> float:
    return math.log(p) - math.log1p(-p)


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def _search(score, lo: float, hi: float) -> tuple[float, float]:
    """(best log-odds, best score) of ``score`` (larger is better; −inf where infeasible) over [lo, hi]: a grid of
    GRID_POINTS, then a bounded Brent refinement between the grid neighbours of the best point."""
    grid = np.linspace(lo, hi, GRID_POINTS)
    values = np.array([score(float(x)) for x in grid])
    i = int(np.argmax(values))
    best_x, best = float(grid[i]), float(values[i])
    a, b = float(grid[max(i - 1, 0)]), float(grid[min(i + 1, len(grid) - 1)])
    if b > a:
        res = minimize_scalar(lambda x: -score(float(x)), bounds=(a, b), method="bounded", options={"xatol": 1e-4})
        if -res.fun > best:
            best_x, best = float(res.x), float(-res.fun)
    return best_x, best


def _p_range(horizon: int) -> tuple[float, float]:
    tiny = max(1e-12, 1e-4 / horizon)
    return _logit(tiny), _logit(1.0 - tiny)


@lru_cache(maxsize=4096)
def best_iid_kl(delta: float, m: int) -> tuple[float, float, float]:
    """(p, q, sup_R|Error|) of the i.i.d. pair with D_KL = δ exactly that maximises sup_R|Error| at horizon m."""

    def score(x):
        p = _expit(x)
        q = theta_for_kl(p, delta)
        return -math.inf if q is None else iid_worst_case(p, q, m).worst_case_error

    x, best = _search(score, *_p_range(m))
    p = _expit(x)
    return p, theta_for_kl(p, delta), best


@lru_cache(maxsize=4096)
def best_iid_chi2(chi2: float, m: int) -> tuple[float, float, float]:
    """(p, q, sup_R|Error|) of the i.i.d. pair with χ² = chi2 exactly that maximises sup_R|Error| at horizon m."""

    def score(x):
        p = _expit(x)
        q = theta_for_chi2(p, chi2)
        return -math.inf if q is None else iid_worst_case(p, q, m).worst_case_error

    lo, hi = _p_range(m)
    hi = min(hi, -math.log(chi2) - 1e-9)         # q < 1 needs p < 1/(1 + χ²)
    x, best = _search(score, lo, hi)
    p = _expit(x)
    return p, theta_for_chi2(p, chi2), best


#: Per-token χ² of the mismatched branch tried for 'additive', as multiples 8^k (k = 0..) of the smallest Q/m,
#: up to this cap (beyond it sup_R|Error| of the branch grows like sqrt(Q) while its D_TV^seq is near 1).
ADDITIVE_BRANCH_CHI2_CAP = 16.0


@lru_cache(maxsize=4096)
def best_iid_chi2_sum(Q: float, m: int) -> tuple[tuple | None, tuple | None]:
    """Two branch pairs with Σ_t E_roll[χ²(c_t)] = Q over m mismatched positions, from one set of i.i.d. evaluations:
    ``(p, q, weight, ratio)`` minimising (D_TV^seq + ½ sqrt(Q)) / sup_R|Error| at the pair's own D_TV^seq (the
    witness of that pair-dependent bound), and ``(p, q, weight, worst)`` maximising sup_R|Error| (the worst case
    given Q alone); None where no member is feasible. A branch of weight w and per-token χ² = y has Q = w·m·y,
    sup_R|Error| = w·S_y and D_TV^seq = w·TV_y (S_y, TV_y the i.i.d. pair's at horizon m); y runs over Q/m·8^k
    (w = Q/(m y) ≤ 1), p over the usual search (both objectives see the same grid points, evaluated once)."""
    by_ratio = by_worst = None
    y = Q / m
    while True:
        chi2, w = y, min(1.0, Q / (m * y))
        seen = {}

        def member(x, chi2=chi2, seen=seen):
            if x not in seen:
                p = _expit(x)
                q = theta_for_chi2(p, chi2)
                seen[x] = None if q is None else iid_worst_case(p, q, m)
            return seen[x]

        def inverse_ratio(x, w=w, member=member):
            r = member(x)
            if r is None or r.worst_case_error <= 0:
                return -math.inf
            return w * r.worst_case_error / additive_bound(Q, w * r.tv_seq)

        def worst(x, w=w, member=member):
            r = member(x)
            return -math.inf if r is None else w * r.worst_case_error

        lo, hi = _p_range(m)
        hi = min(hi, -math.log(chi2) - 1e-9)         # q < 1 needs p < 1/(1 + χ²)
        for objective, best, slot in ((inverse_ratio, by_ratio, 0), (worst, by_worst, 1)):
            x, value = _search(objective, lo, hi)
            if value > 0 and (best is None or value > best[0]):
                p = _expit(x)
                found = (value, p, theta_for_chi2(p, chi2), w)
                by_ratio, by_worst = (found, by_worst) if slot == 0 else (by_ratio, found)
        y *= 8.0
        if y > max(ADDITIVE_BRANCH_CHI2_CAP, Q / m):
            break
    ratio = None if by_ratio is None else (by_ratio[1], by_ratio[2], by_ratio[3], 1.0 / by_ratio[0])
    worst_case = None if by_worst is None else (by_worst[1], by_worst[2], by_worst[3], by_worst[0])
    return ratio, worst_case


def horizon_grid(T: int, extra=()) -> list[int]:
    """The powers of two up to T, T itself and ``extra`` (those within 1..T), sorted."""
    out = {1 << k for k in range(T.bit_length()) if 1 << k <= T} | {T}
    out |= {int(e) for e in extra if 1 <= int(e) <= T}
    return sorted(out)


def additive_horizons(T: int) -> list[int]:
    """The mismatched lengths m tried for 'additive': powers of 4 from 2 up to T, and T (Q does not depend on T,
    so the best m is usually far below a long horizon)."""
    return sorted({m for m in (2 * 4**k for k in range(20)) if m <= T} | ({T} if T >= 2 else set()))


# ----------------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Witness:
    """The member that minimises a pair-dependent bound's ratio (PAIR_KEYS), with its exact statistics."""

    pair: BranchPair
    stats: PairStatistics

    def to_json(self) -> dict:
        return {"construction": _construction_json(self.pair), "worst_case_error": self.stats.worst_case_error,
                "tv_seq": self.stats.tv_seq, "chi2_pos_sum": self.stats.chi2_pos_sum}


def _construction_json(pair: BranchPair) -> dict:
    return {"p_roll": pair.p_roll, "p_theta": pair.p_theta, "m": pair.m, "weight": pair.weight}


@dataclass(frozen=True)
class LowerBound:
    """The best construction found for one statistic value and horizon, with the suite's bounds from that statistic
    (numerics.statistic_bounds) and their ratios.

    ratios[key] = bounds[key] / stats.worst_case_error (+inf where the worst case is 0): the most a better proof
    from the same statistic could gain; for a key of ``witness`` (the additive bound at a pair's own D_TV^seq) the
    bound and the worst case are the witness pair's. ``best`` = (key, value) of the smallest bound that reads only the
    statistic: worst found ≤ worst(statistic) ≤ best, so bounds[key] / best is the least key's proof loses.
    ``reference`` holds the i.i.d. symmetric pair's worst case at the same statistic and, for 'kl', the
    kernel-proved closed-form lower bounds (single_rare_*)."""

    statistic: str
    value: float
    kl_seq: float | None
    T: int
    pair: BranchPair
    stats: PairStatistics
    bounds: dict
    ratios: dict
    best: tuple
    reference: dict = field(default_factory=dict)
    witness: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        key, value = self.best
        worst = self.stats.worst_case_error
        return {"statistic": self.statistic, "value": self.value, "kl_seq_cap": self.kl_seq, "T": self.T,
                "construction": _construction_json(self.pair), "worst_case_error": worst,
                "statistics": {"kl_tok_max": self.stats.kl_tok_max, "tv_tok_max": self.stats.tv_tok_max,
                               "chi2_tok_max": self.stats.chi2_tok_max, "kl_seq": self.stats.kl_seq,
                               "tv_seq": self.stats.tv_seq, "chi2_pos_sum": self.stats.chi2_pos_sum},
                "bounds": dict(self.bounds), "ratios": dict(self.ratios),
                "best": {"bound": key, "value": value, "ratio": value / worst if worst > 0 else math.inf},
                "witness": {k: w.to_json() for k, w in self.witness.items()}, "reference": dict(self.reference)}


def ratios_of(bounds: dict, worst: float) -> dict:
    """{key: bound / worst}, +inf where the worst case is 0."""
    return {k: (b / worst if worst > 0 else math.inf) for k, b in bounds.items()}


def check_statistic(statistic: str, value, kl_seq=None) -> tuple[str, float, float | None]:
    """(statistic, value, kl_seq) validated, or a TRMInputError naming the argument."""
    if statistic not in STATISTICS:
        raise TRMInputError(f"statistic = {statistic!r}: choose one of {', '.join(STATISTICS)}")
    v = check_value(f"value ({statistic})", value)
    if v <= 0:
        raise TRMInputError(f"value = {v:g}: the statistic must be positive (at 0 every pair has Error = 0)")
    if v < MIN_VALUE:
        raise TRMInputError(f"value = {v:g}: below {MIN_VALUE:g} the constructions are beneath float64's resolution "
                            "(the worst case is second order in the statistic there)")
    if statistic in ("kl", "kl_seq") and v > MAX_KL:
        raise TRMInputError(f"value = {v:g}: a max token KL above {MAX_KL:g} is not searched (π_θ would need "
                            "probabilities below float64's resolution)")
    if statistic == "kl_seq":
        if kl_seq is None:
            raise TRMInputError("kl_seq: the statistic 'kl_seq' needs the cap D on D_KL^seq (--kl-seq)")
        D = check_value("kl_seq (D_KL^seq)", kl_seq)
        if D < MIN_VALUE:
            raise TRMInputError(f"kl_seq = {D:g}: the cap on D_KL^seq must be at least {MIN_VALUE:g}")
        return statistic, v, D
    if kl_seq is not None:
        raise TRMInputError(f"kl_seq = {kl_seq!r}: only the statistic 'kl_seq' takes a cap on D_KL^seq")
    return statistic, v, None


def best_construction(statistic: str, value: float, T: int, kl_seq: float | None = None) -> LowerBound:
    """The construction of the family (module docstring) with the largest sup_R|Error| at the statistic's value, its
    exact statistics, the suite's bounds from that statistic and their ratios (for 'additive' also the witness that
    minimises the ratio of the additive bound at its own D_TV^seq)."""
    statistic, value, kl_seq = check_statistic(statistic, value, kl_seq)
    T = check_horizon(T)
    reference, witness = {}, None
    if statistic == "kl":
        p, q, _ = best_iid_kl(value, T)
        pair = BranchPair(p, q, T, T)
        a = 0.5 * math.sqrt(-math.expm1(-2.0 * value)) if value < 20 else 0.5 * (1 - 1e-16)
        reference["symmetric_iid"] = iid_worst_case(0.5, min(0.5 + a, 1 - 1e-16), T).worst_case_error
        reference["proved_rare_limit"] = rare_limit_lower_bound(value, T)
        p_small = proved_small_pair(value, T)
        reference["proved_rare_closed_form"] = (abs(single_rare_error(*p_small, T)) if p_small is not None else 0.0)
    elif statistic == "kl_seq":
        candidates = []
        for m in horizon_grid(T, (math.ceil(kl_seq / value),)):
            p, q, w = best_iid_kl(value, m)
            weight = min(1.0, kl_seq / (m * two_token_kl(p, q)))
            candidates.append((weight * w, BranchPair(p, q, T, m, weight)))
        pair = max(candidates, key=lambda c: c[0])[1]
    elif statistic == "chi2":
        p, q, _ = best_iid_chi2(value, T)
        pair = BranchPair(p, q, T, T)
        reference["symmetric_iid"] = iid_worst_case(0.5, 0.5 + 0.5 * math.sqrt(value), T).worst_case_error \
            if value < 1 else None
    else:
        found = [(best_iid_chi2_sum(value, m), m) for m in additive_horizons(T)]
        by_ratio = [(r, m) for (r, _), m in found if r is not None]
        by_worst = [(w, m) for (_, w), m in found if w is not None]
        if not by_ratio or not by_worst:
            raise TRMInputError(f"T = {T}: at T = 1 every pair has Error = 0, so no ratio is defined")
        (p, q, w, _), m = min(by_ratio, key=lambda c: c[0][3])
        witness = BranchPair(p, q, T, m, w)
        (p, q, w, _), m = max(by_worst, key=lambda c: c[0][3])
        pair = BranchPair(p, q, T, m, w)
    stats = pair.statistics()
    if witness is None:
        bounds = bounds_for(statistic, value, T, kl_seq)
        ratios = ratios_of(bounds, stats.worst_case_error)
        witnesses = {}
    else:
        w_stats = witness.statistics()
        if w_stats.worst_case_error > stats.worst_case_error:      # the ratio's minimiser may reach further
            pair, stats = witness, w_stats
        bounds = bounds_for(statistic, value, T, kl_seq, tv_seq=w_stats.tv_seq)
        ratios = ratios_of(bounds, stats.worst_case_error)
        witnesses = {key: Witness(witness, w_stats) for key in PAIR_KEYS[statistic]}
        ratios.update({key: r for key, r in ratios_of(bounds, w_stats.worst_case_error).items()
                       if key in PAIR_KEYS[statistic]})
    return LowerBound(statistic, value, kl_seq, T, pair, stats, bounds, ratios, best_bound(statistic, bounds),
                      reference, witnesses)


def proved_small_pair(delta: float, T: int) -> tuple[float, float] | None:
    """(p, q) = ((2 − √2)/T, q with D_KL = δ): the small-regime member of the one-rare-token family, whose
    |Error(R₁)| ≈ 2(√2 − 1)e^(√2−2)·T·δ to first order (proofs.lower_bounds); None when T < 2."""
    if T < 2:
        return None
    p = float(proved.SMALL_ARGMAX) / T
    q = theta_for_kl(p, delta)
    return None if q is None else (p, q)
