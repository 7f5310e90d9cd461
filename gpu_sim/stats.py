"""Monte-Carlo estimates as (mean, standard error, n), computed in float64."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Estimate:
    mean: float
    se: float
    n: int

    def to_json(self) -> dict:
        return {"mean": self.mean, "se": self.se, "n": self.n}

    @classmethod
    def from_samples(cls, values: torch.Tensor) -> "Estimate":
        """Sample mean and standard error sqrt(s²/n) of i.i.d. per-sequence values."""
        values = values.to(torch.float64).reshape(-1)
        n = values.numel()
        var = float(values.var(correction=1)) if n > 1 else 0.0
        return cls(float(values.mean()), math.sqrt(var / n), n)

    def agrees_with(self, exact: float, z: float) -> bool:
        """|mean − exact| ≤ z·se (with a floor of 1e-12 for estimates of zero variance)."""
        return abs(self.mean - exact) <= z * self.se + 1e-12 * max(1.0, abs(exact))
