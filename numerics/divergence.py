"""Token-level divergences at each context, KL always in the direction roll ‖ θ (THEORY §3).

    D_KL(c) = Σ_v π_roll(v|c) log(π_roll(v|c) / π_θ(v|c))      (+inf when π_θ = 0 < π_roll)
    D_TV(c) = ½ Σ_v |π_θ(v|c) − π_roll(v|c)|
    χ²(c)   = Σ_v π_θ(v|c)²/π_roll(v|c) − 1                          (+inf when π_roll = 0 < π_θ)
Tokens with π_roll(v|c) = 0 contribute 0 to the KL (0 log 0 = 0).
"""
from __future__ import annotations

import numpy as np


def token_kl(roll: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """D_KL(π_roll ‖ π_θ) over the last axis; shape [..., V] → [...]; +inf on support mismatch.

    Each term p log(p/q) is evaluated in the form that keeps its accuracy:
      near 1 (|x| ≤ ½ with x = q/p − 1, q − p exact by Sterbenz): p (x − log1p x) − p x, where the
      −p x parts sum to Σ(p − q) over p's support = the mass of θ outside it (0 for full support);
      far from 1: p (log p − log q) directly, with no cancellation inside the term.
    Every near term p (x − log1p x) is ≥ 0, so nearly equal laws (KL ~ 1e-8 and below) keep their
    relative accuracy, where the textbook Σ p (log p − log q) cancels to ~1e-16 absolute.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.divide(theta - roll, roll, out=np.zeros_like(roll), where=roll > 0)
        near = np.abs(x) <= 0.5
        safe_x = np.where(near, x, 0.0)
        near_terms = roll * (safe_x - np.log1p(safe_x))
        far_terms = roll * (np.log(np.where(roll > 0, roll, 1.0)) - np.log(theta)) + (theta - roll)
        terms = np.where(roll > 0, np.where(near, near_terms, far_terms), 0.0)
    off_support = np.where(roll > 0, 0.0, theta).sum(axis=-1)
    return terms.sum(axis=-1) + off_support


def kl_from_log_ratio(weights: np.ndarray, log_ratio: np.ndarray, off_support_mass: float = 0.0) -> float:
    """Σ_i w_i (−ℓ_i) for ℓ_i = log(Q_i/P_i), as Σ_i w_i (expm1(ℓ_i) − ℓ_i) + off-support mass of Q.

    The sequence-level analogue of :func:`token_kl` (weights P_i sum to 1, Q sums to 1 over P's
    support plus ``off_support_mass``); +inf where w_i > 0 and Q_i = 0 (ℓ_i = −inf).
    """
    with np.errstate(invalid="ignore", over="ignore"):
        terms = np.where(weights > 0, np.expm1(log_ratio) - log_ratio, 0.0)
    return float(expectation_with_inf(weights.ravel(), terms.ravel(), axis=0) + off_support_mass)


def token_chi2(roll: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """χ²(π_θ ‖ π_roll) = Σ_v π_θ(v|c)²/π_roll(v|c) − 1 over the last axis; shape [..., V] → [...].

    Evaluated as Σ_v (π_θ − π_roll)²/π_roll over π_roll's support (every term ≥ 0, no cancellation
    of the − 1 for nearly equal laws); +inf where π_roll = 0 < π_θ (THEORY §10). This is E_roll[(ρ − 1)²].
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(roll > 0, (theta - roll) ** 2 / np.where(roll > 0, roll, 1.0), 0.0)
    off_support = ((roll <= 0) & (theta > 0)).any(axis=-1)
    return np.where(off_support, np.inf, terms.sum(axis=-1))


def token_tv(roll: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """D_TV(π_roll, π_θ) over the last axis; shape [..., V] → [...]."""
    return 0.5 * np.abs(theta - roll).sum(axis=-1)


def expectation_with_inf(weights: np.ndarray, values: np.ndarray, axis: int = -1) -> np.ndarray:
    """Σ weights·values along ``axis`` where +inf values count only where the weight is positive.

    Avoids 0·inf = NaN: a context of zero probability contributes nothing, a context of positive
    probability with infinite divergence makes the expectation +inf.
    """
    infinite = np.isinf(values)
    finite_values = np.where(infinite, 0.0, values)
    total = (weights * finite_values).sum(axis=axis)
    hit = ((weights > 0) & infinite).any(axis=axis)
    return np.where(hit, np.inf, total)
