"""A small proof kernel: derivations are chains e0 R1 e1 R2 … en whose every link is checked.

A :class:`Derivation` states its hypotheses (sympy assumptions on the symbols plus explicit side
conditions such as 1 ≤ t ≤ T), the facts it uses (instances of registered lemmas), optional
definitions (notation, unfolded by a rewrite), and one :class:`Chain`. Each link ``a R b`` with
R ∈ {=, ≤, <} carries exactly one justification, and the kernel checks it:

    Rewrite(*transforms)    equality by targeted sympy transforms (expand, together, cancel, powsimp,
                            peeling the last term of a sum, linearity of finite sums, …); never a
                            blanket simplify
    Z3(using=…)             (in)equality decided by z3's nonlinear real arithmetic: the hypotheses,
                            the named facts and the negation of the link must be unsatisfiable.
                            sqrt, rational and symbolic powers, min, max, abs, exp and log become
                            auxiliary variables with their defining constraints; every square root,
                            logarithm and denominator must be provably well defined; an unsupported
                            construct, a timeout or "unknown" is a failure
    Sign(*transforms)       (in)equality from sympy's sign facts on rhs − lhs
    Termwise(inner)         Σ_s f R Σ_s g from f R g under the summation range
    Congruence(inner)       F(…a…) = F(…b…) from a = b (substitution of equals)
    ByLemma(name, sub)      the link is an instance of a registered lemma (structural check; the
                            lemma's hypotheses must follow from the context)
    Subst(fact)             replace the left side of an equational fact by its right side
    Induction(n, start, base, step)   base and step are themselves checked chains; the step may use
                            the induction hypothesis as the fact "IH"

A link whose two sides are structurally identical is an error of the derivation (raised when the
link is built), and so is a link that restates a hypothesis or a fact. Verdicts: "proved" (checked,
resting only on proved lemmas), "cited" (checked, but resting on a lemma from the literature, see
:mod:`proofs.lemmas`), "failed". Nothing that rests on a citation is reported as proved.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p
from sympy.core.function import AppliedUndef

RELATIONS = ("=", "<=", "<")
KINDS = ("rewrite", "z3", "sign", "induction", "lemma", "cited")
#: Per-query z3 timeout (milliseconds); an undecided query is a failure.
Z3_TIMEOUT_MS = 4000


class DerivationError(ValueError):
    """A malformed derivation: identical sides, a restated hypothesis, a chain that does not match
    its statement, an unknown lemma or fact, a substitution outside the lemma's variables."""


# --------------------------------------------------------------------------------------------------
# relations


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


# --------------------------------------------------------------------------------------------------
# targeted transforms


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


# --------------------------------------------------------------------------------------------------
# facts, lemmas and context


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


@dataclass(frozen=True)
class StepReport:
    relation: str
    lhs: str
    rhs: str
    kind: str
    verdict: str
    test: str | None
    reason: str
    detail: str = ""
    within: str = ""
    rests_on: frozenset = frozenset()

    def to_json(self) -> dict:
        return {"relation": self.relation, "lhs": self.lhs, "rhs": self.rhs, "kind": self.kind,
                "verdict": self.verdict, "test": self.test, "reason": self.reason, "detail": self.detail,
                "within": self.within}


# --------------------------------------------------------------------------------------------------
# z3 encoding


class Unsupported(Exception):
    pass


