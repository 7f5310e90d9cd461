"""verl's rollout correction, reproduced in float64: option parsing, presets, the rejection
decision and every ``rollout_corr/*`` metric, the way verl's code computes them.

Source: verl ``verl/trainer/ppo/rollout_corr_helper.py`` (``compute_rollout_rejection_mask``,
``compute_rs_metrics``, ``compute_rollout_correction_weights``, ``compute_is_metrics``,
``compute_offpolicy_metrics``), ``verl/utils/torch_functional.py`` (``masked_sum``, ``masked_mean``)
and ``verl/trainer/config/algorithm.py`` (the presets), read at commit b178a3c (January 2026).

Notation (per token, valid positions only; B sequences, n_i valid tokens in row i, N = Σ n_i):
    ℓ = old_log_prob − rollout_log_prob = log(π_train/π_roll)(y_t),  ℓ̃ = clamp(ℓ, −20, 20)
    k1 = −ℓ̃,  k2 = ½ ℓ̃²,  k3 = e^ℓ̃ − 1 − ℓ̃        (E_roll[k1] = E_roll[k3] = KL(π_roll ‖ π_train))
    masked_mean(x) = Σ_valid x / (count + 1e-8)     (verl's definition, the 1e-8 included)
Options (``rollout_rs``, comma separated, duplicates dropped, AND-ed):
    token_k{1,2,3}: per token;  seq_sum_k{1,2,3}: Σ over the row;  seq_mean_k{1,2,3}: masked_mean over
    the row;  seq_max_k{2,3}: max over the row (0 for a row without valid tokens). A sequence option
    keeps or drops every token of its row. Thresholds are inclusive (kept when stat ≤ upper).
k1 options take "lower_upper" (or one number u, read as lower = 1/u) and keep
    log(lower) ≤ k1-statistic ≤ log(upper)
i.e. π_train/π_roll (or its product / geometric mean) in [1/upper, 1/lower]: the band is MIRRORED
relative to the ratio bounds verl's documentation describes ("tokens outside [lower, upper]
rejected", acceptance set C_lower ≤ ρ ≤ C_upper). :func:`decide` takes ``reading="code"`` (verl's
code, the default) or ``reading="docs"`` (the documented band on ρ); they agree exactly when
lower·upper = 1.

Everything here is numpy float64. Shapes: [b, L] per chunk of rows; rows are independent, so a
dump is processed in chunks and the metric accumulators merge them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from numerics.errors import TRMInputError

SAFETY_BOUND = 20.0
MASKED_MEAN_EPS = 1e-8
#: verl's SUPPORTED_ROLLOUT_RS_OPTIONS, in a fixed order.
OPTIONS = ("token_k1", "token_k2", "token_k3", "seq_sum_k1", "seq_sum_k2", "seq_sum_k3",
           "seq_mean_k1", "seq_mean_k2", "seq_mean_k3", "seq_max_k2", "seq_max_k3")
TOKEN_OPTIONS = ("token_k1", "token_k2", "token_k3")
IS_LEVELS = ("token", "sequence")
READINGS = ("code", "docs")

#: verl's RolloutCorrectionConfig presets (classmethods with their default arguments).
PRESETS = {
    "decoupled_token_is": dict(rollout_is="token", rollout_is_threshold=2.0, rollout_rs=None,
                               rollout_rs_threshold=None, bypass_mode=False, loss_type="ppo_clip"),
    "decoupled_seq_is": dict(rollout_is="sequence", rollout_is_threshold=2.0, rollout_rs=None,
                             rollout_rs_threshold=None, bypass_mode=False, loss_type="ppo_clip"),
    "decoupled_seq_is_rs": dict(rollout_is="sequence", rollout_is_threshold=2.0, rollout_rs="seq_sum_k1",
                                rollout_rs_threshold="0.5_2.0", bypass_mode=False, loss_type="ppo_clip"),
    "decoupled_geo_rs": dict(rollout_is=None, rollout_is_threshold=2.0, rollout_rs="seq_mean_k1",
                             rollout_rs_threshold="0.999_1.001", bypass_mode=False, loss_type="ppo_clip"),
    "bypass_ppo_clip": dict(rollout_is=None, rollout_is_threshold=2.0, rollout_rs=None,
                            rollout_rs_threshold=None, bypass_mode=True, loss_type="ppo_clip"),
    "bypass_ppo_clip_geo_rs": dict(rollout_is=None, rollout_is_threshold=2.0, rollout_rs="seq_mean_k1",
                                   rollout_rs_threshold="0.999_1.001", bypass_mode=True, loss_type="ppo_clip"),
    "bypass_ppo_clip_k3_rs": dict(rollout_is=None, rollout_is_threshold=2.0, rollout_rs="seq_mean_k3",
                                  rollout_rs_threshold=0.01, bypass_mode=True, loss_type="ppo_clip"),
    "bypass_pg_is": dict(rollout_is="sequence", rollout_is_threshold=2.0, rollout_rs=None,
                         rollout_rs_threshold=None, bypass_mode=True, loss_type="reinforce"),
    "bypass_pg_geo_rs": dict(rollout_is=None, rollout_is_threshold=2.0, rollout_rs="seq_mean_k1",
                             rollout_rs_threshold="0.999_1.001", bypass_mode=True, loss_type="reinforce"),
    "decoupled_geo_rs_seq_tis": dict(rollout_is="sequence", rollout_is_threshold=2.0, rollout_rs="seq_mean_k1",
                                     rollout_rs_threshold="0.999_1.001", bypass_mode=False, loss_type="ppo_clip"),
    "decoupled_geo_rs_token_tis": dict(rollout_is="token", rollout_is_threshold=2.0, rollout_rs="seq_mean_k1",
                                       rollout_rs_threshold="0.999_1.001", bypass_mode=False, loss_type="ppo_clip"),
    "bypass_pg_geo_rs_seq_tis": dict(rollout_is="sequence", rollout_is_threshold=2.0, rollout_rs="seq_mean_k1",
                                     rollout_rs_threshold="0.999_1.001", bypass_mode=True, loss_type="reinforce"),
    "bypass_pg_geo_rs_token_tis": dict(rollout_is="token", rollout_is_threshold=2.0, rollout_rs="seq_mean_k1",
                                       rollout_rs_threshold="0.999_1.001", bypass_mode=True, loss_type="reinforce"),
    "decoupled_k3_rs": dict(rollout_is=None, rollout_is_threshold=2.0, rollout_rs="seq_mean_k3",
                            rollout_rs_threshold=0.01, bypass_mode=False, loss_type="ppo_clip"),
    "decoupled_k3_rs_seq_tis": dict(rollout_is="sequence", rollout_is_threshold=2.0, rollout_rs="seq_mean_k3",
                                    rollout_rs_threshold=0.01, bypass_mode=False, loss_type="ppo_clip"),
    "decoupled_k3_rs_token_tis": dict(rollout_is="token", rollout_is_threshold=2.0, rollout_rs="seq_mean_k3",
                                      rollout_rs_threshold=0.01, bypass_mode=False, loss_type="ppo_clip"),
    "disabled": dict(rollout_is=None, rollout_is_threshold=2.0, rollout_rs=None,
                     rollout_rs_threshold=None, bypass_mode=False, loss_type="ppo_clip"),
}


def preset(name: str) -> dict:
    """The configuration of one of verl's named presets (a copy)."""
    if name not in PRESETS:
        raise TRMInputError(f"--preset {name!r}: unknown verl preset; choose one of {', '.join(PRESETS)}")
    return dict(PRESETS[name])


# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RSOption:
    """One rejection option with its parsed thresholds (``lower`` is None except for k1 options)."""

    name: str
    upper: float
    lower: float | None = None

    @property
    def level(self) -> str:
        return "token" if self.name in TOKEN_OPTIONS else "sequence"

    @property
    def aggregation(self) -> str:
        return "token" if self.level == "token" else self.name.split("_")[1]

    @property
    def estimator(self) -> str:
        return self.name[-2:]

    @property
    def is_k1(self) -> bool:
        return self.estimator == "k1"

    @property
    def lower_log(self) -> float:
        return math.log(self.lower)

    @property
    def upper_log(self) -> float:
        return math.log(self.upper)

    @property
    def mirrored(self) -> bool:
        """Whether verl's code and its documentation disagree on this band (lower·upper ≠ 1)."""
        return self.is_k1 and self.lower_log != -self.upper_log


@dataclass(frozen=True)
class RolloutRS:
    """A parsed ``rollout_rs`` / ``rollout_rs_threshold`` pair."""

    text: str
    threshold_text: str
    options: tuple[RSOption, ...]
    notes: tuple[str, ...] = field(default=())


def _float(text: str, option: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise TRMInputError(f"--rollout-rs-threshold {spec!r}: invalid numeric threshold {text!r} for option "
                            f"{option!r}") from None
    if math.isnan(value):
        raise TRMInputError(f"--rollout-rs-threshold {spec!r}: threshold for option {option!r} is NaN")
    return value


def parse_rollout_rs(rollout_rs, rollout_rs_threshold) -> RolloutRS:
    """Parse verl's ``rollout_rs`` and ``rollout_rs_threshold`` exactly as verl does.

    - options: comma separated, blanks dropped, each one of :data:`OPTIONS`, duplicates removed
      (first occurrence kept);
    - thresholds: a number, or a comma-separated string; one entry (shared by every option) or
      exactly one per (deduplicated) option;
    - k1 options: "lower_upper" split at the first "_" (Python's float() then reads the rest, so
      "0.5_1.5_2" has upper 1.52, as in verl), or one number u meaning lower = 1/u; both > 0;
    - other options: one positive number without "_".
    Refused here but accepted by verl: a NaN threshold (verl would reject every token silently).
    """
    if not isinstance(rollout_rs, str) or not rollout_rs.strip():
        raise TRMInputError("--rollout-rs: give a non-empty comma-separated list of options, e.g. "
                            "'seq_max_k2,seq_mean_k3'")
    modes = [opt.strip() for opt in rollout_rs.split(",") if opt.strip()]
    if not modes:
        raise TRMInputError(f"--rollout-rs {rollout_rs!r}: contains no option")
    options: list[str] = []
    notes: list[str] = []
    for opt in modes:
        if opt not in OPTIONS:
            raise TRMInputError(f"--rollout-rs {rollout_rs!r}: unknown option {opt!r}; choose from {', '.join(OPTIONS)}")
        if opt in options:
            notes.append(f"rollout_rs lists {opt!r} twice; verl drops the duplicate")
        else:
            options.append(opt)
    if rollout_rs_threshold is None:
        raise TRMInputError("--rollout-rs-threshold: required with --rollout-rs (one threshold per option)")
    if isinstance(rollout_rs_threshold, bool):
        raise TRMInputError(f"--rollout-rs-threshold {rollout_rs_threshold!r}: not a threshold")
    if isinstance(rollout_rs_threshold, (int, float)):
        specs = [str(rollout_rs_threshold)]
    elif isinstance(rollout_rs_threshold, str):
        specs = [part.strip() for part in rollout_rs_threshold.split(",") if part.strip()]
    else:
        raise TRMInputError(f"--rollout-rs-threshold {rollout_rs_threshold!r}: give a string or a number")
    spec_text = str(rollout_rs_threshold)
    if not specs:
        raise TRMInputError(f"--rollout-rs-threshold {spec_text!r}: contains no threshold")
    if len(specs) not in (1, len(options)):
        raise TRMInputError(f"--rollout-rs-threshold {spec_text!r}: {len(specs)} thresholds for {len(options)} "
                            f"option(s) {','.join(options)}; give one shared threshold or exactly one per option")
    if len(specs) == 1:
        specs = specs * len(options)
    parsed = []
    for opt, spec in zip(options, specs):
        if opt.endswith("k1"):
            if "_" in spec:
                lower_text, upper_text = spec.split("_", 1)
                if "_" in upper_text:
                    notes.append(f"{opt}: threshold {spec!r} has two '_'; Python's float() (and so verl) reads "
                                 f"the upper bound {upper_text!r} as {_float(upper_text, opt, spec_text)!r}")
            else:
                upper_text = spec
                lower_text = str(1.0 / _float(upper_text, opt, spec_text)) if _float(upper_text, opt, spec_text) else "inf"
                notes.append(f"{opt}: single threshold {spec} read as the band {float(lower_text):.6g}_{spec} "
                             "(lower = 1/upper)")
            lower, upper = _float(lower_text, opt, spec_text), _float(upper_text, opt, spec_text)
            if lower <= 0 or upper <= 0:
                raise TRMInputError(f"--rollout-rs-threshold {spec_text!r}: thresholds for option {opt!r} must be "
                                    f"positive, got {spec!r}")
            if lower > upper:
                notes.append(f"{opt}: band {spec} has lower > upper; verl accepts it and rejects every token")
            parsed.append(RSOption(opt, upper=upper, lower=lower))
        else:
            if "_" in spec:
                raise TRMInputError(f"--rollout-rs-threshold {spec_text!r}: option {opt!r} takes a single upper "
                                    f"bound without '_', got {spec!r}")
            upper = _float(spec, opt, spec_text)
            if upper <= 0:
                raise TRMInputError(f"--rollout-rs-threshold {spec_text!r}: threshold for option {opt!r} must be "
                                    f"positive, got {spec!r}")
            parsed.append(RSOption(opt, upper=upper))
    return RolloutRS(rollout_rs, spec_text, tuple(parsed), tuple(notes))


@dataclass(frozen=True)
class RolloutIS:
    """verl's ``rollout_is`` (token | sequence), ``rollout_is_threshold`` and batch normalisation."""

    level: str
    threshold: float = 2.0
    batch_normalize: bool = False

    def __post_init__(self):
        if self.level not in IS_LEVELS:
            raise TRMInputError(f"--rollout-is {self.level!r}: choose token or sequence")
        t = self.threshold
        if isinstance(t, bool) or not isinstance(t, (int, float)) or math.isnan(t) or t <= 0:
            raise TRMInputError(f"--rollout-is-threshold {t!r}: must be a positive number")


# ---------------------------------------------------------------------------------------------
# Token statistics and the decision
# ---------------------------------------------------------------------------------------------

@dataclass
class TokenStats:
    """Per-token quantities of one chunk (padded positions hold 0 and never count)."""

    mask: np.ndarray          # [b, L] bool
    log_ratio: np.ndarray     # [b, L] ℓ, unclamped (0 at padding)
    safe: np.ndarray          # [b, L] ℓ̃ = clamp(ℓ, ±20)
    k1: np.ndarray
    k2: np.ndarray
    k3: np.ndarray
    count: np.ndarray         # [b] n_i

    @classmethod
    def from_log_probs(cls, old: np.ndarray, roll: np.ndarray, mask: np.ndarray) -> "TokenStats":
        mask = np.asarray(mask, dtype=bool)
        with np.errstate(invalid="ignore", over="ignore"):
            lr = np.where(mask, np.asarray(old, np.float64) - np.asarray(roll, np.float64), 0.0)
        return cls.from_log_ratio(lr, mask)

    @classmethod
    def from_log_ratio(cls, log_ratio: np.ndarray, mask: np.ndarray) -> "TokenStats":
        mask = np.asarray(mask, dtype=bool)
        lr = np.where(mask, np.asarray(log_ratio, np.float64), 0.0)
        safe = np.clip(lr, -SAFETY_BOUND, SAFETY_BOUND)
        return cls(mask, lr, safe, -safe, 0.5 * safe**2, np.exp(safe) - 1.0 - safe, mask.sum(-1).astype(np.float64))


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


# ---------------------------------------------------------------------------------------------
# Metric accumulators (merge chunks of rows into verl's whole-batch metrics)
# ---------------------------------------------------------------------------------------------

class _Extremes:
    def __init__(self):
        self.max, self.min = -math.inf, math.inf

    def add(self, values: np.ndarray, mask: np.ndarray) -> None:
        if mask.any():
            v = values[mask]
            self.max = max(self.max, float(v.max()))
            self.min = min(self.min, float(v.min()))


def _std(values: np.ndarray) -> float:
    """torch.Tensor.std (unbiased) of a 1-D array with at least 2 entries."""
    return float(np.std(values, ddof=1))


class RSMetrics:
    """Accumulates compute_rollout_rejection_mask's and compute_rs_metrics's metrics over chunks."""

    def __init__(self, rs: RolloutRS):
        self.rs = rs
        k = len(rs.options)
        self.N = 0.0
        self.sum_stat = np.zeros(k)
        self.sum_clamped = np.zeros(k)
        self.sum_clamped_sq = np.zeros(k)
        self.tok_high = np.zeros(k)
        self.tok_low = np.zeros(k)
        self.tok_rejected = np.zeros(k)
        self.extremes = [_Extremes() for _ in range(k)]
        self.seq_values: list[list[np.ndarray]] = [[] for _ in range(k)]
        self.seq_keep: list[list[np.ndarray]] = [[] for _ in range(k)]
        self.seq_valid: list[np.ndarray] = []
        self.final_rejected = 0.0
        self.final_seq_masked = 0.0
        self.rows = 0

    def add(self, st: TokenStats, final_keep: np.ndarray, decisions: list[OptionDecision]) -> None:
        mask = st.mask
        self.N += float(mask.sum())
        self.rows += mask.shape[0]
        valid_rows = st.count > 0
        self.seq_valid.append(valid_rows)
        for j, d in enumerate(decisions):
            opt = d.option
            upper_m = opt.upper_log if opt.is_k1 else opt.upper
            lower_m = opt.lower_log if opt.is_k1 else 0.0
            if opt.level == "token":
                stat = d.token_stat
                seq_values = masked_row_mean(stat, mask)
                self.tok_high[j] += float((mask & (stat > upper_m)).sum())
                if opt.is_k1:
                    self.tok_low[j] += float((mask & (stat < lower_m)).sum())
                self.extremes[j].add(stat, mask)
            else:
                seq_values = d.seq_stat
                stat = np.broadcast_to(seq_values[:, None], mask.shape)
            self.sum_stat[j] += float(np.where(mask, stat, 0.0).sum())
            clamped = np.clip(stat, lower_m, upper_m) if opt.is_k1 else np.clip(stat, 0.0, upper_m)
            self.sum_clamped[j] += float(np.where(mask, clamped, 0.0).sum())
            self.sum_clamped_sq[j] += float(np.where(mask, clamped * clamped, 0.0).sum())
            self.tok_rejected[j] += float((mask & ~d.token_keep).sum())
            self.seq_values[j].append(np.asarray(seq_values, np.float64))
            self.seq_keep[j].append(~(mask & ~d.token_keep).any(-1))
        self.final_rejected += float((mask & ~final_keep).sum())
        self.final_seq_masked += float((mask & ~final_keep).any(-1).sum())

    def metrics(self) -> dict:
        out = {}
        N = self.N
        denom = N + MASKED_MEAN_EPS
        valid = np.concatenate(self.seq_valid)
        for j, opt in enumerate(self.rs.options):
            p = f"rollout_rs_{opt.name}"
            upper_m = opt.upper_log if opt.is_k1 else opt.upper
            lower_m = opt.lower_log if opt.is_k1 else 0.0
            seq_all = np.concatenate(self.seq_values[j])
            seq_v = seq_all[valid]
            out[f"{p}_mean"] = self.sum_stat[j] / denom
            if opt.level == "sequence" and seq_v.size:
                out[f"{p}_max"] = float(seq_v.max())
                out[f"{p}_min"] = float(seq_v.min())
                out[f"{p}_fraction_high"] = float((seq_v > upper_m).mean())
                out[f"{p}_fraction_low"] = float((seq_v < lower_m).mean()) if opt.is_k1 else 0.0
            else:
                out[f"{p}_max"] = self.extremes[j].max
                out[f"{p}_min"] = self.extremes[j].min
                out[f"{p}_fraction_high"] = self.tok_high[j] / denom
                out[f"{p}_fraction_low"] = self.tok_low[j] / denom if opt.is_k1 else 0.0
            if N > 1:
                m1 = self.sum_clamped[j] / denom
                m2 = self.sum_clamped_sq[j] / denom
                out[f"{p}_std"] = math.sqrt(max(m2 - m1 * m1, 0.0))
            else:
                out[f"{p}_std"] = 0.0
            if seq_v.size:
                out[f"{p}_seq_mean"] = float(seq_v.mean())
                out[f"{p}_seq_std"] = _std(seq_v) if seq_v.size > 1 else 0.0
                out[f"{p}_seq_max"] = float(seq_v.max())
                out[f"{p}_seq_min"] = float(seq_v.min())
                out[f"{p}_seq_max_deviation"] = float(np.abs(seq_v).max())
                out[f"{p}_seq_fraction_high"] = float((seq_v > upper_m).mean())
                if opt.is_k1:
                    out[f"{p}_seq_fraction_low"] = float((seq_v < lower_m).mean())
            else:  # pragma: no cover - a batch has at least one valid row (checked on input)
                for key in ("seq_mean", "seq_std", "seq_max", "seq_min", "seq_max_deviation", "seq_fraction_high",
                            "seq_fraction_low"):
                    out[f"{p}_{key}"] = 0.0
            out[f"rollout_rs_{opt.name}_masked_fraction"] = self.tok_rejected[j] / denom
            keep = np.concatenate(self.seq_keep[j])
            n_valid = float(valid.sum())
            out[f"rollout_rs_{opt.name}_seq_masked_fraction"] = (
                float((~keep & valid).sum()) / n_valid if n_valid > 0 else 0.0)
        out["rollout_rs_masked_fraction"] = self.final_rejected / denom
        out["rollout_rs_seq_masked_fraction"] = self.final_seq_masked / self.rows
        return out


def _log_f32(x: float) -> float:
    """log of x as verl takes it for the IS thresholds: torch.log(torch.tensor(x)) in float32."""
    with np.errstate(divide="ignore"):
        return float(np.log(np.float32(x)))


class ISMetrics:
    """Accumulates compute_rollout_correction_weights's / compute_is_metrics's metrics over chunks."""

    def __init__(self, cfg: RolloutIS):
        self.cfg = cfg
        self.N = 0.0
        self.sum_w = 0.0
        self.sum_wc = 0.0
        self.sum_wc_sq = 0.0
        self.high = 0.0
        self.low = 0.0
        self.extremes = _Extremes()
        self.seq_mean_w: list[np.ndarray] = []
        self.seq_log: list[np.ndarray] = []
        self.sum_trunc = 0.0
        self.seq_trunc: list[np.ndarray] = []
        self.counts: list[np.ndarray] = []

    def add(self, st: TokenStats) -> None:
        thr = float(self.cfg.threshold)
        lower = 1.0 / thr
        mask = st.mask
        self.N += float(mask.sum())
        self.counts.append(st.count)
        if self.cfg.level == "token":
            w = np.where(mask, np.exp(st.safe), 0.0)
            self.high += float((mask & (w > thr)).sum())
            self.low += float((mask & (w < lower)).sum())
            self.extremes.add(w, mask)
        else:
            s = masked_row_sum(st.log_ratio, mask)
            self.seq_log.append(s)
            w = np.where(mask, np.exp(np.clip(s, -SAFETY_BOUND, SAFETY_BOUND))[:, None], 0.0)
        self.sum_w += float(w.sum())
        wc = np.clip(w, lower, thr)
        self.sum_wc += float(np.where(mask, wc, 0.0).sum())
        self.sum_wc_sq += float(np.where(mask, wc * wc, 0.0).sum())
        self.seq_mean_w.append(w.sum(-1) / (st.count + MASKED_MEAN_EPS))
        truncated = np.minimum(w, thr)
        self.sum_trunc += float(truncated.sum())
        self.seq_trunc.append(truncated.sum(-1) / (st.count + MASKED_MEAN_EPS))

    def metrics(self) -> dict:
        thr = float(self.cfg.threshold)
        lower = 1.0 / thr
        denom = self.N + MASKED_MEAN_EPS
        out = {}
        if self.cfg.level == "sequence":
            s = np.concatenate(self.seq_log)
            out["rollout_is_max"] = math.exp(min(float(s.max()), SAFETY_BOUND))
            with np.errstate(under="ignore"):
                out["rollout_is_min"] = float(np.exp(s.min()))
            out["rollout_is_mean"] = self.sum_w / denom
            out["rollout_is_ratio_fraction_high"] = float((s > _log_f32(thr)).mean())
            out["rollout_is_ratio_fraction_low"] = float((s < _log_f32(lower)).mean())
        else:
            out["rollout_is_mean"] = self.sum_w / denom
            out["rollout_is_ratio_fraction_high"] = self.high / denom
            out["rollout_is_ratio_fraction_low"] = self.low / denom
            out["rollout_is_max"] = self.extremes.max
            out["rollout_is_min"] = self.extremes.min
        m1 = self.sum_wc / denom
        m2 = self.sum_wc_sq / denom
        out["rollout_is_std"] = math.sqrt(max(m2 - m1 * m1, 0.0)) if self.N > 1 else 0.0
        # ESS = 1 / masked_mean((wc / (m1 + 1e-8))²) = (m1 + 1e-8)² / m2
        out["rollout_is_eff_sample_size"] = (m1 + MASKED_MEAN_EPS) ** 2 / m2 if m2 > 0 else math.inf
        seq = np.concatenate(self.seq_mean_w)
        out["rollout_is_seq_mean"] = float(seq.mean())
        out["rollout_is_seq_std"] = _std(seq) if seq.size > 1 else 0.0
        out["rollout_is_seq_max"] = float(seq.max())
        out["rollout_is_seq_min"] = float(seq.min())
        out["rollout_is_seq_max_deviation"] = float(np.abs(seq - 1.0).max())
        out["rollout_is_seq_fraction_high"] = float((seq > thr).mean())
        out["rollout_is_seq_fraction_low"] = float((seq < lower).mean())
        if self.cfg.batch_normalize:
            if self.cfg.level == "token":
                mean = self.sum_trunc / denom
            else:
                seq_w = np.concatenate(self.seq_trunc)
                has = (np.concatenate(self.counts) > 0).astype(np.float64)
                mean = float((seq_w * has).sum() / max(has.sum(), 1e-8))
            out["rollout_is_batch_norm_factor"] = mean if mean > 1e-8 else 1.0
        return out


class OffPolicyMetrics:
    """Accumulates compute_offpolicy_metrics: ppl, kl, k3_kl, log_ppl_*, ppl_ratio, chi2_token/seq.

    Per-row means divide by n_i + 1e-8, so a row without valid tokens enters the batch means
    (training_ppl, ppl_ratio, log_ppl_*, chi2_seq average over ALL B rows) with perplexity 1.
    kl and k3_kl are unclamped; chi2_token clamps ℓ per token and chi2_seq clamps Σℓ, to ±20.
    """

    def __init__(self):
        self.N = 0.0
        self.sum_kl = 0.0
        self.sum_k3 = 0.0
        self.sum_rho2 = 0.0
        self.m_train: list[np.ndarray] = []
        self.m_roll: list[np.ndarray] = []
        self.seq_rho2: list[np.ndarray] = []

    def add(self, old: np.ndarray, roll: np.ndarray, st: TokenStats) -> None:
        mask = st.mask
        self.N += float(mask.sum())
        with np.errstate(invalid="ignore", over="ignore"):
            self.sum_kl += float(np.where(mask, roll - old, 0.0).sum())
            lr = st.log_ratio
            self.sum_k3 += float(np.where(mask, np.exp(lr) - lr - 1, 0.0).sum())
            rho = np.exp(st.safe)
            self.sum_rho2 += float(np.where(mask, rho * rho, 0.0).sum())
            self.m_train.append(masked_row_mean(old, mask))
            self.m_roll.append(masked_row_mean(roll, mask))
            s = masked_row_sum(lr, mask)
            self.seq_rho2.append(np.exp(2.0 * np.clip(s, -SAFETY_BOUND, SAFETY_BOUND)))

    def metrics(self) -> dict:
        denom = self.N + MASKED_MEAN_EPS
        mt, mr = np.concatenate(self.m_train), np.concatenate(self.m_roll)
        d = mr - mt
        with np.errstate(over="ignore"):
            return {
                "training_ppl": float(np.exp(-mt).mean()),
                "training_log_ppl": float((-mt).mean()),
                "kl": self.sum_kl / denom,
                "k3_kl": self.sum_k3 / denom,
                "rollout_ppl": float(np.exp(-mr).mean()),
                "rollout_log_ppl": float((-mr).mean()),
                "log_ppl_diff": float(d.mean()),
                "log_ppl_abs_diff": float(np.abs(d).mean()),
                "log_ppl_diff_max": float(d.max()),
                "log_ppl_diff_min": float(d.min()),
                "ppl_ratio": float(np.exp(d).mean()),
                "chi2_token": self.sum_rho2 / denom - 1.0,
                "chi2_seq": float(np.concatenate(self.seq_rho2).mean()) - 1.0,
            }


def docs_readings(off: dict, is_metrics: dict | None, is_cfg: RolloutIS | None, seq_log_max: float | None) -> list[dict]:
    """Metrics whose documented formula differs from verl's code, with both values.

    - ppl_ratio: the usage guide writes exp(mean(log(training_ppl/rollout_ppl))) = exp(log_ppl_diff)
      (a geometric mean over sequences); the code logs mean_i exp(log_ppl_diff_i) (arithmetic).
    - rollout_is_max at sequence level: the guide calls it the "true maximum before safety bound";
      the code logs exp(min(max_i Σℓ, 20)).
    """
    out = [{"metric": "ppl_ratio", "code": off["ppl_ratio"], "docs": math.exp(off["log_ppl_diff"]),
            "code_formula": "mean over sequences of exp(log_ppl_diff_i)",
            "docs_formula": "exp(mean(log(training_ppl / rollout_ppl))) (docs/algo/rollout_corr.md)"}]
    if is_metrics is not None and is_cfg is not None and is_cfg.level == "sequence" and seq_log_max is not None \
            and seq_log_max > SAFETY_BOUND:
        with np.errstate(over="ignore"):
            out.append({"metric": "rollout_is_max", "code": is_metrics["rollout_is_max"],
                        "docs": float(np.exp(seq_log_max)),
                        "code_formula": "exp(min(max_i Σ_t ℓ, 20))",
                        "docs_formula": "unclamped: the true maximum before the safety bound"})
    return out


class VerlAccumulator:
    """verl's whole rollout-correction step over chunks of rows: decision, then every metric.

    ``add`` returns the chunk's modified response mask; ``metrics`` the ``rollout_corr/*`` dict in
    verl's order (IS metrics, rejection metrics, off-policy metrics).
    """

    def __init__(self, rs: RolloutRS | None = None, is_cfg: RolloutIS | None = None, reading: str = "code"):
        if reading not in READINGS:
            raise TRMInputError(f"--k1-reading {reading!r}: choose code or docs")
        self.rs, self.is_cfg, self.reading = rs, is_cfg, reading
        self.rs_metrics = RSMetrics(rs) if rs is not None else None
        self.is_metrics = ISMetrics(is_cfg) if is_cfg is not None else None
        self.off = OffPolicyMetrics()
        self.seq_log_max = -math.inf

    def add(self, old: np.ndarray, roll: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, TokenStats, list]:
        mask = np.asarray(mask, dtype=bool)
        st = TokenStats.from_log_probs(old, roll, mask)
        old = np.where(mask, np.asarray(old, np.float64), 0.0)
        roll = np.where(mask, np.asarray(roll, np.float64), 0.0)
        if self.is_metrics is not None:
            self.is_metrics.add(st)
        s = masked_row_sum(st.log_ratio, mask)
        if s.size:
            self.seq_log_max = max(self.seq_log_max, float(s.max()))
        decisions = []
        if self.rs is not None:
            # metrics always follow verl's code; the reading changes only the mask
            keep_code, decisions = decide(self.rs, st, "code")
            self.rs_metrics.add(st, keep_code, decisions)
            keep = keep_code if self.reading == "code" else decide(self.rs, st, self.reading)[0]
        else:
            keep = mask.copy()
        self.off.add(old, roll, st)
        return keep, st, decisions

    def metrics(self) -> dict:
        out = {}
        if self.is_metrics is not None:
            out.update(self.is_metrics.metrics())
        if self.rs_metrics is not None:
            out.update(self.rs_metrics.metrics())
        out.update(self.off.metrics())
        return {f"rollout_corr/{k}": v for k, v in out.items()}

    def docs_readings(self) -> list[dict]:
        return docs_readings(self.off.metrics(), self.is_metrics.metrics() if self.is_metrics else None,
                             self.is_cfg, self.seq_log_max if math.isfinite(self.seq_log_max) else None)


def rollout_correction(old_log_prob, rollout_log_prob, response_mask, rollout_is=None, rollout_is_threshold=2.0,
                       rollout_is_batch_normalize=False, rollout_rs=None, rollout_rs_threshold=None,
                       reading: str = "code") -> tuple[np.ndarray, dict]:
    """verl's compute_rollout_correction_and_rejection_mask on one whole batch [B, L]:
    (modified response mask [B, L] bool, {'rollout_corr/<name>': value})."""
    old = np.asarray(old_log_prob, np.float64)
    roll = np.asarray(rollout_log_prob, np.float64)
    mask = np.asarray(response_mask)
    if old.shape != roll.shape or old.shape != mask.shape or old.ndim != 2:
        raise TRMInputError(f"shapes: old_log_prob {old.shape}, rollout_log_prob {roll.shape}, response_mask "
                            f"{mask.shape} must be equal and [B, L]")
    if not mask.astype(bool).any():
        raise TRMInputError("response_mask: no valid token (every entry is 0)")
    rs = parse_rollout_rs(rollout_rs, rollout_rs_threshold) if rollout_rs is not None else None
    is_cfg = RolloutIS(rollout_is, rollout_is_threshold, rollout_is_batch_normalize) if rollout_is is not None else None
    acc = VerlAccumulator(rs, is_cfg, reading)
    keep, _, _ = acc.add(old, roll, mask)
    return keep, acc.metrics()
