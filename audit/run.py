"""One pass over a dump: verl's decision and metrics, slime's masks, the suite's criteria and
statistics, and the rejected-token mask, chunk by chunk in bounded memory.

The output mask (``mask_out``) is the response mask after every rule given: verl's rejection (in
the chosen k1 reading), slime's mask and veto, and each suite criterion, AND-ed. With only
``rollout_rs`` it is exactly verl's modified response_mask.
"""
from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass, field

import numpy as np

from audit import criteria as suite_criteria
from audit import slime as slime_dialect
from audit import verl
from audit.readers import DEFAULT_MEMORY, Dump
from audit.suite import SuiteAccumulator, length_bias
from numerics.errors import TRMInputError
from numerics.intervals import DEFAULT_LEVEL, check_level


@dataclass(frozen=True)
class AuditConfig:
    rollout_rs: str | None = None
    rollout_rs_threshold: str | float | None = None
    rollout_is: str | None = None
    rollout_is_threshold: float = 2.0
    rollout_is_batch_normalize: bool = False
    preset: str | None = None
    k1_reading: str = "code"
    slime: str | None = None
    slime_veto: float | None = None
    criteria: tuple = ()
    budget: float = 0.1
    level: float = DEFAULT_LEVEL
    keys: tuple = ()                 # (role, key) pairs
    all_valid: bool = False
    memory: int = DEFAULT_MEMORY


@dataclass
class Plan:
    config: AuditConfig
    rs: verl.RolloutRS | None
    is_cfg: verl.RolloutIS | None
    slime: slime_dialect.SlimeSpec | None
    criteria: list
    notes: list = field(default_factory=list)


def plan(config: AuditConfig) -> Plan:
    """Parse and check every option before any file is read."""
    notes = []
    rs_text, rs_thr = config.rollout_rs, config.rollout_rs_threshold
    is_level, is_thr = config.rollout_is, config.rollout_is_threshold
    if config.preset is not None:
        p = verl.preset(config.preset)
        notes.append(f"verl preset {config.preset}: rollout_is={p['rollout_is']}, rollout_is_threshold="
                     f"{p['rollout_is_threshold']}, rollout_rs={p['rollout_rs']}, rollout_rs_threshold="
                     f"{p['rollout_rs_threshold']}, bypass_mode={p['bypass_mode']}, loss_type={p['loss_type']}")
        if rs_text is None:
            rs_text, rs_thr = p["rollout_rs"], p["rollout_rs_threshold"] if rs_thr is None else rs_thr
        else:
            notes.append(f"--rollout-rs {rs_text} replaces the preset's rollout_rs")
        if is_level is None:
            is_level = p["rollout_is"]
            if is_level is not None and config.rollout_is_threshold == 2.0:
                is_thr = p["rollout_is_threshold"]
    if rs_text is None and rs_thr is not None:
        raise TRMInputError("--rollout-rs-threshold given without --rollout-rs")
    rs = verl.parse_rollout_rs(rs_text, rs_thr) if rs_text is not None else None
    if rs is not None:
        notes.extend(rs.notes)
    is_cfg = verl.RolloutIS(is_level, is_thr, config.rollout_is_batch_normalize) if is_level is not None else None
    if config.k1_reading not in verl.READINGS:
        raise TRMInputError(f"--k1-reading {config.k1_reading!r}: choose code or docs")
    sl = slime_dialect.parse_slime(config.slime, config.slime_veto) if (config.slime or config.slime_veto) else None
    crits = [suite_criteria.parse_criterion(text) for text in config.criteria]
    if not (isinstance(config.budget, (int, float)) and math.isfinite(config.budget) and config.budget > 0):
        raise TRMInputError(f"--budget {config.budget!r}: the error budget must be a positive number")
    check_level(config.level, "--level")
    return Plan(config, rs, is_cfg, sl, crits, notes)


