"""Token-level divergences at each context, KL always in the direction roll ‖ θ (THEORY §3).

    D_KL(c) = Σ_v π_roll(v|c) log(π_roll(v|c) / π_θ(v|c))      (+inf when π_θ = 0 < π_roll)
    D_TV(c) = ½ Σ_v |π_θ(v|c) − π_roll(v|c)|
Tokens with π_roll(v|c) = 0 contribute 0 to the KL (0 log 0 = 0).
"""
from __future__ import annotations

import numpy as np


def token_kl(roll: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """D_KL(π_roll ‖ π_θ) over the last axis; shape [..., V] → [...]; +inf on support mismatch."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(roll > 0, roll * (np.log(roll) - np.log(theta)), 0.0)
    return terms.sum(axis=-1)


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
