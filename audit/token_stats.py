"""Per-token quantities of a chunk of rows that every dialect and the suite read: the log-ratio
ℓ = log π_train(y_t) − log π_roll(y_t) (unclamped), its clamp to ±20 and verl's k1, k2, k3 of it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAFETY_BOUND = 20.0


@dataclass
class TokenStats:
    """Per-token quantities of one chunk (padded positions hold 0 and never count)."""

    mask: np.ndarray          # [b, L] bool
    log_ratio: np.ndarray     # [b, L] ℓ, unclamped (0 at padding)
    safe: np.ndarray          # [b, L] ℓ̃ = clamp(ℓ, ±20)
    k1: np.ndarray
    k2: np.ndarray
    k3: np.ndarray
    count: np.ndarray         # [b] n_i

    @classmethod
    def from_log_probs(cls, old: np.ndarray, roll: np.ndarray, mask: np.ndarray) -> "TokenStats":
        mask = np.asarray(mask, dtype=bool)
        with np.errstate(invalid="ignore", over="ignore"):
            lr = np.where(mask, np.asarray(old, np.float64) - np.asarray(roll, np.float64), 0.0)
        return cls.from_log_ratio(lr, mask)

    @classmethod
    def from_log_ratio(cls, log_ratio: np.ndarray, mask: np.ndarray) -> "TokenStats":
        mask = np.asarray(mask, dtype=bool)
        lr = np.where(mask, np.asarray(log_ratio, np.float64), 0.0)
        safe = np.clip(lr, -SAFETY_BOUND, SAFETY_BOUND)
        return cls(mask, lr, safe, -safe, 0.5 * safe**2, np.exp(safe) - 1.0 - safe, mask.sum(-1).astype(np.float64))
