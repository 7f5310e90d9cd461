"""Derivations as lists of machine-checked steps.

A :class:`Step` states ``lhs relation rhs`` with a reason. A symbolic step is decided by sympy:
    '=='   lhs − rhs reduces to 0 under the step's rewrites (targeted: expand, cancel, together, …)
    '<=' / '<'   rhs − lhs, after the rewrites, is nonnegative / positive by sympy's assumptions
    '>=' / '>'   the mirror images.
Unevaluated Sum, Limit, Integral and Product on either side are evaluated first (``doit``).
An undecided step (sympy answers None) is a failure, never a pass.

A numeric step records a probabilistic inequality that sympy cannot state; its reason says so and
``numeric_test`` names the test (``tests/...py::test_name``) that checks it on exact ground truth.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import sympy as sp
from sympy.simplify.simplify import sum_simplify

RELATIONS = ("==", "<=", "<", ">=", ">")

#: The default chain of targeted rewrites tried, in order, on the difference of the two sides.
DEFAULT_REWRITES: tuple[Callable[[sp.Expr], sp.Expr], ...] = (
    lambda e: e,
    sp.expand,
    sp.cancel,
    sp.together,
    lambda e: sp.expand(sp.powsimp(sp.powdenest(e, force=False))),
    lambda e: sp.radsimp(sp.together(e)),
    lambda e: sp.expand(sp.expand_log(e)),
    lambda e: sp.factor(sp.expand(e)),
    lambda e: sp.expand(e.replace(sp.Abs, lambda arg: sp.Abs(sp.factor(arg)))),
    lambda e: sp.expand(e.replace(sp.Abs, lambda arg: sp.Mul(*[sp.Abs(f) for f in sp.Mul.make_args(arg)]))),
    lambda e: sum_simplify(sp.expand(e)),
)


@dataclass(frozen=True)
class Step:
    lhs: sp.Expr
    relation: str
    rhs: sp.Expr
    reason: str
    numeric_test: str | None = None
    rewrites: Sequence[Callable[[sp.Expr], sp.Expr]] = field(default=DEFAULT_REWRITES, repr=False)

    def __post_init__(self):
        if self.relation not in RELATIONS:
            raise ValueError(f"relation {self.relation!r} is not one of {RELATIONS}")
        object.__setattr__(self, "lhs", sp.sympify(self.lhs))
        object.__setattr__(self, "rhs", sp.sympify(self.rhs))

    @property
    def symbolic(self) -> bool:
        return self.numeric_test is None

    def decide(self) -> bool | None:
        """True (proved), False (refuted) or None (undecided) for a symbolic step."""
        if not self.symbolic:
            raise ValueError("a numeric step is checked by its test, not by sympy")
        lhs, rhs = _evaluate(self.lhs), _evaluate(self.rhs)
        if self.relation == "==":
            difference = lhs - rhs
            for rewrite in self.rewrites:
                if rewrite(difference) == 0:
                    return True
            return None
        if self.relation in ("<=", "<"):
            gap = rhs - lhs
        else:
            gap = lhs - rhs
        strict = self.relation in ("<", ">")
        verdict = None
        for rewrite in self.rewrites:
            form = rewrite(gap)
            verdict = form.is_positive if strict else form.is_nonnegative
            if verdict is not None:
                return verdict
        return verdict

    def describe(self) -> str:
        kind = f"numeric: {self.numeric_test}" if self.numeric_test else "symbolic"
        return f"{sp.sstr(self.lhs)} {self.relation} {sp.sstr(self.rhs)}    [{self.reason}; {kind}]"


def _evaluate(expr: sp.Expr) -> sp.Expr:
    if expr.has(sp.Sum, sp.Limit, sp.Integral, sp.Product):
        return expr.doit()
    return expr


@dataclass(frozen=True)
class Derivation:
    """A named result: its statement, the paper reference and the chain of steps proving it."""

    name: str
    statement: str
    reference: str
    steps: tuple[Step, ...]

    def symbolic_steps(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.symbolic)

    def numeric_steps(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if not s.symbolic)

    def report(self) -> str:
        lines = [f"{self.name}: {self.statement}  ({self.reference})"]
        lines += [f"  {i}. {step.describe()}" for i, step in enumerate(self.steps, 1)]
        return "\n".join(lines)


def numeric(statement: str, reason: str, test: str) -> Step:
    """A step that sympy cannot state (an inequality between expectations over a random pair):
    the statement is recorded as text and checked by the named test on exact ground truth."""
    return Step(sp.Symbol(statement), "==", sp.Symbol(statement), reason, numeric_test=test)
