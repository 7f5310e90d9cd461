"""slime's rejection masks from its mismatch helper, as its code computes them.

Source: THUDM/slime 624b824, ``examples/train_infer_mismatch_helper/mis.py`` (``compute_mis_weights``:
its rejection-sampling branch ``args.use_rs`` with ``compute_log_ratio``, ``mask`` and
``calculate_veto_mask``; the same ``mask`` serves ``tis_mode: mask``), enabled with
``--use-tis --custom-tis-function-path examples/train_infer_mismatch_helper/mis.py:compute_mis_weights_with_cp``
and a ``--custom-config-path`` YAML (mis.yaml) giving ``rs_level``, ``rs_lower_bound``,
``rs_upper_bound``, ``rs_veto_threshold`` (``tis_level``, ``tis_mode``, ``tis_lower_bound``,
``tis_upper_bound`` for the TIS band).

Per sample (slime keeps one 1-D tensor per sample; ``loss_mask`` is the response mask), with
ℓ_t = train_log_prob − rollout_log_prob = log(π_train/π_roll)(y_t):
    level token:      a_t = ℓ_t                                            (compute_log_ratio)
    level sequence:   a   = masked_sum(ℓ, loss_mask) = Σ_t ℓ_t m_t          over the sample
    level geometric:  a   = masked_mean(ℓ, loss_mask) = Σ_t ℓ_t m_t / max(Σ_t m_t, 1)
    r = exp(clamp(a, ±20))          (SAFETY_BOUND: the clamp comes after the aggregation)
    mask: keep when lower ≤ r ≤ upper, both inclusive: a band on r = π_train/π_roll as written
    veto: a sample with any valid token of ℓ_t < log(veto) (ℓ unclamped; the threshold's log taken
          in float32, ``torch.log(torch.tensor(veto))``) is dropped whole.
Several bands (``tis_mode: mask`` at tis_level, then rs at rs_level) are AND-ed: the RS ``mask``
multiplies the mask the TIS ``mask`` left. slime's ``icepop_function``
(slime/backends/megatron_utils/loss.py) is the token band [tis_clip_low, tis_clip] on the unclamped
ratio: the same decision for bounds inside [e^−20, e^20].
Differences from slime that remain: slime computes in float32 (decisions within float32 rounding of a
bound may differ); the veto is applied here with or without a band (slime vetoes only inside its
rejection-sampling branch, so a band [0, inf) gives the same mask there).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from audit.rules import RuleCounts
from numerics.errors import TRMInputError

NAME = "slime"
ORDER = 2
TITLE = "slime: rejection masks of its mismatch helper (bands on the ratio, catastrophic-token veto)"
SOURCE = "THUDM/slime 624b824: examples/train_infer_mismatch_helper/mis.py (compute_mis_weights)"
KEYS = {"old": ("log_probs",), "mask": ("loss_mask", "loss_masks"), "lengths": ("response_lengths",),
        "scores": ("local_raw_reward", "raw_reward"), "step": ("rollout_id",)}
METRICS = ()
DEFAULTS = {"slime": None, "slime_veto": None}
#: slime's train dump is a torch.save file.
EXAMPLE_FORMATS = (".pt",)

LEVELS = ("token", "sequence", "geometric")
#: slime's SAFETY_BOUND in compute_mis_weights.
SAFETY_BOUND = 20.0


@dataclass(frozen=True)
class SlimeSpec:
    bands: tuple = ()               # ((level, lower, upper), ...), AND-ed
    veto: float | None = None
    notes: tuple = ()

    @property
    def level(self) -> str | None:
        """The level of a single band (None without bands; "mixed" for several levels)."""
        levels = {b[0] for b in self.bands}
        return None if not levels else levels.pop() if len(levels) == 1 else "mixed"

    @property
    def text(self) -> str:
        parts = [f"{level}:{lower:g}_{upper:g}" for level, lower, upper in self.bands]
        if self.veto is not None:
            parts.append(f"veto:{self.veto:g}")
        return ",".join(parts)


def parse_slime(spec: str | None, veto: float | None = None) -> SlimeSpec:
    """'geometric:0.999_1.001' (LEVEL:LOWER_UPPER, several comma-separated bands AND-ed) and/or a veto
    threshold in (0, 1)."""
    if spec is None and veto is None:
        raise TRMInputError("--slime: give LEVEL:LOWER_UPPER (e.g. geometric:0.999_1.001) and/or --slime-veto")
    bands = []
    if spec is not None:
        items = [part.strip() for part in spec.split(",")]
        if not any(items):
            raise TRMInputError(f"--slime {spec!r}: give LEVEL:LOWER_UPPER, e.g. geometric:0.999_1.001")
        for item in items:
            bands.append(_band(spec, item))
    if veto is not None and (isinstance(veto, bool) or not isinstance(veto, (int, float)) or not (0 < veto < 1)):
        raise TRMInputError(f"--slime-veto {veto}: the veto threshold is a ratio in (0, 1), e.g. 1e-4")
    return SlimeSpec(tuple(bands), veto)


def _band(spec: str, item: str) -> tuple:
    level, sep, band = item.partition(":")
    if level not in LEVELS:
        raise TRMInputError(f"--slime {spec!r}: level {level!r} unknown; choose token, sequence or geometric")
    parts = band.split("_")
    if not sep or len(parts) != 2:
        raise TRMInputError(f"--slime {spec!r}: give the band on the ratio as LOWER_UPPER, e.g. {level}:0.5_2.0")
    try:
        lower, upper = float(parts[0]), float(parts[1])
    except ValueError:
        raise TRMInputError(f"--slime {spec!r}: {band!r} is not a pair of numbers") from None
    if not (0 <= lower < upper) or math.isnan(upper):
        raise TRMInputError(f"--slime {spec!r}: the band needs 0 ≤ lower < upper, got {lower} and {upper}")
    return level, lower, upper


def _log_f32(x: float) -> float:
    """torch.log(torch.tensor(x)): the log of x rounded to float32, in float32."""
    return float(np.log(np.float32(x)))


def decide(spec: SlimeSpec, log_ratio: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(keep [b, L] bool (True at padding), vetoed [b] bool) for rows ``log_ratio`` [b, L] (ℓ, unclamped)
    under the response mask [b, L]."""
    lr = np.where(mask, log_ratio, 0.0)
    keep = np.ones(mask.shape, dtype=bool)
    for level, lower, upper in spec.bands:
        if level == "token":
            agg = lr
        else:
            s = lr.sum(-1)
            if level == "geometric":
                s = s / np.maximum(mask.sum(-1), 1)
            agg = s[:, None]
        r = np.exp(np.clip(agg, -SAFETY_BOUND, SAFETY_BOUND))
        keep &= np.broadcast_to((r >= lower) & (r <= upper), mask.shape)
    vetoed = np.zeros(mask.shape[0], dtype=bool)
    if spec.veto is not None:
        vetoed = (mask & (lr < _log_f32(spec.veto))).any(-1)
        keep &= ~vetoed[:, None]
    return keep | ~mask, vetoed


