"""The bounds are assembled, not typed: each bound's term_t is produced by substituting one route of
each lemma into a master inequality, and the kernel checks the substitution.

    master route (classical, coupling, Pinsker-Marginal, Mixed):
        |Error| ≤ Σ_t 2‖g_t‖∞ TV(d_t^θ, d_t^roll)                 (master_inequality)
        ‖g_t‖∞ ≤ a · (an advantage route),  TV(d_t^θ, d_t^roll) ≤ (a context-shift route)
    Δ route (linear, Adaptive):
        |Error| ≤ Σ_t 2 D̄_t · sup_c |V^roll_{t+1}(c) − V^θ_{t+1}(c)|   (delta_route)
        sup_c |V^roll_{t+1} − V^θ_{t+1}| ≤ a · (a future route)
with a = 2 for the paper's constants (|g_t| ≤ 2 D_TV, future factor ≤ 2·TV) and a = 1 for the sharp
ones (osc(Q_t) ≤ 1, osc(R) ≤ 1). The produced bound is C · Σ_t term_t with C = 2a: 4 (paper) and 2
(sharp). proofs.bounds exposes the terms; numerics lambdifies them.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from proofs import quantities as q
from proofs.advantage import FUTURE, G_SUP
from proofs.kernel import (LINEAR_SUMS, NUMERIC_LIMITS, ByLemma, Chain, Derivation, Instance, Rewrite, Termwise, Z3,
                           reverse)
from proofs.lemmas import LEMMAS, M, TV, X, derived
from proofs.symbols import T, dbar, delta, eps, t

#: name: ("master", advantage route, context-shift route) or ("delta", future route). The order is the
#: order of BOUND_NAMES.
BOUND_ROUTES = {
    "classical": ("master", "advantage_eps", "shift_tv"),
    "coupling": ("master", "advantage_eps_capped", "shift_tv_capped"),
    "linear": ("delta", "future_route_one"),
    "pinsker_marginal_kl": ("master", "advantage_pinsker", "shift_kl"),
    "pinsker_marginal_tv": ("master", "advantage_eps_capped", "shift_kl"),
    "mixed_kl": ("master", "advantage_pinsker", "shift_seq_kl"),
    "mixed_tv": ("master", "advantage_eps_capped", "shift_seq_tv"),
    "adaptive_kl": ("delta", "future_route_kl"),
    "adaptive_tv": ("delta", "future_route_tv"),
    "adaptive_hybrid": ("delta", "future_route_hybrid"),
}
#: a: the factor of the advantage lemma (|g_t(c)| ≤ a D_TV(c)) and of the future factor (≤ a TV).
FAMILY_FACTOR = {"paper": sp.Integer(2), "sharp": sp.Integer(1)}


@dataclass(frozen=True)
class Assembly:
    name: str
    family: str
    derivation: Derivation
    constant: sp.Expr          # C
    term: sp.Expr              # term_t, with D̄_t written Dbar(t)

    @property
    def positional_term(self) -> sp.Expr:
        """term_t with D̄_t as the symbol numerics passes an array of per-position values for."""
        return self.term.xreplace({q.Dbar(t): dbar})


def _route_lemmas():
    from proofs import advantage

    advantage.derivations()      # registers the routes, the master inequality and the Δ route


def assemble(name: str, family: str) -> Assembly:
    _route_lemmas()
    a = FAMILY_FACTOR[family]
    kind, *routes = BOUND_ROUTES[name]
    if kind == "master":
        master = LEMMAS["master_inequality"]
        adv, shift = LEMMAS[routes[0]], LEMMAS[routes[1]]
        facts = {"gmax": Instance(adv.name, {q.c: q.c_max(t)}), "gmin": Instance(adv.name, {q.c: q.c_min(t)}),
                 "shift": Instance(shift.name)}
        summand = master.rhs.function.xreplace({G_SUP: a * adv.rhs, q.TV_d(t): shift.rhs})
        why = f"‖g_t‖∞ ≤ {a}·({routes[0]}), TV(d_t^θ, d_t^roll) ≤ {routes[1]}"
    else:
        master = LEMMAS["delta_route"]
        future = LEMMAS[routes[0]]
        facts = {"future": Instance(future.name, {q.c: q.f_max(t)})}
        summand = master.rhs.function.xreplace({FUTURE: a * future.rhs.xreplace({q.c: q.f_max(t)})})
        why = f"sup|V^roll − V^θ| ≤ {a}·({routes[0]})"
    constant, term = summand.as_coeff_Mul()
    chain = (Chain(sp.Abs(q.Error))
             .le(master.rhs, ByLemma(master.name))
             .le(sp.Sum(summand, (t, 1, T)), Termwise(Z3(*facts)), why))
    if constant != 1:
        chain.eq(constant * sp.Sum(term, (t, 1, T)), Rewrite(LINEAR_SUMS), "the constant leaves the sum")
    derivation = Derivation(f"bound_{name}_{family}", f"|Error| ≤ {name} ({family} constants, C = {constant})",
                            "THEORY §4–§5" + (" (sharp constants: this suite's result)" if family == "sharp" else ""),
                            chain, facts=facts)
    return Assembly(name, family, derivation, constant, term)


@lru_cache(maxsize=None)
def assemblies() -> dict[str, dict[str, Assembly]]:
    out = {}
    for name in BOUND_ROUTES:
        out[name] = {family: assemble(name, family) for family in FAMILY_FACTOR}
        terms = {a.term for a in out[name].values()}
        if len(terms) != 1:
            raise ValueError(f"{name}: the families assemble different terms {terms}")
    for family in FAMILY_FACTOR:
        constants = {out[name][family].constant for name in out}
        if len(constants) != 1:
            raise ValueError(f"{family}: the bounds assemble different constants {constants}")
    return out


def future_factor(route: str = "future_route_hybrid") -> sp.Expr:
    """The future route's right side at the worst context: for the hybrid route, the LN-TRM weight w_t."""
    _route_lemmas()
    return LEMMAS[route].rhs.xreplace({q.c: q.f_max(t)})


# ------------------------------------------------------------------------------------------------
# consequences of the assembled terms (built when checked, from proofs.bounds, so that a changed
# term is caught here)

def _terms():
    from proofs.bounds import BOUND_TERMS, CONSTANTS

    return BOUND_TERMS, CONSTANTS


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
    out = []
    for by_family in assemblies().values():
        for assembly in by_family.values():
            derived(assembly.derivation)
            out.append(assembly.derivation)
    for d in (_recovery_kl(), _recovery_tv(), _hybrid_below_pm_tv(), _hybrid_below_coupling()):
        out.append(d)
    out += _sharp_constant_attained()
    return tuple(out)
