"""The counts of one masking rule over a dump (every dialect's rules and the suite's criteria report
through it): rejected valid tokens, rows touched, acceptance by length against the
independent-violation model (1 − p̂)^n (:func:`audit.suite.length_bias`)."""
from __future__ import annotations

import numpy as np

from audit.suite import length_bias


class RuleCounts:
    """Counts of one masking rule: rejected valid tokens, rows touched, per-row acceptance.

    ``tokenwise`` rules decide each token on its own (their violation rate p̂ feeds the length-bias
    model); ``extra`` is copied into the result first (the rule's own description)."""

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
