"""The lemma registry: lemmas cited from the literature and lemmas proved in the kernel.

A cited lemma is a probabilistic fact no solver can state (Pinsker, TV duality, data processing, the
KL chain rule, the performance difference identity, …). It carries its reference and the name of a
property test that targets the lemma itself: the test evaluates the lemma's own statement (this
registry's ``lhs``/``rhs``, via :meth:`Lemma.evaluate`) on exact quantities of random policy pairs,
with Hypothesis ``target()`` pushing toward the lemma's boundary. A cited lemma is never reported as
proved, and nothing that rests on one is either.

A derived lemma is the conclusion of a kernel derivation; its verdict is the derivation's.
Instances substitute the lemma's ``variables`` (symbols, or function classes replaced by functions);
the lemma's hypotheses, and the sign assumptions of its variables, must then follow from the context
that uses the instance.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping

import sympy as sp
from sympy.core.function import UndefinedFunction

from proofs import quantities as q
from proofs.kernel import LEMMA_TABLE, Derivation, DerivationError

CITED_TESTS = "tests/proofs/test_cited_lemmas.py"
SECOND_MOMENT_TESTS = "tests/proofs/test_second_moment_lemmas.py"


@dataclass(frozen=True)
class Lemma:
    name: str
    lhs: sp.Expr
    relation: str
    rhs: sp.Expr
    variables: tuple
    statement: str
    reference: str
    cited: bool
    test: str | None = None
    hypotheses: tuple = ()
    derivation: Derivation | None = field(default=None, compare=False, repr=False)

    def instantiate(self, expr, sub: Mapping):
        symbols = {k: sp.sympify(v) for k, v in sub.items() if not isinstance(k, UndefinedFunction)}
        out = sp.sympify(expr).xreplace(symbols) if symbols else sp.sympify(expr)
        for f, g in sub.items():
            if isinstance(f, UndefinedFunction):
                out = out.replace(f, g)
        return out

    def all_hypotheses(self) -> tuple:
        """The stated hypotheses plus the sign assumptions of the variables (which an instance must meet)."""
        signs = []
        for var in self.variables:
            if isinstance(var, sp.Symbol):
                if var.is_positive:
                    signs.append(sp.Gt(var, 0, evaluate=False))
                elif var.is_nonnegative:
                    signs.append(sp.Ge(var, 0, evaluate=False))
        return tuple(signs) + tuple(self.hypotheses)

    def status(self) -> tuple[str, frozenset, tuple]:
        """(verdict, cited lemmas it rests on, their tests)."""
        if self.cited:
            return "cited", frozenset({self.name}), (self.test,) if self.test else ()
        if self.derivation is None:
            return "failed", frozenset(), ()
        report = self.derivation.check()
        return report.verdict, report.rests_on, report.tests

    # -- numeric evaluation, for the tests that target cited lemmas

    def evaluate(self, **values) -> tuple:
        """(lhs, rhs) of the lemma's own statement at numeric values: every free symbol and every opaque
        function of the statement by name (a float or array for a symbol, a callable for a function;
        a function such as E_roll receives the array of its argument over sequences)."""
        return numeric_value(self.lhs, values), numeric_value(self.rhs, values)

    def falsified(self) -> "Lemma":
        """A wrong version of the lemma, which the lemma's test must reject: the bound halved and lowered
        by an eighth, or the identity's right side moved by an eighth of itself plus one eighth."""
        if self.relation == "=":
            wrong = self.rhs * sp.Rational(9, 8) + sp.Rational(1, 8)
        else:
            wrong = self.rhs / 2 - sp.Rational(1, 8)
        return replace(self, rhs=wrong)


