"""The second-moment (χ²) bound family in float64, from the formulas of :mod:`proofs.second_moment`.

This family is this suite's own result (THEORY §10), not the paper's. For every reward R ∈ [0, 1],
when π_θ puts no mass where π_roll is 0,
    |Error| ≤ sup_R |Error| = ½ E_roll|W| ≤ ½ sqrt(E_roll[W²]),
and E[W²] = Σ_t E_roll[(M_{t−1} − 1)² χ²(c_t)] ≤ χ²_max Σ_{t=1}^T shift_t with
    shift_t = expm1((t − 1)·log1p(χ²_max))                    (χ²-max)
    shift_t = min(χ²_seq, expm1((t − 1)·log1p(χ²_max)))       (χ²-mixed)
so  B_χ²-max = ½ sqrt(χ²_max Σ_t shift_t) = ½ sqrt((1 + χ²_max)^T − 1 − T χ²_max),
    B_χ²-mixed likewise with its shift, and B_χ²-exact = ½ sqrt(E[W²]).
χ² is χ²(π_θ ‖ π_roll) = Σ_v π_θ²/π_roll − 1 per context; χ²_max is its maximum over reachable
contexts, χ²_seq = E_roll[(Π_t ρ_t)²] − 1. The constant ½ is the same in the paper and sharp constant
families (it comes from sup_R |E[R W]| = ½ E|W|, not from the advantage lemma).

B** = min(B*, B_χ²-max, B_χ²-mixed, B_χ²-exact) is reported beside the paper's unified B* as
``unified_with_chi2``; B* itself ('unified') is never changed by this family.

Each per-position term is generated from ``proofs.second_moment.CHI2_SHIFT`` (:mod:`numerics.generated_bounds`,
``python3 -m numerics.codegen``; :mod:`numerics.formulas` holds the table in use) and summed over
t = 1..T in chunks (T up to 10^7 and beyond in bounded memory; :func:`numerics.bounds.sum_over_positions`); every term is ≥ 0, so the sum has no
cancellation. :func:`chi2_max_bound_closed` is the closed form of the χ²-max sum (tested equal to it),
used where many evaluations are needed (threshold inversion).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from numerics import formulas
from numerics.bounds import check_horizon, check_value, sum_over_positions
from numerics.errors import TRMInputError

CHI2_BOUND_NAMES = formulas.active().CHI2_BOUND_NAMES
#: Relative slack allowed when checking that user inputs respect the relations between them.
CONSISTENCY_RTOL = 1e-9

CHI2_FAMILY_NOTE = ("chi2_max, chi2_mixed, chi2_exact: the second-moment (χ²) bound family (THEORY §10), this "
                    "suite's result, not the paper's; constant ½ in both constant families")
UNIFIED_WITH_CHI2_NOTE = ("unified_with_chi2 = B** = min(B*, chi2_max, chi2_mixed, chi2_exact), this suite's "
                          "combination (argmin_with_chi2 names the bound attaining it); 'unified' stays the "
                          "paper's B*")


def _shift_function(name: str):
    return formulas.active().CHI2_SHIFT[name]


def _constant() -> float:
    return float(formulas.active().CHI2_CONSTANT)


def _exact_function():
    return formulas.active().chi2_exact


def shift_sum(name: str, T: int, chi2_max: float, chi2_seq: float = math.inf) -> float:
    """Σ_{t=1}^T shift_t of bound ``name`` ('chi2_max' or 'chi2_mixed'), summed a chunk of positions at a time
    (:func:`numerics.bounds.sum_over_positions`); +inf once the shift overflows."""
    if math.isinf(chi2_max):
        return 0.0 if T == 1 else math.inf
    fn = _shift_function(name)
    with np.errstate(over="ignore", invalid="ignore"):
        if math.isinf(float(fn(float(T), chi2_max, chi2_seq))):
            return math.inf         # every shift is ≥ 0 and the last one overflows: no need to add T terms
        (total,) = sum_over_positions(lambda start, stop, t: [fn(t, chi2_max, chi2_seq)], T, 1)
    return math.inf if math.isnan(total) else total


def _half_sqrt_product(chi2_max: float, total: float) -> float:
    if total == 0.0 or chi2_max == 0.0:
        return 0.0
    return _constant() * math.sqrt(chi2_max * total) if math.isfinite(chi2_max * total) else math.inf


def _expm1_minus_x(y: float) -> float:
    """expm1(y) − y without cancellation for small |y| (series), directly otherwise."""
    if abs(y) < 1e-2:
        term, total = y * y / 2, 0.0
        for k in range(3, 12):
            total += term
            term *= y / k
        return total
    return math.expm1(y) - y


def _log1p_minus_x(x: float) -> float:
    """log1p(x) − x without cancellation for small |x| (series), directly otherwise."""
    if abs(x) < 1e-2:
        return sum((-1) ** (k + 1) * x**k / k for k in range(2, 12))
    return math.log1p(x) - x


def chi2_max_bound_closed(T: int, chi2_max: float) -> float:
    """B_χ²-max in closed form, ½ sqrt((1 + χ²)^T − 1 − Tχ²), evaluated as
    ½ sqrt([expm1(T·l) − T·l] + T·[l − χ²]) with l = log1p(χ²) (two terms, each without cancellation;
    their sum loses at most a factor T/(T − 1) of relative accuracy). Equal to the lambdified sum."""
    if chi2_max == 0.0 or T == 1:
        return 0.0
    if math.isinf(chi2_max):
        return math.inf
    l = math.log1p(chi2_max)
    if T * l > 700:
        # (1 + χ²)^T overflows: the bound is ½ exp(T l / 2) to float precision
        half = 0.5 * T * l
        return math.inf if half > 709 else 0.5 * math.exp(half)
    inner = _expm1_minus_x(T * l) + T * _log1p_minus_x(chi2_max)
    return _constant() * math.sqrt(max(inner, 0.0))


@dataclass(frozen=True)
class Chi2Inputs:
    """The measured quantities the χ² family is a function of.

    T              sequence length
    chi2_max       χ²_max = max over reachable contexts of χ²(π_θ ‖ π_roll)(c) (may be +inf)
    chi2_seq       χ²_seq = E_roll[(Π_t ρ_t)²] − 1 (or an upper bound; may be +inf)
    second_moment  E_roll[W²] (None when not measured: B_χ²-exact is then unavailable)
    notes          where an input is a worst case rather than a measurement
    """

    T: int
    chi2_max: float
    chi2_seq: float
    second_moment: float | None = None
    notes: tuple[str, ...] = field(default=())

    @classmethod
    def from_exact(cls, quantities) -> "Chi2Inputs":
        """From :class:`numerics.result.ExactQuantities` (its chi2_* and second_moment fields).

        π_θ mass outside π_roll's support makes every input +inf: no bound of the family applies."""
        if quantities.chi2_tok_max is None:
            raise TRMInputError("the exact quantities carry no χ² values (computed with second_moments=False)")
        if quantities.theta_mass_off_roll_support > 0:
            return cls(quantities.T, math.inf, math.inf, math.inf,
                       ("π_θ puts mass where π_roll is 0: χ² is infinite and no χ² bound applies",))
        return cls(quantities.T, float(quantities.chi2_tok_max), float(quantities.chi2_seq),
                   None if quantities.second_moment is None else float(quantities.second_moment))

    @classmethod
    def worst_case(cls, T, chi2_max, chi2_seq=None, second_moment=None) -> "Chi2Inputs":
        """User numbers; a missing χ²_seq takes its worst case (1 + χ²_max)^T − 1 given χ²_max.
        Inputs that contradict each other are refused with the relation that fails."""
        T = check_horizon(T)
        x = check_value("chi2-max (χ²_max)", chi2_max, allow_inf=True)
        notes = []
        seq_cap = math.inf if math.isinf(x) else _expm1_safe(T * math.log1p(x))
        if chi2_seq is None:
            s = seq_cap
            notes.append(f"χ²_seq: worst case (1 + χ²_max)^T − 1 = {seq_cap:.6g}")
        else:
            s = check_value("chi2-seq (χ²_seq)", chi2_seq, allow_inf=True)
            if s > seq_cap * (1 + CONSISTENCY_RTOL):
                raise TRMInputError(f"--chi2-seq {s:g} exceeds (1 + χ²_max)^T − 1 = {seq_cap:g}: the recursion "
                                    "E[M_t²] ≤ (1 + χ²_max)·E[M_(t−1)²] must hold")
        m = None
        if second_moment is not None:
            m = check_value("second-moment (E[W²])", second_moment, allow_inf=True)
            cap = x * shift_sum("chi2_mixed", T, x, s) if x > 0 else 0.0
            if m > cap * (1 + CONSISTENCY_RTOL):
                raise TRMInputError(f"second moment {m:g} exceeds χ²_max·Σ_t min(χ²_seq, (1 + χ²_max)^(t−1) − 1) "
                                    f"= {cap:g}: the orthogonal-increment identity bounds it")
        return cls(T, x, s, m, tuple(notes))


