"""OpenRLHF's vLLM importance-sampling correction and its ``vllm_kl`` metric, as its code computes them.

Source: OpenRLHF/OpenRLHF 3c3be62, openrlhf/models/loss.py (``PolicyLoss.forward``, the ``ppo`` policy
loss with ``enable_vllm_is_correction``), openrlhf/cli/train_ppo_ray.py (``--algo.advantage.is_correction_enable``,
``--algo.advantage.is_correction_threshold LOW HIGH`` default 0.5 5.0, ``--algo.advantage.is_correction_type``
tis | icepop | seq-mask-tis default tis), openrlhf/models/utils.py (``masked_mean``: Σ x m / Σ m, no
epsilon) and openrlhf/trainer/ppo_utils/experience.py (the tensors: ``action_log_probs`` of the
trainer at rollout time, ``rollout_log_probs`` of vLLM, ``action_mask``).

With m = action_mask and ℓ_t = old_log_probs − rollout_log_probs (OpenRLHF's rollout_log_ratio), unclamped:
    tis:           w_t = clamp(e^ℓ_t, LOW, HIGH)                              nothing masked
    icepop:        a token is masked (w_t = 0) unless LOW ≤ e^ℓ_t ≤ HIGH      (w_t = e^ℓ_t kept)
    seq-mask-tis:  a row is masked unless LOW ≤ exp(Σ_t ℓ_t m_t / Σ_t m_t) ≤ HIGH;  w_t = e^ℓ_t, unclamped
    vllm_kl = Σ_t (rollout − old) m_t / Σ_t m_t over the batch (masked_mean with dim=None)
Where the code and its comment disagree: for seq-mask-tis the comment says "correction coefficients
still use TIS (token-level clamp)", the code multiplies by the unclamped e^ℓ_t; both are reported.
OpenRLHF computes vllm_kl per micro-batch of the training step and logs their average; this is the
whole dump's. The gspo policy loss uses the rollout ratio in place of the policy ratio and masks
nothing: not a rule here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from audit.rules import RuleCounts
from numerics.errors import TRMInputError

NAME = "openrlhf"
ORDER = 3
TITLE = "OpenRLHF: vLLM importance-sampling correction (tis, icepop, seq-mask-tis) and vllm_kl"
SOURCE = "OpenRLHF/OpenRLHF 3c3be62: openrlhf/models/loss.py, openrlhf/cli/train_ppo_ray.py"
KEYS = {"old": ("action_log_probs",), "mask": ("action_mask",), "lengths": ("response_length",)}
METRICS = ("vllm_kl",)
TYPES = ("tis", "icepop", "seq-mask-tis")
DEFAULT_TYPE = "tis"
DEFAULT_THRESHOLD = (0.5, 5.0)
DEFAULTS = {"openrlhf": None, "openrlhf_threshold": None}


@dataclass(frozen=True)
class OpenRLHFSpec:
    kind: str
    low: float = DEFAULT_THRESHOLD[0]
    high: float = DEFAULT_THRESHOLD[1]
    notes: tuple = ()


def parse_openrlhf(kind=None, threshold=None) -> OpenRLHFSpec:
    """``is_correction_type`` and ``is_correction_threshold`` (LOW, HIGH)."""
    if kind is None:
        raise TRMInputError("--openrlhf-threshold given without --openrlhf TYPE")
    if kind not in TYPES:
        raise TRMInputError(f"--openrlhf {kind!r}: unknown is_correction_type; choose one of {', '.join(TYPES)}"
                            + _file_hint("--openrlhf", kind))
    if threshold is None:
        threshold = DEFAULT_THRESHOLD
    try:
        low, high = (float(x) for x in threshold)
    except (TypeError, ValueError):
        raise TRMInputError(f"--openrlhf-threshold {threshold!r}: give two numbers, LOW HIGH") from None
    if not (math.isfinite(low) and math.isfinite(high)) or low < 0 or low > high:
        raise TRMInputError(f"--openrlhf-threshold {low:g} {high:g}: give finite 0 ≤ LOW ≤ HIGH "
                            "(OpenRLHF would mask every token otherwise)")
    return OpenRLHFSpec(kind, low, high)


def seq_log_ratio(log_ratio: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """[b]: masked_mean(rollout_log_ratio, action_mask, dim=-1) = Σ ℓ m / Σ m (NaN for a row without tokens)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mask, log_ratio, 0.0).sum(-1) / mask.sum(-1)


