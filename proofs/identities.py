"""Exact identities of THEORY §2, for every T (by induction over T, not for T = 1..6 only):

    telescoping         Π_{s≤n} ρ_s − 1 = Σ_{s≤n} (ρ_s − 1) Π_{s<j≤n} ρ_j
    error_integrand     R(Π ρ − 1) − R Σ(ρ − 1) = −R Σ_s (ρ_s − 1)(1 − Π_{j>s} ρ_j)
    error_is_minus_delta  Error = −Δ (change of measure, linearity of E_roll, the integrand identity)
    likelihood_ratio    P^θ(y)/P^roll(y) = Π_t ρ_t (both laws are products over positions)
    baseline_constant   (R − b) Σ ρ_t − (R − b) Σ (ρ_t − 1) = T(R − b), and E_roll[(R − b)Σ(ρ_t − 1)] = L'
    equal_policies      π_θ = π_roll ⇒ Error = 0 and L' = 0
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from proofs import quantities as q
from proofs.kernel import (EXPAND, LINEAR_SUMS, NUMERIC_LIMITS, SPLIT_PRODUCTS, SUM_CONSTANT, ByLemma, Chain, Congruence,
                           Derivation, Induction, Instance, Rewrite, Subst, Termwise, peel, unfold)
from proofs.lemmas import N_, Y, Z, const, E_, f_, DerivationList
from proofs.symbols import T

s, n = q.s, q.n
j = sp.Symbol("j", integer=True, positive=True)
rho, R = q.rho, q.R


def suffix(lo, hi):
    """Π_{j=lo}^{hi} ρ_j."""
    return sp.Product(rho(j), (j, lo, hi))


def telescoped(N):
    return sp.Sum((rho(s) - 1) * suffix(s + 1, N), (s, 1, N))


def _telescoping() -> Derivation:
    lhs = sp.Product(rho(s), (s, 1, n)) - 1
    rhs = telescoped(n)
    base = Chain(lhs.xreplace({n: 1})).eq(rhs.xreplace({n: 1}), Rewrite(NUMERIC_LIMITS), "T = 1: ρ_1 − 1 both sides")
    m = n + 1
    step = (Chain(lhs.xreplace({n: m}))
            .eq(rho(m) * (sp.Product(rho(s), (s, 1, n)) - 1) + rho(m) - 1, Rewrite(peel(m), EXPAND),
                "peel the last factor")
            .eq(rho(m) * telescoped(n) + rho(m) - 1, Subst("IH"), "induction hypothesis")
            .eq(rhs.xreplace({n: m}), Rewrite(peel(m), LINEAR_SUMS, EXPAND),
                "peel the last term and the last factor of every suffix product"))
    chain = Chain(lhs).eq(rhs, Induction(n, 1, base, step))
    return Derivation("telescoping", "Π_t ρ_t − 1 = Σ_t (ρ_t − 1) Π_(j>t) ρ_j for every T ≥ 1",
                      "THEORY §2; paper Lemma (telescoping)", chain, hypotheses=(sp.Ge(n, 1),))


def _error_integrand() -> Derivation:
    product = sp.Product(rho(s), (s, 1, T))
    chain = (Chain(R * (product - 1) - R * sp.Sum(rho(s) - 1, (s, 1, T)))
             .eq(R * telescoped(T) - R * sp.Sum(rho(s) - 1, (s, 1, T)), Subst(Instance("telescoping", {n: T})))
             .eq(-R * sp.Sum((rho(s) - 1) * (1 - suffix(s + 1, T)), (s, 1, T)), Rewrite(LINEAR_SUMS, EXPAND),
                 "linearity of finite sums"))
    return Derivation("error_integrand", "R(Πρ − 1) − RΣ(ρ − 1) = −R Σ_t (ρ_t − 1)(1 − Π_(j>t) ρ_j) per sequence",
                      "THEORY §2", chain)


LSUR_DEF = q.E_roll(R * sp.Sum(rho(s) - 1, (s, 1, T)))
DELTA_INTEGRAND = R * sp.Sum((rho(s) - 1) * (1 - suffix(s + 1, T)), (s, 1, T))


def _error_is_minus_delta() -> Derivation:
    weight = R * (sp.Product(rho(s), (s, 1, T)) - 1)
    surrogate = R * sp.Sum(rho(s) - 1, (s, 1, T))
    E = q.E_roll
    chain = (Chain(q.Error)
             .eq(q.Jgap - q.Lsur, Rewrite(unfold("Error")), "definition of the error")
             .eq(E(weight) - q.Lsur, Subst(Instance("change_of_measure")), "importance weighting")
             .eq(E(weight) - E(surrogate), Rewrite(unfold("Lsur")), "definition of L'")
             .eq(E(weight - surrogate), ByLemma("expectation_additive", {E_: E, Y: weight, Z: surrogate}))
             .eq(E(-DELTA_INTEGRAND), Congruence(ByLemma("error_integrand")), "the integrand identity")
             .eq(-E(DELTA_INTEGRAND), ByLemma("expectation_linear", {E_: E, const: -1, Y: DELTA_INTEGRAND}))
             .eq(-q.Delta, Rewrite(unfold("Delta")), "definition of Δ"))
    return Derivation("error_is_minus_delta", "Error = −Δ", "THEORY §2", chain,
                      definitions={q.Error: q.Jgap - q.Lsur, q.Lsur: LSUR_DEF, q.Delta: E(DELTA_INTEGRAND)})


def _likelihood_ratio() -> Derivation:
    p_th, p_ro = sp.Function("pi_theta", positive=True), sp.Function("pi_roll", positive=True)
    chain = Chain(sp.Product(p_th(s), (s, 1, T)) / sp.Product(p_ro(s), (s, 1, T))).eq(
        sp.Product(p_th(s) / p_ro(s), (s, 1, T)), Rewrite(SPLIT_PRODUCTS), "a product of ratios over T positions")
    return Derivation("likelihood_ratio", "P^θ(y|x)/P^roll(y|x) = Π_t ρ_t", "THEORY §2", chain)


def _baseline_integrand() -> Derivation:
    b = sp.Symbol("b", real=True)
    chain = Chain((R - b) * sp.Sum(rho(s), (s, 1, T)) - (R - b) * sp.Sum(rho(s) - 1, (s, 1, T))).eq(
        T * (R - b), Rewrite(LINEAR_SUMS, SUM_CONSTANT, EXPAND))
    return Derivation("baseline_integrand", "(R − b)Σρ_t − (R − b)Σ(ρ_t − 1) = T(R − b): so L = L' + T(J(π_roll) − b)",
                      "THEORY §2", chain)


def _baseline_free() -> Derivation:
    b = sp.Symbol("b", real=True)
    E = q.E_roll
    total = sp.Sum(rho(s) - 1, (s, 1, T))
    chain = (Chain(E((R - b) * total))
             .eq(E(R * total - b * total), Congruence(Rewrite(EXPAND)))
             .eq(E(R * total) - E(b * total), ByLemma("expectation_additive", {E_: E, Y: R * total, Z: b * total},
                                                       reverse=True))
             .eq(E(R * total) - b * E(total), Subst(Instance("expectation_linear", {E_: E, const: b, Y: total})))
             .eq(E(R * total) - b * sp.Sum(E(rho(s) - 1), (s, 1, T)), Subst(Instance("expectation_of_sum", {E_: E, f_: sp.Lambda(s, rho(s) - 1), N_: T})))
             .eq(E(R * total) - b * sp.Sum(0, (s, 1, T)), Termwise(ByLemma("ratio_mean_one")),
                 "E_roll[ρ_t − 1] = 0 at every position")
             .eq(q.Lsur, Rewrite(SUM_CONSTANT, unfold("Lsur"))))
    return Derivation("baseline_constant", "E_roll[(R − b) Σ_t (ρ_t − 1)] = L' for every constant b", "THEORY §2",
                      chain, definitions={q.Lsur: LSUR_DEF})


def _equal_policies() -> Derivation:
    one = sp.Lambda(s, 1)
    E = q.E_roll
    jgap = E(R * (sp.Product(1, (s, 1, T)) - 1))
    lsur = E(R * sp.Sum(0, (s, 1, T)))
    chain = (Chain(q.Error)
             .eq(q.Jgap - q.Lsur, Rewrite(unfold("Error")), "definition of the error")
             .eq(jgap - q.Lsur, Subst(Instance("change_of_measure", {q.rho: one})), "importance weighting at ρ ≡ 1")
             .eq(jgap - lsur, Rewrite(unfold("Lsur")), "L' at ρ ≡ 1")
             .eq(0, Rewrite(SUM_CONSTANT), "Π_t 1 − 1 = 0 and Σ_t 0 = 0 inside both expectations"))
    return Derivation("equal_policies", "π_θ = π_roll (ρ ≡ 1) ⇒ Error = 0", "THEORY §2", chain,
                      definitions={q.Error: q.Jgap - q.Lsur, q.Lsur: lsur})


def _equal_policies_surrogate() -> Derivation:
    E = q.E_roll
    lsur = E(R * sp.Sum(0, (s, 1, T)))
    chain = (Chain(q.Lsur)
             .eq(lsur, Rewrite(unfold("Lsur")), "L' at ρ ≡ 1")
             .eq(E(0), Congruence(Rewrite(SUM_CONSTANT)), "Σ_t 0 = 0")
             .eq(0, ByLemma("expectation_linear", {E_: E, const: 0, Y: R}), "E[0 · R] = 0 · E[R]"))
    return Derivation("equal_policies_surrogate", "π_θ = π_roll (ρ ≡ 1) ⇒ L' = 0", "THEORY §2", chain,
                      definitions={q.Lsur: lsur})


@lru_cache(maxsize=None)
def derivations() -> tuple[Derivation, ...]:
    out = DerivationList()
    out.add(_telescoping(), (n, rho))
    out.add(_error_integrand())
    out.add(_error_is_minus_delta())
    out.add(_likelihood_ratio())
    out.add(_baseline_integrand())
    out.add(_baseline_free())
    out.add(_equal_policies())
    out.add(_equal_policies_surrogate())
    return tuple(out)
