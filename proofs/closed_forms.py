"""The closed forms the paper prints and the growth of every bound in T, regime by regime, on the capped
expressions, read from the kernel's assembled terms (:mod:`proofs.bounds`), so that a changed term is caught.

    classical_closed_form, pm_closed_form, coupling_split   the paper's closed forms, as "≤" (THEORY §8)
    growth_*           limits in T per regime (a limit sympy cannot evaluate to the stated value fails)
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from proofs import bounds, finite_sums
from proofs.finite_sums import THREE_HALVES, n
from proofs.kernel import (EXPAND, FAULHABER, LIMIT, LINEAR_SUMS, SUM_CONSTANT, ByLemma, Chain, Derivation, Instance,
                           Rewrite, Subst, Termwise, Z3, split_at)
from proofs.lemmas import derived
from proofs.symbols import T, delta, eps, t


def _paper(name):
    return bounds.CONSTANTS["paper"] * sp.Sum(bounds.BOUND_TERMS[name], (t, 1, T))


def _classical_closed_form() -> Derivation:
    C = bounds.CONSTANTS["paper"]
    chain = (Chain(_paper("classical"))
             .eq(C * eps ** 2 * sp.Sum(t, (t, 1, T)) - C * eps ** 2 * T, Rewrite(LINEAR_SUMS, SUM_CONSTANT, EXPAND))
             .eq(C * eps ** 2 * T * (T + 1) / 2 - C * eps ** 2 * T, Subst(Instance("gauss_sum", {n: T})))
             .eq(2 * T * (T - 1) * eps ** 2, Rewrite(EXPAND))
             .le(bounds.CLASSICAL_KL_FORM, Z3("pinsker"), "ε ≤ sqrt(δ/2)"))
    return Derivation("classical_closed_form", "classical = 2T(T−1)ε² ≤ T(T−1)δ (paper constants)", "THEORY §5", chain,
                      facts={"pinsker": Instance("eps_pinsker")})


def _pm_closed_form() -> Derivation:
    C = bounds.CONSTANTS["paper"]
    uncapped = sp.sqrt(delta / 2) * sp.sqrt((t - 1) * delta / 2)
    chain = (Chain(_paper("pinsker_marginal_kl"))
             .le(C * sp.Sum(uncapped, (t, 1, T)), Termwise(Z3()), "min(1, x) ≤ x")
             .eq(C * delta / 2 * sp.Sum(sp.sqrt(t - 1), (t, 1, T)), Rewrite(LINEAR_SUMS))
             .le(bounds.PM_UNCAPPED_FORM, Z3("sqrt"), "Σ_(k<T) sqrt(k) ≤ (2/3)T^(3/2)"))
    return Derivation("pm_closed_form", "Pinsker-Marginal-KL ≤ 2δ Σ_(k<T) sqrt(k) ≤ (4/3)T^(3/2)δ: the paper's '=' is "
                      "a '≤' (THEORY §8)", "THEORY §5, §8", chain, facts={"sqrt": Instance("sqrt_sum_upper", {n: T})})


K = sp.Symbol("K", integer=True, nonnegative=True)
K_HYPOTHESES = (sp.Le(K * eps, 1), sp.Gt((K + 1) * eps, 1), sp.Le(K + 1, T))


def _coupling_split() -> Derivation:
    S = sp.Sum(sp.Min(1, (t - 1) * eps), (t, 1, T))
    chain = (Chain(S)
             .eq(sp.Sum(sp.Min(1, (t - 1) * eps), (t, 1, K + 1)) + sp.Sum(sp.Min(1, (t - 1) * eps), (t, K + 2, T)),
                 Rewrite(split_at(t, K + 1)), "split at K + 1, K = ⌊1/ε⌋ ≤ T − 1")
             .eq(sp.Sum((t - 1) * eps, (t, 1, K + 1)) + sp.Sum(1, (t, K + 2, T)), Termwise(Z3()),
                 "(t − 1)ε ≤ Kε ≤ 1 before the split, > 1 after it")
             .eq(eps * K * (K + 1) / 2 + T - 1 - K, Rewrite(FAULHABER, EXPAND),
                 "the paper's index is off by one here; its numbers are right")
             .le((K + 1) / 2 + T - 1 - K, Z3(), "Kε ≤ 1")
             .le(T + 1 / (2 * eps), Z3(), "(K + 1)ε > 1"))
    return Derivation("coupling_split", "Σ_t min(1, (t−1)ε) = εK(K+1)/2 + T − 1 − K ≤ T + 1/(2ε), K = ⌊1/ε⌋ ≤ T − 1",
                      "THEORY §5, §8", chain, hypotheses=K_HYPOTHESES)


def _coupling_closed_form() -> Derivation:
    C = bounds.CONSTANTS["paper"]
    S = sp.Sum(sp.Min(1, (t - 1) * eps), (t, 1, T))
    chain = (Chain(_paper("coupling"))
             .eq(C * sp.Min(1, eps) * S, Rewrite(LINEAR_SUMS))
             .le(C * eps * (T + 1 / (2 * eps)), Z3("split"))
             .eq(bounds.COUPLING_SPLIT_FORM, Rewrite(EXPAND)))
    return Derivation("coupling_closed_form", "coupling ≤ 4Tε + 2 once T ≥ ⌊1/ε⌋ + 1", "THEORY §5", chain,
                      hypotheses=K_HYPOTHESES, facts={"split": Instance("coupling_split")})


def _limit(name, statement, expr, var, value, hypotheses=(), direction="+", point=sp.oo):
    chain = Chain(sp.Limit(expr, var, point, direction if point != sp.oo else "-")).eq(value, Rewrite(LIMIT))
    return Derivation(name, statement, "THEORY §5 (growth in T, per regime)", chain, hypotheses=hypotheses)


T0 = sp.Symbol("T_0", integer=True, positive=True)


def _pm_small_regime() -> list[Derivation]:
    """While T ≤ 1 + 2/δ no cap is active: PM-KL = 2δ Σ_(k<T) sqrt(k), bracketed by (4/3)(T−1)^(3/2)δ and
    (4/3)T^(3/2)δ, whose ratio tends to 1."""
    C = bounds.CONSTANTS["paper"]
    hyps = (sp.Le(delta, 2), sp.Le((T - 1) * delta, 2))
    exact = (Chain(_paper("pinsker_marginal_kl"))
             .eq(C * sp.Sum(delta / 2 * sp.sqrt(t - 1), (t, 1, T)), Termwise(Z3()), "(t − 1)δ/2 ≤ 1: no cap is active")
             .eq(2 * delta * sp.Sum(sp.sqrt(t - 1), (t, 1, T)), Rewrite(LINEAR_SUMS)))
    d1 = Derivation("pm_small_regime", "PM-KL = 2δ Σ_(k<T) sqrt(k) while T ≤ 1 + 2/δ", "THEORY §5", exact, hypotheses=hyps)
    derived(d1)
    lower = sp.Rational(4, 3) * (T - 1) ** THREE_HALVES * delta
    bracket = (Chain(lower)
               .le(2 * delta * sp.Sum(sp.sqrt(t - 1), (t, 1, T)), Z3("low"))
               .eq(_paper("pinsker_marginal_kl"), ByLemma("pm_small_regime", reverse=True)))
    d2 = Derivation("pm_small_regime_lower", "(4/3)(T − 1)^(3/2)δ ≤ PM-KL while T ≤ 1 + 2/δ", "THEORY §5", bracket,
                    hypotheses=hyps, facts={"low": Instance("sqrt_sum_lower", {n: T})})
    upper = bounds.PM_UNCAPPED_FORM
    d3 = _limit("growth_pm_kl_small_regime", "while T ≤ 1 + 2/δ, PM-KL lies in [(4/3)(T−1)^(3/2)δ, (4/3)T^(3/2)δ] "
                "(pm_small_regime_lower, pm_closed_form), whose ratio → 1: PM-KL ~ (4/3)T^(3/2)δ",
                lower / upper, T, 1)
    d4 = _limit("growth_pm_kl_exponent_small_regime", "log((4/3)T^(3/2)δ)/log T → 3/2", sp.log(upper) / sp.log(T), T,
                THREE_HALVES)
    return [d1, d2, d3, d4]


def _pm_large_regime() -> list[Derivation]:
    """For T beyond T_0 ≥ 2/δ every later term sits at its cap: PM-KL = A + 4 sqrt(δ/2)(T − T_0 − 1), linear in T."""
    C = bounds.CONSTANTS["paper"]
    term = bounds.BOUND_TERMS["pinsker_marginal_kl"]
    hyps = (sp.Le(delta, 2), sp.Ge(T0 * delta, 2), sp.Le(T0 + 1, T))
    A = C * sp.Sum(term, (t, 1, T0 + 1))
    linear = A + C * sp.sqrt(delta / 2) * (T - T0 - 1)
    chain = (Chain(_paper("pinsker_marginal_kl"))
             .eq(A + C * sp.Sum(term, (t, T0 + 2, T)), Rewrite(split_at(t, T0 + 1)))
             .eq(A + C * sp.Sum(sp.sqrt(delta / 2), (t, T0 + 2, T)), Termwise(Z3()), "(t − 1)δ/2 ≥ 1: the cap is active")
             .eq(linear, Rewrite(SUM_CONSTANT, EXPAND)))
    d1 = Derivation("pm_large_regime", "PM-KL = PM-KL(T_0 + 1) + 4 sqrt(δ/2)(T − T_0 − 1) once T > T_0 ≥ 2/δ",
                    "THEORY §5", chain, hypotheses=hyps)
    d2 = _limit("growth_pm_kl_large_regime", "at fixed δ ≤ 2, PM-KL / T → 4 sqrt(δ/2): linear in T beyond 2/δ",
                linear / T, T, C * sp.sqrt(delta / 2))
    return [d1, d2]


def _other_growth() -> list[Derivation]:
    C = bounds.CONSTANTS["paper"]
    mixed = (Chain(_paper("mixed_kl")).eq(C * T * bounds.BOUND_TERMS["mixed_kl"], Rewrite(SUM_CONSTANT)))
    out = [
        _limit("growth_classical", "classical: log(T(T−1)δ)/log T → 2 (quadratic in every regime)",
               sp.log(bounds.CLASSICAL_KL_FORM) / sp.log(T), T, 2),
        Derivation("mixed_kl_is_linear", "Mixed-KL = 4T min(1, sqrt(δ/2)) min(1, sqrt(D_KL^seq/2)): exactly linear in T "
                   "at fixed D_KL^seq", "THEORY §5", mixed),
        _limit("growth_coupling_large_regime", "coupling (T ≥ ⌊1/ε⌋ + 1): 4ε(εK(K+1)/2 + T − 1 − K)/T → 4ε, linear",
               C * eps * (eps * K * (K + 1) / 2 + T - 1 - K) / T, T, C * eps),
        _limit("growth_linear", "linear with D̄_t ≡ ε: log(4Tε)/log T → 1", sp.log(C * T * eps) / sp.log(T), T, 1),
    ]
    small = (Chain(_paper("coupling"))
             .eq(_paper("classical"), Termwise(Z3()), "no cap is active while (T − 1)ε ≤ 1"))
    out.append(Derivation("coupling_small_regime", "coupling = classical = 2T(T−1)ε² while (T − 1)ε ≤ 1 (quadratic)",
                          "THEORY §5", small, hypotheses=(sp.Le((T - 1) * eps, 1), sp.Le(eps, 1))))
    return out


@lru_cache(maxsize=None)
def derivations() -> tuple[Derivation, ...]:
    finite_sums.basic_derivations()       # registers the sums the closed forms cite
    out = []
    for d in (_classical_closed_form(), _pm_closed_form(), _coupling_split(), _coupling_closed_form()):
        derived(d)
        out.append(d)
    out += _pm_small_regime() + _pm_large_regime() + _other_growth()
    return tuple(out)
