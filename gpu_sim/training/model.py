"""The policy: embedding → GRU → linear read-out, run teacher-forced (training) or step by step
(rollout). The rollout engine is a copy of the same weights in a lower precision."""
from __future__ import annotations

import copy

import torch
from torch import nn


class PolicyLM(nn.Module):
    def __init__(self, vocab: int, hidden: int, generator: torch.Generator):
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=generator) * (p.shape[-1] ** -0.5 if p.ndim > 1 else 0.1))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """[B, L] input tokens → [B, L, V] logits for the next token at every position."""
        h, _ = self.gru(self.embed(tokens))
        return self.out(h)

    def step(self, token: torch.Tensor, state):
        """One token [B] → (logits [B, V], new state)."""
        h, state = self.gru(self.embed(token)[:, None, :], state)
        return self.out(h[:, 0]), state


def rollout_copy(model: PolicyLM, dtype: torch.dtype) -> PolicyLM:
    """The rollout engine: the same weights, run in ``dtype`` (weights and activations rounded)."""
    return copy.deepcopy(model).to(dtype).eval()
