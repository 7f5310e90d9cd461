"""The path-moment bounds on sup_R|Error| in float64, from the formulas of proofs.path_bounds (THEORY §11;
this suite's own results, not the paper's).

For a reward in [0, 1] and π_θ on π_roll's support, with Q = Σ_t E_roll[χ²(c_t)], S = Σ_t (ρ_t − 1),
H = Σ_t k3(ρ_t), W = Π_t ρ_t − 1 − S:

    sequence_kl     D_KL^seq
    additive        D_TV^seq + ½ min(sqrt(Q), min over split thresholds of A_b + sqrt(Q_s)) (numerics.split_moments),
                    D_TV^seq exact where known, else its smallest upper bound among Le Cam's sqrt(1 − BC²),
                    Bretagnolle–Huber's sqrt(1 − e^(−D_KL^seq)) and Pinsker's cap
    tangent         min over γ ≥ 0 of ½(m_γ + sqrt(s_γ)) (γ = 0: ½(1 + sqrt(1 + Q))), m_γ and s_γ from
                    D_KL^seq, Q, E[SH], E[H²]; with Q alone only γ = 0
    weighted_chi2   min over a grid of weights ω = ρ^α (1 + λ|ρ − 1|) of ½ sqrt(E[W²/Πω] E[Πω])

each ≥ sup_R|Error| ≥ |Error| (proofs.path_bound_proofs). ``best`` is the minimum over every valid bound
reported beside them (the paper's family in the requested constants, the χ² family and these), named by
``argmin_best``; the paper's B* (``unified``) and B** (``unified_with_chi2``) are left as they are.
Every closed form is proofs.path_bounds' expression, evaluated through the generated table
(:func:`numerics.formulas.active`: numerics/generated_bounds.py, ``python3 -m numerics.codegen``), so that
importing this module costs numpy only. KL is KL(roll ‖ θ); χ² is χ²(π_θ ‖ π_roll).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from numerics import formulas
from numerics.bounds import BoundInputs, check_horizon, check_value, evaluate_bounds, pinsker_cap
from numerics.errors import TRMInputError
from numerics.pair import AutomatonPair, TabularPair, as_automaton
from numerics.path_moments import weighted_second_moment
from numerics.transition import DENSE_STATE_LIMIT

PATH_BOUND_NAMES = formulas.active().PATH_BOUND_NAMES
#: Relative slack allowed when checking that user inputs respect the relations between them.
CONSISTENCY_RTOL = 1e-9
#: γ searched by the tangent bound: 0 (its limit) and a geometric grid on [1e-4, 2], refined by golden section.
_GAMMA_GRID = np.union1d(np.geomspace(1e-4, 2.0, 161), [1.0])

PATH_FAMILY_NOTE = ("sequence_kl, additive, tangent, weighted_chi2: bounds on sup_R|Error| from path moments "
                    "(THEORY §11), this suite's results, not the paper's; the same values in both constant families")
BEST_NOTE = ("best = the minimum over every bound reported (the paper's family in these constants, the χ² family and "
             "the path-moment family), named by argmin_best; 'unified' stays the paper's B*")


@dataclass(frozen=True)
class WeightedChi2:
    """The best weighted χ² bound found and where: value = ½ sqrt(E[W²/Πω] E[Πω]) at ω = ρ^α (1 + λ|ρ − 1|);
    ``grid`` names the search ("full": α ∈ {0, ⅛, ¼, ½} × ν ∈ {0, ¼, …, 32}; "coarse"; λ = ν / E_roll[Σ|u_t|])."""

    value: float
    alpha: float
    lam: float
    grid: str


#: The weight grids of the weighted χ² search: α (the exponent of ρ) × ν, with λ = ν / E_roll[Σ_t |ρ_t − 1|].
FULL_GRID = tuple((a, nu) for a in (0.0, 0.125, 0.25, 0.5) for nu in (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0))
COARSE_GRID = tuple((a, nu) for a in (0.0, 0.25) for nu in (0.0, 1.0, 4.0, 16.0))
#: Default time budget of the weighted χ² search (seconds, by the cost model of :func:`weighted_cost_seconds`).
WEIGHTED_MAX_SECONDS = 30.0
_FLOPS_PER_SECOND = 4e9
_CALL_SECONDS = 4e-6


def weighted_cost_seconds(auto: AutomatonPair) -> float:
    """Estimated seconds of one weighted second moment (the transform recursion, 6 monomials, and the mass
    recursion) by numerics.path_recursion's engines (a conservative model, not a measurement)."""
    T, S, V = auto.T, auto.S, auto.V
    logT = max(1, math.ceil(math.log2(max(T, 2))))
    seconds = 0.0
    for n, pairs in ((6, 15), (1, 1)):
        if not auto.time_dependent and n * S <= DENSE_STATE_LIMIT:
            N = n * S
            flops = min(T * 2 * N * N, 2 * 2 * N**3 * logT)
            seconds += flops / _FLOPS_PER_SECOND + 4 * logT * _CALL_SECONDS + pairs * 40 * S * V / _FLOPS_PER_SECOND
        else:
            seconds += T * (pairs * (2 * S * V * 8 / _FLOPS_PER_SECOND + 3 * _CALL_SECONDS))
    return seconds