class _Rule:
    """Counts of one masking rule: rejected valid tokens, rows touched, per-row acceptance."""

    def __init__(self, label: str, dialect: str, tokenwise: bool, extra: dict | None = None):
        self.label, self.dialect, self.tokenwise = label, dialect, tokenwise
        self.extra = extra or {}
        self.rejected = 0.0
        self.violations = 0.0
        self.accepted: list[np.ndarray] = []

    def add(self, keep: np.ndarray, mask: np.ndarray, violation: np.ndarray | None = None) -> None:
        rejected = mask & ~keep
        self.rejected += float(rejected.sum())
        self.accepted.append(~rejected.any(-1))
        if violation is not None:
            self.violations += float(violation.sum())

    def result(self, lengths: np.ndarray, tokens: float) -> dict:
        acc = np.concatenate(self.accepted)
        valid = lengths > 0
        p = self.violations / tokens if self.tokenwise and tokens > 0 else None
        return {"dialect": self.dialect, **self.extra,
                "token_masked_fraction": self.rejected / tokens if tokens else 0.0,
                "seq_masked_fraction": float((~acc & valid).sum() / max(valid.sum(), 1)),
                "rows_accepted": int((acc & valid).sum()),
                "length_bias": length_bias(lengths[valid], acc[valid], p)}


class _MaskWriter:
    """Streams the [B, L] bool mask into FILE.npz under the key 'mask' (rows in order)."""

    def __init__(self, path: str, B: int, L: int):
        self.path = str(path)
        if not self.path.endswith(".npz"):
            raise TRMInputError(f"--mask-out {self.path}: the mask is written as .npz (key 'mask')")
        try:
            self.zip = zipfile.ZipFile(self.path, "w", compression=zipfile.ZIP_DEFLATED)
        except OSError as exc:
            raise TRMInputError(f"--mask-out {self.path}: cannot write ({exc})") from None
        self.fh = self.zip.open("mask.npy", "w", force_zip64=True)
        np.lib.format.write_array_header_1_0(self.fh, {"descr": "|b1", "fortran_order": False, "shape": (B, L)})
        self.L = L

    def write(self, keep: np.ndarray) -> None:
        if keep.shape[1] < self.L:
            keep = np.pad(keep, ((0, 0), (0, self.L - keep.shape[1])))
        self.fh.write(np.ascontiguousarray(keep, dtype=np.bool_).tobytes())

    def close(self) -> None:
        self.fh.close()
        self.zip.close()


def audit_file(path, config: AuditConfig | Plan, mask_out: str | None = None, progress=None) -> dict:
    """Audit one dump (one training step). Returns a JSON-ready dict with keys ``metrics`` (verl's
    rollout_corr/* names), ``criteria`` (per clause), ``suite`` (the suite's statistics and bounds),
    ``file``, ``step``, ``notes``. ``progress(rows)`` is called after each chunk."""
    pl = config if isinstance(config, Plan) else plan(config)
    cfg = pl.config
    with Dump(path, dict(cfg.keys), cfg.all_valid, cfg.memory) as dump:
        info = dump.info
        B, L = info.rows, info.length
        acc = verl.VerlAccumulator(pl.rs, pl.is_cfg, cfg.k1_reading)
        suite = SuiteAccumulator(L)
        rules = _rules(pl)
        writer = _MaskWriter(mask_out, B, L) if mask_out else None
        lengths = []
        try:
            for chunk in dump.chunks():
                mask = chunk.mask
                keep, st, decisions = acc.add(chunk.old, chunk.roll, mask)
                final = keep.copy()
                lengths.append(st.count)
                if pl.rs is not None:
                    _verl_rules(rules, pl, st, keep, decisions)
                if pl.slime is not None:
                    s_keep, vetoed = slime_dialect.decide(pl.slime, st.log_ratio, mask)
                    rules["slime"].add(s_keep, mask)
                    rules["slime"].extra.setdefault("_vetoed", 0)
                    rules["slime"].extra["_vetoed"] += int((vetoed & (st.count > 0)).sum())
                    final &= s_keep
                for crit in pl.criteria:
                    c_keep = np.ones(mask.shape, dtype=bool)
                    for clause in crit.clauses:
                        k, viol = suite_criteria.clause_decision(clause, st.log_ratio, mask, chunk.exact)
                        c_keep &= k
                        rules[f"suite:{clause.text}"].add(k, mask, viol)
                    if len(crit.clauses) > 1:
                        rules[f"suite:{crit.text}"].add(c_keep, mask)
                    final &= c_keep
                suite.add(chunk.start, st.log_ratio, mask, chunk.exact, chunk.scores, chunk.advantages)
                if writer is not None:
                    writer.write(final & mask)
                if progress is not None:
                    progress(mask.shape[0])
        finally:
            if writer is not None:
                writer.close()
        n = np.concatenate(lengths)
        tokens = float(n.sum())
        if tokens == 0:
            raise TRMInputError(f"{path}: no valid token in the batch (every mask entry is 0)")
        result = {
            "file": str(path), "format": info.format, "step": info.step, "rows": B, "length": L,
            "tokens": int(tokens), "keys": info.keys, "distributions": info.distributions,
            "metrics": acc.metrics(),
            "criteria": {label: rule.result(n, tokens) for label, rule in rules.items()},
            "suite": suite.result(cfg.budget, cfg.level),
            "notes": list(pl.notes) + list(info.notes),
        }
        if "slime" in result["criteria"]:
            result["criteria"]["slime"]["rows_vetoed"] = result["criteria"]["slime"].pop("_vetoed", 0)
        result["suite"]["docs_vs_code"] = acc.docs_readings() + _k1_disagreements(pl, result["criteria"])
        if result["suite"]["empty_rows"]:
            result["notes"].append(f"{result['suite']['empty_rows']} row(s) have no valid token; verl averages them "
                                   "into training_ppl, rollout_ppl, log_ppl_*, ppl_ratio and chi2_seq as perplexity 1 "
                                   "(log-ratio 0), and the suite's estimates count them as zero-length samples")
        if mask_out:
            result["mask_out"] = {"path": str(mask_out), "shape": [B, L], "key": "mask",
                                  "rules": [r for r in ("verl", "slime") if (r == "verl" and pl.rs) or
                                            (r == "slime" and pl.slime)] + [c.text for c in pl.criteria]}
        return result


