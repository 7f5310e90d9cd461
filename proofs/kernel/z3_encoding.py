"""The z3 encoding: sympy (in)equalities as z3 nonlinear real arithmetic, with auxiliary variables and
their defining constraints for sqrt, powers, min, max, abs, exp and log; the :class:`Z3` justification."""
from __future__ import annotations

from typing import Mapping, Sequence

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p
from sympy.core.function import AppliedUndef

from proofs.kernel import z3_axioms as ax
from proofs.kernel.base import (Z3_TIMEOUT_MS, Context, DerivationError, Fact, Justification, Outcome, relational,
                                show)


class Unsupported(Exception):
    pass


class _Encoder:
    """sympy → z3 reals, with auxiliary variables and their defining constraints (each construct's from its
    function in :mod:`proofs.kernel.z3_axioms`)."""

    def __init__(self):
        import z3

        self.z3 = z3
        self.atoms: dict = {}
        self.defs: list = []
        self.domain: list = []
        self.cache: dict = {}
        self.exps: list = []          # (argument, variable) for exp
        self.logs: list = []          # (argument, variable) for log
        self.powers: list = []        # (base, exponent, variable) for symbolic exponents

    def fresh(self, prefix="a"):
        return self.z3.Real(f"{prefix}{len(self.atoms) + len(self.cache)}_{id(self) % 9973}")

    def atom(self, e):
        if e not in self.atoms:
            v = self.z3.Real(f"x{len(self.atoms)}")
            self.atoms[e] = v
            self.add(ax.sign_axioms(e, v))
        return self.atoms[e]

    def add(self, axioms: ax.Axioms) -> None:
        self.defs += axioms.defs
        self.domain += axioms.domain

    def enc(self, e):
        if e in self.cache:
            return self.cache[e]
        out = self._enc(e)
        self.cache[e] = out
        return out

    def _enc(self, e):
        z3 = self.z3
        if e.is_Integer:
            return z3.RealVal(int(e))
        if e.is_Rational:
            return z3.Q(int(e.p), int(e.q))
        if e.is_Number or e in (sp.oo, -sp.oo, sp.zoo, sp.nan, sp.I) or e.has(sp.I):
            raise Unsupported(f"constant {e}")
        if e.is_Symbol or isinstance(e, (AppliedUndef, sp.Sum, sp.Product, sp.Integral, sp.Indexed)):
            return self.atom(e)
        if e.is_Add:
            return sum((self.enc(a) for a in e.args[1:]), self.enc(e.args[0]))
        if e.is_Mul:
            out = self.enc(e.args[0])
            for a in e.args[1:]:
                out = out * self.enc(a)
            return out
        if isinstance(e, sp.exp) or (e.is_Pow and e.base == sp.E):
            return self._exp(e.args[0] if isinstance(e, sp.exp) else e.exp)
        if e.is_Pow:
            return self._pow(e.base, e.exp)
        if isinstance(e, sp.log):
            if len(e.args) != 1:
                raise Unsupported("log with a base")
            return self._log(e.args[0])
        if isinstance(e, expm1):
            return self._exp(e.args[0]) - 1
        if isinstance(e, log1p):
            return self._log(1 + e.args[0])
        if isinstance(e, (sp.Min, sp.Max)):
            args = [self.enc(a) for a in e.args]
            m = self.fresh("m")
            self.add(ax.min_axioms(m, args) if isinstance(e, sp.Min) else ax.max_axioms(m, args))
            return m
        if isinstance(e, sp.Abs):
            x = self.enc(e.args[0])
            a = self.fresh("abs")
            self.add(ax.abs_axioms(x, a))
            return a
        raise Unsupported(f"{type(e).__name__}: {show(e)}")

    def _pow(self, base, exp):
        z3 = self.z3
        if exp.is_Integer:
            n = int(exp)
            b = self.enc(base)
            if n >= 0:
                out = z3.RealVal(1)
                for _ in range(n):
                    out = out * b
                return out
            r = self.fresh("inv")
            pos = self._pow(base, sp.Integer(-n))
            self.add(ax.reciprocal_axioms(b, pos, r))
            return r
        if exp.is_Rational:
            p, q = int(exp.p), int(exp.q)
            b = self.enc(base)
            root = self.fresh("root")
            self.add(ax.root_axioms(b, root, q, p))
            out = z3.RealVal(1)
            for _ in range(abs(p)):
                out = out * root
            if p < 0:
                r = self.fresh("inv")
                self.add(ax.root_reciprocal_axioms(b, out, r))
                return r
            return out
        # symbolic exponent: y = b^e for b > 0, with monotonicity and Bernoulli's inequality
        b, x = self.enc(base), self.enc(exp)
        y = self.fresh("pow")
        self.add(ax.power_axioms(b, x, y))
        for base2, exp2, y2 in self.powers:
            if base2 == base:
                shift = sp.expand(exp - exp2)
                if shift.is_Integer and abs(int(shift)) <= 4:
                    k = int(shift)
                    factor = self._pow(base, sp.Integer(abs(k)))
                    self.add(ax.power_shift_axioms(b, y, y2, k, factor))
                x2 = self.enc(exp2)
                self.add(ax.power_order_axioms(b, x, y, x2, y2))
        self.powers.append((base, exp, y))
        return y

    def _exp(self, arg):
        x = self.enc(arg)
        y = self.fresh("exp")
        self.add(ax.exp_axioms(x, y))
        for x2, y2 in self.exps:
            self.add(ax.exp_order_axioms(x, y, x2, y2))
        self.exps.append((x, y))
        return y

    def _log(self, arg):
        x = self.enc(arg)
        l = self.fresh("log")
        self.add(ax.log_axioms(x, l))
        for x2, l2 in self.logs:
            self.add(ax.log_order_axioms(x, l, x2, l2))
        self.logs.append((x, l))
        return l

    def rel(self, r):
        z3 = self.z3
        if r is sp.true:
            return z3.BoolVal(True)
        if isinstance(r, sp.And):
            return z3.And(*[self.rel(a) for a in r.args])
        if isinstance(r, sp.Or):
            return z3.Or(*[self.rel(a) for a in r.args])
        ops = {sp.Eq: lambda a, b: a == b, sp.Ne: lambda a, b: a != b, sp.Le: lambda a, b: a <= b,
               sp.Lt: lambda a, b: a < b, sp.Ge: lambda a, b: a >= b, sp.Gt: lambda a, b: a > b}
        for cls, op in ops.items():
            if isinstance(r, cls):
                return op(self.enc(r.lhs), self.enc(r.rhs))
        raise Unsupported(f"hypothesis {r}")


