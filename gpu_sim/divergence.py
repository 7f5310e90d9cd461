"""Exact per-context divergences from full log-probabilities, in torch (KL always roll ‖ θ)."""
from __future__ import annotations

import torch


def kl_tv_from_log_probs(logp_roll: torch.Tensor, logq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(D_KL(roll ‖ θ), D_TV) over the last axis.

    Each KL term p·(expm1(d) − d), d = log q − log p, is ≥ 0 and keeps relative accuracy for nearly
    equal laws; where d is large it is evaluated as the equal (q − p) − p·d, which cannot overflow
    (and gives q where p underflows to 0, the mass of θ outside π_roll's support).
    """
    p, q = logp_roll.exp(), logq.exp()
    d = logq - logp_roll
    small = d.abs() < 1.0
    near = p * (torch.expm1(torch.where(small, d, torch.zeros_like(d))) - torch.where(small, d, torch.zeros_like(d)))
    far = (q - p) - torch.where(p > 0, p * d, torch.zeros_like(p))
    kl = torch.where(small, near, far).sum(-1)
    return kl, 0.5 * (q - p).abs().sum(-1)


def chi2_from_log_probs(logp_roll: torch.Tensor, logq: torch.Tensor) -> torch.Tensor:
    """χ²(θ ‖ roll) = Σ_v p·expm1(d)², d = log q − log p, over the last axis (every term ≥ 0; THEORY §10).

    +inf where p = 0 < q (θ puts mass where the rollout engine cannot sample); 0-probability tokens
    under both laws contribute 0. Computed in the inputs' dtype; accumulate in float64 downstream.
    """
    p, q = logp_roll.exp(), logq.exp()
    on_support = p > 0
    d = torch.where(on_support, logq - logp_roll, torch.zeros_like(logq))
    terms = torch.where(on_support, p * torch.expm1(d) ** 2,
                        torch.where(q > 0, torch.full_like(p, float("inf")), torch.zeros_like(p)))
    return terms.sum(-1)
