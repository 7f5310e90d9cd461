"""A long-horizon task with a verifiable reward in [0, 1] that keeps rewarding sharper policies.

A response y_1..y_T after the prompt token y_0 earns the share of its steps that follow the rule
y_t ∈ succ(y_{t−1}):
    R(y) = (1/T) Σ_{t=1}^T 1[y_t ∈ succ(y_{t−1})]       (checked exactly, like a verifier)
succ(v) = {v + 1 mod V}, except at the ``forks`` tokens v = 0, s, 2s, … (s = ⌊V/forks⌋), where
succ(v) = {v + 1, v + 1 + ⌊V/2⌋} (mod V): two equally good continuations, like the minority of
high-entropy "fork" tokens of real responses (FIELD.md §3). A policy earns R → 1 only by putting
vanishing mass on invalid tokens, so reinforcement learning keeps growing the logit gaps for as
long as it runs, while at a fork nothing decides between the two valid tokens: their logits grow
together, large and nearly tied. (A binary reward at a fixed threshold instead saturates and
stops the learning signal.)

Pretraining data come from a "teacher" Markov chain that follows the rule with probability
``follow`` (split evenly between valid successors) and otherwise draws the next token from a
random row (mass spread unevenly, as a corpus does): a policy that imitates it starts with
R ≈ follow + (1 − follow)·(valid mass of a random row), partial success.
"""
from __future__ import annotations

import torch

from numerics.errors import TRMInputError


class SuccessorTask:
    def __init__(self, vocab: int, T: int, follow: float = 0.3, forks: int = 0):
        if vocab < 4:
            raise TRMInputError(f"vocab = {vocab}: the task needs at least 4 tokens")
        if not 0 <= forks <= vocab // 2:
            raise TRMInputError(f"forks = {forks}: must lie in 0 … vocab/2 = {vocab // 2}")
        if T < 1:
            raise TRMInputError(f"T = {T}: must be at least 1")
        if not 0 <= follow <= 1:
            raise TRMInputError(f"follow = {follow}: the teacher's rule-following probability must lie in [0, 1]")
        self.vocab, self.T, self.follow, self.forks = vocab, T, follow, forks
        valid = torch.zeros(vocab, vocab, dtype=torch.bool)
        v = torch.arange(vocab)
        valid[v, (v + 1) % vocab] = True
        if forks:
            fork = v[::vocab // forks][:forks]
            valid[fork, (fork + 1 + vocab // 2) % vocab] = True
        self.valid = valid                                       # [V, V]: valid[u, v] ⇔ v ∈ succ(u)
        self._flat = {}                                          # the table on each device, copied once

    def reward(self, tokens: torch.Tensor) -> torch.Tensor:
        """[..., T+1] tokens (prompt first) → [...] float32 rewards in [0, 1]."""
        V = self.vocab
        if tokens.device not in self._flat:
            self._flat[tokens.device] = self.valid.flatten().to(tokens.device)
        hits = self._flat[tokens.device][tokens[..., :-1] * V + tokens[..., 1:]]
        return hits.float().mean(dim=-1)

    def teacher(self, generator: torch.Generator) -> torch.Tensor:
        """[V, V] transition matrix: ``follow`` spread evenly over the valid successors plus a
        random row."""
        V = self.vocab
        raw = torch.rand(V, V, generator=generator) ** 3 + 1e-3
        rows = raw / raw.sum(1, keepdim=True) * (1 - self.follow)
        rule = self.valid.float()
        return rows + self.follow * rule / rule.sum(1, keepdim=True)

    def teacher_batch(self, matrix: torch.Tensor, batch: int, generator: torch.Generator) -> torch.Tensor:
        """[batch, T + 1] sequences of the teacher chain (column 0 is the prompt), drawn on the CPU."""
        tokens = torch.empty(batch, self.T + 1, dtype=torch.int64)
        tokens[:, 0] = torch.randint(0, self.vocab, (batch,), generator=generator)
        for t in range(self.T):
            tokens[:, t + 1] = torch.multinomial(matrix[tokens[:, t]], 1, generator=generator).squeeze(1)
        return tokens