class _Encoder:
    """sympy → z3 reals, with auxiliary variables and their defining constraints."""

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
            if e.is_integer and e.is_positive:
                self.defs.append(v >= 1)
            elif e.is_positive:
                self.defs.append(v > 0)
            elif e.is_nonnegative:
                self.defs.append(v >= 0)
            elif e.is_negative:
                self.defs.append(v < 0)
            elif e.is_nonpositive:
                self.defs.append(v <= 0)
        return self.atoms[e]

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
            for a in args:
                self.defs.append(m <= a if isinstance(e, sp.Min) else m >= a)
            self.defs.append(z3.Or(*[m == a for a in args]))
            return m
        if isinstance(e, sp.Abs):
            x = self.enc(e.args[0])
            a = self.fresh("abs")
            self.defs += [a >= x, a >= -x, z3.Or(a == x, a == -x)]
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
            self.domain.append(b != 0)
            self.defs.append(z3.Implies(b != 0, r * pos == 1))
            return r
        if exp.is_Rational:
            p, q = int(exp.p), int(exp.q)
            b = self.enc(base)
            root = self.fresh("root")
            power = root
            for _ in range(q - 1):
                power = power * root
            ok = b >= 0 if p > 0 else b > 0
            self.defs.append(z3.Implies(b >= 0, z3.And(root >= 0, power == b)))   # defined where b ≥ 0 only
            self.domain.append(ok)
            out = z3.RealVal(1)
            for _ in range(abs(p)):
                out = out * root
            if p < 0:
                r = self.fresh("inv")
                self.defs.append(z3.Implies(b > 0, r * out == 1))
                return r
            return out
        # symbolic exponent: y = b^e for b > 0, with monotonicity and Bernoulli's inequality
        b, x = self.enc(base), self.enc(exp)
        y = self.fresh("pow")
        self.domain.append(b > 0)
        self.defs += [z3.Implies(b > 0, y > 0),
                      z3.Implies(z3.And(b >= 1, x >= 0), y >= 1),
                      z3.Implies(z3.And(b > 0, b <= 1, x >= 0), y <= 1),
                      z3.Implies(z3.And(b > 0, x == 0), y == 1),
                      z3.Implies(z3.And(b > 0, x >= 1), y >= 1 + x * (b - 1)),
                      z3.Implies(z3.And(b > 0, x >= 0, x <= 1), y <= 1 + x * (b - 1))]
        for base2, exp2, y2 in self.powers:
            if base2 == base:
                shift = sp.expand(exp - exp2)
                if shift.is_Integer and abs(int(shift)) <= 4:
                    k = int(shift)
                    factor = self._pow(base, sp.Integer(abs(k)))
                    self.defs.append(z3.Implies(b > 0, y == y2 * factor if k >= 0 else y2 == y * factor))
                x2 = self.enc(exp2)
                self.defs.append(z3.Implies(z3.And(b >= 1, x <= x2), y <= y2))
                self.defs.append(z3.Implies(z3.And(b >= 1, x >= x2), y >= y2))
        self.powers.append((base, exp, y))
        return y

    def _exp(self, arg):
        z3 = self.z3
        x = self.enc(arg)
        y = self.fresh("exp")
        self.defs += [y > 0, y >= 1 + x, z3.Implies(x == 0, y == 1), z3.Implies(x <= 0, y <= 1)]
        for x2, y2 in self.exps:
            self.defs += [z3.Implies(x <= x2, y <= y2), z3.Implies(x >= x2, y >= y2)]
        self.exps.append((x, y))
        return y

    def _log(self, arg):
        z3 = self.z3
        x = self.enc(arg)
        l = self.fresh("log")
        self.domain.append(x > 0)
        self.defs += [z3.Implies(x > 0, z3.And(l <= x - 1, l * x >= x - 1)), z3.Implies(x == 1, l == 0),
                      z3.Implies(x >= 1, l >= 0), z3.Implies(z3.And(x > 0, x <= 1), l <= 0)]
        for x2, l2 in self.logs:
            self.defs += [z3.Implies(z3.And(x > 0, x <= x2), l <= l2), z3.Implies(z3.And(x2 > 0, x >= x2), l >= l2)]
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


# --------------------------------------------------------------------------------------------------
# justifications


class Justification:
    kind = "?"

    def check(self, ctx: Context, lhs, relation: str, rhs) -> Outcome:  # pragma: no cover - interface
        raise NotImplementedError

    def kind_in(self, ctx: Context) -> str:
        return self.kind

    def describe(self) -> str:
        return self.kind


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


