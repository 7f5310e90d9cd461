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
from audit.dialects.verl.config import (IS_LEVELS, MASKED_MEAN_EPS, OPTIONS, PRESETS, READINGS, TOKEN_OPTIONS,
                                        RolloutIS, RolloutRS, RSOption, parse_rollout_rs, preset)
from audit.dialects.verl.decision import (FLOAT32_MARGIN, OptionDecision, decide, masked_row_max, masked_row_mean,
                                          masked_row_sum, near_threshold, option_decision)
from audit.dialects.verl.metrics import (ISMetrics, OffPolicyMetrics, RSMetrics, VerlAccumulator, docs_readings,
                                         rollout_correction)
from audit.dialects.verl.rules import Rules, VerlSpec, plan
from audit.token_stats import SAFETY_BOUND, TokenStats

NAME = "verl"
ORDER = 0
TITLE = "verl: rollout correction (rollout_rs rejection, rollout_is weights, rollout_corr/* metrics)"
SOURCE = ("volcengine/verl b178a3c: verl/trainer/ppo/rollout_corr_helper.py, verl/utils/torch_functional.py, "
          "verl/trainer/config/algorithm.py")
KEYS = {"old": ("old_log_probs", "old_log_prob"), "rollout": ("rollout_log_probs", "rollout_log_prob"),
        "mask": ("response_mask",), "scores": ("token_level_scores", "token_level_rewards"), "step": ("global_steps",)}
METRICS = ("rollout_corr/",)
DEFAULTS = {"rollout_rs": None, "rollout_rs_threshold": None, "rollout_is": None, "rollout_is_threshold": 2.0,
            "rollout_is_batch_normalize": False, "preset": None, "k1_reading": "code"}


def add_arguments(parser, types) -> None:
    g = parser.add_argument_group("verl (rollout correction, as verl's code computes it)")
    g.add_argument("--rollout-rs", help="comma-separated options, e.g. 'seq_max_k2,seq_mean_k3' (verl's rollout_rs)")
    g.add_argument("--rollout-rs-threshold", help="one threshold per option, e.g. '2.5,0.01'; k1: lower_upper or one "
                                                  "number u (lower = 1/u)")
    g.add_argument("--rollout-is", choices=IS_LEVELS, help="IS level: adds the rollout_is_* metrics")
    g.add_argument("--rollout-is-threshold", type=types.float_range(0.0, above=True), default=2.0,
                   help="upper truncation of the IS weights (verl's rollout_is_threshold)")
    g.add_argument("--rollout-is-batch-normalize", action="store_true", help="normalise IS weights to mean 1 over the batch (verl)")
    g.add_argument("--preset", help="a verl RolloutCorrectionConfig preset, e.g. decoupled_k3_rs, bypass_ppo_clip_geo_rs")
    g.add_argument("--k1-reading", choices=READINGS, default="code",
                   help="k1 bands as verl's code applies them (mirrored) or as its docs describe them")


def example(data: dict) -> dict:
    """The example dump already has verl's names (audit.example)."""
    return dict(data)


def options_from_args(args) -> dict:
    return {name: getattr(args, name) for name in DEFAULTS}

__all__ = ["FLOAT32_MARGIN", "IS_LEVELS", "MASKED_MEAN_EPS", "OPTIONS", "PRESETS", "READINGS", "SAFETY_BOUND",
           "TOKEN_OPTIONS", "ISMetrics", "OffPolicyMetrics", "OptionDecision", "RSMetrics", "RSOption", "RolloutIS",
           "RolloutRS", "Rules", "TokenStats", "VerlAccumulator", "VerlSpec", "plan", "decide", "docs_readings", "masked_row_max",
           "masked_row_mean", "masked_row_sum", "near_threshold", "option_decision", "parse_rollout_rs", "preset",
           "rollout_correction"]
