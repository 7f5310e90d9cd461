"""The kernel proves true inequalities about each construct of the z3 encoding and refuses false ones.

For every construct (proofs/kernel/z3_axioms.py) and every one of its defining constraints, a false claim that
only an unsound version of that constraint would let z3 "prove" (the constraint flipped, its guard dropped,
its domain widened) must be refused, and a true claim that needs the constraint must be proved. With
tests/proofs/test_z3_axioms.py (each constraint true at the true values) this makes a flipped constraint
impossible to miss: the mutation catalog (tests/mutations/catalog.py, rows ``z3_*``) flips each one and names
both tests as its killers.

A refusal is "not proved": z3 finds a counterexample, answers unknown, or the expression is not provably well
defined; a claim is proved only when z3 answers unsat. The claims go through ``z3_encoding.z3_decide`` (looked
up when called, as the Z3 justification does), and several name a "priming" hypothesis such as b^f > 0 only to
fix which of two terms is encoded first, since a pair constraint (an order or a shift) is stated from the
later term to the earlier one.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest
import sympy as sp

from proofs.kernel import Context, z3_encoding
from proofs.kernel.z3_axioms import CONSTRUCTS

y, z = sp.symbols("y z", real=True)
xp = sp.Symbol("x", positive=True)
xn = sp.Symbol("w", nonnegative=True)
n = sp.Symbol("n", integer=True, positive=True)
neg = sp.Symbol("g", negative=True)
npos = sp.Symbol("h", nonpositive=True)
e, f = sp.symbols("e f", real=True)
bp = sp.Symbol("b", positive=True)
bn = sp.Symbol("c", nonnegative=True)
cf = sp.Symbol("k", positive=True)

Le, Lt, Ge, Gt, Eq, Ne = sp.Le, sp.Lt, sp.Ge, sp.Gt, sp.Eq, sp.Ne


@dataclass(frozen=True)
class Claim:
    construct: str
    what: str
    lhs: sp.Expr
    relation: str
    rhs: sp.Expr
    true: bool
    hypotheses: tuple = ()


def claim(construct, what, lhs, relation, rhs, true, *hypotheses):
    return Claim(construct, what, sp.sympify(lhs), relation, sp.sympify(rhs), true, tuple(hypotheses))


# Each false claim names the unsound constraint that would prove it.
CLAIMS = [
    # sign assumptions of atoms
    claim("sign", "a positive integer is ≥ 1", 1, "<=", n, True),
    claim("sign", "a positive integer is ≥ 2 (v ≥ 1 → v ≥ 2)", 2, "<=", n, False),
    claim("sign", "a positive number is > 0", 0, "<", xp, True),
    claim("sign", "a positive number is ≥ 1 (v > 0 → v ≥ 1)", 1, "<=", xp, False),
    claim("sign", "a nonnegative number is ≥ 0", 0, "<=", xn, True),
    claim("sign", "a nonnegative number is > 0 (v ≥ 0 → v > 0)", 0, "<", xn, False),
    claim("sign", "a negative number is < 0", neg, "<", 0, True),
    claim("sign", "a negative number is ≤ −1 (v < 0 → v ≤ −1)", neg, "<=", -1, False),
    claim("sign", "a nonpositive number is ≤ 0", npos, "<=", 0, True),
    claim("sign", "a nonpositive number is < 0 (v ≤ 0 → v < 0)", npos, "<", 0, False),
    claim("sign", "a real number is ≥ 0 (a sign invented for a real symbol)", 0, "<=", y, False),
    # integer reciprocals 1/b^n
    claim("reciprocal", "1/x > 0 for x > 0", 0, "<", 1 / xp, True),
    claim("reciprocal", "1/x < 0 for x > 0 (r·b^n = 1 → = −1)", 1 / xp, "<", 0, False),
    claim("reciprocal", "1/x ≤ 1 for x ≥ 1", 1 / xp, "<=", 1, True, Ge(xp, 1)),
    claim("reciprocal", "1/x ≤ 1 for every x > 0", 1 / xp, "<=", 1, False),
    claim("reciprocal", "x⁻² ≤ 1 for x ≥ 1", xp ** -2, "<=", 1, True, Ge(xp, 1)),
    claim("reciprocal", "|y|/y ≤ 1 for y ≠ 0", sp.Abs(y) / y, "<=", 1, True, Ne(y, 0)),
    claim("reciprocal", "|y|/y ≤ 1 for every real y (undefined at 0: domain b ≠ 0 dropped)", sp.Abs(y) / y, "<=", 1, False),
    # roots b^(1/q) and rational powers
    claim("root", "sqrt(w) ≥ 0", 0, "<=", sp.sqrt(xn), True),
    claim("root", "sqrt(w) ≤ 0 for every w ≥ 0 (root ≥ 0 → root ≤ 0)", sp.sqrt(xn), "<=", 0, False),
    claim("root", "sqrt(w) ≤ (1 + w)/2", sp.sqrt(xn), "<=", (1 + xn) / 2, True),
    claim("root", "sqrt(w) ≥ w for every w ≥ 0", xn, "<=", sp.sqrt(xn), False),
    claim("root", "sqrt(w) ≤ w for every w ≥ 0", sp.sqrt(xn), "<=", xn, False),
    claim("root", "sqrt(w) ≥ w for 0 ≤ w ≤ 1", xn, "<=", sp.sqrt(xn), True, Le(xn, 1)),
    claim("root", "w^(3/2) ≤ w for every w ≥ 0", xn ** sp.Rational(3, 2), "<=", xn, False),
    claim("root", "w^(1/3) ≤ 1 for w ≤ 1", xn ** sp.Rational(1, 3), "<=", 1, True, Le(xn, 1)),
    claim("root", "w^(1/3) = w/2 + 1/2 (root^q = b → another power)", xn ** sp.Rational(1, 3), "=", xn / 2 + sp.Rational(1, 2), False),
    claim("root", "sqrt(y) ≤ sqrt(y) + 1 for every real y (undefined below 0: the guard b ≥ 0 dropped)",
          sp.sqrt(y), "<=", sp.sqrt(y) + 1, False),
    claim("root", "min(w, 1)·w^(−1/2) ≥ 0 for every w ≥ 0 (undefined at 0: domain b > 0 widened to b ≥ 0)",
          0, "<=", sp.Min(xn, 1) * xn ** sp.Rational(-1, 2), False),
    claim("root", "min(x, 1)·x^(−1/2) ≥ 0 for x > 0", 0, "<=", sp.Min(xp, 1) * xp ** sp.Rational(-1, 2), True),
    # reciprocals of rational powers b^(−p/q)
    claim("root_reciprocal", "x^(−1/2) > 0", 0, "<", xp ** sp.Rational(-1, 2), True),
    claim("root_reciprocal", "x^(−1/2) = x^(1/2) (r·b^(p/q) = 1 → r = b^(p/q))", xp ** sp.Rational(-1, 2), "=",
          sp.sqrt(xp), False),
    claim("root_reciprocal", "x^(−1/2) ≤ 1 for x ≥ 1", xp ** sp.Rational(-1, 2), "<=", 1, True, Ge(xp, 1)),
    claim("root_reciprocal", "x^(−3/2) ≤ 0 (r·b^(p/q) = 1 → = −1)", xp ** sp.Rational(-3, 2), "<=", 0, False),
    claim("root_reciprocal", "min(w, 1)·w^(−1/2) ≥ 0 for every w ≥ 0 (undefined at 0: r·b^(p/q) = 1 asserted at b = 0 "
          "makes b = 0 impossible)", 0, "<=", sp.Min(xn, 1) * xn ** sp.Rational(-1, 2), False),
    # powers b^x with a symbolic exponent
    claim("power", "b^e > 0", 0, "<", bp ** e, True),
    claim("power", "b^e ≥ 1 for every b > 0 (y > 0 → y ≥ 1)", 1, "<=", bp ** e, False),
    claim("power", "b^e ≥ 1 for b ≥ 1, e ≥ 0", 1, "<=", bp ** e, True, Ge(bp, 1), Ge(e, 0)),
    claim("power", "b^e ≤ 1 for b ≥ 1, e ≥ 0 (y ≥ 1 → y ≤ 1)", bp ** e, "<=", 1, False, Ge(bp, 1), Ge(e, 0)),
    claim("power", "b^e ≤ 1 for b ≤ 1, e ≥ 0", bp ** e, "<=", 1, True, Le(bp, 1), Ge(e, 0)),
    claim("power", "b^e ≥ 1 for b ≤ 1, e ≥ 0 (y ≤ 1 → y ≥ 1)", 1, "<=", bp ** e, False, Le(bp, 1), Ge(e, 0)),
    claim("power", "b^e = 1 at e = 0", bp ** e, "=", 1, True, Eq(e, 0)),
    claim("power", "b^e = b at e = 0 (y = 1 → y = b)", bp ** e, "=", bp, False, Eq(e, 0)),
    claim("power", "Bernoulli: b^e ≥ 1 + e(b − 1) for e ≥ 1", 1 + e * (bp - 1), "<=", bp ** e, True, Ge(e, 1)),
    claim("power", "b^e ≤ 1 + e(b − 1) for e ≥ 1 (Bernoulli flipped)", bp ** e, "<=", 1 + e * (bp - 1), False, Ge(e, 1)),
    claim("power", "b^e ≤ 1 + e(b − 1) for 0 ≤ e ≤ 1", bp ** e, "<=", 1 + e * (bp - 1), True, Ge(e, 0), Le(e, 1)),
    claim("power", "b^e ≥ 1 + e(b − 1) for 0 ≤ e ≤ 1 (reverse Bernoulli flipped)", 1 + e * (bp - 1), "<=", bp ** e,
          False, Ge(e, 0), Le(e, 1)),
    claim("power", "min(c, 1)·c^e ≥ 0 for every c ≥ 0 (undefined at 0: domain b > 0 widened)", 0, "<=",
          sp.Min(bn, 1) * bn ** e, False),
    # two powers of one base whose exponents differ by an integer
    claim("power_shift", "b^e ≤ b^(e+1) for b ≥ 1", bp ** e, "<=", bp ** (e + 1), True, Ge(bp, 1)),
    claim("power_shift", "b^(e+1) ≤ b^e for b > 1 (y = y2·b^k with the roles swapped)", bp ** (e + 1), "<=", bp ** e,
          False, Gt(bp, 1)),
    claim("power_shift", "b^e ≤ b^(e−2) for b > 1 (k < 0, roles swapped)", bp ** e, "<=", bp ** (e - 2), False, Gt(bp, 1)),
    claim("power_shift", "b^(e+1) = k·b^e where k = b", bp ** (e + 1), "=", cf * bp ** e, True, Eq(cf, bp)),
    claim("power_shift", "b^(e+1) = k·b^e where k = b² (the factor b^|k| → b^(|k|+1))", bp ** (e + 1), "=", cf * bp ** e,
          False, Eq(cf, bp ** 2)),
    claim("power_shift", "b^(e+1) ≥ b^e/2 for b ≥ 1/2", bp ** e / 2, "<=", bp ** (e + 1), True, Ge(bp, sp.Rational(1, 2))),
    claim("power_shift", "b^(e+1) ≤ b^e for b ≥ 1/2 (false at b = 2)", bp ** (e + 1), "<=", bp ** e, False,
          Ge(bp, sp.Rational(1, 2))),
    # two powers of one base, ordered as their exponents
    claim("power_order", "b^e ≤ b^f for b ≥ 1, e ≤ f", bp ** e, "<=", bp ** f, True, Ge(bp, 1), Le(e, f)),
    claim("power_order", "b^e ≤ b^f for every b > 0, e ≤ f (false for b < 1: guard b ≥ 1 dropped)", bp ** e, "<=",
          bp ** f, False, Le(e, f)),
    claim("power_order", "b^e ≤ b^f for every b > 0, e ≤ f, b^f encoded first (guard b ≥ 1 dropped)", bp ** e, "<=",
          bp ** f, False, Gt(bp ** f, 0, evaluate=False), Le(e, f)),
    claim("power_order", "b^f ≤ b^e for b ≥ 1, e ≤ f (flipped)", bp ** f, "<=", bp ** e, False, Ge(bp, 1), Le(e, f)),
    claim("power_order", "b^f ≤ b^e for b ≥ 1, e ≤ f, b^e encoded first (flipped)", bp ** f, "<=", bp ** e, False,
          Gt(bp ** e, 0, evaluate=False), Ge(bp, 1), Le(e, f)),
    # exp
    claim("exp", "exp(y) > 0", 0, "<", sp.exp(y), True),
    claim("exp", "exp(y) ≥ 1 for every y (y > 0 → y ≥ 1)", 1, "<=", sp.exp(y), False),
    claim("exp", "exp(y) ≥ 1 + y", 1 + y, "<=", sp.exp(y), True),
    claim("exp", "exp(y) ≤ 1 + y (flipped)", sp.exp(y), "<=", 1 + y, False),
    claim("exp", "exp(y) = 1 at y = 0", sp.exp(y), "=", 1, True, Eq(y, 0)),
    claim("exp", "exp(y) = 2 at y = 0", sp.exp(y), "=", 2, False, Eq(y, 0)),
    claim("exp", "exp(y) ≤ 1 for y ≤ 0", sp.exp(y), "<=", 1, True, Le(y, 0)),
    claim("exp", "exp(y) ≤ 1 for y ≥ 0 (premise flipped)", sp.exp(y), "<=", 1, False, Ge(y, 0)),
    claim("exp", "exp(y) ≤ 1/2 for y ≤ 0", sp.exp(y), "<=", sp.Rational(1, 2), False, Le(y, 0)),
    claim("exp", "expm1(y) ≥ y", y, "<=", sp.exp(y) - 1, True),
    # exp is increasing
    claim("exp_order", "exp(y) ≤ exp(z) for y ≤ z", sp.exp(y), "<=", sp.exp(z), True, Le(y, z)),
    claim("exp_order", "exp(z) ≤ exp(y) for y ≤ z (flipped)", sp.exp(z), "<=", sp.exp(y), False, Le(y, z)),
    claim("exp_order", "exp(z) ≤ exp(y) for y ≤ z, exp(y) encoded first (flipped)", sp.exp(z), "<=", sp.exp(y), False,
          Gt(sp.exp(y), 0, evaluate=False), Le(y, z)),
    # log
    claim("log", "log(x) ≤ x − 1", sp.log(xp), "<=", xp - 1, True),
    claim("log", "log(x) ≥ x − 1 (flipped)", xp - 1, "<=", sp.log(xp), False),
    claim("log", "log(x) ≥ 1 − 1/x", 1 - 1 / xp, "<=", sp.log(xp), True),
    claim("log", "x·log(x) ≤ x − 1 (l·x ≥ x − 1 flipped)", xp * sp.log(xp), "<=", xp - 1, False),
    claim("log", "log(x) = 0 at x = 1", sp.log(xp), "=", 0, True, Eq(xp, 1)),
    claim("log", "log(x) = 1 at x = 1", sp.log(xp), "=", 1, False, Eq(xp, 1)),
    claim("log", "log(x) ≥ 0 for x ≥ 1", 0, "<=", sp.log(xp), True, Ge(xp, 1)),
    claim("log", "log(x) ≥ 0 for x ≤ 1 (premise flipped)", 0, "<=", sp.log(xp), False, Le(xp, 1)),
    claim("log", "log(x) ≤ 0 for x ≤ 1", sp.log(xp), "<=", 0, True, Le(xp, 1)),
    claim("log", "log(x) ≤ 0 for x ≥ 1 (premise flipped)", sp.log(xp), "<=", 0, False, Ge(xp, 1)),
    claim("log", "w·log(w) ≤ 0 for 0 < w ≤ 1", xn * sp.log(xn), "<=", 0, True, Gt(xn, 0), Le(xn, 1)),
    claim("log", "w·log(w) ≤ 0 for 0 ≤ w ≤ 1 (undefined at 0: domain x > 0 widened)", xn * sp.log(xn), "<=", 0, False,
          Le(xn, 1)),
    # log is increasing
    claim("log_order", "log(x) ≤ log(x + y) for y ≥ 0", sp.log(xp), "<=", sp.log(xp + y), True, Ge(y, 0)),
    claim("log_order", "log(x + y) ≤ log(x) for y ≥ 0 (flipped)", sp.log(xp + y), "<=", sp.log(xp), False, Ge(y, 0)),
    claim("log_order", "log(x + y) ≤ log(x) for y ≥ 0, log(x) encoded first (flipped)", sp.log(xp + y), "<=",
          sp.log(xp), False, Le(sp.log(xp), xp, evaluate=False), Ge(y, 0)),
    # min, max, abs
    claim("min", "min(y, z) ≤ y", sp.Min(y, z), "<=", y, True),
    claim("min", "min(y, z) ≥ y (m ≤ a → m ≥ a)", y, "<=", sp.Min(y, z), False),
    claim("min", "min(y, z) = y (m equals one argument → all)", sp.Min(y, z), "=", y, False),
    claim("min", "min(1, y, z) ≤ 1", sp.Min(1, y, z), "<=", 1, True),
    claim("max", "max(y, z) ≥ y", y, "<=", sp.Max(y, z), True),
    claim("max", "max(y, z) ≤ y (m ≥ a → m ≤ a)", sp.Max(y, z), "<=", y, False),
    claim("max", "max(y, z) = y (m equals one argument → all)", sp.Max(y, z), "=", y, False),
    claim("max", "max(0, y) ≤ |y|", sp.Max(0, y), "<=", sp.Abs(y), True),
    claim("abs", "y ≤ |y|", y, "<=", sp.Abs(y), True),
    claim("abs", "|y| ≤ y (a ≥ x → a ≤ x)", sp.Abs(y), "<=", y, False),
    claim("abs", "|y| ≤ −y (a ≥ −x → a ≤ −x)", sp.Abs(y), "<=", -y, False),
    claim("abs", "|y| = y (a equals x or −x → both)", sp.Abs(y), "=", y, False),
    claim("abs", "|y + z| ≤ |y| + |z|", sp.Abs(y + z), "<=", sp.Abs(y) + sp.Abs(z), True),
]

#: Per-claim z3 timeout (milliseconds): every claim here is decided in well under it.
TIMEOUT_MS = 3000


def decide(c: Claim) -> tuple[bool, str]:
    return z3_encoding.z3_decide(Context(c.hypotheses), c.lhs, c.relation, c.rhs, timeout_ms=TIMEOUT_MS)


def check_claims(construct: str) -> int:
    """Assert every claim of ``construct``: the true ones proved, the false ones refused."""
    rows = [c for c in CLAIMS if c.construct == construct]
    for c in rows:
        proved, detail = decide(c)
        if c.true:
            assert proved, f"{construct}: the true claim '{c.what}' is not proved ({detail})"
        else:
            assert not proved, f"{construct}: the false claim '{c.what}' is proved: an unsound constraint"
    return len(rows)


def test_every_construct_has_true_and_false_claims():
    for construct in CONSTRUCTS:
        rows = [c for c in CLAIMS if c.construct == construct]
        assert any(c.true for c in rows) and any(not c.true for c in rows), construct


@pytest.mark.parametrize("construct", CONSTRUCTS)
def test_claims(construct):
    assert check_claims(construct) > 0
