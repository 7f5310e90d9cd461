"""Justifications that reduce a link to smaller links: :class:`Termwise` (Σ f R Σ g from f R g over the
summation range) and :class:`Congruence` (F(…a…) = F(…b…) from a = b)."""
from __future__ import annotations

import sympy as sp

from proofs.kernel.base import Justification, Outcome, show


def _sum_pairs(lhs, rhs):
    """Pair the sums of two expressions by their limits; the rest must be identical."""
    def parts(e):
        sums, rest = {}, []
        for term in sp.Add.make_args(e):
            factors = sp.Mul.make_args(term)
            bodies = [f for f in factors if isinstance(f, sp.Sum) and len(f.limits) == 1]
            if len(bodies) == 1:
                coeff = sp.Mul(*[f for f in factors if f is not bodies[0]])
                sums.setdefault((bodies[0].limits, coeff), []).append(bodies[0].function)
            else:
                rest.append(term)
        return sums, sp.Add(*rest)

    (ls, lrest), (rs, rrest) = parts(lhs), parts(rhs)
    if set(ls) != set(rs) or any(len(ls[k]) != len(rs[k]) for k in ls) or lrest != rrest or not ls:
        return None
    return [(lim, coeff, a, b) for (lim, coeff) in ls for a, b in zip(ls[(lim, coeff)], rs[(lim, coeff)])]


class Termwise(Justification):
    """Σ_{s=a}^{b} f R Σ_{s=a}^{b} g because f R g for a ≤ s ≤ b (the inner justification)."""

    def __init__(self, inner: Justification):
        self.inner = inner

    def kind_in(self, ctx):
        return self.inner.kind_in(ctx)

    @property
    def kind(self):
        return self.inner.kind

    def describe(self) -> str:
        return f"termwise ({self.inner.describe()})"

    def check(self, ctx, lhs, relation, rhs):
        pairs = _sum_pairs(lhs, rhs)
        if pairs is None:
            return Outcome(False, "termwise: the two sides are not sums over the same ranges")
        rests, tests, details = frozenset(), (), []
        for limits, coeff, f, g in pairs:
            (var, lo, hi), = limits
            if f == g:
                continue
            if relation != "=" and not (coeff.is_number and coeff.is_nonnegative):
                return Outcome(False, f"termwise inequality under the factor {show(coeff)}, which is not a "
                                      "nonnegative number")
            inner_ctx = ctx.with_hypotheses(sp.Ge(var, lo), sp.Le(var, hi))
            out = self.inner.check(inner_ctx, f, relation, g)
            if not out.ok:
                return Outcome(False, f"termwise at {show(var)} ∈ [{show(lo)}, {show(hi)}]: {out.detail}")
            rests |= out.rests_on
            tests += out.tests
            details.append(out.detail)
        return Outcome(True, "termwise: " + "; ".join(details), rests, tests)


def _locate(a, b, hyps=()):
    """The single differing subterm pair of two expressions with the same shape around it."""
    if a == b:
        return None
    if type(a) is type(b) and not a.is_Atom and len(a.args) == len(b.args) and a.func == b.func:
        diffs = [i for i, (x, y) in enumerate(zip(a.args, b.args)) if x != y]
        if len(diffs) == 1:
            i = diffs[0]
            extra = ()
            if isinstance(a, (sp.Sum, sp.Product)) and i == 0:
                (var, lo, hi), = a.limits
                extra = (sp.Ge(var, lo), sp.Le(var, hi))
            return _locate(a.args[i], b.args[i], hyps + extra) or (a.args[i], b.args[i], hyps + extra)
    return a, b, hyps


class Congruence(Justification):
    """F(…a…) = F(…b…) from a = b: locate the one differing subterm and check it with ``inner``."""

    def __init__(self, inner: Justification):
        self.inner = inner

    @property
    def kind(self):
        return self.inner.kind

    def kind_in(self, ctx):
        return self.inner.kind_in(ctx)

    def describe(self) -> str:
        return f"congruence ({self.inner.describe()})"

    def check(self, ctx, lhs, relation, rhs):
        if relation != "=":
            return Outcome(False, "congruence proves equalities only")
        a, b, hyps = _locate(lhs, rhs)
        out = self.inner.check(ctx.with_hypotheses(*hyps), a, "=", b)
        return Outcome(out.ok, f"inside: {show(a)} = {show(b)}: {out.detail}", out.rests_on, out.tests)
