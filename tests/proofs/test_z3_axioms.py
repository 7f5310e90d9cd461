"""Every defining constraint of the z3 encoding is true: each construct's constraints
(proofs/kernel/z3_axioms.py) are evaluated at the true values of the function they define (mpmath, 60 digits)
on samples of its domain, boundary points included (0, 1, tiny, huge, negative where allowed); outside the
domain the domain condition is false and every constraint holds whatever the auxiliary variable's value (it
is guarded, so it never constrains the arguments). A flipped constraint fails here; tests/proofs/
test_z3_claims.py shows the kernel refusing the false inequality such a flip would let z3 "prove".

The encoder adds no constraint other than these (test_the_encoder_adds_only_the_constructs_constraints), and
its translation of arithmetic and relations is exact (checked against sympy at rational points).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import mpmath
import pytest
import sympy as sp
import z3

from proofs.kernel import z3_axioms
from proofs.kernel.z3_axioms import CONSTRUCTS, axioms_function
from proofs.kernel.z3_encoding import _Encoder
from tests.proofs.z3_numeric import DIGITS, holds

V = {name: z3.Real(name) for name in ("b", "x", "y", "x2", "y2", "r", "m", "a", "l", "l2", "root", "pw", "v",
                                       "a0", "a1", "a2")}
b, x, y, x2, y2, r, m, a, l, l2, root, pw, v = (V[k] for k in ("b", "x", "y", "x2", "y2", "r", "m", "a", "l", "l2",
                                                                "root", "pw", "v"))
ARGS = [V["a0"], V["a1"], V["a2"]]

MP = mpmath.mpf
REALS = [0, 1, -1, 0.5, -0.5, 2, -2, 1e-12, -1e-12, 30, -30, 700, -700, 1e6, -1e6]
POSITIVE = [1e-300, 1e-12, 0.25, 0.5, 1, 2, mpmath.e, 10, 1e12, 1e300]
NONPOSITIVE = [0, -1e-300, -0.5, -1, -1e300]
BASES = [1e-300, 1e-9, 0.25, 0.5, 1, 2, 10, 1e9, 1e300]
EXPONENTS = [-3, -1, -0.5, 0, 1e-9, 0.25, 0.5, 1, 1.5, 2, 3, 10]
#: values an auxiliary variable may take where its function is undefined (its constraints must not care)
FREE_VALUES = [-7, 0, 0.5, 3]


@dataclass
class Case:
    """The arguments of one construct's axioms function and the values of every variable in them.

    domain: whether the construct is defined here (None: it has no domain condition of its own);
    free: auxiliary variables without a true value here (their constraints must hold for every value)."""

    args: tuple
    env: dict
    domain: bool | None = True
    free: tuple = ()
    label: str = field(default="")


def _power(base, exponent):
    return mpmath.power(MP(base), MP(exponent))


def _chain(var, n):
    """var·var·…·var (n factors) as the encoder builds an integer power: 1 · var · … · var."""
    out = z3.RealVal(1)
    for _ in range(n):
        out = out * var
    return out


def _sign_cases():
    n = sp.Symbol("n", integer=True, positive=True)
    k = sp.Symbol("k", integer=True, nonnegative=True)
    allowed = {
        n: [1, 2, 3, 10**9], k: [0, 1, 7], sp.Symbol("p", positive=True): [1e-300, 0.5, 1, 1e300],
        sp.Symbol("q", nonnegative=True): [0, 1e-300, 2, 1e300], sp.Symbol("g", negative=True): [-1e-300, -1, -1e300],
        sp.Symbol("h", nonpositive=True): [0, -1e-300, -3], sp.Symbol("s", real=True): REALS,
        sp.Function("F", positive=True)(n): [1e-9, 4], sp.Sum(sp.Function("G", nonnegative=True)(n), (n, 1, k)): [0, 5],
    }
    for expr, values in allowed.items():
        for value in values:
            yield Case((expr, v), {"v": value}, None, label=f"{expr}={value}")


def _reciprocal_cases():
    for n in (1, 2, 3):
        for bv in POSITIVE + [-1e-300, -0.5, -3, -1e300]:
            yield Case((b, pw, r), {"b": bv, "pw": _power(bv, n), "r": _power(bv, -n)}, label=f"{bv}^-{n}")
        yield Case((b, pw, r), {"b": 0, "pw": 0}, False, ("r",), label=f"0^-{n}")


def _root_cases():
    for q, p in ((2, 1), (2, -1), (3, 1), (3, 2), (4, -3), (2, 3)):
        for bv in [0] + POSITIVE:
            yield Case((b, root, q, p), {"b": bv, "root": _power(bv, MP(1) / q)}, p > 0 or bv > 0, label=f"{bv}^({p}/{q})")
        for bv in NONPOSITIVE[1:]:
            yield Case((b, root, q, p), {"b": bv}, False, ("root",), label=f"{bv}^({p}/{q})")


def _root_reciprocal_cases():
    for p, q in ((1, 2), (3, 2), (1, 3)):
        for bv in POSITIVE:
            value = _power(bv, MP(p) / q)
            yield Case((b, pw, r), {"b": bv, "pw": value, "r": 1 / value}, None, label=f"{bv}^(-{p}/{q})")
        yield Case((b, pw, r), {"b": 0, "pw": 0}, None, ("r",), label="0")
        for bv in NONPOSITIVE[1:]:
            yield Case((b, pw, r), {"b": bv}, None, ("pw", "r"), label=f"{bv}")


def _power_cases():
    for bv, xv in itertools.product(BASES, EXPONENTS):
        yield Case((b, x, y), {"b": bv, "x": xv, "y": _power(bv, xv)}, label=f"{bv}^{xv}")
    for bv, xv in itertools.product(NONPOSITIVE, [-1, 0, 0.5, 2]):
        yield Case((b, x, y), {"b": bv, "x": xv}, False, ("y",), label=f"{bv}^{xv}")


def _power_shift_cases():
    for bv, xv, k in itertools.product(BASES, [-0.5, 0, 1.5], range(-4, 5)):
        yield Case((b, y, y2, k, _chain(b, abs(k))), {"b": bv, "y": _power(bv, xv), "y2": _power(bv, xv - k)}, None,
                   label=f"{bv}^{xv} vs ^{xv - k}")
    for bv, k in itertools.product(NONPOSITIVE, (-2, 0, 3)):
        yield Case((b, y, y2, k, _chain(b, abs(k))), {"b": bv}, None, ("y", "y2"), label=f"{bv}, k={k}")


def _power_order_cases():
    for bv, (xv, x2v) in itertools.product(BASES, itertools.product([-1, 0, 0.5, 2], repeat=2)):
        yield Case((b, x, y, x2, y2), {"b": bv, "x": xv, "y": _power(bv, xv), "x2": x2v, "y2": _power(bv, x2v)}, None,
                   label=f"{bv}^{xv} vs ^{x2v}")
    for bv in NONPOSITIVE:
        yield Case((b, x, y, x2, y2), {"b": bv, "x": 0, "x2": 1}, None, ("y", "y2"), label=f"{bv}")


def _exp_cases():
    for xv in REALS:
        yield Case((x, y), {"x": xv, "y": mpmath.exp(MP(xv))}, None, label=f"exp({xv})")


def _exp_order_cases():
    for xv, x2v in itertools.product([-700, -2, -1e-12, 0, 1e-12, 0.5, 2, 700], repeat=2):
        yield Case((x, y, x2, y2), {"x": xv, "y": mpmath.exp(MP(xv)), "x2": x2v, "y2": mpmath.exp(MP(x2v))}, None,
                   label=f"exp({xv}) vs exp({x2v})")


def _log_cases():
    for xv in POSITIVE:
        yield Case((x, l), {"x": xv, "l": mpmath.log(MP(xv))}, label=f"log({xv})")
    for xv in NONPOSITIVE:
        yield Case((x, l), {"x": xv}, False, ("l",), label=f"log({xv})")


def _log_order_cases():
    points = [1e-300, 0.25, 1, 2, 1e300, 0, -1]
    for xv, x2v in itertools.product(points, repeat=2):
        env, free = {"x": xv, "x2": x2v}, ()
        for name, value in (("l", xv), ("l2", x2v)):
            if value > 0:
                env[name] = mpmath.log(MP(value))
            else:
                free += (name,)
        yield Case((x, l, x2, l2), env, None, free, label=f"log({xv}) vs log({x2v})")


ARG_LISTS = [(1, 2), (2, 1), (-1, -1), (0, 1e-300), (3, -2, 5), (1e300, -1e300), (-1e-300, 0, 1e-300)]


def _min_cases():
    for values in ARG_LISTS:
        args = ARGS[:len(values)]
        yield Case((m, args), {"m": min(map(MP, values)), **{f"a{i}": vi for i, vi in enumerate(values)}}, None,
                   label=f"min{values}")


def _max_cases():
    for values in ARG_LISTS:
        args = ARGS[:len(values)]
        yield Case((m, args), {"m": max(map(MP, values)), **{f"a{i}": vi for i, vi in enumerate(values)}}, None,
                   label=f"max{values}")


def _abs_cases():
    for xv in REALS:
        yield Case((x, a), {"x": xv, "a": abs(MP(xv))}, None, label=f"|{xv}|")


CASES = {"sign": _sign_cases, "reciprocal": _reciprocal_cases, "root": _root_cases,
         "root_reciprocal": _root_reciprocal_cases, "power": _power_cases, "power_shift": _power_shift_cases,
         "power_order": _power_order_cases, "exp": _exp_cases, "exp_order": _exp_order_cases, "log": _log_cases,
         "log_order": _log_order_cases, "min": _min_cases, "max": _max_cases, "abs": _abs_cases}


def test_every_construct_has_numeric_cases():
    assert set(CASES) == set(CONSTRUCTS)


def check_axioms(construct: str) -> int:
    """Assert every constraint of ``construct`` at every case; return the number of (constraint, case) checks."""
    function = axioms_function(construct)
    checked = 0
    with mpmath.workdps(DIGITS):               # the true values, to the evaluator's precision
        cases = list(CASES[construct]())
    for case in cases:
        axioms = function(*case.args)
        if case.domain is None:
            assert axioms.domain == (), f"{construct}: has no domain condition of its own"
        else:
            inside = all(holds(d, case.env) for d in axioms.domain)
            assert inside == case.domain, (
                f"{construct} at {case.label}: the domain condition {list(axioms.domain)} says "
                f"{'defined' if inside else 'undefined'}, the function is {'defined' if case.domain else 'undefined'}")
        for values in itertools.product(FREE_VALUES, repeat=len(case.free)):
            env = {**case.env, **dict(zip(case.free, values))}
            for constraint in axioms.defs:
                assert holds(constraint, env), f"{construct} at {case.label} ({env}): {constraint} is false"
                checked += 1
    return checked


@pytest.mark.parametrize("construct", CONSTRUCTS)
def test_axioms_hold_on_numeric_samples(construct):
    assert check_axioms(construct) > 0


# --- the encoder adds nothing else, and translates arithmetic exactly

ys, zs = sp.symbols("y z", real=True)
xp = sp.Symbol("x", positive=True)
xn = sp.Symbol("w", nonnegative=True)
kn = sp.Symbol("n", integer=True, positive=True)
EVERY_CONSTRUCT = [kn + xp + xn, 1 / ys, ys ** -2, sp.sqrt(xn), xn ** sp.Rational(-3, 2), xp ** ys, xp ** (ys + 2),
                   xp ** zs, sp.exp(ys), sp.exp(2 * ys), sp.log(xp), sp.log(xp + 1), sp.Min(ys, 1, zs), sp.Max(ys, 0),
                   sp.Abs(ys - zs)]


def test_the_encoder_adds_only_the_constructs_constraints(monkeypatch):
    """Record what every axioms function returns while the encoder encodes an expression using every construct:
    the encoder's constraints and domain conditions are exactly those, in order."""
    produced = []
    for name in CONSTRUCTS:
        def recording(*args, _function=axioms_function(name), _name=name):
            out = _function(*args)
            produced.append((_name, out))
            return out
        monkeypatch.setattr(z3_axioms, f"{name}_axioms", recording)
    enc = _Encoder()
    for expr in EVERY_CONSTRUCT:
        enc.rel(sp.Le(expr, 1, evaluate=False))
    defs = [d for _, axioms in produced for d in axioms.defs]
    domain = [d for _, axioms in produced for d in axioms.domain]
    assert {name for name, _ in produced} == set(CONSTRUCTS)
    assert len(enc.defs) == len(defs) and all(p.eq(q) for p, q in zip(enc.defs, defs))
    assert len(enc.domain) == len(domain) and all(p.eq(q) for p, q in zip(enc.domain, domain))