# ---------------------------------------------------------------------------------------------
# slime's own dump: --save-debug-train-data PATH (or --dump-details DIR: DIR/train_data/{rollout_id}.pt)
# ---------------------------------------------------------------------------------------------

#: Per-sample fields with one value per response token (slime/observability/train_data_utils.py
#: _CONTEXT_PARALLEL_FIELDS, restored to the whole response before saving) and the loss mask.
RESPONSE_FIELDS = ("log_probs", "rollout_log_probs", "loss_masks", "ref_log_probs", "teacher_log_probs", "values",
                   "advantages", "returns", "kl", "entropy", "opd_reverse_kl")


def layout(obj, path: str):
    """slime's train dump as flat columns: (columns, notes), or None when ``obj`` is not one.

    Version 2 (slime 624b824, slime/observability/train_data_utils.py ``_build_dump_payload``, written by
    ``torch.save``): {"format_version": 2, "rollout_id", "rank", "samples": [one dict per sample, sorted by
    rollout position], "dp_shards": [layout per data-parallel rank], "raw_reward" (the whole rollout
    batch's, when present)}. Version 1 (before slime 681b3adca, slime/utils/train_dump_utils.py):
    {"rollout_id", "rank", "rollout_data": {key: one value per sample of this rank}}.
    The samples become columns: 1-D tensors → ragged columns (padded by the reader, the mask from
    ``loss_masks``), numbers → [B] columns; ``rollout_id`` is the step; the raw reward
    (``local_raw_reward``, else ``raw_reward[rollout_position]``) the score. Every response field
    must have ``response_lengths`` entries: refused otherwise, naming the sample.
    """
    if not isinstance(obj, dict) or "rollout_id" not in obj:
        return None
    notes = []
    if isinstance(obj.get("samples"), list):
        version = obj.get("format_version")
        samples = obj["samples"]
        for i, sample in enumerate(samples):
            if not isinstance(sample, dict):
                raise TRMInputError(f"{path}: samples[{i}] is a {type(sample).__name__}, not a dict of per-sample fields")
        shards = obj.get("dp_shards")
        notes.append(f"slime train dump (format_version {version}, rollout {obj['rollout_id']}): {len(samples)} samples"
                     + (f" from {len(shards)} data-parallel shard(s)" if isinstance(shards, list) else ""))
        if version != 2:
            notes.append(f"format_version {version!r}: this reader follows version 2 (slime 624b824)")
    elif isinstance(obj.get("rollout_data"), dict):
        samples = _samples_of_rank(obj["rollout_data"], path)
        notes.append(f"slime train dump (version 1, rollout {obj['rollout_id']}, rank {obj.get('rank')}): "
                     f"{len(samples)} samples of one rank")
    else:
        return None
    if not samples:
        raise TRMInputError(f"{path}: slime train dump with no samples")
    columns, skipped = _columns(samples, path)
    if "local_raw_reward" not in columns:
        positions = columns.get("rollout_position", columns.get("partition"))       # version 2, version 1
        reward = _raw_reward(obj.get("raw_reward", obj.get("rollout_data", {}).get("raw_reward")), positions)
        if reward is not None:
            columns["raw_reward"] = reward
    for key in ("rollout_id", "rank", "format_version"):
        if isinstance(obj.get(key), int) and not isinstance(obj.get(key), bool) and key not in columns:
            columns[key] = obj[key]
    if skipped:
        notes.append("per-sample fields not read (not numbers or 1-D tensors): " + ", ".join(skipped))
    return columns, notes