def search_weighted_chi2(pair: AutomatonPair | TabularPair, abs_u_sum: float, grid: str = "auto",
                         max_seconds: float | None = WEIGHTED_MAX_SECONDS, T: int | None = None) -> WeightedChi2 | None:
    """The smallest ½ sqrt(E[W²/Πω] E[Πω]) over the weights ω = ρ^α (1 + λ|ρ − 1|) of a grid, λ = ν/``abs_u_sum``
    (``abs_u_sum`` = E_roll[Σ_t |ρ_t − 1|] = 2 Σ_t D̄_t sets the scale at which Π_t(1 + λ|u_t|) departs from 1).

    ``grid``: "full", "coarse", "none" or "auto" (full if its estimated time fits ``max_seconds``, else coarse if
    that fits, else none). Returns None for "none". Every grid point is a valid bound; their minimum is too."""
    auto = as_automaton(pair, T)
    if grid not in ("auto", "full", "coarse", "none"):
        raise TRMInputError(f"grid = {grid!r}: choose auto, full, coarse or none")
    if grid == "auto":
        cost = weighted_cost_seconds(auto)
        budget = math.inf if max_seconds is None else max_seconds
        grid = "full" if len(FULL_GRID) * cost <= budget else ("coarse" if len(COARSE_GRID) * cost <= budget
                                                               else "none")
    if grid == "none":
        return None
    points = FULL_GRID if grid == "full" else COARSE_GRID
    scale = abs_u_sum if abs_u_sum > 0 and math.isfinite(abs_u_sum) else 1.0
    best = WeightedChi2(math.inf, 0.0, 0.0, grid)
    bound = formulas.active().PATH_BOUNDS["weighted_chi2"]
    for a, nu in points:
        lam = nu / scale
        w2, mass = weighted_second_moment(auto, a, lam)
        with np.errstate(over="ignore", invalid="ignore"):
            value = float(bound(w2, mass)) if math.isfinite(w2) and math.isfinite(mass) else math.inf
        if value < best.value:
            best = WeightedChi2(value, a, lam, grid)
    return best