def _rules(pl: Plan) -> dict:
    rules = {}
    if pl.rs is not None:
        for opt, spec in zip(pl.rs.options, _threshold_texts(pl.rs)):
            extra = {"option": opt.name, "threshold": spec, "level": opt.level, "reading": pl.config.k1_reading}
            rules[f"verl:{opt.name}:{spec}"] = _Rule(f"verl:{opt.name}:{spec}", "verl",
                                                     opt.level == "token" or opt.aggregation == "max", extra)
            if opt.mirrored:
                extra["ratio_band_code"] = [1.0 / opt.upper, 1.0 / opt.lower]
                extra["ratio_band_docs"] = [opt.lower, opt.upper]
                other = "docs" if pl.config.k1_reading == "code" else "code"
                rules[f"verl:{opt.name}:{spec} ({other} reading)"] = _Rule(
                    f"verl:{opt.name}:{spec} ({other} reading)", "verl", opt.level == "token",
                    {"option": opt.name, "threshold": spec, "level": opt.level, "reading": other})
        if len(pl.rs.options) > 1:
            rules["verl (all options)"] = _Rule("verl (all options)", "verl", False,
                                                {"rollout_rs": pl.rs.text, "rollout_rs_threshold": pl.rs.threshold_text,
                                                 "reading": pl.config.k1_reading})
    if pl.slime is not None:
        rules["slime"] = _Rule("slime", "slime", pl.slime.level in (None, "token"), {"spec": pl.slime.text})
    for crit in pl.criteria:
        for clause in crit.clauses:
            rules[f"suite:{clause.text}"] = _Rule(clause.text, "suite", clause.tokenwise, {"clause": clause.text})
        if len(crit.clauses) > 1:
            rules[f"suite:{crit.text}"] = _Rule(crit.text, "suite", False, {"criterion": crit.text})
    return rules


def _threshold_texts(rs: verl.RolloutRS) -> list[str]:
    specs = [p.strip() for p in str(rs.threshold_text).split(",") if p.strip()]
    return specs * len(rs.options) if len(specs) == 1 else specs


