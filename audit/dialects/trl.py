"""TRL's GRPO trainer: its vLLM importance-sampling correction and off-policy sequence mask, and its
``sampling/*`` metrics, as its code computes them.

Source: huggingface/trl f2cd577, trl/trainer/grpo_trainer.py (``_generate_and_score_completions``: the
ratio, its truncation or mask, and the ``sampling/*`` metrics; ``get_off_policy_mask``; ``_compute_loss``,
which multiplies the per-token loss by both) and trl/trainer/grpo_config.py
(``vllm_importance_sampling_correction`` True, ``vllm_importance_sampling_mode`` "sequence_mask",
``vllm_importance_sampling_clip_max`` 3.0, ``vllm_importance_sampling_clip_min`` None,
``off_policy_mask_threshold`` None by default; ``__post_init__``'s checks).

With m = completion_mask · tool_mask (the response mask) and ℓ_t = old_per_token_logps −
sampling_per_token_logps = log(π_train/π_vLLM)(y_t), unclamped:
    token_*:     ρ_t = exp(ℓ_t m_t)                  per token   (1 at masked positions)
    sequence_*:  ρ   = exp(Σ_t ℓ_t m_t)              per row, shared by its tokens
    *_truncate:  ρ ← clamp(ρ, C_min, C_max)         (a None bound is no bound); nothing is masked
    *_mask:      ρ ← 0 where ρ < C_min or ρ > C_max  (None: −inf / +inf); the token or row is masked
    off-policy sequence mask (DeepSeek-V3.2, off_policy_mask_threshold δ): a row is kept when its
        advantage ≥ 0 or (1/max(n, 1)) Σ_t (sampling − per_token) m_t ≤ δ; here per_token is the
        dump's trainer log-prob (TRL uses the current policy's, equal to it at the first update).
Metrics (one process; TRL averages per-process means and takes the max / min across processes):
    sampling/sampling_logp_difference/{mean, max}: |old − sampling| over valid tokens (0 without any)
    sampling/importance_sampling_ratio/{min, mean, max}: of ρ after truncation or masking, over valid
        tokens (token_*) or over every row (sequence_*, a row without valid tokens at ρ = 1).
TRL computes in the log-probs' dtype (float32): exp overflows to inf above 88.72 (a note says when
a row gets there; masks and truncation decide the same, only the ratio metrics differ); this is float64.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from audit.rules import RuleCounts
from numerics.errors import TRMInputError

NAME = "trl"
ORDER = 1
TITLE = "TRL: GRPO's vLLM importance-sampling correction, off-policy sequence mask, sampling/* metrics"
SOURCE = "huggingface/trl f2cd577: trl/trainer/grpo_trainer.py, trl/trainer/grpo_config.py"
KEYS = {"old": ("old_per_token_logps", "per_token_logps"), "rollout": ("sampling_per_token_logps",),
        "mask": ("completion_mask",), "extra_mask": ("tool_mask",)}
METRICS = ("sampling/",)
MODES = ("token_truncate", "token_mask", "sequence_truncate", "sequence_mask")
DEFAULT_MODE = "sequence_mask"
DEFAULT_CLIP_MAX = 3.0
DEFAULTS = {"trl": None, "trl_clip_min": None, "trl_clip_max": None, "trl_off_policy_mask": None}
#: log of float32's largest finite number: exp of more overflows in TRL's float32 tensors.
FLOAT32_LOG_MAX = float(np.log(np.finfo(np.float32).max))


@dataclass(frozen=True)
class TRLSpec:
    mode: str | None                 # None: no importance-sampling correction (only the off-policy mask)
    clip_min: float | None = None
    clip_max: float | None = DEFAULT_CLIP_MAX
    off_policy_threshold: float | None = None
    notes: tuple = ()

    @property
    def token_level(self) -> bool:
        return self.mode is not None and self.mode.startswith("token")

    @property
    def masks_ratio(self) -> bool:
        return self.mode is not None and self.mode.endswith("_mask")


def _bound(name: str, value, allow_none: bool):
    """A clip bound: a finite number, or None (also 'none' on the command line) where TRL allows None."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "none"):
        if allow_none:
            return None
        raise TRMInputError(f"--{name.replace('_', '-')} {value!r}: give a number")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise TRMInputError(f"--{name.replace('_', '-')} {value!r}: not a number") from None
    if isinstance(value, bool) or not math.isfinite(x):
        raise TRMInputError(f"--{name.replace('_', '-')} {value!r}: must be a finite number")
    return x


