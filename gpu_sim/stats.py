"""Monte-Carlo estimates as (mean, standard error, n), accumulated in float64 across chunks."""
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

    def agrees_with(self, exact: float, z: float) -> bool:
        """|mean − exact| ≤ z·se (with a floor of 1e-12 for estimates of zero variance)."""
        return abs(self.mean - exact) <= z * self.se + 1e-12 * max(1.0, abs(exact))


class MeanAccumulator:
    """Streaming mean and M2 merged chunk by chunk (Chan et al.), float64 tensors kept on the
    device until read, so adding a chunk never syncs with the host."""

    def __init__(self, device: torch.device):
        self.mean = torch.zeros((), dtype=torch.float64, device=device)
        self.m2 = torch.zeros((), dtype=torch.float64, device=device)
        self.n = 0

    def add(self, values: torch.Tensor) -> None:
        values = values.to(torch.float64).reshape(-1)
        k = values.numel()
        if k == 0:
            return
        chunk_mean = values.mean()
        chunk_m2 = ((values - chunk_mean) ** 2).sum()
        total = self.n + k
        delta = chunk_mean - self.mean
        self.mean = self.mean + delta * (k / total)
        self.m2 = self.m2 + chunk_m2 + delta * delta * (self.n * k / total)
        self.n = total

    def estimate(self) -> Estimate:
        n = self.n
        var = float(self.m2) / max(n - 1, 1)
        return Estimate(float(self.mean), math.sqrt(max(var, 0.0) / n), n)
