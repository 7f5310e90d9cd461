"""A long-horizon task with a verifiable reward in {0, 1}.

The vocabulary's first ⌈V/4⌉ tokens are the target set. A sequence of length T succeeds when the
share of target tokens reaches κ(T) = ¼ + sqrt(¾·¼/T) (one binomial standard deviation above the
base rate): a policy that emits target tokens at the base rate ¼ independently succeeds with
probability ≈ 0.16–0.2, as a base model with partial success does. Pretraining data come from a random
first-order Markov "teacher" whose stationary target share is ¼.
"""
from __future__ import annotations

import math

import torch


class TargetShareTask:
    def __init__(self, vocab: int, T: int):
        if vocab < 4:
            raise ValueError(f"vocab = {vocab}: the task needs at least 4 tokens")
        self.vocab, self.T = vocab, T
        self.targets = max(1, math.ceil(vocab / 4))
        self.kappa = 0.25 + math.sqrt(0.75 * 0.25 / T)

    def reward(self, tokens: torch.Tensor) -> torch.Tensor:
        """[B, T] tokens → [B] float64 rewards in {0, 1}."""
        share = (tokens < self.targets).double().mean(dim=1)
        return (share >= self.kappa - 1e-12).double()

    def teacher(self, generator: torch.Generator) -> torch.Tensor:
        """[V, V] transition matrix: rows put mass ¼ on the target set, spread unevenly."""
        V, k = self.vocab, self.targets
        raw = torch.rand(V, V, generator=generator) ** 3 + 1e-3
        inside = raw[:, :k] / raw[:, :k].sum(1, keepdim=True) * 0.25
        outside = raw[:, k:] / raw[:, k:].sum(1, keepdim=True) * 0.75
        return torch.cat([inside, outside], dim=1)

    def teacher_batch(self, matrix: torch.Tensor, batch: int, generator: torch.Generator) -> torch.Tensor:
        """[batch, T + 1] sequences from the teacher chain (column 0 is the prompt token)."""
        tokens = torch.empty(batch, self.T + 1, dtype=torch.int64)
        tokens[:, 0] = torch.randint(0, self.vocab, (batch,), generator=generator)
        for t in range(self.T):
            tokens[:, t + 1] = torch.multinomial(matrix[tokens[:, t]], 1, generator=generator).squeeze(1)
        return tokens