@dataclass(frozen=True)
class PathInputs:
    """The measured quantities of the path-moment bounds (None: not measured).

    T              sequence length
    kl_seq         D_KL^seq (+inf allowed)
    q_sum          Q = Σ_t E_roll[χ²(c_t)]
    sh_moment      E_roll[S·H]
    h2_moment      E_roll[H²]
    tv_seq         D_TV^seq when known exactly (or an upper bound of it)
    bhattacharyya  BC = E_roll[Π_t sqrt(ρ_t)]
    weighted       the weighted χ² search's result
    splits         [(r*, A_b, Q_s)]: E|Σ_t u_t| ≤ A_b + sqrt(Q_s) for each split threshold r*
    notes          where an input is a worst case rather than a measurement
    """

    T: int
    kl_seq: float
    q_sum: float | None = None
    sh_moment: float | None = None
    h2_moment: float | None = None
    tv_seq: float | None = None
    bhattacharyya: float | None = None
    weighted: WeightedChi2 | None = None
    notes: tuple[str, ...] = field(default=())
    splits: tuple = ()

    @classmethod
    def from_exact(cls, quantities, moments, weighted: WeightedChi2 | None = None, splits=()) -> "PathInputs":
        """From :class:`numerics.result.ExactQuantities`, :class:`numerics.path_moments.PathMoments`, the weighted
        search and :func:`numerics.split_moments.split_sum_bounds`."""
        return cls(quantities.T, float(quantities.kl_seq), moments.q_sum, moments.sh_moment, moments.h2_moment,
                   quantities.tv_seq, moments.bhattacharyya, weighted, (), tuple(splits))

    @classmethod
    def worst_case(cls, T, kl_seq, q_sum=None, sh_moment=None, h2_moment=None, tv_seq=None, bhattacharyya=None,
                   chi2_max=None) -> "PathInputs":
        """User numbers (D_KL^seq already at its worst case Tδ when not measured). Inputs that contradict each
        other are refused with the relation that fails: Q ≤ Tχ²_max, E[H²] ≥ (D_KL^seq)² (Jensen),
        E[SH]² ≤ Q E[H²] (Cauchy–Schwarz), e^(−D_KL^seq/2) ≤ BC ≤ 1 (Jensen), 1 − BC ≤ D_TV^seq ≤ sqrt(1 − BC²)."""
        T = check_horizon(T)
        K = check_value("kl-seq (D_KL^seq)", kl_seq, allow_inf=True)
        notes = []
        Q = None if q_sum is None else check_value("chi2-sum (Q)", q_sum, allow_inf=True)
        if Q is not None and chi2_max is not None and Q > T * chi2_max * (1 + CONSISTENCY_RTOL):
            raise TRMInputError(f"--chi2-sum {Q:g} exceeds T·χ²_max = {T * chi2_max:g}: Q = Σ_t E[χ²(c_t)] ≤ T·χ²_max")
        if Q is None and chi2_max is not None and math.isfinite(chi2_max):
            Q = T * chi2_max
            notes.append(f"Q: worst case T·χ²_max = {Q:.6g}")
        if (sh_moment is None) != (h2_moment is None):
            raise TRMInputError("--sh-moment and --h2-moment go together (the tangent bound needs both)")
        sh = h2 = None
        if h2_moment is not None:
            if Q is None:
                raise TRMInputError("--sh-moment/--h2-moment need --chi2-sum (Q) or --chi2-max")
            h2 = check_value("h2-moment (E[H²])", h2_moment, allow_inf=True)
            try:
                sh = float(sh_moment)
            except (TypeError, ValueError):
                raise TRMInputError(f"sh-moment (E[SH]) = {sh_moment!r}: not a number") from None
            if not math.isfinite(sh):
                raise TRMInputError(f"sh-moment (E[SH]) = {sh_moment!r}: must be a finite number")
            if math.isfinite(K) and h2 < K * K * (1 - CONSISTENCY_RTOL):
                raise TRMInputError(f"--h2-moment {h2:g} is below (D_KL^seq)² = {K * K:g}: E[H²] ≥ E[H]² (Jensen)")
            if sh * sh > Q * h2 * (1 + CONSISTENCY_RTOL) + 1e-300:
                raise TRMInputError(f"--sh-moment {sh:g}: E[SH]² ≤ Q·E[H²] = {Q * h2:g} must hold (Cauchy–Schwarz)")
        bc = None
        if bhattacharyya is not None:
            bc = check_value("bhattacharyya (BC)", bhattacharyya)
            if bc > 1:
                raise TRMInputError(f"--bhattacharyya {bc:g}: a Bhattacharyya coefficient lies in [0, 1]")
            floor = math.exp(-K / 2) if math.isfinite(K) else 0.0
            if bc < floor * (1 - CONSISTENCY_RTOL):
                raise TRMInputError(f"--bhattacharyya {bc:g} is below e^(−D_KL^seq/2) = {floor:g}: BC = E[√M] ≥ "
                                    "e^(E[log M]/2) (Jensen)")
        tv = None if tv_seq is None else check_value("tv-seq (D_TV^seq)", tv_seq)
        if tv is not None and bc is not None:
            lo, hi = 1 - bc, math.sqrt(max(0.0, 1 - bc * bc))
            if tv < lo * (1 - CONSISTENCY_RTOL) - 1e-15 or tv > hi * (1 + CONSISTENCY_RTOL) + 1e-15:
                raise TRMInputError(f"--tv-seq {tv:g} with --bhattacharyya {bc:g}: 1 − BC = {lo:g} ≤ D_TV^seq ≤ "
                                    f"sqrt(1 − BC²) = {hi:g} must hold")
        return cls(T, K, Q, sh, h2, tv, bc, None, tuple(notes))