class Z3(Justification):
    kind = "z3"

    def __init__(self, *using: str, local: Mapping[str, "Instance"] | None = None, timeout_ms: int = Z3_TIMEOUT_MS):
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


class Instance:
    """A registered lemma with its variables substituted (structurally)."""

    def __init__(self, lemma: str, sub: Mapping | None = None, reverse: bool = False):
        self.lemma_name = lemma
        self.sub = dict(sub or {})
        self.reverse = reverse

    @property
    def lemma(self):
        from proofs.lemmas import LEMMAS

        if self.lemma_name not in LEMMAS:
            raise DerivationError(f"unknown lemma {self.lemma_name!r}")
        return LEMMAS[self.lemma_name]

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

    def __init__(self, var: sp.Symbol, start, base: "Chain", step: "Chain"):
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


# --------------------------------------------------------------------------------------------------
# chains and derivations


@dataclass(frozen=True)
class Link:
    lhs: sp.Expr
    relation: str
    rhs: sp.Expr
    by: Justification
    reason: str = ""

    def __post_init__(self):
        if self.relation not in RELATIONS:
            raise DerivationError(f"relation {self.relation!r} is not one of {RELATIONS}")
        if not isinstance(self.by, Justification):
            raise DerivationError(f"a link needs a kernel justification, got {self.by!r}")
        if self.lhs == self.rhs:
            raise DerivationError(f"a link with identical sides proves nothing: {show(self.lhs)} "
                                  f"({self.reason or self.by.describe()})")


class Chain:
    """e0 R1 e1 R2 … en, each link with one justification."""

    def __init__(self, start):
        self.start = sp.sympify(start)
        self.links: list[Link] = []
        self.rests: frozenset = frozenset()

    @property
    def last(self):
        return self.links[-1].rhs if self.links else self.start

    @property
    def relation(self) -> str:
        rel = "="
        for link in self.links:
            rel = compose(rel, link.relation)
        return rel

    def _add(self, relation, expr, by, reason):
        self.links.append(Link(self.last, relation, sp.sympify(expr), by, reason))
        return self

    def eq(self, expr, by: Justification, reason: str = "") -> "Chain":
        return self._add("=", expr, by, reason)

    def le(self, expr, by: Justification, reason: str = "") -> "Chain":
        return self._add("<=", expr, by, reason)

    def lt(self, expr, by: Justification, reason: str = "") -> "Chain":
        return self._add("<", expr, by, reason)

    def check(self, ctx: Context, within: str = "") -> list[StepReport]:
        if not self.links:
            raise DerivationError("an empty chain proves nothing")
        reports, rests = [], frozenset()
        for link in self.links:
            restated = _canonical(relational(link.lhs, link.relation, link.rhs))
            if any(_canonical(h) == restated for h in ctx.hypotheses):
                raise DerivationError(f"the link {show(link.lhs)} {link.relation} {show(link.rhs)} restates a "
                                      "hypothesis")
            out = link.by.check(ctx, link.lhs, link.relation, link.rhs)
            kind = link.by.kind_in(ctx)
            rests |= out.rests_on
            reports.append(StepReport(link.relation, show(link.lhs), show(link.rhs), kind, out.verdict,
                                      ", ".join(out.tests) or None, link.reason or link.by.describe(),
                                      out.detail, within, out.rests_on))
            reports.extend(out.substeps)
        self.rests = rests
        return reports


@dataclass
class DerivationReport:
    name: str
    statement: str
    reference: str
    verdict: str
    steps: list
    detail: str = ""
    seconds: float = 0.0
    definitions: tuple = ()
    hypotheses: tuple = ()

    @property
    def rests_on(self) -> frozenset:
        return frozenset().union(*[s.rests_on for s in self.steps]) if self.steps else frozenset()

    @property
    def tests(self) -> tuple:
        return tuple(dict.fromkeys(t for s in self.steps if s.test for t in s.test.split(", ")))

    def to_json(self) -> dict:
        return {"name": self.name, "statement": self.statement, "reference": self.reference,
                "verdict": self.verdict, "detail": self.detail, "hypotheses": list(self.hypotheses),
                "definitions": list(self.definitions), "steps": [s.to_json() for s in self.steps]}


