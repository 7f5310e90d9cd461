"""The worst case over rewards for i.i.d. two-token pairs, exactly, at any length (THEORY §10).

One context, V = 2: π_roll = (p, 1 − p), π_θ = (q, 1 − q) at every position (the paper-scale example is
p = ½, q = ½ + a). Every quantity depends on a sequence only through k, the number of token-0 draws,
which is Binomial(T, p) under π_roll:
    ρ = 1 + x_0 for token 0 and 1 + x_1 for token 1, x_0 = (q − p)/p, x_1 = (p − q)/(1 − p),
    M_T − 1 = expm1(L_k),  L_k = k·log1p(x_0) + (T − k)·log1p(x_1),  Σ_t u_t = S_k = k x_0 + (T − k) x_1,
    W_k = M_T − 1 − S_k = [expm1(L_k) − L_k] + k·[log1p(x_0) − x_0] + (T − k)·[log1p(x_1) − x_1]
(three terms each free of cancellation: W is second order in the mismatch, and the textbook
expm1(L) − S would cancel to rounding noise for small mismatch). Binomial weights are taken in log
space, log C(T, k) + k log p + (T − k) log(1 − p), so T = 65,536 and beyond neither under- nor overflow.
Then, since E_roll[W] = 0 (θ has full support where roll has),
    sup_{R∈[0,1]} |Error| = ½ E_roll|W| = E_roll[W⁻] = Σ_k P(k) max(0, −W_k),
attained by R = 1[W < 0] (or 1[W > 0]); and D_TV^seq = ½ E_roll|M_T − 1| exactly.
For an i.i.d. pair E[W²] = χ² Σ_t ((1 + χ²)^{t−1} − 1), so B_χ²-exact = B_χ²-max exactly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from numerics.bounds import BoundInputs, evaluate_bounds
from numerics.chi2_bounds import Chi2Inputs, evaluate_chi2_bounds, with_chi2
from numerics.divergence import token_chi2, token_kl, token_tv
from numerics.errors import TRMInputError
from numerics.pair import AutomatonPair


def iid_pair(p_roll: float, p_theta: float, T: int, reward: float = 0.5) -> AutomatonPair:
    """The one-state, two-token automaton with π_roll = (p_roll, 1 − p_roll), π_θ = (p_theta, 1 − p_theta)."""
    p, q = _check_probability("p_roll", p_roll), _check_probability("p_theta", p_theta)
    return AutomatonPair(np.array([1.0]), np.array([[0, 0]]), np.array([[p, 1 - p]]), np.array([[q, 1 - q]]),
                         np.array([reward]), T)


def symmetric_pair(a: float, T: int) -> AutomatonPair:
    """π_roll = (½, ½), π_θ = (½ + a, ½ − a): D_TV = |a|, χ² = 4a², D_KL = −½ log(1 − 4a²) ≈ 2a²."""
    if not (isinstance(a, (int, float)) and math.isfinite(a) and -0.5 < a < 0.5):
        raise TRMInputError(f"a = {a!r}: must lie in (−½, ½) so that both policies have full support")
    return iid_pair(0.5, 0.5 + a, T)


def _check_probability(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TRMInputError(f"{name} = {value!r}: not a number") from None
    if not 0.0 < v < 1.0:
        raise TRMInputError(f"{name} = {value!r}: must lie strictly between 0 and 1 (both tokens possible)")
    return v


def _log1p_minus_x(x: float) -> float:
    if abs(x) < 1e-2:
        return sum((-1) ** (k + 1) * x**k / k for k in range(2, 14))
    return math.log1p(x) - x


def _expm1_minus_x(y: np.ndarray) -> np.ndarray:
    """expm1(y) − y elementwise: series where |y| < 1e-2, directly elsewhere (+inf where it overflows)."""
    y = np.asarray(y, dtype=np.float64)
    small = np.abs(y) < 1e-2
    ys = np.where(small, y, 0.0)
    series = np.zeros_like(ys)
    term = ys * ys / 2
    for k in range(3, 14):
        series += term
        term = term * ys / k
    with np.errstate(over="ignore"):
        direct = np.expm1(np.where(small, 0.0, y)) - np.where(small, 0.0, y)
    return np.where(small, series, direct)


@dataclass(frozen=True)
class IIDWorstCase:
    """Exact quantities of the i.i.d. two-token pair at horizon T.

    worst_case_error  sup_R |Error| = E_roll[W⁻] (= ½ E_roll|W|)
    half_mean_abs_W   ½ E_roll|W| (equal to the above; both are computed as a check)
    mean_W            E_roll[W] (0 up to rounding)
    second_moment     E_roll[W²]
    chi2_seq          (1 + χ²)^T − 1
    kl_tok, tv_tok, chi2_tok  the per-token divergences (one context), KL roll ‖ θ, χ²(θ ‖ roll)
    kl_seq            T·kl_tok
    tv_seq            D_TV^seq = ½ E_roll|M_T − 1| (exact)
    """

    T: int
    p_roll: float
    p_theta: float
    worst_case_error: float
    half_mean_abs_W: float
    mean_W: float
    second_moment: float
    chi2_seq: float
    kl_tok: float
    tv_tok: float
    chi2_tok: float
    kl_seq: float
    tv_seq: float

    def bound_inputs(self) -> BoundInputs:
        """The paper family's inputs, every one exact (D̄_t = D_TV at the single context)."""
        return BoundInputs(self.T, self.kl_tok, self.tv_tok, self.kl_seq, self.tv_seq, np.full(self.T, self.tv_tok))

    def chi2_inputs(self) -> Chi2Inputs:
        return Chi2Inputs(self.T, self.chi2_tok, self.chi2_seq, self.second_moment)

    def bounds(self, constants: str) -> dict:
        """Every paper bound in ``constants``, the χ² family and B** (numerics.chi2_bounds.with_chi2)."""
        return with_chi2(evaluate_bounds(self.bound_inputs(), constants), evaluate_chi2_bounds(self.chi2_inputs()))


