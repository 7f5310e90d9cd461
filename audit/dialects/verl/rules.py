"""verl as the audit runs it: the options planned (presets resolved), one file's decision chunk by
chunk with every option's counts (both k1 readings where they differ), the ``rollout_corr/*``
metrics and where verl's documentation and code disagree.

verl is the one dialect always active: its ``rollout_corr/*`` metrics are reported for every dump;
its rules (and so its share of ``--mask-out``) only exist with ``rollout_rs``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audit.dialects.verl.config import READINGS, RolloutIS, RolloutRS, parse_rollout_rs, preset
from audit.dialects.verl.decision import near_threshold, option_decision
from audit.dialects.verl.metrics import VerlAccumulator
from audit.rules import RuleCounts
from numerics.errors import TRMInputError


@dataclass(frozen=True)
class VerlSpec:
    rs: RolloutRS | None
    is_cfg: RolloutIS | None
    reading: str = "code"
    notes: tuple = ()


def plan(options: dict) -> VerlSpec:
    """verl's options (``rollout_rs``, ``rollout_rs_threshold``, ``rollout_is``, ``rollout_is_threshold``,
    ``rollout_is_batch_normalize``, ``preset``, ``k1_reading``), a preset's values filling those not given."""
    notes = []
    rs_text, rs_thr = options["rollout_rs"], options["rollout_rs_threshold"]
    is_level, is_thr = options["rollout_is"], options["rollout_is_threshold"]
    if options["preset"] is not None:
        p = preset(options["preset"])
        notes.append(f"verl preset {options['preset']}: rollout_is={p['rollout_is']}, rollout_is_threshold="
                     f"{p['rollout_is_threshold']}, rollout_rs={p['rollout_rs']}, rollout_rs_threshold="
                     f"{p['rollout_rs_threshold']}, bypass_mode={p['bypass_mode']}, loss_type={p['loss_type']}")
        if rs_text is None:
            rs_text, rs_thr = p["rollout_rs"], p["rollout_rs_threshold"] if rs_thr is None else rs_thr
        else:
            notes.append(f"--rollout-rs {rs_text} replaces the preset's rollout_rs")
        if is_level is None:
            is_level = p["rollout_is"]
            if is_level is not None and options["rollout_is_threshold"] == 2.0:
                is_thr = p["rollout_is_threshold"]
    if rs_text is None and rs_thr is not None:
        raise TRMInputError("--rollout-rs-threshold given without --rollout-rs")
    rs = parse_rollout_rs(rs_text, rs_thr) if rs_text is not None else None
    if rs is not None:
        notes.extend(rs.notes)
    is_cfg = RolloutIS(is_level, is_thr, options["rollout_is_batch_normalize"]) if is_level is not None else None
    if options["k1_reading"] not in READINGS:
        raise TRMInputError(f"--k1-reading {options['k1_reading']!r}: choose code or docs")
    return VerlSpec(rs, is_cfg, options["k1_reading"], tuple(notes))


def threshold_texts(rs: RolloutRS) -> list[str]:
    specs = [p.strip() for p in str(rs.threshold_text).split(",") if p.strip()]
    return specs * len(rs.options) if len(specs) == 1 else specs


def _other(reading: str) -> str:
    return "docs" if reading == "code" else "code"


