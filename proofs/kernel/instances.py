"""Lemma instances and induction: the lemma table the registry (:mod:`proofs.lemmas`) registers into,
:class:`Instance` (a registered lemma with its variables substituted), the :class:`ByLemma` and :class:`Subst`
justifications, and :class:`Induction` (base and step are themselves checked chains)."""
from __future__ import annotations

from typing import Mapping

import sympy as sp

from proofs.kernel.base import (Context, DerivationError, Fact, Justification, Outcome, _as_le, _relation_of, implies,
                                show)
from proofs.kernel.z3_encoding import z3_decide

#: Every registered lemma by name. The kernel owns the table and reads it when an instance is checked;
#: :mod:`proofs.lemmas` (the registry) fills it. The kernel never imports the registry.
LEMMA_TABLE: dict = {}


class Instance:
    """A registered lemma with its variables substituted (structurally)."""

    def __init__(self, lemma: str, sub: Mapping | None = None, reverse: bool = False):
        self.lemma_name = lemma
        self.sub = dict(sub or {})
        self.reverse = reverse

    @property
    def lemma(self):
        if self.lemma_name not in LEMMA_TABLE:
            raise DerivationError(f"unknown lemma {self.lemma_name!r}")
        return LEMMA_TABLE[self.lemma_name]

    def statement(self) -> tuple:
        lemma = self.lemma
        for key in self.sub:
            if key not in lemma.variables:
                raise DerivationError(f"{self.lemma_name}: {show(key)} is not one of its variables "
                                      f"({', '.join(map(show, lemma.variables))})")
        lhs, rhs = lemma.instantiate(lemma.lhs, self.sub), lemma.instantiate(lemma.rhs, self.sub)
        if self.reverse:
            if lemma.relation != "=":
                raise DerivationError(f"{self.lemma_name}: only an equation can be used right to left")
            lhs, rhs = rhs, lhs
        if lhs == rhs:
            raise DerivationError(f"{self.lemma_name}: the instance has identical sides {show(lhs)}")
        return lhs, lemma.relation, rhs

    def as_fact(self, label: str, ctx: Context) -> tuple[Fact, Outcome]:
        lhs, rel, rhs = self.statement()
        out = self.check_hypotheses(ctx)
        lemma = self.lemma
        status, rests, tests = lemma.status()
        verdict = "failed" if not out.ok or status == "failed" else ("cited" if rests else "proved")
        kind = "cited" if lemma.cited else "lemma"
        fact = Fact(label, lhs, rel, rhs, kind, verdict, rests, tests, out.detail)
        return fact, Outcome(verdict != "failed", out.detail or status, rests, tests)

    def check_hypotheses(self, ctx: Context) -> Outcome:
        lemma = self.lemma
        for var, value in self.sub.items():
            if isinstance(var, sp.Symbol) and var.is_integer and sp.sympify(value).is_integer is not True:
                return Outcome(False, f"{self.lemma_name}: {show(var)} is an integer, {show(value)} may not be")
        for h in lemma.all_hypotheses():
            inst = lemma.instantiate(h, self.sub)
            if inst is sp.true:
                continue
            if inst is sp.false:
                return Outcome(False, f"{self.lemma_name}: hypothesis {show(h)} is false for this instance")
            if _relation_of(inst) is None:
                return Outcome(False, f"{self.lemma_name}: hypothesis {show(inst)} cannot be checked")
            small, large = _as_le(inst)
            ok, detail = z3_decide(ctx, small, _relation_of(inst), large)
            if not ok:
                return Outcome(False, f"{self.lemma_name}: hypothesis {show(inst)} not shown: {detail}")
        return Outcome(True, "")


class ByLemma(Justification):
    """The link is exactly an instance of a registered lemma."""

    def __init__(self, lemma: str, sub: Mapping | None = None, reverse: bool = False):
        self.instance = Instance(lemma, sub, reverse)

    def kind_in(self, ctx):
        return "cited" if self.instance.lemma.cited else "lemma"

    @property
    def kind(self):
        return "lemma"

    def describe(self) -> str:
        return f"lemma {self.instance.lemma_name}"

    def check(self, ctx, lhs, relation, rhs):
        L, R, Rhs = self.instance.statement()
        if (L, Rhs) != (lhs, rhs) or not implies(R, relation):
            return Outcome(False, f"not an instance of {self.instance.lemma_name}: it states "
                                  f"{show(L)} {R} {show(Rhs)}")
        fact, out = self.instance.as_fact("instance", ctx)
        return Outcome(fact.verdict != "failed", out.detail or self.describe(), fact.rests_on, fact.tests)


