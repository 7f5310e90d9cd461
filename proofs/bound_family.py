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

from proofs import advantage, quantities as q
from proofs.advantage import FUTURE, G_SUP
from proofs.kernel import LINEAR_SUMS, ByLemma, Chain, Derivation, Instance, Rewrite, Termwise, Z3
from proofs.lemmas import LEMMAS, derived
from proofs.symbols import T, dbar, t

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


@lru_cache(maxsize=None)
def derivations() -> tuple[Derivation, ...]:
    """The assembly of every bound in both constant families, each registered as a lemma."""
    out = []
    for by_family in assemblies().values():
        for assembly in by_family.values():
            derived(assembly.derivation)
            out.append(assembly.derivation)
    return tuple(out)