class Derivation:
    """A named result: hypotheses, facts (lemma instances), definitions and one chain."""

    def __init__(self, name: str, statement: str, reference: str, chain: Chain, hypotheses: Sequence = (),
                 facts: Mapping[str, Instance] | None = None, definitions: Mapping | None = None):
        self.name, self.statement, self.reference = name, statement, reference
        self.chain = chain
        self.hypotheses = tuple(h for h in hypotheses if h is not sp.true)
        self.facts = dict(facts or {})
        self.definitions = dict(definitions or {})
        for h in self.hypotheses:
            if not isinstance(h, sp.Basic) or _relation_of(h) is None and not isinstance(h, (sp.Ne, sp.And)):
                raise DerivationError(f"{name}: hypothesis {h!r} is not a relation")
        conclusion = _canonical(relational(chain.start, chain.relation, chain.last))
        if any(_canonical(h) == conclusion for h in self.hypotheses):
            raise DerivationError(f"{name}: the conclusion {show(chain.start)} {chain.relation} {show(chain.last)} "
                                  "is one of the hypotheses")
        self._report: DerivationReport | None = None

    @property
    def conclusion(self) -> tuple:
        return self.chain.start, self.chain.relation, self.chain.last

    def check(self) -> DerivationReport:
        if self._report is not None:
            return self._report
        started = time.perf_counter()
        ctx = Context(self.hypotheses, {}, self.definitions)
        steps, failed, details, rests = [], False, [], frozenset()
        for label, inst in self.facts.items():
            fact, out = inst.as_fact(label, ctx)
            ctx = ctx.with_fact(fact)
            rests |= fact.rests_on
            steps.append(StepReport(fact.relation, show(fact.lhs), show(fact.rhs), fact.kind, fact.verdict,
                                    ", ".join(fact.tests) or None, f"fact {label}: {inst.lemma_name}",
                                    out.detail, "facts", fact.rests_on))
        if ctx.hypotheses or ctx.facts:          # symbol assumptions alone are always satisfiable
            ok, detail = z3_satisfiable(ctx, list(ctx.facts))
            if not ok:
                failed = True
                details.append(detail)
        steps += self.chain.check(ctx)
        rests |= self.chain.rests
        failed = failed or any(s.verdict == "failed" for s in steps)
        cited = any(s.verdict == "cited" for s in steps) or bool(rests)
        verdict = "failed" if failed else ("cited" if cited else "proved")
        self._report = DerivationReport(self.name, self.statement, self.reference, verdict, steps,
                                        "; ".join(details), time.perf_counter() - started,
                                        tuple(f"{show(k)} := {show(v)}" for k, v in self.definitions.items()),
                                        tuple(show(h) for h in self.hypotheses))
        return self._report

    def links(self) -> list[Link]:
        """Every link, those inside induction chains included."""
        out = []

        def walk(chain):
            for link in chain.links:
                out.append(link)
                if isinstance(link.by, Induction):
                    walk(link.by.base)
                    walk(link.by.step)

        walk(self.chain)
        return out


def summarise(reports: Sequence[DerivationReport]) -> dict:
    """{kind: number of links} over every step of every report, plus the verdict counts."""
    kinds = {k: 0 for k in KINDS}
    verdicts = {"proved": 0, "cited": 0, "failed": 0}
    for r in reports:
        for s in r.steps:
            kinds[s.kind] = kinds.get(s.kind, 0) + 1
            verdicts[s.verdict] += 1
    return {"kinds": kinds, "verdicts": verdicts}
