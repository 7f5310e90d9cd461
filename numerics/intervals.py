"""Confidence intervals for the worst-case error sup_R|Error| and a certificate of improvement with a stated
level, from sampled sequences (this suite's own statistics; THEORY §10–§11 for the quantities).

Each row i is one sequence y ~ π_roll, the rows independent and identically distributed. From its sampled
log ratios (:mod:`numerics.martingale`): W_i = M_T − 1 − Σ_t u_t through the martingale transform,
S_i = Σ_t u_t (u_t = ρ_t − 1), and with a reward R_i ∈ [0, 1] the surrogate's terms.

The quantities (π_θ ≪ π_roll assumed throughout, so that E[u_t | c_t] = 0):
    sup_{R∈[0,1]} |Error| = E[W⁻]                  (THEORY §10)
    L' = E[R·S] = E[(R − b)·S] for any constant b  (THEORY §2)
    J(π_θ) − J(π_roll) = L' + E[R·W] ≥ L' − E[W⁻]  (R ∈ [0, 1])

Intervals (α = 1 − level, two-sided intervals split α/2 to each end):
  * lower end of E[X] for X ≥ 0 — betting (Waudby-Smith & Ramdas, "Estimating means of bounded random
    variables by betting", JRSS-B 2024, §3 and §5, one-sided): the capital K_n(m) = Π_i (1 + λ_i(m)(X_i − m))
    with predictable bets λ_i(m) = min(λ̃_i, ½/m), λ̃_i = sqrt(2 log(1/α) / (n σ̂²_{i−1})) (their
    predictable plug-in for a fixed n, σ̂² the running variance of the earlier rows; λ̃_1 = 0), is a
    nonnegative martingale with mean 1 at m = E[X] (only X ≥ 0 is used: every factor is ≥ ½), so by
    Markov's inequality P(K_n(E X) ≥ 1/α) ≤ α. K_n is non-increasing in m, so {m : K_n(m) < 1/α} = [L, ∞)
    and L (the root of log K_n(m) = log(1/α) by Brent's method, returned on its safe side) is a lower
    confidence bound. Valid for every distribution on [0, ∞): nothing about the tail is assumed. Rows are
    taken in a seeded random order (seed 0), so a dump sorted by length or reward does not bias the bets;
    values are divided by their maximum for the arithmetic only (the bets min(λ̃_i, ½/m) in the original
    units do not depend on it).
  * upper end of E[min(X, c)] for X ≥ 0 — the same bound on c − min(X, c) ∈ [0, c]: distribution-free.
  * upper end of E[W⁻] — for every c > 0, (w − c)⁺ ≤ w²/(4c) for w ≥ 0 (since (w − 2c)² ≥ 0), so
        E[W⁻] = E[min(W⁻, c)] + E[(W⁻ − c)⁺] ≤ E[min(W⁻, c)] + E[(W⁻)²] / (4c).
    The first term gets its distribution-free upper bound at each clip level c ∈ CLIP_LEVELS; the second
    needs an upper bound on E[(W⁻)²], which no finite sample gives without an assumption about the tail
    (a mass ε at 1/ε unseen in n rows moves a mean by 1). ASSUMPTION: E[(W⁻)²] ≤ mean((W⁻)²) +
    t_{n−1}·se((W⁻)²) (the Student-t upper bound, i.e. a normal approximation for that mean). W⁻ has no
    heavy tail of its own beyond that of Σ_t u_t (W⁻ ≤ (1 + Σ_t u_t)⁺ since M_T ≥ 0, THEORY §10), and
    the assumption enters only through E[(W⁻)²]/(4c), reported as ``assumed_tail`` with its ``clip_level``
    (an E[(W⁻)²] twice its bound moves the upper end by that term; at the best c it can be half of the upper
    end, e.g. 0.043 of 0.086 on the automaton dump of docs/certification.md). Union bound: α/4 to E[(W⁻)²],
    α/(4K) to each of the K clip levels; the upper end is the smallest of the K sums.
  * lower end of L' — Student-t (normal approximation) on the control-variate terms (R_i − R̄)·S_i, as
    the simulator estimates L' (the O(1/n) bias of the estimated baseline R̄ is ignored). ASSUMPTION:
    the normal approximation for that mean (S has a heavy right tail when ρ does).
  * certificate — J(π_θ) − J(π_roll) ≥ (lower end of L' at α/2) − (upper end of E[W⁻] at α/2) with
    probability ≥ 1 − α (union bound); it holds when that difference is > 0.

Heavy tails: only the upper ends rest on a normal approximation (of mean((W⁻)²), and for L' of the
control-variate mean); both can fail when the sample has not seen the events that carry those means.
Measured coverage: docs/certification.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from numerics.errors import TRMInputError

DEFAULT_LEVEL = 0.95
#: The clip levels c of the worst-case upper bound, 4^k for k = −10 … 3 (fixed before any data: the union
#: bound is over all of them; W⁻ spans 1e-6 … T across the suite's pairs).
CLIP_LEVELS = tuple(4.0**k for k in range(-10, 4))
#: Bets are capped at TRUNCATION/m so that every factor of the capital is ≥ 1 − TRUNCATION.
TRUNCATION = 0.5
#: Fewer rows than this: the normal approximations behind the upper ends are flagged as unreliable.
FEW_ROWS = 30

WORST_CASE_METHOD = (
    "sup_R|Error| = E_roll[W⁻] (THEORY §10; π_θ ≪ π_roll). lower: betting confidence bound for the mean of a "
    "nonnegative variable (Waudby-Smith & Ramdas 2024), distribution-free. upper: min over c in {{4^k: k = −10…3}} "
    "of [distribution-free betting bound on E[min(W⁻, c)]] + E[(W⁻)²]/(4c) (proved: (w − c)⁺ ≤ w²/(4c)), with "
    "E[(W⁻)²] by its Student-t upper bound (ASSUMPTION: normal approximation of mean((W⁻)²); it enters only the "
    "term /(4c)); union bound α/4 to E[(W⁻)²], α/(4·{K}) to each clip level. Rows i.i.d.")
SURROGATE_METHOD = ("L' lower: mean((R − R̄)·Σ_t(ρ_t − 1)) − t_(n−1)·se, one-sided (ASSUMPTION: normal approximation "
                    "of the control-variate mean; R̄'s O(1/n) bias ignored)")


def check_level(level, what: str = "--level") -> float:
    """The confidence level as a float in (0, 1), else TRMInputError naming ``what``."""
    try:
        value = float(level)
    except (TypeError, ValueError):
        raise TRMInputError(f"{what} {level!r}: a confidence level must be a number in (0, 1)") from None
    if not (0.0 < value < 1.0):
        raise TRMInputError(f"{what} {level!r}: a confidence level must lie strictly between 0 and 1")
    return value


def _rows(values, name: str, minimum: int = 2) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    if x.size < minimum:
        raise TRMInputError(f"{name}: {x.size} row(s); an interval needs at least {minimum} independent rows")
    return x


@dataclass(frozen=True)
class Interval:
    """A point estimate with a confidence interval at ``level`` (two-sided unless ``method`` says otherwise)."""

    estimate: float
    lower: float
    upper: float
    level: float
    method: str
    n: int
    flags: tuple = field(default=())
    details: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"estimate": self.estimate, "lower": self.lower, "upper": self.upper, "level": self.level,
                "method": self.method, "n": self.n, "flags": list(self.flags), **self.details}


def betting_lower_bound(x, alpha: float, truncation: float = TRUNCATION) -> float:
    """A lower confidence bound L with P(E[X] < L) ≤ α for i.i.d. X_1..X_n ≥ 0 (any distribution on
    [0, ∞)); see the module docstring. x [n], no NaN and no negative value; +inf is allowed (it only
    raises the bound's evidence, so it is replaced by the largest finite value, which keeps the bound valid)."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    n = x.size
    if n == 0:
        raise TRMInputError("betting_lower_bound: no rows")
    if np.isnan(x).any() or (x < 0).any():
        raise ValueError("betting_lower_bound needs values ≥ 0 without NaN")
    finite = np.isfinite(x)
    if not finite.all():
        x = np.where(finite, x, x[finite].max() if finite.any() else 0.0)
    top = float(x.max())
    if top <= 0.0:
        return 0.0
    x = x[np.random.default_rng(0).permutation(n)] / top            # scale-free: values in [0, 1]
    i = np.arange(1, n + 1)
    mean = np.cumsum(x) / i
    var = np.cumsum((x - mean) ** 2) / i
    prev_var = np.concatenate([[np.inf], var[:-1]])                 # σ̂²_{i−1}; no bet on the first row
    threshold = math.log(1.0 / alpha)
    with np.errstate(divide="ignore"):
        lam_tilde = np.sqrt(2.0 * threshold / (n * prev_var))

    def log_capital(m: float) -> float:
        lam = np.minimum(lam_tilde, truncation / m)
        return float(np.log1p(lam * (x - m)).sum())

    # bracket the crossing of log K(m) = log(1/α), starting from the sample mean (log K(1) ≤ 0: every factor ≤ 1)
    lo, hi = float(x.mean()), 1.0
    if log_capital(lo) < threshold:
        hi = lo
        while log_capital(lo) < threshold:
            hi, lo = lo, 0.5 * lo
            if lo < 1e-300:
                return 0.0
    from scipy import optimize      # imported where needed: the light commands do not load scipy

    root = optimize.brentq(lambda m: log_capital(m) - threshold, lo, hi, xtol=1e-300, rtol=1e-11)
    lo = max(lo, root * (1 - 1e-9))                                  # the safe side of the root
    while log_capital(lo) < threshold:                              # (brentq's tolerance; never seen to loop)
        lo *= 1 - 1e-6
    return lo * top                                                   # log K(lo) ≥ log(1/α): lo < L


def bounded_upper_bound(x, c: float, alpha: float) -> float:
    """An upper confidence bound on E[min(X, c)] for i.i.d. X ≥ 0 (distribution-free): c minus the betting
    lower bound of c − min(X, c) ∈ [0, c]."""
    clipped = np.minimum(np.asarray(x, dtype=np.float64), c)
    return c - betting_lower_bound(c - clipped, alpha)


def student_upper_bound(x, alpha: float) -> float:
    """mean + t_{1−α, n−1}·s/√n (one-sided; the normal approximation of the mean). +inf if x has a
    non-finite value."""
    x = _rows(x, "student_upper_bound")
    if not np.isfinite(x).all():
        return math.inf
    from scipy import stats         # imported where needed: the light commands do not load scipy

    with np.errstate(over="ignore"):
        return float(x.mean() + stats.t.ppf(1 - alpha, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))


def student_lower_bound(x, alpha: float) -> float:
    """mean − t_{1−α, n−1}·s/√n (one-sided; the normal approximation of the mean). −inf if x has a
    non-finite value."""
    return -student_upper_bound(-np.asarray(x, dtype=np.float64), alpha)


def nonnegative_mean_interval(x, level: float = DEFAULT_LEVEL, what: str = "the mean") -> Interval:
    """E[X] for X ≥ 0 (e.g. Σ_t k3, Σ_t χ²(c_t), D_KL^seq): lower end by betting (distribution-free), upper
    end Student-t (normal approximation), each at α/2."""
    level = check_level(level, "level")
    x = _rows(x, what)
    alpha = 1.0 - level
    if np.isnan(x).any() or (x < 0).any():
        raise ValueError(f"{what}: values must be ≥ 0 without NaN")
    flags = _few_rows_flag(x.size)
    with np.errstate(over="ignore", invalid="ignore"):
        estimate = float(x.mean())
    return Interval(estimate, betting_lower_bound(x, alpha / 2), max(estimate, student_upper_bound(x, alpha / 2)),
                    level, "lower: betting bound for a nonnegative mean (Waudby-Smith & Ramdas 2024), "
                           "distribution-free; upper: Student-t (ASSUMPTION: normal approximation of the mean)",
                    int(x.size), flags)


def bounded_mean_interval(x, bound: float, level: float = DEFAULT_LEVEL, what: str = "the mean") -> Interval:
    """E[X] for X ∈ [0, bound] (e.g. (1 − Π_t ρ_t)⁺ ∈ [0, 1], whose mean is D_TV^seq): both ends by betting,
    distribution-free, each at α/2."""
    level = check_level(level, "level")
    x = _rows(x, what)
    if np.isnan(x).any() or (x < 0).any() or (x > bound).any():
        raise ValueError(f"{what}: values must lie in [0, {bound}]")
    alpha = 1.0 - level
    return Interval(float(x.mean()), betting_lower_bound(x, alpha / 2), bounded_upper_bound(x, bound, alpha / 2), level,
                    f"both ends: betting bounds for a mean of values in [0, {bound:g}] (Waudby-Smith & Ramdas 2024), "
                    "distribution-free", int(x.size))


def _few_rows_flag(n: int) -> tuple:
    return (f"only {n} rows: the normal approximation behind the upper end is unreliable below {FEW_ROWS}",) \
        if n < FEW_ROWS else ()


def worst_case_error_interval(w, level: float = DEFAULT_LEVEL) -> Interval:
    """sup_{R∈[0,1]} |Error| = E_roll[W⁻] with a confidence interval at ``level`` (module docstring).
    ``details``: the clip level c of the upper end and its term E[(W⁻)²]_upper/(4c) ("assumed_tail", the part
    of the upper end that rests on the normal approximation).

    w [n]: W per row (numerics.martingale). A row whose W is NaN (M − 1 overflowed against an infinite u)
    or −inf is flagged: it counts as 0 for the lower end (W⁻ ≥ 0 is all that is known) and makes the
    estimate and the upper end +inf."""
    level = check_level(level, "level")
    w = _rows(w, "worst-case error")
    alpha = 1.0 - level
    flags = list(_few_rows_flag(w.size))
    w_minus = np.where(np.isnan(w), np.nan, np.maximum(-w, 0.0))
    known = np.isfinite(w_minus)
    if not known.all():
        flags.append(f"{int((~known).sum())} row(s) with W not finite (overflow of Π_t ρ_t): estimate and upper end +inf")
    lower = betting_lower_bound(np.where(known, w_minus, 0.0), alpha / 2)
    estimate, upper, details = math.inf, math.inf, {}
    if known.all():
        estimate = float(w_minus.mean())
        with np.errstate(over="ignore"):
            second_upper = student_upper_bound(w_minus * w_minus, alpha / 4)
        share = alpha / 4 / len(CLIP_LEVELS)
        for c in CLIP_LEVELS:
            bounded, tail = bounded_upper_bound(w_minus, c, share), second_upper / (4.0 * c)
            if bounded + tail < upper:
                upper, details = bounded + tail, {"clip_level": c, "assumed_tail": tail}
    method = WORST_CASE_METHOD.format(K=len(CLIP_LEVELS))
    return Interval(estimate, lower, max(upper, lower), level, method, int(w.size), tuple(flags), details)


def surrogate_lower_bound(reward, sum_u, alpha: float) -> tuple[float, float, float]:
    """(lower confidence bound at one-sided α, estimate, standard error) of L' = E_roll[R·Σ_t u_t] from the
    control-variate terms (R_i − R̄)·S_i (Student-t; module docstring)."""
    r = _rows(reward, "surrogate (rewards)")
    s = _rows(sum_u, "surrogate (Σ_t u_t)")
    if r.shape != s.shape:
        raise ValueError(f"reward has {r.size} rows, sum_u {s.size}")
    terms = (r - r.mean()) * s
    if not np.isfinite(terms).all():
        return -math.inf, (math.inf if np.isposinf(terms).any() else -math.inf), math.inf
    se = float(terms.std(ddof=1) / math.sqrt(terms.size))
    return student_lower_bound(terms, alpha), float(terms.mean()), se


def improvement_certificate(reward, sum_u, w, level: float = DEFAULT_LEVEL,
                            worst: Interval | None = None) -> dict:
    """J(π_θ) − J(π_roll) ≥ L'_lower − sup_R|Error|_upper with probability ≥ ``level`` (module docstring).

    reward [n] in [0, 1], sum_u [n], w [n] (W per row). ``worst``: the worst-case interval at the same
    level if already computed (its upper end is the one-sided α/2 bound the union needs). Returns
    {holds, level, improvement_lower, surrogate_lower, surrogate, worst_case_upper, method, flags}."""
    level = check_level(level, "level")
    r = _rows(reward, "certificate (rewards)")
    if np.isnan(r).any() or (r < 0).any() or (r > 1).any():
        raise TRMInputError("certificate: rewards must lie in [0, 1] (the bound sup_R|Error| is over R ∈ [0, 1])")
    alpha = 1.0 - level
    if worst is None:
        worst = worst_case_error_interval(w, level)
    elif worst.level != level:
        raise ValueError(f"worst-case interval at level {worst.level}, certificate at {level}")
    lower, estimate, se = surrogate_lower_bound(r, sum_u, alpha / 2)
    improvement = lower - worst.upper if math.isfinite(worst.upper) else -math.inf
    return {"holds": bool(improvement > 0), "level": level, "improvement_lower": improvement,
            "surrogate_lower": lower, "surrogate": estimate, "surrogate_se": se, "worst_case_upper": worst.upper,
            "method": (f"J(π_θ) − J(π_roll) ≥ L' − sup_R|Error| (R ∈ [0, 1]); {SURROGATE_METHOD} at α/2; "
                       f"sup_R|Error| upper at α/2 (worst_case_error); union bound: level {level:g}"),
            "flags": list(worst.flags)}