def tv_upper_bounds(inputs: PathInputs) -> dict:
    """{'exact' (when known), 'le_cam', 'bretagnolle_huber', 'pinsker'}: D_TV^seq and its upper bounds."""
    K, upper = inputs.kl_seq, formulas.active().TV_UPPER_BOUNDS
    out = {"pinsker": pinsker_cap(K)}
    out["bretagnolle_huber"] = 1.0 if math.isinf(K) else float(upper["bretagnolle_huber"](K))
    if inputs.bhattacharyya is not None:
        out["le_cam"] = float(upper["le_cam"](min(1.0, inputs.bhattacharyya)))
    if inputs.tv_seq is not None:
        out["exact"] = float(inputs.tv_seq)
    return out


def tangent_bound(inputs: PathInputs) -> tuple[float, float]:
    """(min over γ of the tangent bound, the γ attaining it); γ = 0 only when E[SH], E[H²] are not measured."""
    if inputs.q_sum is None:
        return math.inf, math.nan
    Q, table = inputs.q_sum, formulas.active()
    tangent = table.PATH_BOUNDS["tangent"]
    with np.errstate(over="ignore"):
        best = (float(table.tangent_bound_at_zero(Q)) if math.isfinite(Q) else math.inf, 0.0)
    if inputs.h2_moment is None or not all(math.isfinite(v) for v in (inputs.kl_seq, inputs.sh_moment,
                                                                       inputs.h2_moment, Q)):
        return best
    def f(g):
        value = float(tangent(g, inputs.kl_seq, Q, inputs.sh_moment, inputs.h2_moment))
        return value if math.isfinite(value) else math.inf

    with np.errstate(over="ignore", invalid="ignore"):
        values = np.asarray(tangent(_GAMMA_GRID, inputs.kl_seq, Q, inputs.sh_moment, inputs.h2_moment))
        values = np.where(np.isfinite(values), values, np.inf)
        i = int(np.argmin(values))
        lo, hi = _GAMMA_GRID[max(i - 1, 0)], _GAMMA_GRID[min(i + 1, len(_GAMMA_GRID) - 1)]
        g, v = _golden(f, lo, hi)
    candidates = [best, (float(values[i]), float(_GAMMA_GRID[i])), (v, g)]
    return min(candidates, key=lambda c: c[0])       # the first of equal values: γ = 0, then the grid


def _golden(f, lo: float, hi: float, iterations: int = 40) -> tuple[float, float]:
    phi = (math.sqrt(5) - 1) / 2
    a, b = lo, hi
    c, d = b - phi * (b - a), a + phi * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(iterations):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - phi * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + phi * (b - a)
            fd = f(d)
    return (c, fc) if fc <= fd else (d, fd)


def evaluate_path_bounds(inputs: PathInputs) -> tuple[dict, dict]:
    """({'sequence_kl', 'additive', 'tangent', 'weighted_chi2'}: value or None when an input is missing,
    {'tangent_gamma', 'additive_tv' (the D_TV^seq value used and its source), 'additive_split_threshold' (r* of
    the split used, None for sqrt(Q)), 'weighted_chi2_alpha', 'weighted_chi2_lambda', 'weighted_chi2_grid',
    'tv_seq_upper_bounds'}). Where π_θ = 0 < π_roll is reached
    (D_KL^seq = +inf) sequence_kl is +inf and the tangent bound is taken at γ = 0."""
    check_horizon(inputs.T)
    K, table = inputs.kl_seq, formulas.active()
    values = {"sequence_kl": math.inf if math.isinf(K) else float(table.PATH_BOUNDS["sequence_kl"](K)),
              "additive": None, "tangent": None, "weighted_chi2": None}
    tvs = tv_upper_bounds(inputs)
    source = "exact" if "exact" in tvs else min(tvs, key=tvs.__getitem__)
    params = {"tv_seq_upper_bounds": tvs, "additive_tv": {"value": tvs[source], "source": source},
              "additive_split_threshold": None, "tangent_gamma": None, "weighted_chi2_alpha": None,
              "weighted_chi2_lambda": None, "weighted_chi2_grid": None}
    if inputs.q_sum is not None or inputs.splits:
        Q = math.inf if inputs.q_sum is None else inputs.q_sum
        with np.errstate(over="ignore"):
            values["additive"] = math.inf if math.isinf(Q) else float(table.PATH_BOUNDS["additive"](tvs[source], Q))
            for r, A_b, Q_s in inputs.splits:
                split = float(table.additive_split_bound(tvs[source], A_b, Q_s))
                if split < values["additive"]:
                    values["additive"], params["additive_split_threshold"] = split, float(r)
    if inputs.q_sum is not None:
        value, g = tangent_bound(inputs)
        values["tangent"], params["tangent_gamma"] = value, (None if math.isnan(g) else g)
    if inputs.weighted is not None:
        values["weighted_chi2"] = inputs.weighted.value
        params.update(weighted_chi2_alpha=inputs.weighted.alpha, weighted_chi2_lambda=inputs.weighted.lam,
                      weighted_chi2_grid=inputs.weighted.grid)
    return values, params