def _verl_rules(rules, pl, st, keep, decisions):
    other = "docs" if pl.config.k1_reading == "code" else "code"
    for d, spec in zip(decisions, _threshold_texts(pl.rs)):
        opt = d.option
        label = f"verl:{opt.name}:{spec}"
        chosen = d if pl.config.k1_reading == "code" else verl.option_decision(opt, st, pl.config.k1_reading)
        rules[label].add(chosen.token_keep, st.mask, _violation(opt, st, chosen))
        extra = rules[label].extra
        extra["near_threshold"] = extra.get("near_threshold", 0) + verl.near_threshold(d, st.mask)
        if opt.mirrored:
            alt = verl.option_decision(opt, st, other)
            rules[f"{label} ({other} reading)"].add(alt.token_keep, st.mask, _violation(opt, st, alt))
    if len(pl.rs.options) > 1:
        rules["verl (all options)"].add(keep, st.mask)


def _violation(opt, st, decision):
    if opt.level == "token":
        return st.mask & ~decision.token_keep
    if opt.aggregation == "max":
        stat = st.k2 if opt.estimator == "k2" else st.k3
        return st.mask & (stat > opt.upper)
    return None


def _k1_disagreements(pl, criteria) -> list[dict]:
    out = []
    if pl.rs is None:
        return out
    for opt, spec in zip(pl.rs.options, _threshold_texts(pl.rs)):
        if not opt.mirrored:
            continue
        label = f"verl:{opt.name}:{spec}"
        other = "docs" if pl.config.k1_reading == "code" else "code"
        a, b = criteria[label], criteria[f"{label} ({other} reading)"]
        code, docs = (a, b) if other == "docs" else (b, a)
        out.append({"option": f"{opt.name}:{spec}",
                    "code": {"keeps_ratio_in": [1.0 / opt.upper, 1.0 / opt.lower],
                             "token_masked_fraction": code["token_masked_fraction"],
                             "seq_masked_fraction": code["seq_masked_fraction"]},
                    "docs": {"keeps_ratio_in": [opt.lower, opt.upper],
                             "token_masked_fraction": docs["token_masked_fraction"],
                             "seq_masked_fraction": docs["seq_masked_fraction"]},
                    "reading": "verl's code keeps k1 = −log r in [log lower, log upper], i.e. r (or its product / "
                               "geometric mean) in [1/upper, 1/lower]; its documentation describes r in [lower, upper]"})
    return out


TREND_METRICS = ("rollout_corr/kl", "rollout_corr/k3_kl", "rollout_corr/chi2_token", "rollout_corr/log_ppl_abs_diff",
                 "rollout_corr/rollout_rs_masked_fraction", "rollout_corr/rollout_rs_seq_masked_fraction")


def audit_files(paths, config: AuditConfig, progress=None) -> dict:
    """Several dumps = several steps: each audited on its own; ``trends`` lines them up by step."""
    if not paths:
        raise TRMInputError("give at least one dump file")
    pl = plan(config)
    steps = [audit_file(p, pl, progress=progress) for p in paths]
    return {"steps": steps, "trends": trends(steps)}


def trends(steps: list[dict]) -> dict:
    labels = [s["step"] if s["step"] is not None else i for i, s in enumerate(steps)]
    out = {"step": labels}
    for key in TREND_METRICS:
        if all(key in s["metrics"] for s in steps):
            out[key] = [s["metrics"][key] for s in steps]
    out["suite/kl_seq_k3"] = [s["suite"]["estimates"]["kl_seq_k3"]["mean"] for s in steps]
    out["suite/kl_seq_k3_se"] = [s["suite"]["estimates"]["kl_seq_k3"]["se"] for s in steps]
    out["suite/k3_max"] = [s["suite"]["sampled_maxima"]["k3_max"] for s in steps]
    out["suite/B*_paper"] = [s["suite"]["bounds"]["paper"]["unified"] for s in steps]
    out["suite/B*_sharp"] = [s["suite"]["bounds"]["sharp"]["unified"] for s in steps]
    for end in ("estimate", "lower", "upper"):
        out[f"suite/worst_case_error_{end}"] = [s["suite"]["worst_case_error"].get(end) for s in steps]
    out["suite/certified_improvement_lower"] = [s["suite"]["certificate"].get("improvement_lower") for s in steps]
    for label in steps[0]["criteria"]:
        if all(label in s["criteria"] for s in steps):
            out[f"acceptance/{label}"] = [1.0 - s["criteria"][label]["seq_masked_fraction"] for s in steps]
    return out
