"""The compared objectives and their losses (THEORY §7, §9).

With ρ_t = π_θ(y_t|c_t)/π_roll(y_t|c_t) at the sampled token and A_i the group-normalised advantage
of sequence i, every loss is normalised by the whole batch, N = B·T tokens (as the paper does), so
masking a sequence removes its terms without re-weighting the others:
    token_is     −(1/N) Σ_i Σ_t ρ_it A_i                         (token-level IS, no clipping)
    ppo_clip     −(1/N) Σ_i Σ_t min(ρ_it A_i, clip(ρ_it, 0.8, 1.28) A_i)   (PPO/DAPO ratio range)
    <criterion>  −(1/N) Σ_i M_i Σ_t ρ_it A_i, M_i the sequence mask of a gpu_sim criterion, e.g.
                 trm_max:0.05 (exact KL from full logits), trm_avg:0.001, trm_max:0.1,trm_avg:0.002,
                 seq_max_k2:x, seq_mean_k3:x (sampled-token versions frameworks ship), and
                 trm_chi2:x (max_t χ²(θ‖roll)(c_t) ≤ x, exact) where the criteria parser knows it
Masks are per sequence, never per token, for sequence criteria.
"""
from __future__ import annotations

import inspect

import torch

from gpu_sim.criteria import Criterion, parse_criterion
from gpu_sim.running import RunningStats
from numerics.errors import TRMInputError

CLIP_LOW, CLIP_HIGH = 0.8, 1.28

#: The runs of the paper's Figures 1–3 (THEORY §9) and the sampled-token masks frameworks ship.
PAPER_OBJECTIVES = ("token_is", "ppo_clip", "trm_max:0.05", "trm_avg:0.001", "trm_max:0.1", "trm_avg:0.002",
                    "trm_max:0.1,trm_avg:0.002", "seq_max_k2:0.05", "seq_mean_k3:0.001")

#: χ²(θ‖roll) ≈ 2·KL(roll‖θ) for small mismatch, so this threshold sits beside TRM-Max 0.05.
CHI2_OBJECTIVE = "trm_chi2:0.1"
CHI2_CLAUSE = "trm_chi2"


def criterion_known(text: str) -> bool:
    """Whether gpu_sim.criteria parses ``text`` (the χ² criterion joins it when it exists)."""
    try:
        parse_criterion(text)
    except TRMInputError:
        return False
    return True


#: Every objective the experiments run: the paper's nine, plus the χ² criterion once it parses.
OBJECTIVES = PAPER_OBJECTIVES + ((CHI2_OBJECTIVE,) if criterion_known(CHI2_OBJECTIVE) else ())


def parse_objective(name: str) -> str | Criterion:
    if name in ("token_is", "ppo_clip"):
        return name
    criterion = parse_criterion(name)
    if criterion.token_level:
        raise TRMInputError(f"objective {name!r}: a training mask must be a sequence criterion")
    return criterion


_UPDATE_TAKES_CHI2 = "chi2" in inspect.signature(RunningStats.update).parameters


def sequence_masks(criteria: list[Criterion], log_ratio: torch.Tensor, kl: torch.Tensor, tv: torch.Tensor,
                   chi2: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """{criterion text: [B] bool} from [B, T] sampled-token log-ratios and exact per-context KL
    (roll ‖ θ), TV and, for trm_chi2 clauses, χ²(θ ‖ roll). Clauses are AND-ed; trm_chi2 is decided
    here (max_t χ²(c_t) ≤ x), every other clause by gpu_sim.running.RunningStats."""
    B, T = log_ratio.shape
    running = RunningStats(T, [T], [], 0.0, log_ratio.device)
    running.start_chunk(B)
    extra = {"chi2": chi2.T.double()} if _UPDATE_TAKES_CHI2 and chi2 is not None else {}
    running.update(log_ratio.T.double(), kl.T.double(), tv.T.double(), **extra)
    out = {}
    for criterion in criteria:
        chi2_clauses = [c for c in criterion.clauses if c.name == CHI2_CLAUSE]
        others = tuple(c for c in criterion.clauses if c.name != CHI2_CLAUSE)
        accept = running.accepts(Criterion(criterion.text, others)) if others else torch.ones(
            B, dtype=torch.bool, device=log_ratio.device)
        for clause in chi2_clauses:
            if chi2 is None:
                raise ValueError(f"{criterion.text!r} needs the per-context χ²")
            accept = accept & (chi2.double().max(dim=1).values <= clause.threshold)
        out[criterion.text] = accept
    return out


def loss(objective, log_ratio: torch.Tensor, advantages: torch.Tensor,
         mask: torch.Tensor | None = None) -> torch.Tensor:
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


def run_losses(clipped: torch.Tensor, log_ratio: torch.Tensor, advantages: torch.Tensor,
               keep: torch.Tensor) -> torch.Tensor:
    """[R] losses of R runs at once, run r being ``loss`` of its own objective.

    clipped [R] bool (PPO clipping for run r), log_ratio [R, B, T], advantages [R, B], keep [R, B]
    (the sequence mask of a masked objective, all ones for token IS and PPO clipping)."""
    R, B, T = log_ratio.shape
    rho = torch.exp(log_ratio)
    A = advantages[..., None].to(rho.dtype)
    plain = rho * A
    terms = torch.where(clipped.view(R, 1, 1), torch.minimum(plain, rho.clamp(CLIP_LOW, CLIP_HIGH) * A), plain)
    return -(terms * keep[..., None].to(terms.dtype)).sum(dim=(1, 2)) / (B * T)