def with_path_bounds(bounds: dict, path: dict) -> dict:
    """The bounds ``bounds`` (paper family, possibly with the χ² family) with the path-moment family added
    beside them and 'best' / 'argmin_best': the minimum over every available bound and its name."""
    out = dict(bounds)
    for name in PATH_BOUND_NAMES:
        out[name] = path[name]
    candidates = {k: v for k, v in out.items()
                  if not k.startswith(("argmin", "unified", "best")) and isinstance(v, (int, float))
                  and not isinstance(v, bool) and not math.isnan(v)}
    name = min(candidates, key=candidates.__getitem__)
    out["best"], out["argmin_best"] = candidates[name], name
    return out


# ------------------------------------------------------------------------------------------------ thresholds
#
# A threshold is the largest value x of a masking criterion's statistic such that, if every sequence π_roll can
# produce satisfies "statistic ≤ x" (every reachable context, for a per-token maximum: the paper's reading of
# TRM's guarantee), the bound with every other input at its worst case given x stays within the budget β.
# The sequence-KL bound takes one input, D_KL^seq, and both TRM-Max (max_t D_KL(c_t) ≤ δ ⇒ D_KL^seq ≤ Tδ) and
# TRM-Avg ((1/T) Σ_t D_KL(c_t) ≤ δ_avg ⇒ D_KL^seq ≤ T δ_avg) control it.

def sequence_kl_threshold(T: int, budget: float) -> float:
    """The largest per-token δ (TRM-Max), or per-sequence mean token KL δ_avg (TRM-Avg, exact KL), with the
    sequence-KL bound at its worst case D_KL^seq = Tδ within ``budget``: β/T (THEORY §11). The bound at its
    worst case is slope(T)·δ (numerics.codegen checks the linearity when it builds the slope from the kernel)."""
    T = check_horizon(T)
    beta = check_value("budget (β)", budget)
    if beta <= 0:
        raise TRMInputError(f"budget = {beta:g}: the error budget must be positive")
    return beta / float(formulas.active().sequence_kl_worst_case_slope(T))


def unified_avg_threshold(T: int, budget: float, constants: str = "paper", rel_tol: float = 1e-10) -> float:
    """For comparison: the largest δ_avg with the paper's B* within ``budget`` when only the per-sequence mean token
    KL is controlled (δ = D_KL^(tok,max) unknown, so +inf; D_KL^seq = T δ_avg). B* is nondecreasing in δ_avg: bisection
    on log δ_avg; 0.0 when even δ_avg = 1e-300 exceeds the budget."""
    T = check_horizon(T)
    beta = check_value("budget (β)", budget)
    if beta <= 0:
        raise TRMInputError(f"budget = {beta:g}: the error budget must be positive")

    def unified(x: float) -> float:
        return evaluate_bounds(BoundInputs.worst_case(T, math.inf, kl_seq=T * x), constants)["unified"]

    lo, hi = -300.0, 300.0
    if unified(10.0**hi) <= beta:
        return math.inf
    if unified(10.0**lo) > beta:
        return 0.0
    while hi - lo > rel_tol * max(1.0, abs(hi)):
        mid = 0.5 * (lo + hi)
        if unified(10.0**mid) <= beta:
            lo = mid
        else:
            hi = mid
    return 10.0**lo