POINT = {"x": sp.Rational(3, 2), "y": sp.Rational(-2, 5), "z": sp.Integer(7)}
px, py, pz = sp.symbols("x y z", real=True)


@pytest.mark.parametrize("expr", [px + 2 * py - sp.Rational(3, 7), px * py * pz, (px + 1) ** 3, sp.Rational(5, 3) * px ** 2 * py,
                                  (px - py) ** 4 / 7, -px + 1, (px + 2) ** 2 * py ** 3 / 5])
def test_arithmetic_is_encoded_exactly(expr):
    enc = _Encoder()
    term = enc.enc(expr)
    subs = [(var, z3.Q(int(POINT[k.name].p), int(POINT[k.name].q))) for k, var in enc.atoms.items()]
    got = z3.simplify(z3.substitute(term, *subs)) if subs else z3.simplify(term)
    want = sp.Rational(expr.subs({k: POINT[k.name] for k in expr.free_symbols}))
    assert not enc.defs and z3.is_rational_value(got), (expr, got)
    assert sp.Rational(got.numerator_as_long(), got.denominator_as_long()) == want, (expr, got, want)


@pytest.mark.parametrize("relation", [sp.Eq, sp.Ne, sp.Le, sp.Lt, sp.Ge, sp.Gt])
def test_relations_are_encoded_exactly(relation):
    for lhs, rhs in ((1, 2), (2, 1), (3, 3)):
        enc = _Encoder()
        encoded = enc.rel(sp.And(relation(px, py, evaluate=False), sp.Or(sp.Le(pz, 0), sp.Gt(pz, 0))))
        subs = [(var, z3.RealVal({"x": lhs, "y": rhs, "z": 5}[k.name])) for k, var in enc.atoms.items()]
        truth = bool(relation(sp.Integer(lhs), sp.Integer(rhs)))
        assert z3.is_true(z3.simplify(z3.substitute(encoded, *subs))) == truth, (relation, lhs, rhs)