def parse_trl(mode=None, clip_min=None, clip_max="default", off_policy_threshold=None) -> TRLSpec:
    """TRL's options, checked as GRPOConfig checks them. ``clip_max`` "default" is TRL's 3.0; None (or
    "none") is no upper bound."""
    if mode is not None and mode not in MODES:
        raise TRMInputError(f"--trl {mode!r}: unknown vllm_importance_sampling_mode; choose one of {', '.join(MODES)}"
                            + _file_hint("--trl", mode))
    if mode is None and (clip_min is not None or clip_max != "default"):
        raise TRMInputError("--trl-clip-min / --trl-clip-max given without --trl MODE")
    lo = _bound("trl_clip_min", clip_min, True)
    hi = DEFAULT_CLIP_MAX if clip_max == "default" else _bound("trl_clip_max", clip_max, True)
    if lo is not None and hi is not None and lo >= hi:
        raise TRMInputError(f"--trl-clip-min {lo:g} must be less than --trl-clip-max {hi:g} (vllm_importance_sampling_"
                            "clip_min < clip_max, as GRPOConfig requires)")
    if mode is not None and mode.endswith("truncate") and lo is None and hi is None:
        raise TRMInputError(f"--trl {mode}: a *_truncate mode needs --trl-clip-min or --trl-clip-max")
    delta = None if off_policy_threshold is None else _bound("trl_off_policy_mask", off_policy_threshold, False)
    if mode is None and delta is None:
        raise TRMInputError("--trl: give a MODE and/or --trl-off-policy-mask DELTA")
    return TRLSpec(mode, lo, hi if mode is not None else None, delta)


# ---------------------------------------------------------------------------------------------
# The ratio, its constraint and the masks on a chunk
# ---------------------------------------------------------------------------------------------