def keep(spec: OpenRLHFSpec, log_ratio: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """[b, L] bool: the tokens whose loss the correction does not zero."""
    if spec.kind == "tis":
        return np.ones(mask.shape, dtype=bool)
    with np.errstate(over="ignore", invalid="ignore"):
        if spec.kind == "icepop":
            r = np.exp(np.where(mask, log_ratio, 0.0))
            return (r >= spec.low) & (r <= spec.high)
        r = np.exp(seq_log_ratio(log_ratio, mask))
        return np.broadcast_to(((r >= spec.low) & (r <= spec.high))[:, None], mask.shape)


def _file_hint(flag: str, value) -> str:
    """The flag's optional value took a dump file name."""
    if isinstance(value, str) and value.lower().endswith((".pt", ".safetensors", ".npz", ".parquet")):
        return f" ({flag} took the file name as its value: put the files first, or give the value)"
    return ""


# ---------------------------------------------------------------------------------------------
# The dialect as the audit runs it
# ---------------------------------------------------------------------------------------------

def add_arguments(parser, types) -> None:
    g = parser.add_argument_group("OpenRLHF (--algo.advantage.is_correction_*)")
    g.add_argument("--openrlhf", nargs="?", const=DEFAULT_TYPE, metavar="TYPE",
                   help=f"is_correction_type: {', '.join(TYPES)} (alone: OpenRLHF's default {DEFAULT_TYPE}); adds vllm_kl")
    g.add_argument("--openrlhf-threshold", nargs=2, type=types.float_range(0.0), metavar=("LOW", "HIGH"),
                   help=f"is_correction_threshold (default: {DEFAULT_THRESHOLD[0]:g} {DEFAULT_THRESHOLD[1]:g})")


def options_from_args(args) -> dict:
    return {name: getattr(args, name) for name in DEFAULTS}


def plan(options: dict) -> OpenRLHFSpec | None:
    if options["openrlhf"] is None and options["openrlhf_threshold"] is None:
        return None
    return parse_openrlhf(options["openrlhf"], options["openrlhf_threshold"])


def example(data: dict) -> dict:
    """The example dump (verl's names, audit.example) as OpenRLHF's Experience holds it: action_log_probs
    (zero at padding, as Actor.forward returns them), rollout_log_probs, action_mask (bool),
    response_length and rewards per row."""
    mask = data["response_mask"].astype(bool)
    out = {"action_log_probs": np.where(mask, data["old_log_probs"], 0.0).astype(np.float32),
           "rollout_log_probs": data["rollout_log_probs"], "action_mask": mask,
           "response_length": mask.sum(1).astype(np.int64), "rewards": data["token_level_scores"].sum(1)}
    return out | {k: v for k, v in data.items() if k.endswith(("_full", "topk_log_probs"))}


class Rules:
    """One file under OpenRLHF's correction: its mask's counts, vllm_kl, the largest weight applied."""

    def __init__(self, spec: OpenRLHFSpec, info=None):
        self.spec = spec
        self.masks = spec.kind != "tis"
        label = f"openrlhf:{spec.kind}:{spec.low:g}_{spec.high:g}"
        self.label = label
        self.counts = RuleCounts(label, NAME, spec.kind == "icepop",
                                 {"type": spec.kind, "threshold": [spec.low, spec.high]})
        self.n, self.sum_kl = 0.0, 0.0
        self.clamped = 0
        self.max_weight_code, self.max_weight_comment = 0.0, 0.0

    def add(self, chunk, st) -> np.ndarray:
        spec, mask, lr = self.spec, chunk.mask, st.log_ratio
        k = keep(spec, lr, mask)
        self.counts.add(k, mask, (mask & ~k) if spec.kind == "icepop" else None)
        self.n += float(mask.sum())
        self.sum_kl += float(np.where(mask, -lr, 0.0).sum())
        with np.errstate(over="ignore"):
            r = np.exp(np.where(mask, lr, 0.0))
        clamped = np.clip(r, spec.low, spec.high)
        self.clamped += int((mask & (clamped != r)).sum()) if spec.kind == "tis" else 0
        if spec.kind == "seq-mask-tis":
            kept = mask & k
            if kept.any():
                self.max_weight_code = max(self.max_weight_code, float(r[kept].max()))
                self.max_weight_comment = max(self.max_weight_comment, float(clamped[kept].max()))
        return k | ~mask

    def criteria(self, lengths: np.ndarray, tokens: float) -> dict:
        entry = self.counts.result(lengths, tokens)
        if self.spec.kind == "tis":
            entry["clamped_tokens"] = self.clamped
        return {self.label: entry}

    def metrics(self) -> dict:
        return {"vllm_kl": self.sum_kl / self.n if self.n else math.nan}

    def finish(self, result: dict) -> None:
        if self.spec.kind == "seq-mask-tis":
            result["suite"]["docs_vs_code"].append({
                "dialect": NAME, "metric": "seq-mask-tis token weight (largest over kept tokens)",
                "code": self.max_weight_code, "docs": self.max_weight_comment,
                "code_formula": "exp(ℓ_t), unclamped (openrlhf/models/loss.py)",
                "docs_formula": f"clamp(exp(ℓ_t), {self.spec.low:g}, {self.spec.high:g}): the comment's \"correction "
                                "coefficients still use TIS (token-level clamp)\""})
