"""Relations between the assembled bounds, read from the terms numerics evaluates (:mod:`proofs.bounds`), so
that a changed term is caught: the recoveries (Adaptive-KL with D̄_t at its cap is Pinsker-Marginal-KL,
Adaptive-TV with D̄_t ≡ ε is Coupling), Adaptive-hybrid below Pinsker-Marginal-TV and Coupling, and the sharp
constants attained on the T = 2 pair (:func:`tightness_example`).
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from proofs import bound_family, bounds, quantities as q
from proofs.kernel import NUMERIC_LIMITS, Chain, Derivation, Instance, Rewrite, Termwise, Z3, reverse
from proofs.lemmas import M, TV, X
from proofs.symbols import T, dbar, delta, eps, t


def _terms():
    """The assembled terms as exposed to numerics (read at call time, so a changed term is caught here)."""
    return bounds.BOUND_TERMS, bounds.CONSTANTS


def _recovery_kl() -> Derivation:
    terms, C = _terms()
    cap = sp.Min(1, sp.sqrt(delta / 2))
    adaptive = terms["adaptive_kl"].xreplace({dbar: cap})
    chain = Chain(sp.Sum(adaptive, (t, 1, T))).eq(sp.Sum(terms["pinsker_marginal_kl"], (t, 1, T)),
                                                 Rewrite(reverse(t, T + 1)), "reindex t ↦ T + 1 − t")
    return Derivation("recovery_kl", "Adaptive-KL with D̄_t ≡ min(1, sqrt(δ/2)) is Pinsker-Marginal-KL, caps included",
                      "THEORY §5", chain)


def _recovery_tv() -> Derivation:
    terms, C = _terms()
    adaptive = terms["adaptive_tv"].xreplace({dbar: eps})
    reversed_ = adaptive.xreplace({t: T + 1 - t})
    chain = (Chain(sp.Sum(adaptive, (t, 1, T)))
             .eq(sp.Sum(reversed_, (t, 1, T)), Rewrite(reverse(t, T + 1)), "reindex t ↦ T + 1 − t")
             .eq(sp.Sum(terms["coupling"], (t, 1, T)), Termwise(Z3("one")), "min(1, ε) = ε because ε ≤ 1"))
    return Derivation("recovery_tv", "Adaptive-TV with D̄_t ≡ ε is Coupling", "THEORY §5", chain,
                      facts={"one": Instance("tv_at_most_one", {TV: eps})})


def _hybrid_below_pm_tv() -> Derivation:
    terms, C = _terms()
    hybrid = terms["adaptive_hybrid"].xreplace({dbar: q.Dbar(t)})
    middle = sp.Min(1, eps) * terms["adaptive_kl"].xreplace({dbar: 1})
    chain = (Chain(sp.Sum(hybrid, (t, 1, T)))
             .le(sp.Sum(middle, (t, 1, T)), Termwise(Z3("mean", "one")), "D̄_t ≤ min(1, ε) and a min over more caps")
             .eq(sp.Sum(terms["pinsker_marginal_tv"], (t, 1, T)), Rewrite(reverse(t, T + 1)), "reindex t ↦ T + 1 − t"))
    return Derivation("hybrid_below_pinsker_marginal_tv", "Adaptive-hybrid ≤ Pinsker-Marginal-TV with the true D̄_t",
                      "THEORY §5", chain,
                      facts={"mean": Instance("bounded_by_max", {M: q.Dbar(t), X: eps}),
                             "one": Instance("tv_at_most_one", {TV: eps})})


def _hybrid_below_coupling() -> Derivation:
    terms, C = _terms()
    hybrid = terms["adaptive_hybrid"].xreplace({dbar: q.Dbar(t)})
    middle = sp.Min(1, eps) * sp.Min(1, (T - t) * eps)
    chain = (Chain(sp.Sum(hybrid, (t, 1, T)))
             .le(sp.Sum(middle, (t, 1, T)), Termwise(Z3("mean", "one")))
             .eq(sp.Sum(terms["coupling"], (t, 1, T)), Rewrite(reverse(t, T + 1)), "reindex t ↦ T + 1 − t"))
    return Derivation("hybrid_below_coupling", "Adaptive-hybrid ≤ Coupling with the true D̄_t", "THEORY §5", chain,
                      facts={"mean": Instance("bounded_by_max", {M: q.Dbar(t), X: eps}),
                             "one": Instance("tv_at_most_one", {TV: eps})})


def tightness_example():
    """One state, V = 2, π_roll = (½, ½), π_θ = (½ + a, ½ − a), T = 2: sup_R |Error| and the sharp bounds."""
    a = sp.Symbol("a", positive=True)
    up, down = 1 + 2 * a, 1 - 2 * a
    bracket = lambda r1, r2: r1 * r2 - 1 - (r1 - 1) - (r2 - 1)
    worst = sp.Rational(1, 2) * sum(sp.Rational(1, 4) * sp.Abs(bracket(r1, r2)) for r1 in (up, down) for r2 in (up, down))
    return a, worst


def _sharp_constant_attained() -> Derivation:
    terms, C = _terms()
    a, worst = tightness_example()
    hyps = (sp.Lt(a, sp.Rational(1, 2)),)
    sharp = C["sharp"]
    chain = Chain(worst).eq(2 * a ** 2, Z3(), "sup_R |Error| = ½ E_roll|(ρ_1 − 1)(ρ_2 − 1)| = 2a² at T = 2")
    derivations = [Derivation("tight_pair_worst_case", "the T = 2 pair: sup_R |Error| = 2a²", "THEORY §5", chain,
                              hypotheses=hyps)]
    for name in ("classical", "coupling", "adaptive_tv"):
        bound = sharp * sp.Sum(terms[name].xreplace({eps: a, dbar: a}), (t, 1, 2)).xreplace({T: 2})
        written = _written_out(bound)
        chain = Chain(bound)
        if written == 2 * a ** 2:
            chain.eq(written, Rewrite(NUMERIC_LIMITS), "the two terms written out")
        else:
            chain.eq(written, Rewrite(NUMERIC_LIMITS), "the two terms written out").eq(
                2 * a ** 2, Z3(), "with a < ½ every cap is inactive")
        derivations.append(Derivation(f"sharp_{name}_attained", f"sharp {name} = 2a² = sup_R |Error| on the T = 2 pair: "
                                      "no constant below 2 is valid", "THEORY §5 (sharp constants)", chain,
                                      hypotheses=hyps))
    return derivations


def _written_out(bound):
    return NUMERIC_LIMITS(bound, None)


@lru_cache(maxsize=None)
def derivations() -> tuple[Derivation, ...]:
    bound_family.derivations()        # the assembled bounds, registered as lemmas
    out = [_recovery_kl(), _recovery_tv(), _hybrid_below_pm_tv(), _hybrid_below_coupling()]
    out += _sharp_constant_attained()
    return tuple(out)
