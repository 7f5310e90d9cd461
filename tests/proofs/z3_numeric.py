"""Evaluate a z3 constraint numerically: its variables replaced by high-precision numbers (mpmath, 340 digits).

Used to check each defining constraint of the z3 encoding (proofs/kernel/z3_axioms.py) at the true values of
the functions it defines (exp, log, roots, powers, …), which are irrational in general, so z3's own exact
rational evaluation cannot be used. A comparison of two numbers a, b holds up to a relative tolerance
RTOL·max(|a|, |b|) (10^−200), far below any gap a wrong constraint opens at the samples used: a ≤ b holds if
a ≤ b + tol, a = b if |a − b| ≤ tol; strict comparisons are exact. 340 digits keep 1 + (b − 1) exact for
samples as small as b = 10^−300; compute the true values under ``mpmath.workdps(DIGITS)`` too.
"""
from __future__ import annotations

from fractions import Fraction

import mpmath
import z3

DIGITS = 340
RTOL = mpmath.mpf(10) ** -200


def _close(a, b) -> bool:
    return abs(a - b) <= RTOL * max(abs(a), abs(b))


def value(expr, env: dict):
    """The number (mpmath) or truth value of a z3 expression; ``env`` maps variable names to numbers."""
    with mpmath.workdps(DIGITS):
        return compiled(expr)({k: mpmath.mpf(v) for k, v in env.items()})


def holds(constraint, env: dict) -> bool:
    out = value(constraint, env)
    if not isinstance(out, bool):
        raise TypeError(f"{constraint} is not a constraint")
    return out


def _product(values):
    out = mpmath.mpf(1)
    for v in values:
        out *= v
    return out


def _difference(values):
    out = values[0]
    for v in values[1:]:
        out -= v
    return out


_OPERATIONS = {
    z3.Z3_OP_AND: all, z3.Z3_OP_OR: any, z3.Z3_OP_IMPLIES: lambda v: (not v[0]) or v[1], z3.Z3_OP_NOT: lambda v: not v[0],
    z3.Z3_OP_EQ: lambda v: v[0] == v[1] if isinstance(v[0], bool) else _close(v[0], v[1]),
    z3.Z3_OP_DISTINCT: lambda v: not _close(v[0], v[1]),
    z3.Z3_OP_LE: lambda v: v[0] <= v[1] or _close(v[0], v[1]), z3.Z3_OP_GE: lambda v: v[0] >= v[1] or _close(v[0], v[1]),
    z3.Z3_OP_LT: lambda v: v[0] < v[1], z3.Z3_OP_GT: lambda v: v[0] > v[1],
    z3.Z3_OP_ADD: mpmath.fsum, z3.Z3_OP_MUL: _product, z3.Z3_OP_SUB: _difference, z3.Z3_OP_UMINUS: lambda v: -v[0],
    z3.Z3_OP_TO_REAL: lambda v: v[0],
}
_COMPILED: dict = {}


def compiled(e):
    """A function env → value of the z3 expression ``e`` (cached per expression: z3 shares equal terms)."""
    key = e.get_id()
    if key not in _COMPILED:
        _COMPILED[key] = (e, _compile(e))          # the expression is kept, so its id is not reused
    return _COMPILED[key][1]


def _compile(e):
    if z3.is_true(e) or z3.is_false(e):
        truth = z3.is_true(e)
        return lambda env: truth
    if z3.is_rational_value(e) or z3.is_int_value(e):
        f = Fraction(e.as_fraction()) if z3.is_rational_value(e) else Fraction(e.as_long())
        return lambda env: mpmath.mpf(f.numerator) / f.denominator
    if z3.is_const(e):
        name = e.decl().name()

        def variable(env):
            if name not in env:
                raise KeyError(f"a value for the z3 variable {name} is needed")
            return env[name]
        return variable
    kind = e.decl().kind()
    if kind not in _OPERATIONS:
        raise TypeError(f"cannot evaluate the z3 expression {e} ({e.decl().name()})")
    operation, children = _OPERATIONS[kind], [compiled(c) for c in e.children()]
    return lambda env: operation([child(env) for child in children])
