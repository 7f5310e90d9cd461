"""The kernel's vocabulary: relations, the error a malformed derivation raises, the statements available
to a link (facts), the context a link is checked in, the outcome of a check, and the interface every
justification implements."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import sympy as sp

RELATIONS = ("=", "<=", "<")
KINDS = ("rewrite", "z3", "sign", "induction", "lemma", "cited")
#: Per-query z3 timeout (milliseconds); an undecided query is a failure.
Z3_TIMEOUT_MS = 4000


class DerivationError(ValueError):
    """A malformed derivation: identical sides, a restated hypothesis, a chain that does not match
    its statement, an unknown lemma or fact, a substitution outside the lemma's variables."""


def compose(first: str, second: str) -> str:
    """The relation of a R b S c between a and c."""
    if "<" in (first, second):
        return "<"
    if "<=" in (first, second):
        return "<="
    return "="


def implies(stronger: str, weaker: str) -> bool:
    return stronger == weaker or stronger == "=" and weaker == "<=" or stronger == "<" and weaker == "<="


def relational(lhs: sp.Expr, relation: str, rhs: sp.Expr) -> sp.Basic:
    return {"=": sp.Eq, "<=": sp.Le, "<": sp.Lt}[relation](lhs, rhs, evaluate=False)


def show(expr) -> str:
    return sp.sstr(expr)


def _relation_of(r):
    if isinstance(r, sp.Eq):
        return "="
    if isinstance(r, (sp.Le, sp.Lt, sp.Ge, sp.Gt)):
        return {sp.Le: "<=", sp.Lt: "<", sp.Ge: "<=", sp.Gt: "<"}[type(r)]
    return None


def _as_le(r):
    if isinstance(r, (sp.Ge, sp.Gt)):
        return r.rhs, r.lhs
    return r.lhs, r.rhs


def _canonical(r):
    """A relation up to orientation: (relation, smaller side, larger side), equations unordered."""
    rel = _relation_of(r)
    if rel is None:
        return ("other", r)
    a, b = _as_le(r)
    return (rel, frozenset((a, b))) if rel == "=" else (rel, a, b)


@dataclass(frozen=True)
class Fact:
    """A statement available to a link: a lemma instance or the induction hypothesis."""

    label: str
    lhs: sp.Expr
    relation: str
    rhs: sp.Expr
    kind: str                      # lemma | cited | induction
    verdict: str                   # proved | cited | failed
    rests_on: frozenset = frozenset()
    tests: tuple = ()
    detail: str = ""


@dataclass(frozen=True)
class Context:
    hypotheses: tuple = ()
    facts: Mapping[str, Fact] = field(default_factory=dict)
    definitions: Mapping = field(default_factory=dict)

    def with_hypotheses(self, *extra) -> "Context":
        extra = tuple(h for h in extra if h is not sp.true)
        return Context(self.hypotheses + extra, self.facts, self.definitions)

    def with_fact(self, fact: Fact) -> "Context":
        return Context(self.hypotheses, {**self.facts, fact.label: fact}, self.definitions)

    def substituted(self, mapping) -> "Context":
        hyps = tuple(h.xreplace(mapping) for h in self.hypotheses)
        return Context(tuple(h for h in hyps if h is not sp.true), self.facts, self.definitions)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    detail: str = ""
    rests_on: frozenset = frozenset()
    tests: tuple = ()
    substeps: tuple = ()

    @property
    def verdict(self) -> str:
        if not self.ok:
            return "failed"
        return "cited" if self.rests_on else "proved"


class Justification:
    kind = "?"

    def check(self, ctx: Context, lhs, relation: str, rhs) -> Outcome:  # pragma: no cover - interface
        raise NotImplementedError

    def kind_in(self, ctx: Context) -> str:
        return self.kind

    def describe(self) -> str:
        return self.kind