class Rules:
    """One file under verl's rollout correction: decision and counts per option, metrics."""

    def __init__(self, spec: VerlSpec, info=None):
        self.spec = spec
        self.masks = spec.rs is not None
        self.acc = VerlAccumulator(spec.rs, spec.is_cfg, spec.reading)
        self.rules: dict[str, RuleCounts] = {}
        rs, reading = spec.rs, spec.reading
        if rs is None:
            return
        for opt, text in zip(rs.options, threshold_texts(rs)):
            label = f"verl:{opt.name}:{text}"
            extra = {"option": opt.name, "threshold": text, "level": opt.level, "reading": reading}
            self.rules[label] = RuleCounts(label, "verl", opt.level == "token" or opt.aggregation == "max", extra)
            if opt.mirrored:
                extra["ratio_band_code"] = [1.0 / opt.upper, 1.0 / opt.lower]
                extra["ratio_band_docs"] = [opt.lower, opt.upper]
                alt = f"{label} ({_other(reading)} reading)"
                self.rules[alt] = RuleCounts(alt, "verl", opt.level == "token",
                                             {"option": opt.name, "threshold": text, "level": opt.level,
                                              "reading": _other(reading)})
        if len(rs.options) > 1:
            self.rules["verl (all options)"] = RuleCounts("verl (all options)", "verl", False,
                                                          {"rollout_rs": rs.text, "rollout_rs_threshold": rs.threshold_text,
                                                           "reading": reading})

    def add(self, chunk, st) -> np.ndarray:
        keep, decisions = self.acc.add_stats(st, chunk.old, chunk.roll)
        rs, reading = self.spec.rs, self.spec.reading
        if rs is None:
            return keep
        for d, text in zip(decisions, threshold_texts(rs)):
            opt = d.option
            label = f"verl:{opt.name}:{text}"
            chosen = d if reading == "code" else option_decision(opt, st, reading)
            self.rules[label].add(chosen.token_keep, st.mask, _violation(opt, st, chosen))
            extra = self.rules[label].extra
            extra["near_threshold"] = extra.get("near_threshold", 0) + near_threshold(d, st.mask)
            if opt.mirrored:
                alt = option_decision(opt, st, _other(reading))
                self.rules[f"{label} ({_other(reading)} reading)"].add(alt.token_keep, st.mask,
                                                                        _violation(opt, st, alt))
        if len(rs.options) > 1:
            self.rules["verl (all options)"].add(keep, st.mask)
        return keep

    def criteria(self, lengths: np.ndarray, tokens: float) -> dict:
        return {label: rule.result(lengths, tokens) for label, rule in self.rules.items()}

    def metrics(self) -> dict:
        return self.acc.metrics()

    def finish(self, result: dict) -> None:
        result["suite"]["docs_vs_code"].extend(self.acc.docs_readings() + self._k1_disagreements(result["criteria"]))
        if result["suite"]["empty_rows"]:
            result["notes"].append(f"{result['suite']['empty_rows']} row(s) have no valid token; verl averages them "
                                   "into training_ppl, rollout_ppl, log_ppl_*, ppl_ratio and chi2_seq as perplexity 1 "
                                   "(log-ratio 0), and the suite's estimates count them as zero-length samples")

    def _k1_disagreements(self, criteria) -> list[dict]:
        out = []
        rs, reading = self.spec.rs, self.spec.reading
        if rs is None:
            return out
        for opt, text in zip(rs.options, threshold_texts(rs)):
            if not opt.mirrored:
                continue
            label = f"verl:{opt.name}:{text}"
            a, b = criteria[label], criteria[f"{label} ({_other(reading)} reading)"]
            code, docs = (a, b) if reading == "code" else (b, a)
            out.append({"option": f"{opt.name}:{text}",
                        "code": {"keeps_ratio_in": [1.0 / opt.upper, 1.0 / opt.lower],
                                 "token_masked_fraction": code["token_masked_fraction"],
                                 "seq_masked_fraction": code["seq_masked_fraction"]},
                        "docs": {"keeps_ratio_in": [opt.lower, opt.upper],
                                 "token_masked_fraction": docs["token_masked_fraction"],
                                 "seq_masked_fraction": docs["seq_masked_fraction"]},
                        "reading": "verl's code keeps k1 = −log r in [log lower, log upper], i.e. r (or its product / "
                                   "geometric mean) in [1/upper, 1/lower]; its documentation describes r in [lower, upper]"})
        return out


def _violation(opt, st, decision):
    if opt.level == "token":
        return st.mask & ~decision.token_keep
    if opt.aggregation == "max":
        stat = st.k2 if opt.estimator == "k2" else st.k3
        return st.mask & (stat > opt.upper)
    return None