def _samples_of_rank(rollout_data: dict, path: str) -> list:
    lengths = rollout_data.get("response_lengths")
    if not isinstance(lengths, (list, tuple)):
        raise TRMInputError(f"{path}: slime rollout_data without response_lengths (one length per sample)")
    B = len(lengths)
    per_sample = {k: v for k, v in rollout_data.items()
                  if (isinstance(v, (list, tuple)) and len(v) == B) or (_is_tensor(v) and v.ndim == 1 and len(v) == B)}
    return [{k: v[i] for k, v in per_sample.items()} for i in range(B)]


def _is_tensor(x) -> bool:
    return type(x).__module__ == "torch" and type(x).__name__ in ("Tensor", "Parameter")


def _number(x):
    if isinstance(x, bool):
        return int(x)
    if isinstance(x, (int, float)):
        return x
    if _is_tensor(x) and x.ndim == 0 and not x.is_complex():
        return x.item()
    return None


def _columns(samples: list, path: str) -> tuple[dict, list]:
    import torch

    names = list(dict.fromkeys(k for sample in samples for k in sample))
    columns, skipped = {}, []
    for key in names:
        values = [sample.get(key) for sample in samples]
        if all(_is_tensor(v) and v.ndim == 1 for v in values):
            columns[key] = values
        elif all(_number(v) is not None for v in values):
            numbers = [_number(v) for v in values]
            is_int = all(isinstance(v, int) for v in numbers)
            columns[key] = torch.tensor(numbers, dtype=torch.int64 if is_int else torch.float64)
        elif key in RESPONSE_FIELDS:
            i, v = next((i, v) for i, v in enumerate(values) if not (_is_tensor(v) and v.ndim == 1))
            raise TRMInputError(f"{path}: samples[{i}][{key!r}] {_what(v)}; slime saves a 1-D tensor of per-token "
                                "values there")
        else:
            skipped.append(key)
    _check_lengths(columns, path)
    return columns, skipped


def _what(v) -> str:
    if v is None:
        return "is missing"
    if hasattr(v, "qualname"):
        return f"holds a {v.qualname} object, which the audit does not unpickle"
    return f"is a {v.ndim}-D tensor" if _is_tensor(v) else f"is a {type(v).__name__}"


def _check_lengths(columns: dict, path: str) -> None:
    """Every response field of sample i has response_lengths[i] entries (or, without response_lengths,
    as many as its log_probs)."""
    fields = [k for k in RESPONSE_FIELDS if isinstance(columns.get(k), list)]
    if "response_lengths" in columns and not isinstance(columns["response_lengths"], list):
        ref_key, ref = "response_lengths", [int(n) for n in columns["response_lengths"].tolist()]
    elif fields:
        ref_key, ref = fields[0], [len(t) for t in columns[fields[0]]]
    else:
        return
    for key in fields:
        for i, (t, n) in enumerate(zip(columns[key], ref)):
            if len(t) != n:
                raise TRMInputError(f"{path}: samples[{i}][{key!r}] has {len(t)} entries but its {ref_key} is {n}"
                                    if ref_key == "response_lengths" else
                                    f"{path}: samples[{i}][{key!r}] has {len(t)} entries but its {ref_key} has {n}")


