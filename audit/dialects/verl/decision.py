"""verl's rejection decision on a chunk of rows (compute_rollout_rejection_mask): per option, and
every option AND-ed."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from audit.dialects.verl.config import MASKED_MEAN_EPS, READINGS, RolloutRS, RSOption
from audit.token_stats import TokenStats
from numerics.errors import TRMInputError


def masked_row_sum(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask, values, 0.0).sum(-1)


def masked_row_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """verl's masked_mean along the row: Σ_valid x / (n_i + 1e-8) (0 for an empty row)."""
    return masked_row_sum(values, mask) / (mask.sum(-1) + MASKED_MEAN_EPS)


def masked_row_max(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = np.where(mask, values, -np.inf).max(-1, initial=-np.inf)
    return np.where(out == -np.inf, 0.0, out)


@dataclass
class OptionDecision:
    option: RSOption
    token_keep: np.ndarray          # [b, L] bool (True at padding for sequence options' rows kept)
    token_stat: np.ndarray | None   # [b, L] per-token statistic (token options)
    seq_stat: np.ndarray | None     # [b] per-sequence statistic (sequence options)


def option_decision(option: RSOption, st: TokenStats, reading: str = "code") -> OptionDecision:
    """One option's keep decision on a chunk, as verl's compute_rollout_rejection_mask takes it.

    ``reading="docs"`` changes only the k1 bands: keep when log(lower) ≤ −stat ≤ log(upper) (a band
    on ρ = π_train/π_roll, its product or its geometric mean) instead of verl's log(lower) ≤ stat ≤ log(upper).
    """
    if reading not in READINGS:
        raise TRMInputError(f"--k1-reading {reading!r}: choose code or docs")
    stat_tok = {"k1": st.k1, "k2": st.k2, "k3": st.k3}[option.estimator]
    if option.level == "token":
        stat, seq_stat = stat_tok, None
    else:
        agg = option.aggregation
        if agg == "sum":
            seq_stat = masked_row_sum(stat_tok, st.mask)
        elif agg == "mean":
            seq_stat = masked_row_mean(stat_tok, st.mask)
        else:
            seq_stat = masked_row_max(stat_tok, st.mask)
        stat = seq_stat
    if option.is_k1:
        lo, hi = option.lower_log, option.upper_log
        keep = (stat >= lo) & (stat <= hi) if reading == "code" else (-stat >= lo) & (-stat <= hi)
    else:
        keep = stat <= option.upper
    if option.level == "sequence":
        keep = np.broadcast_to(keep[:, None], st.mask.shape)
        return OptionDecision(option, keep, None, seq_stat)
    return OptionDecision(option, keep, stat, None)


#: Relative distance to a threshold within which float32 arithmetic (verl's usual tensor dtype) may decide
#: differently from this float64 reproduction.
FLOAT32_MARGIN = 1e-6


def near_threshold(decision: OptionDecision, mask: np.ndarray, margin: float = FLOAT32_MARGIN) -> int:
    """How many valid tokens (token options) or valid rows (sequence options) have a statistic within
    ``margin`` (relative) of one of the option's bounds: the decisions float32 could flip."""
    opt = decision.option
    bounds = [opt.lower_log, opt.upper_log] if opt.is_k1 else [opt.upper]
    bounds += [-b for b in bounds] if opt.is_k1 else []
    stat = decision.token_stat if opt.level == "token" else decision.seq_stat
    valid = mask if opt.level == "token" else mask.any(-1)
    near = np.zeros(stat.shape, dtype=bool)
    for bound in bounds:
        if math.isfinite(bound):
            near |= np.abs(stat - bound) <= margin * max(1.0, abs(bound))
    return int((near & valid).sum())


def decide(rs: RolloutRS, st: TokenStats, reading: str = "code") -> tuple[np.ndarray, list[OptionDecision]]:
    """(kept [b, L] bool = response_mask after rejection, per-option decisions): every option AND-ed."""
    decisions = [option_decision(opt, st, reading) for opt in rs.options]
    keep = st.mask.copy()
    for d in decisions:
        keep &= d.token_keep
    return keep, decisions