def iid_worst_case(p_roll: float, p_theta: float, T: int) -> IIDWorstCase:
    """Exact binomial sums for the i.i.d. pair (module docstring); O(T) time and memory."""
    p, q = _check_probability("p_roll", p_roll), _check_probability("p_theta", p_theta)
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 1:
        raise TRMInputError(f"T = {T!r}: the sequence length must be an integer ≥ 1")
    T = int(T)
    from scipy.special import gammaln          # here, not at import: `trm exact` needs it for i.i.d. pairs only

    k = np.arange(T + 1, dtype=np.float64)
    log_w = gammaln(T + 1) - gammaln(k + 1) - gammaln(T - k + 1) + k * math.log(p) + (T - k) * math.log1p(-p)
    w = np.exp(log_w)
    x0, x1 = (q - p) / p, (p - q) / (1 - p)
    l0, l1 = math.log1p(x0), math.log1p(x1)
    L = k * l0 + (T - k) * l1
    W = _expm1_minus_x(L) + k * _log1p_minus_x(x0) + (T - k) * _log1p_minus_x(x1)
    negative = np.where(W < 0, -W, 0.0)
    with np.errstate(over="ignore", divide="ignore"):
        abs_W = np.abs(W)
        # P(k)·W_k² in log space: W_k can be astronomically large where P(k) is astronomically small
        second = float(np.sum(np.where(abs_W > 0, np.exp(log_w + 2 * np.log(np.where(abs_W > 0, abs_W, 1.0))), 0.0)))
        half_abs = 0.5 * float(np.sum(np.where(abs_W > 0, np.exp(log_w + np.log(np.where(abs_W > 0, abs_W, 1.0))),
                                               0.0)))
        # D_TV^seq = ½ E|M − 1| = ½ Σ P(k)|expm1(L_k)|
        em = np.abs(np.expm1(L))
        tv_seq = 0.5 * float(np.sum(np.where(em > 0, np.exp(log_w + np.log(np.where(em > 0, em, 1.0))), 0.0)))
        signed = float(np.sum(np.sign(W) * np.exp(log_w + np.log(np.where(abs_W > 0, abs_W, 1.0))) * (abs_W > 0)))
    roll, theta = np.array([p, 1 - p]), np.array([q, 1 - q])
    chi2 = float(token_chi2(roll, theta))
    kl = float(token_kl(roll, theta))
    chi2_seq = math.inf if T * math.log1p(chi2) > 709 else math.expm1(T * math.log1p(chi2))
    return IIDWorstCase(T=T, p_roll=p, p_theta=q, worst_case_error=float(np.sum(w * negative)),
                        half_mean_abs_W=half_abs, mean_W=signed, second_moment=second, chi2_seq=chi2_seq,
                        kl_tok=kl, tv_tok=float(token_tv(roll, theta)), chi2_tok=chi2, kl_seq=T * kl,
                        tv_seq=min(1.0, tv_seq))


def is_iid_two_token(pair: AutomatonPair) -> bool:
    """Whether the automaton is an i.i.d. two-token pair the closed form covers (one state, V = 2,
    time-homogeneous, both tokens possible under both policies)."""
    return (pair.S == 1 and pair.V == 2 and not pair.time_dependent
            and bool(np.all(pair.roll > 0)) and bool(np.all(pair.theta > 0)))


def iid_worst_case_of(pair: AutomatonPair) -> IIDWorstCase:
    """:func:`iid_worst_case` of an automaton that :func:`is_iid_two_token`."""
    if not is_iid_two_token(pair):
        raise TRMInputError("the binomial closed form needs a one-state, two-token, time-homogeneous pair with "
                            "both tokens possible under both policies")
    return iid_worst_case(float(pair.roll[0, 0]), float(pair.theta[0, 0]), pair.T)