def raw_ratio(spec: TRLSpec, log_ratio: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """ρ before its constraint: exp(ℓ m) per token [b, L] (token modes) or exp(Σ ℓ m) per row [b, 1]."""
    diff = np.where(mask, log_ratio, 0.0)
    with np.errstate(over="ignore"):
        return np.exp(diff if spec.token_level else diff.sum(-1, keepdims=True))


def _band(spec: TRLSpec) -> tuple[float, float]:
    return (-math.inf if spec.clip_min is None else spec.clip_min, math.inf if spec.clip_max is None else spec.clip_max)


def ratio(spec: TRLSpec, log_ratio: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """ρ after truncation (clamp to [C_min, C_max]) or masking (0 outside it), shaped as :func:`raw_ratio`."""
    rho = raw_ratio(spec, log_ratio, mask)
    lo, hi = _band(spec)
    if spec.mode.endswith("truncate"):
        return np.clip(rho, lo, hi)
    return np.where((rho < lo) | (rho > hi), 0.0, rho)


def ratio_keep(spec: TRLSpec, log_ratio: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """[b, L] bool: what the correction keeps (a *_mask mode drops the tokens or rows outside [C_min, C_max];
    a *_truncate mode keeps everything)."""
    if not spec.masks_ratio:
        return np.ones(mask.shape, dtype=bool)
    rho = raw_ratio(spec, log_ratio, mask)
    lo, hi = _band(spec)
    return np.broadcast_to((rho >= lo) & (rho <= hi), mask.shape)


def off_policy_keep(threshold: float, advantages: np.ndarray, log_ratio: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """[b] bool: get_off_policy_mask: advantage ≥ 0 or the row's mean of (sampling − trainer) ≤ δ."""
    kl = np.where(mask, -log_ratio, 0.0).sum(-1) / np.maximum(mask.sum(-1), 1.0)
    return (advantages >= 0) | (kl <= threshold)


def _file_hint(flag: str, value) -> str:
    """The flag's optional value took a dump file name."""
    if isinstance(value, str) and value.lower().endswith((".pt", ".safetensors", ".npz", ".parquet")):
        return f" ({flag} took the file name as its value: put the files first, or give the value)"
    return ""


# ---------------------------------------------------------------------------------------------
# The dialect as the audit runs it
# ---------------------------------------------------------------------------------------------

def add_arguments(parser, types) -> None:
    g = parser.add_argument_group("TRL (GRPOTrainer's vLLM importance-sampling correction)")
    g.add_argument("--trl", nargs="?", const=DEFAULT_MODE, metavar="MODE",
                   help=f"vllm_importance_sampling_mode: {', '.join(MODES)} (alone: TRL's default {DEFAULT_MODE}); "
                        "adds the sampling/* metrics")
    g.add_argument("--trl-clip-min", metavar="C_MIN", help="vllm_importance_sampling_clip_min (default: none)")
    g.add_argument("--trl-clip-max", metavar="C_MAX", help=f"vllm_importance_sampling_clip_max, or none "
                                                           f"(default: TRL's {DEFAULT_CLIP_MAX:g})")
    g.add_argument("--trl-off-policy-mask", metavar="DELTA", help="off_policy_mask_threshold δ: drop rows with negative "
                                                                  "advantage and mean (sampling − trainer) log-prob > δ")


def options_from_args(args) -> dict:
    return {name: getattr(args, name) for name in DEFAULTS}


def plan(options: dict) -> TRLSpec | None:
    if all(options[k] is None for k in DEFAULTS):
        return None
    return parse_trl(options["trl"], options["trl_clip_min"],
                     "default" if options["trl_clip_max"] is None else options["trl_clip_max"],
                     options["trl_off_policy_mask"])


def example(data: dict) -> dict:
    """The example dump (verl's names, audit.example) as TRL's GRPOTrainer holds the batch: completion ids,
    the two log-probs (sampling ones zero-padded), completion_mask, one advantage per row (here the
    reward minus the batch mean)."""
    mask = data["response_mask"].astype(bool)
    reward = data["token_level_scores"].sum(1)
    sampling = np.where(mask, data["rollout_log_probs"], 0.0).astype(np.float32)     # TRL pads them with 0.0
    out = {"old_per_token_logps": data["old_log_probs"], "sampling_per_token_logps": sampling,
           "completion_mask": data["response_mask"], "completion_ids": data["responses"],
           "advantages": (reward - reward.mean()).astype(np.float32)}
    return out | {k: v for k, v in data.items() if k.endswith(("_full", "topk_log_probs"))}


class Rules:
    """One file under TRL's correction: the masks' counts and the sampling/* metrics."""

    def __init__(self, spec: TRLSpec, info):
        self.spec, self.path = spec, info.path
        self.masks = spec.masks_ratio or spec.off_policy_threshold is not None
        self.rules: dict[str, RuleCounts] = {}
        if spec.mode is not None:
            extra = {"mode": spec.mode, "clip_min": spec.clip_min, "clip_max": spec.clip_max}
            self.rules[f"trl:{spec.mode}"] = RuleCounts(f"trl:{spec.mode}", NAME, spec.token_level, extra)
        if spec.off_policy_threshold is not None:
            label = f"trl:off_policy_mask:{spec.off_policy_threshold:g}"
            self.rules[label] = RuleCounts(label, NAME, False, {"off_policy_mask_threshold": spec.off_policy_threshold})
        if len(self.rules) > 1:
            self.rules["trl (all)"] = RuleCounts("trl (all)", NAME, False, {})
        self.n = 0.0
        self.sum_delta, self.max_delta = 0.0, None
        self.ratios, self.truncated, self.overflow = [], 0, 0

    def add(self, chunk, st) -> np.ndarray:
        spec, mask, lr = self.spec, chunk.mask, st.log_ratio
        keep = np.ones(mask.shape, dtype=bool)
        if spec.mode is not None:
            rho = ratio(spec, lr, mask)
            k = ratio_keep(spec, lr, mask)
            self.rules[f"trl:{spec.mode}"].add(k, mask, (mask & ~k) if spec.token_level else None)
            keep &= k
            delta = np.abs(chunk.old - chunk.roll)[mask]
            self.n += delta.size
            self.sum_delta += float(delta.sum())
            if delta.size:
                self.max_delta = max(self.max_delta or 0.0, float(delta.max()))
            self.ratios.append(rho[mask] if spec.token_level else rho[:, 0])
            raw = raw_ratio(spec, lr, mask)
            if spec.mode.endswith("truncate"):
                changed = (raw != rho) & (mask if spec.token_level else mask.any(-1, keepdims=True))
                self.truncated += int(changed.sum())
            logs = np.where(mask, lr, 0.0) if spec.token_level else np.where(mask, lr, 0.0).sum(-1)
            self.overflow += int((np.abs(logs) > FLOAT32_LOG_MAX).sum())
        if spec.off_policy_threshold is not None:
            if chunk.advantages is None:
                raise TRMInputError(f"{self.path}: --trl-off-policy-mask needs the advantages (TRL's 'advantages', one "
                                    "per row); the dump has none (name them with --keys advantages=KEY)")
            k = np.broadcast_to(off_policy_keep(spec.off_policy_threshold, chunk.advantages, lr, mask)[:, None], mask.shape)
            self.rules[f"trl:off_policy_mask:{spec.off_policy_threshold:g}"].add(k, mask)
            keep &= k
        if "trl (all)" in self.rules:
            self.rules["trl (all)"].add(keep, mask)
        return keep | ~mask

    def criteria(self, lengths: np.ndarray, tokens: float) -> dict:
        out = {label: rule.result(lengths, tokens) for label, rule in self.rules.items()}
        if self.spec.mode is not None and self.spec.mode.endswith("truncate"):
            out[f"trl:{self.spec.mode}"]["truncated"] = self.truncated
        return out

    def metrics(self) -> dict:
        if self.spec.mode is None:
            return {}
        r = np.concatenate(self.ratios)
        with np.errstate(invalid="ignore"):
            return {"sampling/sampling_logp_difference/mean": self.sum_delta / self.n if self.n else 0.0,
                    "sampling/sampling_logp_difference/max": self.max_delta if self.max_delta is not None else 0.0,
                    "sampling/importance_sampling_ratio/min": float(r.min()) if r.size else 0.0,
                    "sampling/importance_sampling_ratio/mean": float(r.mean()) if r.size else 0.0,
                    "sampling/importance_sampling_ratio/max": float(r.max()) if r.size else 0.0}

    def finish(self, result: dict) -> None:
        if self.overflow:
            result["notes"].append(f"trl: {self.overflow} {'token' if self.spec.token_level else 'row'} log-ratio(s) "
                                   f"beyond ±{FLOAT32_LOG_MAX:.2f}, where TRL's float32 exp gives inf or 0 (its "
                                   "importance_sampling_ratio metrics show it); this float64 audit does so only "
                                   "beyond ±709.78")
