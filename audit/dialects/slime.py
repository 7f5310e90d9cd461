"""slime's importance-sampling masks, where they differ from verl's: bands on the ratio itself,
the ±20 clamp applied after aggregation, and a veto threshold.

    level token:      r_t = exp(clamp(ℓ_t, ±20))                       per token
    level sequence:   r   = exp(clamp(Σ_t ℓ_t, ±20))                   per sequence (all its tokens)
    level geometric:  r   = exp(clamp((1/n_i) Σ_t ℓ_t, ±20))           per sequence
    mask: keep when lower ≤ r ≤ upper (the band on r = π_train/π_roll, as written)
    veto: a sequence with any valid token of ratio e^ℓ_t < veto (ℓ unclamped) is dropped whole.
ℓ = log π_train(y_t) − log π_roll(y_t). Written from the behaviour described for slime's mismatch
helpers (trust-region masking with a catastrophic-token veto); slime's source was not available to
check it line by line.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from numerics.errors import TRMInputError

LEVELS = ("token", "sequence", "geometric")
SAFETY_BOUND = 20.0


@dataclass(frozen=True)
class SlimeSpec:
    level: str | None = None
    lower: float | None = None
    upper: float | None = None
    veto: float | None = None

    @property
    def text(self) -> str:
        parts = []
        if self.level is not None:
            parts.append(f"{self.level}:{self.lower:g}_{self.upper:g}")
        if self.veto is not None:
            parts.append(f"veto:{self.veto:g}")
        return ",".join(parts)


def parse_slime(spec: str | None, veto: float | None = None) -> SlimeSpec:
    """'geometric:0.999_1.001' (LEVEL:LOWER_UPPER) and/or a veto threshold in (0, 1)."""
    if spec is None and veto is None:
        raise TRMInputError("--slime: give LEVEL:LOWER_UPPER (e.g. geometric:0.999_1.001) and/or --slime-veto")
    level = lower = upper = None
    if spec is not None:
        level, sep, band = spec.strip().partition(":")
        if level not in LEVELS:
            raise TRMInputError(f"--slime {spec!r}: level {level!r} unknown; choose token, sequence or geometric")
        parts = band.split("_")
        if not sep or len(parts) != 2:
            raise TRMInputError(f"--slime {spec!r}: give the band on the ratio as LOWER_UPPER, e.g. {level}:0.5_2.0")
        try:
            lower, upper = float(parts[0]), float(parts[1])
        except ValueError:
            raise TRMInputError(f"--slime {spec!r}: {band!r} is not a pair of numbers") from None
        if not (0 <= lower < upper) or math.isnan(upper):
            raise TRMInputError(f"--slime {spec!r}: the band needs 0 ≤ lower < upper, got {lower} and {upper}")
    if veto is not None and not (0 < veto < 1):
        raise TRMInputError(f"--slime-veto {veto}: the veto threshold is a ratio in (0, 1), e.g. 1e-4")
    return SlimeSpec(level, lower, upper, veto)


def decide(spec: SlimeSpec, log_ratio: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(keep [b, L] bool (True at padding), vetoed [b] bool)."""
    lr = np.where(mask, log_ratio, 0.0)
    keep = np.ones(mask.shape, dtype=bool)
    if spec.level is not None:
        if spec.level == "token":
            agg = lr
        else:
            s = lr.sum(-1)
            if spec.level == "geometric":
                s = s / np.maximum(mask.sum(-1), 1)
            agg = s[:, None]
        r = np.exp(np.clip(agg, -SAFETY_BOUND, SAFETY_BOUND))
        keep = np.broadcast_to((r >= spec.lower) & (r <= spec.upper), mask.shape).copy()
    vetoed = np.zeros(mask.shape[0], dtype=bool)
    if spec.veto is not None:
        vetoed = (mask & (lr < math.log(spec.veto))).any(-1)
        keep &= ~vetoed[:, None]
    return keep | ~mask, vetoed