def numeric_value(expr, values: Mapping):
    """Evaluate a lemma's expression with numpy: symbols and opaque functions are looked up by name in
    ``values``; sums and products over integer ranges are carried out term by term."""
    import numpy as np

    def ev(e, env):
        if e.is_Number:
            return float(e)
        if e.is_Symbol:
            if e.name in env:
                return env[e.name]
            raise KeyError(f"a value for {e.name} is needed")
        if isinstance(e, sp.core.function.AppliedUndef):
            name = type(e).__name__
            if name not in env:
                raise KeyError(f"a function for {name} is needed")
            return env[name](*[ev(a, env) for a in e.args])
        if e.is_Add:
            return sum((ev(a, env) for a in e.args[1:]), ev(e.args[0], env))
        if e.is_Mul:
            out = ev(e.args[0], env)
            for a in e.args[1:]:
                out = out * ev(a, env)
            return out
        if e.is_Pow:
            base, exp = ev(e.base, env), ev(e.exp, env)
            return np.power(base, exp) if not isinstance(base, float) or base >= 0 or float(exp).is_integer() \
                else float("nan")
        if isinstance(e, sp.Abs):
            return np.abs(ev(e.args[0], env))
        if isinstance(e, sp.exp):
            return np.exp(ev(e.args[0], env))
        if isinstance(e, sp.log):
            return np.log(ev(e.args[0], env))
        if isinstance(e, (sp.Min, sp.Max)):
            args = [ev(a, env) for a in e.args]
            op = np.minimum if isinstance(e, sp.Min) else np.maximum
            out = args[0]
            for a in args[1:]:
                out = op(out, a)
            return out
        if isinstance(e, (sp.Sum, sp.Product)):
            (var, lo, hi), = e.limits
            lo, hi = int(round(float(ev(lo, env)))), int(round(float(ev(hi, env))))
            terms = [ev(e.function, {**env, var.name: float(i)}) for i in range(lo, hi + 1)]
            if isinstance(e, sp.Sum):
                return sum(terms[1:], terms[0]) if terms else 0.0
            out = 1.0
            for term in terms:
                out = out * term
            return out
        raise TypeError(f"cannot evaluate {type(e).__name__}: {e}")

    return ev(sp.sympify(expr), dict(values))


#: The registry: the kernel's lemma table, filled by :func:`register`, :func:`cite` and :func:`derived`.
LEMMAS: dict[str, Lemma] = LEMMA_TABLE


def register(lemma: Lemma) -> Lemma:
    if lemma.name in LEMMAS and LEMMAS[lemma.name] != lemma:
        raise DerivationError(f"lemma {lemma.name!r} is registered twice with different statements")
    LEMMAS[lemma.name] = lemma
    return lemma


def cite(name, lhs, relation, rhs, variables, statement, reference, test=None, hypotheses=()) -> Lemma:
    test = test or f"{CITED_TESTS}::test_{name}"
    return register(Lemma(name, sp.sympify(lhs), relation, sp.sympify(rhs), tuple(variables), statement,
                          reference, True, test, tuple(hypotheses)))


def derived(derivation: Derivation, variables=(), name: str | None = None) -> Lemma:
    """Register a derivation's conclusion as a lemma; its hypotheses become the lemma's."""
    lhs, relation, rhs = derivation.conclusion
    name = name or derivation.name
    existing = LEMMAS.get(name)
    if existing is not None and not existing.cited and (existing.lhs, existing.relation, existing.rhs) == (
            lhs, relation, rhs):
        return existing
    lemma = Lemma(name, lhs, relation, rhs, tuple(variables), derivation.statement, derivation.reference, False,
                  None, derivation.hypotheses, derivation)
    LEMMAS[name] = lemma
    return lemma


class DerivationList(list):
    """Derivations in dependency order, each registered as a lemma (:func:`derived`) as it is added, so
    that the derivations built after it can cite it."""

    def add(self, derivation: Derivation, variables=()) -> None:
        derived(derivation, variables)
        self.append(derivation)


def cited_lemmas() -> list[Lemma]:
    return [lemma for lemma in LEMMAS.values() if lemma.cited]


# ------------------------------------------------------------------------------------------------
# the cited lemmas (each with a targeted test)

EP, EQ = sp.symbols("EP EQ", real=True)
TV, KL, OSC, M, X, SUP = (sp.Symbol(n, nonnegative=True) for n in ("TV", "KL", "OSC", "M", "X", "SUP"))
a_, b_ = sp.symbols("a b", integer=True)
law_tv, law_kl = sp.Symbol("TV_L", nonnegative=True), sp.Symbol("KL_L", nonnegative=True)
m_ = sp.Function("m", nonnegative=True)
E_ = sp.Function("E")
Y, Z = sp.symbols("Y Z", real=True)
const = sp.Symbol("lam", real=True)
EXY, EabsX = sp.Symbol("EXY", real=True), sp.Symbol("EabsX", nonnegative=True)
chi2_max = sp.Symbol("chi2_max", nonnegative=True)
chi2_seq = sp.Symbol("chi2_seq", nonnegative=True)