class Subst(Justification):
    """Replace every occurrence of an equational fact's left side by its right side."""

    def __init__(self, fact: "str | Instance", reverse: bool = False):
        self.fact = fact
        self.reverse = reverse

    def _resolve(self, ctx) -> tuple[Fact, Outcome]:
        if isinstance(self.fact, Instance):
            return self.fact.as_fact("instance", ctx)
        if self.fact not in ctx.facts:
            raise DerivationError(f"subst: unknown fact {self.fact!r}")
        f = ctx.facts[self.fact]
        return f, Outcome(f.verdict != "failed", "", f.rests_on, f.tests)

    def kind_in(self, ctx):
        if isinstance(self.fact, Instance):
            return "cited" if self.fact.lemma.cited else "lemma"
        return ctx.facts[self.fact].kind if self.fact in ctx.facts else "lemma"

    kind = "lemma"

    def describe(self) -> str:
        name = self.fact.lemma_name if isinstance(self.fact, Instance) else self.fact
        return f"substitute {name}"

    def check(self, ctx, lhs, relation, rhs):
        fact, out = self._resolve(ctx)
        if fact.relation != "=":
            return Outcome(False, f"substitution needs an equation; {fact.label} is {fact.relation}")
        old, new = (fact.rhs, fact.lhs) if self.reverse else (fact.lhs, fact.rhs)
        if not lhs.has(old):
            return Outcome(False, f"{show(old)} does not occur in {show(lhs)}")
        replaced = lhs.xreplace({old: new})
        if relation != "=" or replaced != rhs:
            return Outcome(False, f"substituting gives {show(replaced)}, not {show(rhs)}")
        return Outcome(out.ok, self.describe(), fact.rests_on, fact.tests)


class Induction(Justification):
    """lhs(n) R rhs(n) for every integer n ≥ start: ``base`` is a chain from lhs(start) to rhs(start);
    ``step`` is a chain from lhs(n+1) to rhs(n+1) under n ≥ start and the fact "IH": lhs(n) R rhs(n)."""

    kind = "induction"

    def __init__(self, var: sp.Symbol, start, base, step):
        self.var, self.start, self.base, self.step = var, sp.sympify(start), base, step

    def describe(self) -> str:
        return f"induction on {show(self.var)} from {show(self.start)}"

    def check(self, ctx, lhs, relation, rhs):
        n = self.var
        problems = []
        if self.base.start != lhs.xreplace({n: self.start}) or self.base.last != rhs.xreplace({n: self.start}):
            problems.append(f"the base chain runs {show(self.base.start)} … {show(self.base.last)}, not "
                            f"{show(lhs.xreplace({n: self.start}))} … {show(rhs.xreplace({n: self.start}))}")
        if self.step.start != lhs.xreplace({n: n + 1}) or self.step.last != rhs.xreplace({n: n + 1}):
            problems.append(f"the step chain runs {show(self.step.start)} … {show(self.step.last)}, not "
                            f"{show(lhs.xreplace({n: n + 1}))} … {show(rhs.xreplace({n: n + 1}))}")
        for chain, name in ((self.base, "base"), (self.step, "step")):
            if not implies(chain.relation, relation):
                problems.append(f"the {name} chain proves {chain.relation}, not {relation}")
        if problems:
            raise DerivationError("; ".join(problems))
        base_ctx = ctx.substituted({n: self.start})
        ih = Fact("IH", lhs, relation, rhs, "induction", "proved", frozenset(), (), "induction hypothesis")
        step_ctx = ctx.with_hypotheses(sp.Ge(n, self.start)).with_fact(ih)
        base = self.base.check(base_ctx, "induction base")
        step = self.step.check(step_ctx, "induction step")
        reports = base + step
        ok = all(r.verdict != "failed" for r in reports)
        tests = tuple(dict.fromkeys(t for r in reports if r.test for t in r.test.split(", ")))
        return Outcome(ok, self.describe(), self.base.rests | self.step.rests, tests, tuple(reports))
