"""One pass over a dump: every dialect asked for (audit.dialects: verl's decision and metrics
always, the other frameworks' masks and metrics when their options are given), the suite's
criteria and statistics, and the rejected-token mask, chunk by chunk in bounded memory.

The output mask (``mask_out``) is the response mask after every rule given: verl's rejection (in
the chosen k1 reading), each other dialect's mask, and each suite criterion, AND-ed. With only
``rollout_rs`` it is exactly verl's modified response_mask.
"""
from __future__ import annotations

import dataclasses
import math
import zipfile
from dataclasses import dataclass, field

import numpy as np

from audit import criteria as suite_criteria
from audit import dialects
from audit.readers import DEFAULT_MEMORY, Dump
from audit.rules import RuleCounts
from audit.suite import SuiteAccumulator
from audit.token_stats import TokenStats
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
    options: tuple = ()              # (option, value) pairs of the other dialects (audit.dialects), e.g. ("trl", "sequence_mask")

    @classmethod
    def from_options(cls, options: dict, **rest) -> "AuditConfig":
        """A config from every dialect's {option: value} (verl's and slime's go to their fields)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in options.items() if k in fields}, **rest,
                   options=tuple((k, v) for k, v in options.items() if k not in fields))

    def dialect_options(self) -> dict:
        """{option: value} of every dialect: the fields that are dialect options, then ``options``."""
        owners = dialects.option_owners()
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name in owners}
        for name, value in self.options:
            if name in out:
                raise TRMInputError(f"audit option {name!r} is an AuditConfig field: give it there, not in options")
            out[name] = value
        return out


@dataclass
class Plan:
    config: AuditConfig
    specs: dict                      # {dialect name: its spec}, the dialects asked for, in their order
    criteria: list
    notes: list = field(default_factory=list)


def plan(config: AuditConfig) -> Plan:
    """Parse and check every option before any file is read."""
    specs = dialects.plan(config.dialect_options())
    notes = [n for spec in specs.values() for n in spec.notes]
    crits = [suite_criteria.parse_criterion(text) for text in config.criteria]
    if not (isinstance(config.budget, (int, float)) and math.isfinite(config.budget) and config.budget > 0):
        raise TRMInputError(f"--budget {config.budget!r}: the error budget must be a positive number")
    check_level(config.level, "--level")
    return Plan(config, specs, crits, notes)


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
    """Audit one dump (one training step). Returns a JSON-ready dict with keys ``metrics`` (the
    dialects' metrics under the frameworks' own names, verl's rollout_corr/* first), ``criteria`` (per
    clause), ``suite`` (the suite's statistics and bounds), ``file``, ``step``, ``notes``.
    ``progress(rows)`` is called after each chunk."""
    pl = config if isinstance(config, Plan) else plan(config)
    cfg = pl.config
    with Dump(path, dict(cfg.keys), cfg.all_valid, cfg.memory) as dump:
        info = dump.info
        B, L = info.rows, info.length
        runs = {name: dialects.get(name).Rules(spec, info) for name, spec in pl.specs.items()}
        suite = SuiteAccumulator(L)
        rules = _criteria_rules(pl)
        writer = _MaskWriter(mask_out, B, L) if mask_out else None
        lengths = []
        try:
            for chunk in dump.chunks():
                mask = chunk.mask
                st = TokenStats.from_log_probs(chunk.old, chunk.roll, mask)
                final = mask.copy()
                lengths.append(st.count)
                for run in runs.values():
                    final &= run.add(chunk, st)
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
            raise TRMInputError(dump.no_valid_token_message())
        criteria = {}
        for run in runs.values():
            criteria.update(run.criteria(n, tokens))
        criteria.update({label: rule.result(n, tokens) for label, rule in rules.items()})
        result = {
            "file": str(path), "format": info.format, "step": info.step, "rows": B, "length": L,
            "tokens": int(tokens), "keys": info.keys, "distributions": info.distributions,
            "metrics": {k: v for run in runs.values() for k, v in run.metrics().items()},
            "criteria": criteria,
            "suite": suite.result(cfg.budget, cfg.level),
            "notes": list(pl.notes) + list(info.notes),
        }
        result["suite"]["docs_vs_code"] = []
        for run in runs.values():
            run.finish(result)
        if mask_out:
            result["mask_out"] = {"path": str(mask_out), "shape": [B, L], "key": "mask",
                                  "rules": [name for name, run in runs.items() if run.masks]
                                  + [c.text for c in pl.criteria]}
        return result


def _criteria_rules(pl: Plan) -> dict:
    rules = {}
    for crit in pl.criteria:
        for clause in crit.clauses:
            rules[f"suite:{clause.text}"] = RuleCounts(clause.text, "suite", clause.tokenwise, {"clause": clause.text})
        if len(crit.clauses) > 1:
            rules[f"suite:{crit.text}"] = RuleCounts(crit.text, "suite", False, {"criterion": crit.text})
    return rules


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