def _expm1_safe(y: float) -> float:
    return math.inf if y > 709 else math.expm1(y)


def evaluate_chi2_bounds(inputs: Chi2Inputs) -> dict:
    """{'chi2_max', 'chi2_mixed', 'chi2_exact' (None without E[W²]), 'chi2_family' (their minimum),
    'chi2_argmin' (its name)}; the constant ½ of THEORY §10."""
    T = check_horizon(inputs.T)
    values = {
        "chi2_max": _half_sqrt_product(inputs.chi2_max, shift_sum("chi2_max", T, inputs.chi2_max)),
        "chi2_mixed": _half_sqrt_product(inputs.chi2_max,
                                         shift_sum("chi2_mixed", T, inputs.chi2_max, inputs.chi2_seq)),
        "chi2_exact": None,
    }
    if inputs.second_moment is not None:
        values["chi2_exact"] = math.inf if math.isinf(inputs.second_moment) else float(
            _exact_function()(inputs.second_moment))
    available = [n for n in CHI2_BOUND_NAMES if values[n] is not None]
    best = min(available, key=values.__getitem__)
    values["chi2_family"] = values[best]
    values["chi2_argmin"] = best
    return values


def with_chi2(bounds: dict, chi2: dict) -> dict:
    """The paper-family bounds ``bounds`` (from numerics.bounds.evaluate_bounds) with the χ² family
    added beside them, and B** = min(B*, χ² family) as 'unified_with_chi2' (its bound named by
    'argmin_with_chi2'). 'unified' and 'argmin' stay the paper's B*."""
    out = dict(bounds)
    for name in CHI2_BOUND_NAMES:
        out[name] = chi2[name]
    if chi2["chi2_family"] < bounds["unified"]:
        out["unified_with_chi2"], out["argmin_with_chi2"] = chi2["chi2_family"], chi2["chi2_argmin"]
    else:
        out["unified_with_chi2"], out["argmin_with_chi2"] = bounds["unified"], bounds["argmin"]
    return out


