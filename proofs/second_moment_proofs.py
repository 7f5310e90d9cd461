"""The derivations behind the χ² family (THEORY §10, this suite's own result), checked by the kernel.

    martingale_transform   W_t − W_{t−1} = (M_{t−1} − 1) u_t                           (rewrite)
    martingale_sum         W_T = Σ_t (M_{t−1} − 1) u_t                                 (induction on T)
    second_moment_bound    E[M_t²] ≤ (1 + χ²_max)^t                                     (induction on t)
    weight_variance_bound  E[(M_t − 1)²] ≤ (1 + χ²_max)^t − 1 = expm1(t log1p χ²_max)   (textbook = expm1 form)
    geometric_sum          Σ_{t≤T} ((1 + c)^{t−1} − 1) = ((1 + c)^T − 1 − Tc)/c       (induction on T)
    chi2_max_bound         sup_R |Error| ≤ B_χ²-max = ½ sqrt(χ²_max Σ_t expm1((t−1) log1p χ²_max))
    chi2_mixed_bound       sup_R |Error| ≤ B_χ²-mixed
    chi2_max_closed_form   B_χ²-max = ½ sqrt((1 + χ²_max)^T − 1 − T χ²_max)
    chi2_mixed_below_max   B_χ²-mixed ≤ B_χ²-max (termwise, z3)
    chi2_mixed_below_sqrt  B_χ²-mixed ≤ ½ sqrt(T χ²_max χ²_seq)
Orthogonality of the increments, the one-step recursion, E[(M_t − 1)²] = E[M_t²] − 1, the χ² data
processing inequality, Cauchy–Schwarz and the worst reward are cited, each with a test in
tests/proofs/test_second_moment_lemmas.py that enumerates small random pairs.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from proofs import quantities as q
from proofs.kernel import (CANCEL, EXPAND, EXP_LOG_POWER, LIMIT, LINEAR_SUMS, NUMERIC_LIMITS, SUM_CONSTANT, TEXTBOOK, ByLemma,
                           Chain, Congruence, Derivation, Induction, Instance, Rewrite, Subst, Termwise, Z3, peel)
from proofs.lemmas import SECOND_MOMENT_TESTS, cite, derived, DerivationList
from proofs.second_moment import CHI2_CONSTANT, CHI2_SHIFT, chi2_bound_expr, chi2_max, chi2_seq
from proofs.symbols import T, t

n = q.n
j = sp.Symbol("j", integer=True, positive=True)
u = q.u
cmax = chi2_max


def M(k):
    """M_k = Π_{j≤k} (1 + u_j)."""
    return sp.Product(1 + u[j], (j, 1, k))


def W(k):
    """W_k = M_k − 1 − Σ_{j≤k} u_j."""
    return M(k) - 1 - sp.Sum(u[j], (j, 1, k))


def _cite_lemmas():
    test = lambda name: f"{SECOND_MOMENT_TESTS}::test_{name}"
    cite("orthogonal_increments", q.EW2, "=", sp.Sum(q.increment(t), (t, 1, T)), (),
         "E_roll[W²] = Σ_t E_roll[(M_{t−1} − 1)² χ²(c_t)]: the increments (M_{t−1} − 1)u_t of the martingale W "
         "are orthogonal, and E[u_t² | c_t] = χ²(c_t)", "Williams, Probability with Martingales (1991), §12.1",
         test("orthogonal_increments"))
    cite("second_moment_recursion", q.m2(t), "<=", (1 + cmax) * q.m2(t - 1), (t,),
         "E_roll[M_t²] = E_roll[M_{t−1}² (1 + χ²(c_t))] ≤ (1 + χ²_max) E_roll[M_{t−1}²] (tower property)",
         "THEORY §10; Williams (1991), §9.7", test("second_moment_recursion"))
    cite("weight_starts_at_one", q.m2(0), "=", 1, (), "M_0 = 1, so E[M_0²] = 1", "THEORY §10 (definition)",
         test("weight_starts_at_one"))
    cite("weight_variance", q.var_M(n), "=", q.m2(n) - 1, (n,),
         "E_roll[(M_t − 1)²] = E_roll[M_t²] − 1 because E_roll[M_t] = 1", "THEORY §10 (E_roll[M_t] = 1)",
         test("weight_variance"))
    cite("chi2_data_processing", q.var_M(n), "<=", chi2_seq, (n,),
         "E_roll[(M_t − 1)²] = χ²(P^θ_{≤t} ‖ P^roll_{≤t}) ≤ χ²_seq for t ≤ T (data processing for χ²)",
         "Polyanskiy & Wu, Information Theory (2024), ch. 7 (data processing for f-divergences)", test("chi2_data_processing"),
         hypotheses=(sp.Le(n, T),))
    cite("cauchy_schwarz", q.EabsW, "<=", sp.sqrt(q.EW2), (), "E|W| ≤ sqrt(E[W²])",
         "Cauchy–Schwarz; Williams (1991), ch. 6", test("cauchy_schwarz"))
    cite("worst_reward", q.sup_error, "=", q.EabsW / 2, (),
         "sup over rewards R ∈ [0, 1] of |E_roll[R W]| = ½ E_roll|W| when E_roll[W] = 0 (attained by R = 1[W > 0])",
         "THEORY §10; linearity of Error in R", test("worst_reward"))
    cite("increment_bound", q.increment(t), "<=", cmax * q.var_M(t - 1), (t,),
         "E_roll[(M_{t−1} − 1)² χ²(c_t)] ≤ χ²_max E_roll[(M_{t−1} − 1)²] (χ²(c_t) ≤ χ²_max at reachable contexts)",
         "monotonicity of expectation; THEORY §10", test("increment_bound"))


def _martingale_transform() -> Derivation:
    chain = Chain(W(t) - W(t - 1)).eq((M(t - 1) - 1) * u[t], Rewrite(peel(t), EXPAND),
                                      "peel the last factor of M_t and the last term of Σ u")
    return Derivation("martingale_transform", "W_t − W_(t−1) = (M_(t−1) − 1) u_t", "THEORY §10", chain)


def _martingale_sum() -> Derivation:
    lhs, rhs = W(n), sp.Sum((M(t - 1) - 1) * u[t], (t, 1, n))
    m = n + 1
    base = Chain(lhs.xreplace({n: 1})).eq(rhs.xreplace({n: 1}), Rewrite(NUMERIC_LIMITS, EXPAND))
    step = (Chain(lhs.xreplace({n: m}))
            .eq(lhs + (M(n) - 1) * u[m], Z3("step"), "the martingale transform at t = n + 1")
            .eq(rhs + (M(n) - 1) * u[m], Z3("IH"))
            .eq(rhs.xreplace({n: m}), Rewrite(peel(m))))
    chain = Chain(lhs).eq(rhs, Induction(n, 1, base, step))
    return Derivation("martingale_sum", "W = Σ_t (M_(t−1) − 1) u_t for every T ≥ 1", "THEORY §10", chain,
                      hypotheses=(sp.Ge(n, 1),), facts={"step": Instance("martingale_transform", {t: n + 1})})


def _second_moment_bound() -> Derivation:
    lhs, rhs = q.m2(n), (1 + cmax) ** n
    m = n + 1
    base = Chain(lhs.xreplace({n: 0})).eq(rhs.xreplace({n: 0}), ByLemma("weight_starts_at_one"))
    step = (Chain(lhs.xreplace({n: m}))
            .le((1 + cmax) * q.m2(n), ByLemma("second_moment_recursion", {t: n + 1}))
            .le(rhs.xreplace({n: m}), Z3("IH"), "(1 + χ²_max) E[M_n²] ≤ (1 + χ²_max)^(n+1)"))
    chain = Chain(lhs).le(rhs, Induction(n, 0, base, step))
    return Derivation("second_moment_bound", "E_roll[M_t²] ≤ (1 + χ²_max)^t", "THEORY §10", chain)


def _variance_bound() -> Derivation:
    chain = (Chain(q.var_M(n))
             .eq(q.m2(n) - 1, ByLemma("weight_variance"))
             .le((1 + cmax) ** n - 1, Z3("m2"))
             .eq(expm1(n * log1p(cmax)), Rewrite(TEXTBOOK, EXP_LOG_POWER),
                 "expm1(t·log1p(χ²)) is (1 + χ²)^t − 1 written without cancellation"))
    return Derivation("weight_variance_bound", "E_roll[(M_t − 1)²] ≤ (1 + χ²_max)^t − 1 = expm1(t log1p χ²_max)",
                      "THEORY §10", chain, facts={"m2": Instance("second_moment_bound")})


def _geometric_sum() -> Derivation:
    cc = sp.Symbol("c", positive=True)
    lhs, rhs = sp.Sum((1 + cc) ** (t - 1) - 1, (t, 1, n)), ((1 + cc) ** n - 1 - n * cc) / cc
    m = n + 1
    base = Chain(lhs.xreplace({n: 1})).eq(rhs.xreplace({n: 1}), Rewrite(NUMERIC_LIMITS))
    step = (Chain(lhs.xreplace({n: m}))
            .eq(lhs + (1 + cc) ** n - 1, Rewrite(peel(m)))
            .eq(rhs + (1 + cc) ** n - 1, Subst("IH"))
            .eq(rhs.xreplace({n: m}), Rewrite(EXPAND)))
    chain = Chain(lhs).eq(rhs, Induction(n, 1, base, step))
    return Derivation("geometric_sum", "Σ_(t≤T) ((1 + c)^(t−1) − 1) = ((1 + c)^T − 1 − Tc)/c", "THEORY §10", chain,
                      hypotheses=(sp.Ge(n, 1),)), cc


def _shift_terms(name):
    return sp.Sum(cmax * CHI2_SHIFT[name], (t, 1, T))


def _chi2_route(name: str) -> list[Derivation]:
    """sup_R |Error| ≤ ½ sqrt(χ²_max Σ_t shift_t) for the shift factor of ``name``."""
    local = {"var": Instance("weight_variance_bound", {n: t - 1})}
    if name == "chi2_mixed":
        local["dp"] = Instance("chi2_data_processing", {n: t - 1})
    sums = (Chain(sp.Sum(q.increment(t), (t, 1, T)))
            .le(sp.Sum(cmax * q.var_M(t - 1), (t, 1, T)), Termwise(ByLemma("increment_bound")))
            .le(_shift_terms(name), Termwise(Z3(local=local)), "E[(M_(t−1) − 1)²] ≤ the shift factor"))
    sum_lemma = Derivation(f"{name}_increments", f"Σ_t E[(M_(t−1) − 1)² χ²(c_t)] ≤ χ²_max Σ_t {name} shift",
                           "THEORY §10", sums)
    derived(sum_lemma)
    bound = chi2_bound_expr(name)
    chain = (Chain(q.sup_error)
             .eq(q.EabsW / 2, ByLemma("worst_reward"))
             .le(sp.sqrt(q.EW2) / 2, Z3("cs"), "Cauchy–Schwarz")
             .eq(sp.sqrt(sp.Sum(q.increment(t), (t, 1, T))) / 2, Subst(Instance("orthogonal_increments")))
             .le(sp.sqrt(_shift_terms(name)) / 2, Z3("incr"))
             .eq(bound, Rewrite(LINEAR_SUMS), "χ²_max leaves the sum"))
    main = Derivation(f"{name}_bound", f"sup_R |Error| ≤ B_{name} (THEORY §10)", "THEORY §10 (this suite's result)",
                      chain, facts={"cs": Instance("cauchy_schwarz"), "incr": Instance(sum_lemma.name)})
    return [sum_lemma, main]


def _closed_form(geo: Derivation, cc) -> Derivation:
    bound = chi2_bound_expr("chi2_max")
    textbook = sp.Rational(1, 2) * sp.sqrt(cmax * sp.Sum((1 + cmax) ** (t - 1) - 1, (t, 1, T)))
    chain = (Chain(bound)
             .eq(textbook, Congruence(Rewrite(TEXTBOOK, EXP_LOG_POWER)), "expm1, log1p in textbook form")
             .eq(CHI2_CONSTANT * sp.sqrt(cmax) * sp.sqrt(((1 + cmax) ** T - 1 - T * cmax) / cmax),
                 Subst(Instance("geometric_sum", {cc: cmax, n: T})), "the geometric sum")
             .eq(CHI2_CONSTANT * sp.sqrt((1 + cmax) ** T - 1 - T * cmax), Z3(), "χ²_max cancels"))
    return Derivation("chi2_max_closed_form", "B_χ²-max = ½ sqrt((1 + χ²_max)^T − 1 − Tχ²_max)", "THEORY §10", chain,
                      hypotheses=(sp.Gt(cmax, 0),))


def _shift_nonnegative(name: str) -> Derivation:
    chain = (Chain(sp.Integer(0)).eq(sp.Sum(0, (t, 1, T)), Rewrite(SUM_CONSTANT))
             .le(sp.Sum(CHI2_SHIFT[name], (t, 1, T)), Termwise(Z3()), "(1 + χ²_max)^(t−1) − 1 ≥ 0 and χ²_seq ≥ 0"))
    d = Derivation(f"{name}_shift_nonnegative", f"Σ_t ({name} shift factor) ≥ 0", "THEORY §10", chain)
    derived(d)
    return d


def _mixed_below_max() -> list[Derivation]:
    sums = Chain(sp.Sum(CHI2_SHIFT["chi2_mixed"], (t, 1, T))).le(sp.Sum(CHI2_SHIFT["chi2_max"], (t, 1, T)),
                                                              Termwise(Z3()), "min(χ²_seq, x) ≤ x")
    termwise = Derivation("chi2_mixed_terms_below_max", "Σ_t min(χ²_seq, s_t) ≤ Σ_t s_t", "THEORY §10", sums)
    derived(termwise)
    nonneg = [_shift_nonnegative("chi2_mixed"), _shift_nonnegative("chi2_max")]
    chain = Chain(chi2_bound_expr("chi2_mixed")).le(chi2_bound_expr("chi2_max"), Z3("terms", "pos"))
    main = Derivation("chi2_mixed_below_max", "B_χ²-mixed ≤ B_χ²-max", "THEORY §10", chain,
                      facts={"terms": Instance(termwise.name), "pos": Instance(nonneg[0].name)})
    return nonneg + [termwise, main]


def _mixed_below_sqrt() -> list[Derivation]:
    sums = (Chain(sp.Sum(CHI2_SHIFT["chi2_mixed"], (t, 1, T)))
            .le(sp.Sum(chi2_seq, (t, 1, T)), Termwise(Z3()), "min(χ²_seq, x) ≤ χ²_seq")
            .eq(T * chi2_seq, Rewrite(SUM_CONSTANT)))
    termwise = Derivation("chi2_mixed_terms_below_seq", "Σ_t min(χ²_seq, s_t) ≤ T χ²_seq", "THEORY §10", sums)
    derived(termwise)
    chain = Chain(chi2_bound_expr("chi2_mixed")).le(CHI2_CONSTANT * sp.sqrt(T * cmax * chi2_seq), Z3("terms", "pos"))
    main = Derivation("chi2_mixed_below_sqrt", "B_χ²-mixed ≤ ½ sqrt(T χ²_max χ²_seq)", "THEORY §10", chain,
                      facts={"terms": Instance(termwise.name), "pos": Instance("chi2_mixed_shift_nonnegative")})
    return [termwise, main]


def _growth() -> list[Derivation]:
    closed = CHI2_CONSTANT * sp.sqrt((1 + cmax) ** T - 1 - T * cmax)
    T_fixed = sp.Symbol("T_0", integer=True, positive=True)
    small = (closed.xreplace({T: T_fixed}) / (cmax * sp.sqrt(T_fixed * (T_fixed - 1) / 8))) ** 2
    positive = sp.Symbol("chi2_max", positive=True)
    large = sp.log(closed.xreplace({cmax: positive})) / T
    return [
        Derivation("chi2_max_growth_small", "while Tχ²_max ≪ 1: (B_χ²-max / (χ²_max sqrt(T(T−1)/8)))² → 1 as χ²_max → 0 "
                   "(≈ Tχ²_max/(2√2), linear in T)", "THEORY §10",
                   Chain(sp.Limit(small, cmax, 0, "+")).eq(1, Rewrite(LIMIT, CANCEL)), hypotheses=(sp.Ge(T_fixed, 2),)),
        Derivation("chi2_max_growth_large", "at fixed χ²_max > 0: log B_χ²-max / T → log(1 + χ²_max)/2 (exponential)",
                   "THEORY §10", Chain(sp.Limit(large, T, sp.oo)).eq(sp.log(1 + positive) / 2, Rewrite(LIMIT))),
    ]


@lru_cache(maxsize=None)
def derivations() -> tuple[Derivation, ...]:
    _cite_lemmas()
    out = DerivationList()
    out.add(_martingale_transform(), (t,))
    out.add(_martingale_sum())
    out.add(_second_moment_bound(), (n,))
    out.add(_variance_bound(), (n,))
    geo, cc = _geometric_sum()
    out.add(geo, (cc, n))
    for name in ("chi2_max", "chi2_mixed"):
        for d in _chi2_route(name):
            out.append(d)
    out.add(_closed_form(geo, cc))
    out += _mixed_below_max()
    out += _mixed_below_sqrt()
    out += _growth()
    return tuple(out)
