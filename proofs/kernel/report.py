"""What a check reports: one :class:`StepReport` per link, one :class:`DerivationReport` per derivation,
and :func:`summarise` (links counted by kind, verdicts counted) — the shape of `trm proofs --json`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from proofs.kernel.base import KINDS


@dataclass(frozen=True)
class StepReport:
    relation: str
    lhs: str
    rhs: str
    kind: str
    verdict: str
    test: str | None
    reason: str
    detail: str = ""
    within: str = ""
    rests_on: frozenset = frozenset()

    def to_json(self) -> dict:
        return {"relation": self.relation, "lhs": self.lhs, "rhs": self.rhs, "kind": self.kind,
                "verdict": self.verdict, "test": self.test, "reason": self.reason, "detail": self.detail,
                "within": self.within}


@dataclass
class DerivationReport:
    name: str
    statement: str
    reference: str
    verdict: str
    steps: list
    detail: str = ""
    seconds: float = 0.0
    definitions: tuple = ()
    hypotheses: tuple = ()

    @property
    def rests_on(self) -> frozenset:
        return frozenset().union(*[s.rests_on for s in self.steps]) if self.steps else frozenset()

    @property
    def tests(self) -> tuple:
        return tuple(dict.fromkeys(t for s in self.steps if s.test for t in s.test.split(", ")))

    def to_json(self) -> dict:
        return {"name": self.name, "statement": self.statement, "reference": self.reference,
                "verdict": self.verdict, "detail": self.detail, "hypotheses": list(self.hypotheses),
                "definitions": list(self.definitions), "steps": [s.to_json() for s in self.steps]}


def summarise(reports: Sequence[DerivationReport]) -> dict:
    """{kind: number of links} over every step of every report, plus the verdict counts."""
    kinds = {k: 0 for k in KINDS}
    verdicts = {"proved": 0, "cited": 0, "failed": 0}
    for r in reports:
        for s in r.steps:
            kinds[s.kind] = kinds.get(s.kind, 0) + 1
            verdicts[s.verdict] += 1
    return {"kinds": kinds, "verdicts": verdicts}