def worst_case_chi2_bound(T: int, chi2_max: float) -> float:
    """The χ² family with only χ²_max known (χ²_seq at its worst case): B_χ²-max(T, χ²_max)."""
    return chi2_max_bound_closed(T, chi2_max)


def chi2_threshold(T: int, budget: float, rel_tol: float = 1e-10) -> float:
    """The largest χ²_max with B_χ²-max(T, χ²_max) ≤ budget: the threshold x of the criterion
    trm_chi2:x for an error budget β (if every reachable context has χ² ≤ x, |Error| ≤ β).

    B_χ²-max is increasing in χ²_max, so bisection on log χ² finds it; +inf when T = 1 (bound 0).
    For T χ² ≪ 1, B_χ²-max ≈ T χ²/(2√2), so the threshold falls like 1/T.
    """
    T = check_horizon(T)
    beta = check_value("budget (β)", budget)
    if beta <= 0:
        raise TRMInputError(f"budget = {beta:g}: the error budget must be positive")
    if T == 1:
        return math.inf
    lo, hi = -300.0, 300.0
    while hi - lo > rel_tol * max(1.0, abs(hi)):
        mid = 0.5 * (lo + hi)
        if chi2_max_bound_closed(T, 10.0**mid) <= beta:
            lo = mid
        else:
            hi = mid
    return 10.0**lo
