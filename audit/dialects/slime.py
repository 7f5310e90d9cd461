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
KEYS = {"old": ("log_probs",), "mask": ("loss_mask", "loss_masks"), "lengths": ("response_lengths",)}
METRICS = ()
DEFAULTS = {"slime": None, "slime_veto": None}

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
# The dialect as the audit runs it
# ---------------------------------------------------------------------------------------------

def add_arguments(parser, types) -> None:
    g = parser.add_argument_group("slime (mis.py's rejection masks)")
    g.add_argument("--slime", metavar="LEVEL:LO_HI", help="band on the ratio: token | sequence | geometric, e.g. "
                                                          "geometric:0.999_1.001; several, comma-separated, are AND-ed")
    g.add_argument("--slime-veto", type=types.float_range(0.0, 1.0), help="drop a row with any token ratio below this, "
                                                                          "e.g. 1e-4 (rs_veto_threshold)")


def options_from_args(args) -> dict:
    return {"slime": args.slime, "slime_veto": args.slime_veto}


def plan(options: dict) -> SlimeSpec | None:
    if options["slime"] is None and options["slime_veto"] is None:
        return None
    return parse_slime(options["slime"], options["slime_veto"])


class Rules:
    """One file under slime's masks: the rule's counts and the rows vetoed."""

    masks = True

    def __init__(self, spec: SlimeSpec):
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