def _fact_relational(f: Fact):
    return relational(f.lhs, f.relation, f.rhs)


def z3_decide(ctx: Context, lhs, relation: str, rhs, using: Sequence[str] = (),
              timeout_ms: int = Z3_TIMEOUT_MS) -> tuple[bool, str]:
    """(proved, detail): hypotheses ∧ facts ∧ ¬(lhs R rhs) is unsatisfiable, every auxiliary
    definition is well defined, and z3 answered within the timeout."""
    try:
        enc, premises = _premises(ctx, using)
        z3 = enc.z3
        goal = enc.rel(relational(lhs, relation, rhs))
    except Unsupported as exc:
        return False, f"unsupported by the z3 encoding: {exc}"
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    solver.add(*premises, *enc.defs)
    if enc.domain:
        solver.push()
        solver.add(z3.Not(z3.And(*enc.domain)))
        answer = solver.check()
        solver.pop()
        if answer != z3.unsat:
            return False, f"not provably well defined (a root, logarithm or denominator): z3 {answer}"
    solver.add(z3.Not(goal))
    answer = solver.check()
    if answer == z3.unsat:
        return True, "z3: unsat"
    if answer == z3.sat:
        model = solver.model()
        shown = ", ".join(f"{show(k)} = {model.eval(v)}" for k, v in list(enc.atoms.items())[:8])
        return False, f"z3 found a counterexample: {shown}"
    return False, f"z3 undecided ({solver.reason_unknown()})"


def _premises(ctx: Context, labels: Sequence[str]):
    """A fresh encoder and the z3 encodings of the context's hypotheses and of the facts ``labels``."""
    enc = _Encoder()
    premises = [enc.rel(h) for h in ctx.hypotheses]
    premises += [enc.rel(_fact_relational(ctx.facts[name])) for name in labels]
    return enc, premises


def z3_satisfiable(ctx: Context, labels: Sequence[str], timeout_ms: int = Z3_TIMEOUT_MS) -> tuple[bool, str]:
    """The hypotheses and facts have a model (else anything would follow from them)."""
    try:
        enc, premises = _premises(ctx, labels)
        z3 = enc.z3
    except Unsupported as exc:
        return False, f"unsupported by the z3 encoding: {exc}"
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    solver.add(*premises, *enc.defs, *enc.domain)
    answer = solver.check()
    if answer == z3.sat:
        return True, "hypotheses and facts are satisfiable"
    return False, f"hypotheses and facts are {'inconsistent' if answer == z3.unsat else 'undecided'} (z3 {answer})"


class Z3(Justification):
    """The link is decided by z3: hypotheses ∧ the named facts ∧ ¬(link) is unsatisfiable. ``local`` maps labels to
    lemma instances (:class:`proofs.kernel.instances.Instance`) checked in this link's own context."""

    kind = "z3"

    def __init__(self, *using: str, local: Mapping | None = None, timeout_ms: int = Z3_TIMEOUT_MS):
        self.local = dict(local or {})
        self.using = tuple(using) + tuple(self.local)
        self.timeout_ms = timeout_ms

    def describe(self) -> str:
        return "z3" + (f" using {', '.join(self.using)}" if self.using else "")

    def check(self, ctx, lhs, relation, rhs):
        for label, inst in self.local.items():      # lemma instances checked in this link's own context
            fact, _ = inst.as_fact(label, ctx)
            ctx = ctx.with_fact(fact)
        missing = [u for u in self.using if u not in ctx.facts]
        if missing:
            raise DerivationError(f"z3 link uses unknown facts {missing}")
        for name in self.using:
            f = ctx.facts[name]
            if (f.lhs, f.relation, f.rhs) == (lhs, relation, rhs):
                raise DerivationError(f"the link restates fact {name!r}: use ByLemma/Subst, not z3")
        ok, detail = z3_decide(ctx, lhs, relation, rhs, self.using, self.timeout_ms)
        facts = [ctx.facts[u] for u in self.using]
        rests = frozenset().union(*[f.rests_on for f in facts]) if facts else frozenset()
        ok = ok and all(f.verdict != "failed" for f in facts)
        tests = tuple(dict.fromkeys(t for f in facts for t in f.tests))
        return Outcome(ok, detail, rests, tests)
