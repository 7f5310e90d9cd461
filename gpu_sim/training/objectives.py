"""The compared objectives and their losses (THEORY §7, §9).

With ρ_t = π_θ(y_t|c_t)/π_roll(y_t|c_t) at the sampled token and A_i the group-normalised advantage
of sequence i, every loss is normalised by the whole batch, N = B·T tokens (as the paper does), so
masking a sequence removes its terms without re-weighting the others:
    token_is     −(1/N) Σ_i Σ_t ρ_it A_i                         (token-level IS, no clipping)
    ppo_clip     −(1/N) Σ_i Σ_t min(ρ_it A_i, clip(ρ_it, 0.8, 1.28) A_i)   (PPO/DAPO ratio range)
    <criterion>  −(1/N) Σ_i M_i Σ_t ρ_it A_i, M_i the sequence mask of a gpu_sim criterion, e.g.
                 trm_max:0.05 (exact KL from full logits), trm_avg:0.001, trm_max:0.1,trm_avg:0.002,
                 seq_max_k2:x, seq_mean_k3:x (sampled-token versions frameworks ship)
Masks are per sequence, never per token, for sequence criteria.
"""
from __future__ import annotations

import torch

from gpu_sim.criteria import Criterion, parse_criterion
from gpu_sim.running import RunningStats
from numerics.errors import TRMInputError

CLIP_LOW, CLIP_HIGH = 0.8, 1.28

#: The runs of the paper's Figures 1–3 (THEORY §9) and the sampled-token masks frameworks ship.
PAPER_OBJECTIVES = ("token_is", "ppo_clip", "trm_max:0.05", "trm_avg:0.001", "trm_max:0.1", "trm_avg:0.002",
                    "trm_max:0.1,trm_avg:0.002", "seq_max_k2:0.05", "seq_mean_k3:0.001")


def parse_objective(name: str) -> str | Criterion:
    if name in ("token_is", "ppo_clip"):
        return name
    criterion = parse_criterion(name)
    if criterion.token_level:
        raise TRMInputError(f"objective {name!r}: a training mask must be a sequence criterion")
    return criterion


def sequence_masks(criteria: list[Criterion], log_ratio: torch.Tensor, kl: torch.Tensor,
                   tv: torch.Tensor) -> dict[str, torch.Tensor]:
    """{criterion text: [B] bool} from [B, T] sampled-token log-ratios and exact per-context KL/TV."""
    B, T = log_ratio.shape
    running = RunningStats(T, [T], [], 0.0, log_ratio.device)
    running.start_chunk(B)
    running.update(log_ratio.T.double(), kl.T.double(), tv.T.double())
    return {c.text: running.accepts(c) for c in criteria}


def loss(objective, log_ratio: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """The objective's loss for [B, T] log-ratios (with gradient through π_θ) and [B] advantages."""
    B, T = log_ratio.shape
    rho = torch.exp(log_ratio)
    A = advantages[:, None].to(rho.dtype)
    if objective == "ppo_clip":
        terms = torch.minimum(rho * A, rho.clamp(CLIP_LOW, CLIP_HIGH) * A)
    else:
        terms = rho * A
    if isinstance(objective, Criterion):
        if mask is None:
            raise ValueError("a masked objective needs its sequence mask")
        terms = terms * mask[:, None].to(terms.dtype)
    return -terms.sum() / (B * T)