cite("tv_duality", sp.Abs(EP - EQ), "<=", TV * OSC, (EP, EQ, TV, OSC),
     "|E_P f − E_Q f| ≤ TV(P, Q) · osc(f) for every bounded f",
     "Levin, Peres & Wilmer, Markov Chains and Mixing Times (2nd ed., 2017), Prop. 4.5 and Rem. 4.6")
cite("pinsker", TV, "<=", sp.sqrt(KL / 2), (TV, KL),
     "TV(P, Q) ≤ sqrt(KL(P ‖ Q)/2)",
     "Pinsker (1964); Tsybakov, Introduction to Nonparametric Estimation (2009), Lemma 2.5(i)")
cite("tv_at_most_one", TV, "<=", 1, (TV,),
     "TV(P, Q) = ½ Σ|P − Q| ≤ ½ Σ(P + Q) = 1",
     "Levin, Peres & Wilmer (2017), §4.1")
cite("bounded_by_max", M, "<=", X, (M, X),
     "a per-context quantity at a reachable context, or its mean under a law on reachable contexts, is at "
     "most its maximum over reachable contexts (δ and ε are such maxima)",
     "monotonicity of expectation; THEORY §3 (definitions of δ, ε, D̄_t)")
cite("kl_chain_rule", law_kl, "=", sp.Sum(m_(q.s), (q.s, a_, b_)), (law_kl, m_, a_, b_),
     "the KL between two autoregressive laws over positions a..b is Σ_s E_roll[D_KL(c_s)] (roll ‖ θ)",
     "Cover & Thomas, Elements of Information Theory (2006), Thm 2.5.3")
cite("coupling_recursion", law_tv, "<=", sp.Sum(m_(q.s), (q.s, a_, b_)), (law_tv, m_, a_, b_),
     "the TV between two autoregressive laws over positions a..b is at most Σ_s E_roll[D_TV(c_s)] "
     "(a maximal coupling at each step; the laws first differ at some s)",
     "Levin, Peres & Wilmer (2017), Prop. 4.7 (maximal coupling); paper, context-shift lemma")
cite("data_processing_tv", q.TV_d(q.t), "<=", q.TV_seq, (q.t,),
     "TV(d_t^θ, d_t^roll) ≤ D_TV^seq: a prefix is a function of the sequence, and TV is convex over prompts",
     "Polyanskiy & Wu, Information Theory (2024), ch. 7 (data processing for f-divergences)")
cite("seq_pinsker", q.TV_seq, "<=", sp.sqrt(q.KL_seq / 2), (),
     "D_TV^seq = E_x TV_x ≤ E_x sqrt(KL_x/2) ≤ sqrt(D_KL^seq/2) (Pinsker per prompt, then Jensen)",
     "Pinsker (1964); Jensen's inequality for the concave sqrt")
cite("performance_difference", q.Jgap, "=", sp.Sum(q.Eg_theta(q.t), (q.t, 1, q.T)), (),
     "J(π_θ) − J(π_roll) = Σ_t E_{d_t^θ}[g_t] (telescoping of E_{d_t^θ}[V_t^roll] over t)",
     "Kakade & Langford, ICML 2002, Lemma 6.1; THEORY §2")
cite("per_token_surrogate", q.Lsur, "=", sp.Sum(q.Eg_roll(q.t), (q.t, 1, q.T)), (),
     "L' = Σ_t E_{d_t^roll}[g_t] (tower property: E_roll[(ρ_t − 1) Q_t | c_t] = g_t(c_t))",
     "THEORY §2; Schulman et al., TRPO (ICML 2015), §2")
