"""Chains and derivations: :class:`Link` (one relation, one justification), :class:`Chain` (e0 R1 e1 … en)
and :class:`Derivation` (hypotheses, facts, definitions, one chain), checked into verdicts."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Mapping, Sequence

import sympy as sp

from proofs.kernel.base import (RELATIONS, Context, DerivationError, Justification, _canonical, _relation_of, compose,
                                relational, show)
from proofs.kernel.instances import Induction, Instance
from proofs.kernel.report import DerivationReport, StepReport
from proofs.kernel.z3_encoding import z3_satisfiable


@dataclass(frozen=True)
class Link:
    lhs: sp.Expr
    relation: str
    rhs: sp.Expr
    by: Justification
    reason: str = ""

    def __post_init__(self):
        if self.relation not in RELATIONS:
            raise DerivationError(f"relation {self.relation!r} is not one of {RELATIONS}")
        if not isinstance(self.by, Justification):
            raise DerivationError(f"a link needs a kernel justification, got {self.by!r}")
        if self.lhs == self.rhs:
            raise DerivationError(f"a link with identical sides proves nothing: {show(self.lhs)} "
                                  f"({self.reason or self.by.describe()})")


class Chain:
    """e0 R1 e1 R2 … en, each link with one justification."""

    def __init__(self, start):
        self.start = sp.sympify(start)
        self.links: list[Link] = []
        self.rests: frozenset = frozenset()

    @property
    def last(self):
        return self.links[-1].rhs if self.links else self.start

    @property
    def relation(self) -> str:
        rel = "="
        for link in self.links:
            rel = compose(rel, link.relation)
        return rel

    def _add(self, relation, expr, by, reason):
        self.links.append(Link(self.last, relation, sp.sympify(expr), by, reason))
        return self

    def eq(self, expr, by: Justification, reason: str = "") -> "Chain":
        return self._add("=", expr, by, reason)

    def le(self, expr, by: Justification, reason: str = "") -> "Chain":
        return self._add("<=", expr, by, reason)

    def lt(self, expr, by: Justification, reason: str = "") -> "Chain":
        return self._add("<", expr, by, reason)

    def check(self, ctx: Context, within: str = "") -> list[StepReport]:
        if not self.links:
            raise DerivationError("an empty chain proves nothing")
        reports, rests = [], frozenset()
        for link in self.links:
            restated = _canonical(relational(link.lhs, link.relation, link.rhs))
            if any(_canonical(h) == restated for h in ctx.hypotheses):
                raise DerivationError(f"the link {show(link.lhs)} {link.relation} {show(link.rhs)} restates a "
                                      "hypothesis")
            out = link.by.check(ctx, link.lhs, link.relation, link.rhs)
            kind = link.by.kind_in(ctx)
            rests |= out.rests_on
            reports.append(StepReport(link.relation, show(link.lhs), show(link.rhs), kind, out.verdict,
                                      ", ".join(out.tests) or None, link.reason or link.by.describe(),
                                      out.detail, within, out.rests_on))
            reports.extend(out.substeps)
        self.rests = rests
        return reports


class Derivation:
    """A named result: hypotheses, facts (lemma instances), definitions and one chain."""

    def __init__(self, name: str, statement: str, reference: str, chain: Chain, hypotheses: Sequence = (),
                 facts: Mapping[str, Instance] | None = None, definitions: Mapping | None = None):
        self.name, self.statement, self.reference = name, statement, reference
        self.chain = chain
        self.hypotheses = tuple(h for h in hypotheses if h is not sp.true)
        self.facts = dict(facts or {})
        self.definitions = dict(definitions or {})
        for h in self.hypotheses:
            if not isinstance(h, sp.Basic) or _relation_of(h) is None and not isinstance(h, (sp.Ne, sp.And)):
                raise DerivationError(f"{name}: hypothesis {h!r} is not a relation")
        conclusion = _canonical(relational(chain.start, chain.relation, chain.last))
        if any(_canonical(h) == conclusion for h in self.hypotheses):
            raise DerivationError(f"{name}: the conclusion {show(chain.start)} {chain.relation} {show(chain.last)} "
                                  "is one of the hypotheses")
        self._report: DerivationReport | None = None

    @property
    def conclusion(self) -> tuple:
        return self.chain.start, self.chain.relation, self.chain.last

    def check(self) -> DerivationReport:
        if self._report is not None:
            return self._report
        started = time.perf_counter()
        ctx = Context(self.hypotheses, {}, self.definitions)
        steps, failed, details, rests = [], False, [], frozenset()
        for label, inst in self.facts.items():
            fact, out = inst.as_fact(label, ctx)
            ctx = ctx.with_fact(fact)
            rests |= fact.rests_on
            steps.append(StepReport(fact.relation, show(fact.lhs), show(fact.rhs), fact.kind, fact.verdict,
                                    ", ".join(fact.tests) or None, f"fact {label}: {inst.lemma_name}",
                                    out.detail, "facts", fact.rests_on))
        if ctx.hypotheses or ctx.facts:          # symbol assumptions alone are always satisfiable
            ok, detail = z3_satisfiable(ctx, list(ctx.facts))
            if not ok:
                failed = True
                details.append(detail)
        steps += self.chain.check(ctx)
        rests |= self.chain.rests
        failed = failed or any(s.verdict == "failed" for s in steps)
        cited = any(s.verdict == "cited" for s in steps) or bool(rests)
        verdict = "failed" if failed else ("cited" if cited else "proved")
        self._report = DerivationReport(self.name, self.statement, self.reference, verdict, steps,
                                        "; ".join(details), time.perf_counter() - started,
                                        tuple(f"{show(k)} := {show(v)}" for k, v in self.definitions.items()),
                                        tuple(show(h) for h in self.hypotheses))
        return self._report

    def links(self) -> list[Link]:
        """Every link, those inside induction chains included."""
        out = []

        def walk(chain):
            for link in chain.links:
                out.append(link)
                if isinstance(link.by, Induction):
                    walk(link.by.base)
                    walk(link.by.step)

        walk(self.chain)
        return out
