"""The defining constraints of the z3 encoding, one function per construct, so that each can be inspected and
tested on its own (tests/proofs/test_z3_axioms.py checks every one of them against numerics).

Every auxiliary variable the encoder (:mod:`proofs.kernel.z3_encoding`) introduces for a construct z3's
nonlinear real arithmetic lacks — a root, a power with a symbolic exponent, exp, log, min, max, abs, a
reciprocal — is tied to its arguments only by the constraints returned here, and a symbol's sympy sign
assumptions become :func:`sign_axioms`. Each function returns :class:`Axioms`:

    defs     constraints that hold at the true values (x, f(x)) wherever f is defined, and hold for every
             value of the auxiliary variable outside the domain (each is guarded by its domain), so that
             they never constrain the arguments themselves;
    domain   where the construct is defined: the kernel proves it from the hypotheses before it trusts any
             conclusion (a root of a possibly negative number, a logarithm of a possibly non-positive one,
             a possibly zero denominator is "not provably well defined").

Soundness of the kernel rests on the first property: a constraint that is false at some true value lets
z3 "prove" a false inequality. The encoder calls these functions through this module's attributes
(``z3_axioms.exp_axioms(...)``), never through copies, so a test or a mutation that replaces one reaches
the encoder. :data:`CONSTRUCTS` lists them all.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import z3


class Axioms(NamedTuple):
    """The constraints of one construct: ``defs`` (true at the true values) and ``domain`` (where defined)."""

    defs: tuple
    domain: tuple = ()


def sign_axioms(expr, v) -> Axioms:
    """The sympy sign assumptions of an atom ``expr`` (a symbol, an opaque function, a sum) on its variable v:
    a positive integer is ≥ 1; positive > 0; nonnegative ≥ 0; negative < 0; nonpositive ≤ 0; else nothing."""
    if expr.is_integer and expr.is_positive:
        return Axioms((v >= 1,))
    if expr.is_positive:
        return Axioms((v > 0,))
    if expr.is_nonnegative:
        return Axioms((v >= 0,))
    if expr.is_negative:
        return Axioms((v < 0,))
    if expr.is_nonpositive:
        return Axioms((v <= 0,))
    return Axioms(())


def reciprocal_axioms(b, positive_power, r) -> Axioms:
    """r = b^(−n) for an integer n ≥ 1, with ``positive_power`` = b^n: r·b^n = 1, defined for b ≠ 0."""
    return Axioms((z3.Implies(b != 0, r * positive_power == 1),), (b != 0,))


def root_axioms(b, root, q: int, p: int) -> Axioms:
    """root = b^(1/q) (the principal, non-negative root; b^(p/q) is a power of it): root ≥ 0 and root^q = b,
    for b ≥ 0 only; b^(p/q) is defined for b ≥ 0 when p > 0 and for b > 0 when p < 0."""
    power = root
    for _ in range(q - 1):
        power = power * root
    return Axioms((z3.Implies(b >= 0, z3.And(root >= 0, power == b)),), (b >= 0 if p > 0 else b > 0,))


def root_reciprocal_axioms(b, power, r) -> Axioms:
    """r = b^(−p/q) with ``power`` = b^(p/q), p > 0: r·b^(p/q) = 1 for b > 0 (the domain is root_axioms')."""
    return Axioms((z3.Implies(b > 0, r * power == 1),))


def power_axioms(b, x, y) -> Axioms:
    """y = b^x with a symbolic exponent x, defined for b > 0: y > 0; y ≥ 1 for b ≥ 1, x ≥ 0; y ≤ 1 for
    0 < b ≤ 1, x ≥ 0; y = 1 at x = 0; Bernoulli's inequality y ≥ 1 + x(b − 1) for x ≥ 1 and its reverse
    y ≤ 1 + x(b − 1) for 0 ≤ x ≤ 1."""
    return Axioms((z3.Implies(b > 0, y > 0),
                   z3.Implies(z3.And(b >= 1, x >= 0), y >= 1),
                   z3.Implies(z3.And(b > 0, b <= 1, x >= 0), y <= 1),
                   z3.Implies(z3.And(b > 0, x == 0), y == 1),
                   z3.Implies(z3.And(b > 0, x >= 1), y >= 1 + x * (b - 1)),
                   z3.Implies(z3.And(b > 0, x >= 0, x <= 1), y <= 1 + x * (b - 1))), (b > 0,))


def power_shift_axioms(b, y, y2, k: int, factor) -> Axioms:
    """Two powers of one base whose exponents differ by the integer k (y = b^x, y2 = b^(x − k)), with
    ``factor`` = b^|k|: y = y2·b^k for k ≥ 0 and y2 = y·b^(−k) for k < 0, for b > 0."""
    return Axioms((z3.Implies(b > 0, y == y2 * factor if k >= 0 else y2 == y * factor),))


def power_order_axioms(b, x, y, x2, y2) -> Axioms:
    """Two powers of one base b ≥ 1 (y = b^x, y2 = b^x2) are ordered as their exponents."""
    return Axioms((z3.Implies(z3.And(b >= 1, x <= x2), y <= y2), z3.Implies(z3.And(b >= 1, x >= x2), y >= y2)))


def exp_axioms(x, y) -> Axioms:
    """y = exp(x): y > 0; y ≥ 1 + x; y = 1 at x = 0; y ≤ 1 for x ≤ 0 (defined everywhere)."""
    return Axioms((y > 0, y >= 1 + x, z3.Implies(x == 0, y == 1), z3.Implies(x <= 0, y <= 1)))


def exp_order_axioms(x, y, x2, y2) -> Axioms:
    """exp is increasing: y = exp(x) and y2 = exp(x2) are ordered as x and x2."""
    return Axioms((z3.Implies(x <= x2, y <= y2), z3.Implies(x >= x2, y >= y2)))


def log_axioms(x, l) -> Axioms:
    """l = log(x), defined for x > 0: 1 − 1/x ≤ l ≤ x − 1 (as l·x ≥ x − 1); l = 0 at x = 1; l ≥ 0 for
    x ≥ 1; l ≤ 0 for 0 < x ≤ 1."""
    return Axioms((z3.Implies(x > 0, z3.And(l <= x - 1, l * x >= x - 1)), z3.Implies(x == 1, l == 0),
                   z3.Implies(x >= 1, l >= 0), z3.Implies(z3.And(x > 0, x <= 1), l <= 0)), (x > 0,))


def log_order_axioms(x, l, x2, l2) -> Axioms:
    """log is increasing on x > 0: l = log(x) and l2 = log(x2) are ordered as x and x2."""
    return Axioms((z3.Implies(z3.And(x > 0, x <= x2), l <= l2), z3.Implies(z3.And(x2 > 0, x >= x2), l >= l2)))


def min_axioms(m, args: Sequence) -> Axioms:
    """m = min(args): m ≤ each argument and m equals one of them."""
    return Axioms(tuple(m <= a for a in args) + (z3.Or(*[m == a for a in args]),))


def max_axioms(m, args: Sequence) -> Axioms:
    """m = max(args): m ≥ each argument and m equals one of them."""
    return Axioms(tuple(m >= a for a in args) + (z3.Or(*[m == a for a in args]),))


def abs_axioms(x, a) -> Axioms:
    """a = |x|: a ≥ x, a ≥ −x and a equals x or −x."""
    return Axioms((a >= x, a >= -x, z3.Or(a == x, a == -x)))


#: Every construct the encoder defines by constraints; ``<name>_axioms`` is its function.
CONSTRUCTS = ("sign", "reciprocal", "root", "root_reciprocal", "power", "power_shift", "power_order", "exp",
              "exp_order", "log", "log_order", "min", "max", "abs")


def axioms_function(construct: str):
    """The current function of a construct (looked up by name, so a replaced one is the one returned)."""
    if construct not in CONSTRUCTS:
        raise KeyError(f"{construct!r} is not a construct of the z3 encoding: {', '.join(CONSTRUCTS)}")
    return globals()[f"{construct}_axioms"]