cite("advantage_as_difference", q.g(q.t, q.c), "=", q.EQ_theta(q.t, q.c) - q.EQ_roll(q.t, q.c), (q.t, q.c),
     "g_t(c) = E_{π_θ(·|c)}[Q_t(c, ·)] − E_{π_roll(·|c)}[Q_t(c, ·)], because V_t(c) = E_{π_roll}[Q_t(c, ·)]",
     "THEORY §2 (definitions of Q_t, V_t, A_t, g_t)")
cite("value_at_most_one", Y, "<=", 1, (Y,),
     "a conditional expectation of a reward in [0, 1] is at most 1 (Q_t, V_t and R itself)",
     "THEORY §1 (R ∈ [0, 1]); monotonicity of conditional expectation")
cite("value_nonnegative", 0, "<=", Y, (Y,),
     "a conditional expectation of a reward in [0, 1] is at least 0",
     "THEORY §1 (R ∈ [0, 1]); monotonicity of conditional expectation")
cite("delta_tower", q.Delta, "=", sp.Sum(q.Euh(q.t), (q.t, 1, q.T)), (),
     "Δ = Σ_t E_roll[(ρ_t − 1) h_t(c_{t+1})] with h_t = E_roll[R(1 − Π_{j>t} ρ_j) | c_{t+1}] "
     "= V^roll_{t+1} − V^θ_{t+1} (tower property, then change of measure on the future)",
     "THEORY §5 (Adaptive proof); Williams, Probability with Martingales (1991), §9.7")
cite("holder_sup", sp.Abs(EXY), "<=", EabsX * SUP, (EXY, EabsX, SUP),
     "|E[X Y]| ≤ E|X| · sup|Y| (Hölder with exponents 1 and ∞)",
     "Hölder's inequality; Folland, Real Analysis (1999), §6.1")
cite("abs_dev_is_twice_tv", q.Eabs_u(q.t), "=", 2 * q.Dbar(q.t), (q.t,),
     "E_roll|ρ_t − 1| = E_{c~d_t^roll}[Σ_v π_roll(v|c)|π_θ(v|c)/π_roll(v|c) − 1|] (tower property) "
     "= E_{c~d_t^roll}[Σ_v |π_θ(v|c) − π_roll(v|c)|] (the per-token identity abs_dev_token, proved) = 2 D̄_t",
     "THEORY §5 (Adaptive proof); Williams (1991), §9.7 (tower property)")
cite("expectation_linear", E_(const * Y), "=", const * E_(Y), (E_, const, Y),
     "an expectation is linear: E[λ Y] = λ E[Y] (and E[Y − Z] = E[Y] − E[Z], see expectation_additive)",
     "linearity of the Lebesgue integral; Williams (1991), ch. 6")
cite("expectation_additive", E_(Y) - E_(Z), "=", E_(Y - Z), (E_, Y, Z),
     "E[Y] − E[Z] = E[Y − Z] for integrable Y, Z", "linearity of the Lebesgue integral; Williams (1991), ch. 6")
cite("change_of_measure", q.Jgap, "=",
     q.E_roll(q.R * (sp.Product(q.rho(q.s), (q.s, 1, q.T)) - 1)), (q.rho,),
     "J(π_θ) − J(π_roll) = E_roll[R (Π_t ρ_t − 1)] when π_θ puts no mass where π_roll is 0 "
     "(importance weighting: P^θ(y|x)/P^roll(y|x) = Π_t ρ_t)", "THEORY §2; Radon–Nikodym on a finite set")
f_ = sp.Function("f")
N_ = sp.Symbol("N", integer=True, nonnegative=True)
cite("expectation_of_sum", E_(sp.Sum(f_(q.s), (q.s, 1, N_))), "=", sp.Sum(E_(f_(q.s)), (q.s, 1, N_)), (E_, f_, N_),
     "the expectation of a finite sum is the sum of the expectations",
     "linearity of the Lebesgue integral; Williams (1991), ch. 6")
cite("ratio_mean_one", q.E_roll(q.rho(q.s) - 1), "=", 0, (q.s,),
     "E_roll[ρ_s − 1] = Σ_v π_roll(v|c)(π_θ(v|c)/π_roll(v|c) − 1) = 0 at every context, hence at every position, "
     "when π_θ puts no mass where π_roll is 0", "THEORY §2 (martingale property)")