def _raw_reward(raw, positions):
    """raw_reward[rollout_position] per sample, when the whole-batch list and the positions allow it."""
    import torch

    if not isinstance(raw, (list, tuple)) or positions is None or isinstance(positions, list):
        return None
    values = [_number(v) for v in raw]
    pos = positions.tolist()
    if any(v is None for v in values) or not all(isinstance(p, int) and 0 <= p < len(values) for p in pos):
        return None
    return torch.tensor([values[p] for p in pos], dtype=torch.float64)


def example(data: dict) -> dict:
    """The example dump (verl's names, audit.example) as slime's --save-debug-train-data writes it
    (format_version 2, one data-parallel shard): one dict per sample with 1-D tensors cut to its
    response; the raw reward per sample and for the whole batch; rewards and advantages centred on the
    batch mean (slime's GRPO centres per prompt group; the example has no groups)."""
    import torch

    mask = data["response_mask"].astype(bool)
    n = mask.sum(1)
    reward = data["token_level_scores"].sum(1).astype(np.float64)
    centred = reward - reward.mean()
    samples = []
    for i, k in enumerate(n.tolist()):
        t = lambda a, dtype=torch.float32: torch.as_tensor(np.ascontiguousarray(a[i, :k]), dtype=dtype)
        samples.append({"data_parallel_rank": 0, "sample_index": i, "rollout_position": i,
                        "tokens": t(data["responses"], torch.long), "response_lengths": k,
                        "rewards": float(centred[i]), "truncated": 0,
                        "loss_masks": torch.ones(k, dtype=torch.int32), "rollout_ids": i,
                        "rollout_log_probs": t(data["rollout_log_probs"]), "total_lengths": k,
                        "local_raw_reward": float(reward[i]), "log_probs": t(data["old_log_probs"]),
                        "advantages": torch.full((k,), float(centred[i])), "returns": torch.full((k,), float(centred[i]))})
    B = len(samples)
    return {"format_version": 2, "rollout_id": int(data["global_steps"]), "rank": 0, "samples": samples,
            "dp_shards": [{"rank": 0, "data_parallel_rank": 0, "sample_indices": list(range(B)),
                           "partition": list(range(B)), "global_batch_sizes": [B], "num_microbatches": [1],
                           "micro_batch_indices": [list(range(B))]}],
            "raw_reward": reward.tolist()}


# ---------------------------------------------------------------------------------------------
# The dialect as the audit runs it
# ---------------------------------------------------------------------------------------------

def add_arguments(parser, types) -> None:
    g = parser.add_argument_group("slime (mis.py's rejection masks)")
    g.add_argument("--slime", metavar="LEVEL:LO_HI", help="band on the ratio: token | sequence | geometric, e.g. "
                                                          "geometric:0.999_1.001; several, comma-separated, are AND-ed")
    g.add_argument("--slime-veto", type=types.float_range(0.0, 1.0), metavar="X",
                   help="drop a row with any token ratio below this, e.g. 1e-4 (rs_veto_threshold)")


def options_from_args(args) -> dict:
    return {"slime": args.slime, "slime_veto": args.slime_veto}


def plan(options: dict) -> SlimeSpec | None:
    if options["slime"] is None and options["slime_veto"] is None:
        return None
    return parse_slime(options["slime"], options["slime_veto"])


class Rules:
    """One file under slime's masks: the rule's counts and the rows vetoed."""

    masks = True

    def __init__(self, spec: SlimeSpec, info=None):
        self.spec = spec
        self.counts = RuleCounts("slime", "slime", spec.level in (None, "token"), {"spec": spec.text})
        self.vetoed = 0

    def add(self, chunk, st) -> np.ndarray:
        keep, vetoed = decide(self.spec, st.log_ratio, chunk.mask)
        self.counts.add(keep, chunk.mask)
        self.vetoed += int((vetoed & (st.count > 0)).sum())
        return keep

    def criteria(self, lengths: np.ndarray, tokens: float) -> dict:
        return {"slime": {**self.counts.result(lengths, tokens), "rows_vetoed": self.vetoed}}

    def metrics(self) -> dict:
        return {}

    def finish(self, result: dict) -> None:
        pass
