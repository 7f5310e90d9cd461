"""verl's rollout-correction configuration: the options, the presets and the parsing of
``rollout_rs`` / ``rollout_rs_threshold`` / ``rollout_is`` as verl reads them."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from numerics.errors import TRMInputError

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
