"""Equalities by named, targeted sympy transforms (never a blanket simplify), and inequalities from sympy's
sign facts: the :class:`Transform` catalogue and the :class:`Rewrite` and :class:`Sign` justifications."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p
from sympy.core.function import AppliedUndef

from proofs.kernel.base import Context, DerivationError, Justification, Outcome, show



@dataclass(frozen=True)
class Transform:
    """A named, equivalence-preserving rewrite of an expression (the only rewrites the kernel runs)."""

    name: str
    fn: Callable[[sp.Expr, "Context"], sp.Expr] = field(repr=False, compare=False)

    def __call__(self, expr: sp.Expr, ctx: "Context") -> sp.Expr:
        return self.fn(expr, ctx)


def _simple_limits(expr) -> bool:
    return isinstance(expr, (sp.Sum, sp.Product)) and len(expr.limits) == 1


def _empty_value(e):
    """0 for an empty sum, 1 for an empty product (upper limit = lower limit − 1), else None."""
    (var, lo, hi), = e.limits
    if sp.expand(hi - lo + 1) == 0:
        return sp.Integer(0) if isinstance(e, sp.Sum) else sp.Integer(1)
    return None


def _peel(upper):
    """Σ_{s=a}^{u} f = Σ_{s=a}^{u−1} f + f(u) and Π_{s=a}^{u} f = Π_{s=a}^{u−1} f · f(u) for the sums and
    products whose upper limit is ``upper`` (valid for every u under sympy's Karr convention); sums
    and products over an empty range met on the way become 0 and 1."""
    upper = sp.sympify(upper)

    def visit(e):
        if _simple_limits(e):
            empty = _empty_value(e)
            if empty is not None:
                return empty
            (var, lo, hi), = e.limits
            if hi == upper:
                rest = visit(e.func(e.function, (var, lo, hi - 1)))
                last = visit(e.function.xreplace({var: hi}))
                return rest + last if isinstance(e, sp.Sum) else rest * last
        if e.args and not e.is_Atom:
            new = [visit(a) for a in e.args]
            return e.func(*new) if any(x is not y for x, y in zip(new, e.args)) else e
        return e

    return Transform(f"peel(upper={show(upper)})", lambda expr, ctx: visit(expr))


def _empty(expr, ctx):
    return expr.replace(lambda e: _simple_limits(e) and _empty_value(e) is not None, _empty_value)


def _limits(expr, ctx):
    """Evaluate every Limit object with sympy's limit (Gruntz)."""
    return expr.replace(lambda e: isinstance(e, sp.Limit), lambda e: sp.limit(*e.args))


def _split_at(var, point):
    """Σ_{s=a}^{b} f = Σ_{s=a}^{m} f + Σ_{s=m+1}^{b} f (Karr convention: valid for every m)."""
    var, point = sp.sympify(var), sp.sympify(point)

    def fn(expr, ctx):
        def split(e):
            (v, lo, hi), = e.limits
            first, second = e.func(e.function, (v, lo, point)), e.func(e.function, (v, point + 1, hi))
            return first + second if isinstance(e, sp.Sum) else first * second

        return expr.replace(lambda e: _simple_limits(e) and e.limits[0][0] == var
                            and e.limits[0][1] != point + 1 and e.limits[0][2] != point, split)

    return Transform(f"split({show(var)} at {show(point)})", fn)


def _linear_sums(expr, ctx):
    """Linearity of finite sums: Σ (a f + b g) = a Σ f + b Σ g for a, b free of the summation variable."""

    def split(e):
        (var, lo, hi), = e.limits
        total = sp.Integer(0)
        for term in sp.Add.make_args(sp.expand_mul(e.function, deep=False)):
            const, dep = [], []
            for factor in sp.Mul.make_args(term):
                (dep if factor.has(var) else const).append(factor)
            inner = sp.Mul(*dep)
            total += sp.Mul(*const) * (sp.Sum(inner, (var, lo, hi)) if dep else sp.Sum(1, (var, lo, hi)))
        return total

    previous = None
    while previous != expr:
        previous = expr
        expr = expr.replace(lambda e: isinstance(e, sp.Sum) and len(e.limits) == 1
                            and not (e.function.is_Symbol or isinstance(e.function, AppliedUndef)
                                     or e.function == 1 or _atomic_summand(e)), split)
    return expr


def _atomic_summand(e) -> bool:
    f = e.function
    var = e.limits[0][0]
    if f.is_Add:
        return False
    return all(factor.has(var) for factor in sp.Mul.make_args(f)) and not (f.is_Mul and any(
        a.is_Add for a in f.args))


def _split_products(expr, ctx):
    """Π (f g) = Π f · Π g and Π (1/f) = 1/Π f over a finite range."""

    def split(e):
        (var, lo, hi), = e.limits
        out = sp.Integer(1)
        for factor in sp.Mul.make_args(e.function):
            base, exp = factor.as_base_exp()
            if exp.is_Integer and exp != 1 and not base.is_Number:
                out *= sp.Product(base, (var, lo, hi)) ** exp
            else:
                out *= sp.Product(factor, (var, lo, hi))
        return out

    return expr.replace(lambda e: isinstance(e, sp.Product) and len(e.limits) == 1 and (
        e.function.is_Mul or (e.function.is_Pow and e.function.exp.is_Integer)), split)


def _sum_constant(expr, ctx):
    """Σ_{s=a}^{b} c = (b − a + 1) c and Π_{s=a}^{b} c = c^(b − a + 1) for c free of s."""

    def evaluate(e):
        (var, lo, hi), = e.limits
        n = hi - lo + 1
        return n * e.function if isinstance(e, sp.Sum) else e.function ** n

    return expr.replace(lambda e: _simple_limits(e) and not e.function.has(e.limits[0][0]), evaluate)


def _numeric_limits(expr, ctx):
    """A sum or product over explicit integer limits written out term by term (an empty range gives
    0 or 1), repeated until no such sum or product is left."""

    def evaluate(e):
        (var, lo, hi), = e.limits
        terms = [e.function.xreplace({var: sp.Integer(i)}) for i in range(int(lo), int(hi) + 1)]
        return sp.Add(*terms) if isinstance(e, sp.Sum) else sp.Mul(*terms)

    def query(e):
        return (_simple_limits(e) and e.limits[0][1].is_Integer and e.limits[0][2].is_Integer
                and -1 <= int(e.limits[0][2]) - int(e.limits[0][1]) < 64)

    previous = None
    while previous != expr:
        previous, expr = expr, expr.replace(query, evaluate)
    return expr


def _faulhaber(expr, ctx):
    """Closed forms of sums of polynomials in the summation variable (sympy's summation of a polynomial)."""
    return expr.replace(lambda e: isinstance(e, sp.Sum) and len(e.limits) == 1
                        and e.function.is_polynomial(e.limits[0][0]), lambda e: e.doit())


def _exp_log_power(expr, ctx):
    """exp(a·log b) = b^a (the definition of the real power for b > 0)."""

    def power(e):
        arg = e.args[0]
        logs = [f for f in sp.Mul.make_args(arg) if isinstance(f, sp.log)]
        if len(logs) != 1:
            return e
        rest = sp.Mul(*[f for f in sp.Mul.make_args(arg) if f is not logs[0]])
        return logs[0].args[0] ** rest

    return expr.replace(lambda e: isinstance(e, sp.exp), power)


def _textbook(expr, ctx):
    """expm1(x) = exp(x) − 1 and log1p(x) = log(1 + x)."""
    return expr.replace(lambda e: isinstance(e, expm1), lambda e: sp.exp(e.args[0]) - 1).replace(
        lambda e: isinstance(e, log1p), lambda e: sp.log(1 + e.args[0]))


def _unfold(*names):
    def fn(expr, ctx):
        chosen = ctx.definitions if not names else {k: v for k, v in ctx.definitions.items()
                                                    if show(k) in names or k in names}
        if names and not chosen:
            raise DerivationError(f"unfold: no definition named {names}")
        return expr.xreplace(chosen)

    return Transform("unfold(" + ", ".join(map(show, names)) + ")" if names else "unfold", fn)


def _reindex(var, shift):
    """Σ_{s=a}^{b} f(s) = Σ_{s=a+k}^{b+k} f(s − k)."""
    var, shift = sp.sympify(var), sp.sympify(shift)

    def fn(expr, ctx):
        def move(e):
            (v, lo, hi), = e.limits
            return e.func(e.function.xreplace({v: v - shift}), (v, lo + shift, hi + shift))

        return expr.replace(lambda e: _simple_limits(e) and e.limits[0][0] == var, move)

    return Transform(f"reindex({show(var)} by {show(shift)})", fn)


def _reverse(var, total):
    """Σ_{s=a}^{b} f(s) = Σ_{s=N−b}^{N−a} f(N − s)."""
    var, total = sp.sympify(var), sp.sympify(total)

    def fn(expr, ctx):
        def flip(e):
            (v, lo, hi), = e.limits
            return e.func(e.function.xreplace({v: total - v}), (v, total - hi, total - lo))

        return expr.replace(lambda e: _simple_limits(e) and e.limits[0][0] == var, flip)

    return Transform(f"reverse({show(var)} ↦ {show(total)} − {show(var)})", fn)


EXPAND = Transform("expand", lambda e, c: sp.expand(e))
EMPTY = Transform("empty sums and products", _empty)
LIMIT = Transform("evaluate limits (Gruntz)", _limits)
TOGETHER = Transform("together", lambda e, c: sp.together(e, deep=True))
CANCEL = Transform("cancel", lambda e, c: sp.cancel(e))
FACTOR = Transform("factor", lambda e, c: sp.factor(e))
POWSIMP = Transform("powsimp", lambda e, c: sp.powsimp(e))
POWDENEST = Transform("powdenest", lambda e, c: sp.powdenest(e))
RADSIMP = Transform("radsimp", lambda e, c: sp.radsimp(e))
EXPAND_LOG = Transform("expand_log", lambda e, c: sp.expand_log(e, force=False))
LINEAR_SUMS = Transform("linearity of finite sums", _linear_sums)
SPLIT_PRODUCTS = Transform("split products", _split_products)
SUM_CONSTANT = Transform("sum of a constant", _sum_constant)
NUMERIC_LIMITS = Transform("write out a finite sum", _numeric_limits)
FAULHABER = Transform("sum of a polynomial", _faulhaber)
EXP_LOG_POWER = Transform("exp(a log b) = b^a", _exp_log_power)
TEXTBOOK = Transform("expm1, log1p → exp, log", _textbook)
UNFOLD = _unfold()
peel = _peel
split_at = _split_at
unfold = _unfold
reindex = _reindex
reverse = _reverse


class Rewrite(Justification):
    """Equality by a pipeline of targeted transforms applied to both sides (or to their difference)."""

    kind = "rewrite"

    def __init__(self, *transforms: Transform):
        for tr in transforms:
            if not isinstance(tr, Transform):
                raise DerivationError(f"a rewrite takes kernel transforms, not {tr!r}")
        self.transforms = transforms or (EXPAND,)

    def describe(self) -> str:
        return "rewrite: " + ", ".join(t.name for t in self.transforms)

    def _run(self, e, ctx):
        for tr in self.transforms:
            e = tr(e, ctx)
        return e

    def check(self, ctx, lhs, relation, rhs):
        if relation != "=":
            return Outcome(False, "a rewrite proves equalities only")
        try:
            left, right = self._run(lhs, ctx), self._run(rhs, ctx)
        except DerivationError:
            raise
        except Exception as exc:       # a transform that sympy cannot carry out: the link is not shown
            return Outcome(False, f"{self.describe()} raised {type(exc).__name__}: {exc}")
        if left == right or left == rhs or lhs == right or self._run(lhs - rhs, ctx) == 0:
            return Outcome(True, self.describe())
        return Outcome(False, f"{self.describe()} does not reach the right side: "
                              f"{show(self._run(lhs, ctx))} vs {show(self._run(rhs, ctx))}")


class Sign(Justification):
    """rhs − lhs is nonnegative (≤) or positive (<) by sympy's assumptions, after the transforms."""

    kind = "sign"

    def __init__(self, *transforms: Transform):
        self.transforms = transforms

    def check(self, ctx, lhs, relation, rhs):
        if relation == "=":
            return Outcome(False, "sign facts prove inequalities only")
        gap = rhs - lhs
        for tr in self.transforms:
            gap = tr(gap, ctx)
        verdict = gap.is_positive if relation == "<" else gap.is_nonnegative
        if verdict is True:
            return Outcome(True, f"sympy: {show(gap)} is {'positive' if relation == '<' else 'nonnegative'}")
        return Outcome(False, f"sympy cannot show {show(gap)} {'> 0' if relation == '<' else '≥ 0'} ({verdict})")
