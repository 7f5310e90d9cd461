"""The advantage lemma and the two master inequalities (THEORY §2, §4).

Advantage: g_t(c) = E_{π_θ}[Q_t(c, ·)] − E_{π_roll}[Q_t(c, ·)], so by TV duality
|g_t(c)| ≤ D_TV(c) · osc(Q_t(c, ·)) ≤ D_TV(c) (Q_t ∈ [0, 1]): the sharp form. The paper's
|g_t(c)| ≤ 2 D_TV(c) follows. Three routes bound D_TV(c): ε, min(1, ε), min(1, sqrt(δ/2)).

Master inequality (performance difference minus the per-token surrogate, then TV duality over
contexts):  |Error| ≤ Σ_t 2 ‖g_t‖∞ · TV(d_t^θ, d_t^roll), with ‖g_t‖∞ = max(|g_t(c_max)|, |g_t(c_min)|).

Δ route (linear and Adaptive): Error = −Δ, Δ = Σ_t E_roll[(ρ_t − 1) h_t] (tower property), Hölder,
E_roll|ρ_t − 1| = 2 D̄_t:  |Error| ≤ Σ_t 2 D̄_t · sup_c |V^roll_{t+1}(c) − V^θ_{t+1}(c)|.
(The argument through ‖g_t‖∞ ≤ 2 D̄_t is false: ‖g_t‖∞ is a maximum over contexts, D̄_t a mean.)
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from proofs import divergences, finite_sums, identities, quantities as q
from proofs.kernel import (LINEAR_SUMS, ByLemma, Chain, Congruence, Derivation, Instance, Rewrite, Subst, Termwise,
                           Z3, unfold)
from proofs.lemmas import EP, EQ, OSC, SUP, TV, EabsX, EXY, M, X, Y, DerivationList
from proofs.symbols import T, delta, eps, t
from proofs.finite_sums import a_fn

c = q.c
G_MAX = sp.Abs(q.g(t, q.c_max(t)))
G_MIN = sp.Abs(q.g(t, q.c_min(t)))
G_SUP = sp.Max(G_MAX, G_MIN)                       # ‖g_t‖∞
FUTURE = sp.Abs(q.V_roll(t, q.f_max(t)) - q.V_theta(t, q.f_max(t)))   # sup_c |h_t(c)|


def _advantage_bound() -> Derivation:
    chain = (Chain(sp.Abs(q.g(t, c)))
             .eq(sp.Abs(q.EQ_theta(t, c) - q.EQ_roll(t, c)), Subst(Instance("advantage_as_difference")),
                 "g_t(c) = E_θ[Q_t] − E_roll[Q_t]")
             .le(q.TV_tok(c) * sp.Abs(q.Q_max(t, c) - q.Q_min(t, c)),
                 ByLemma("tv_duality", {EP: q.EQ_theta(t, c), EQ: q.EQ_roll(t, c), TV: q.TV_tok(c),
                                        OSC: sp.Abs(q.Q_max(t, c) - q.Q_min(t, c))}),
                 "TV duality at the context c; osc(Q_t) = max Q_t − min Q_t")
             .le(q.TV_tok(c), Z3("hi", "hi2", "lo", "lo2"), "osc(Q_t) ≤ 1 because Q_t ∈ [0, 1]"))
    return Derivation("advantage_bound", "|g_t(c)| ≤ D_TV(c) (sharp)", "THEORY §4, §5 (sharp constant)", chain,
                      facts={"hi": Instance("value_at_most_one", {Y: q.Q_max(t, c)}),
                             "hi2": Instance("value_at_most_one", {Y: q.Q_min(t, c)}),
                             "lo": Instance("value_nonnegative", {Y: q.Q_max(t, c)}),
                             "lo2": Instance("value_nonnegative", {Y: q.Q_min(t, c)})})


def _advantage_paper() -> Derivation:
    chain = Chain(sp.Abs(q.g(t, c))).le(2 * q.TV_tok(c), Z3("sharp"), "weaker than the sharp form")
    return Derivation("advantage_paper", "|g_t(c)| ≤ 2 D_TV(c) (the paper's advantage lemma)", "THEORY §4", chain,
                      facts={"sharp": Instance("advantage_bound")})


ADVANTAGE_ROUTE_RHS = {
    "advantage_eps": eps,
    "advantage_eps_capped": sp.Min(1, eps),
    "advantage_pinsker": sp.Min(1, sp.sqrt(delta / 2)),
}


def _advantage_routes() -> list[Derivation]:
    facts = {"adv": Instance("advantage_bound"), "max": Instance("bounded_by_max", {M: q.TV_tok(c), X: eps}),
             "one": Instance("tv_at_most_one", {TV: q.TV_tok(c)}), "tp": Instance("token_pinsker")}
    uses = {"advantage_eps": ("adv", "max"), "advantage_eps_capped": ("adv", "max", "one"),
            "advantage_pinsker": ("adv", "tp")}
    words = {"advantage_eps": "|g_t(c)| ≤ ε", "advantage_eps_capped": "|g_t(c)| ≤ min(1, ε)",
             "advantage_pinsker": "|g_t(c)| ≤ min(1, sqrt(δ/2))"}
    out = []
    for name, rhs in ADVANTAGE_ROUTE_RHS.items():
        chain = Chain(sp.Abs(q.g(t, c))).le(rhs, Z3(*uses[name]))
        out.append(Derivation(name, words[name] + " at every reachable context", "THEORY §4", chain,
                              facts={k: facts[k] for k in uses[name]}))
    return out


def _master_inequality() -> Derivation:
    osc = sp.Abs(q.g(t, q.c_max(t)) - q.g(t, q.c_min(t)))
    diff = q.Eg_roll(t) - q.Eg_theta(t)
    chain = (Chain(sp.Abs(q.Error))
             .eq(sp.Abs(q.Jgap - q.Lsur), Rewrite(unfold("Error")), "Error = J(π_θ) − J(π_roll) − L'")
             .eq(sp.Abs(sp.Sum(q.Eg_theta(t), (t, 1, T)) - q.Lsur), Subst(Instance("performance_difference")))
             .eq(sp.Abs(sp.Sum(q.Eg_theta(t), (t, 1, T)) - sp.Sum(q.Eg_roll(t), (t, 1, T))),
                 Subst(Instance("per_token_surrogate")))
             .eq(sp.Abs(sp.Sum(diff, (t, 1, T))), Congruence(Rewrite(LINEAR_SUMS)))
             .le(sp.Sum(sp.Abs(diff), (t, 1, T)),
                 ByLemma("triangle_sums", {a_fn: sp.Lambda(t, diff), q.n: T}))
             .le(sp.Sum(q.TV_d(t) * osc, (t, 1, T)),
                 Termwise(ByLemma("tv_duality", {EP: q.Eg_roll(t), EQ: q.Eg_theta(t), TV: q.TV_d(t), OSC: osc})),
                 "TV duality between d_t^θ and d_t^roll for the function g_t")
             .le(sp.Sum(2 * G_SUP * q.TV_d(t), (t, 1, T)), Termwise(Z3()),
                 "osc(g_t) = g_t(c_max) − g_t(c_min) ≤ 2 max(|g_t(c_max)|, |g_t(c_min)|) = 2‖g_t‖∞"))
    return Derivation("master_inequality", "|Error| ≤ Σ_t 2‖g_t‖∞ · TV(d_t^θ, d_t^roll)", "THEORY §4", chain,
                      definitions={q.Error: q.Jgap - q.Lsur})


def _abs_dev_token() -> Derivation:
    """π_roll(v)|π_θ(v)/π_roll(v) − 1| = |π_θ(v) − π_roll(v)|, summed over π_roll's support."""
    p, qq, v, V = q.p_roll[c, q.v], q.p_theta[c, q.v], q.v, q.V
    chain = Chain(sp.Sum(p * sp.Abs(qq / p - 1), (v, 1, V))).eq(sp.Sum(sp.Abs(qq - p), (v, 1, V)), Termwise(Z3()),
                                                                 "π_roll > 0 on its support")
    return Derivation("abs_dev_token", "Σ_v π_roll(v|c)|ρ(v) − 1| = Σ_v |π_θ(v|c) − π_roll(v|c)| = 2 D_TV(c)",
                      "THEORY §5 (Adaptive proof)", chain)


def _error_is_minus_delta_abs() -> Derivation:
    chain = Chain(sp.Abs(q.Error)).eq(sp.Abs(q.Delta), Subst(Instance("error_is_minus_delta")), "|−Δ| = |Δ|")
    return Derivation("abs_error_is_abs_delta", "|Error| = |Δ|", "THEORY §2", chain)


def _delta_route() -> Derivation:
    chain = (Chain(sp.Abs(q.Error))
             .eq(sp.Abs(q.Delta), ByLemma("abs_error_is_abs_delta"))
             .eq(sp.Abs(sp.Sum(q.Euh(t), (t, 1, T))), Subst(Instance("delta_tower")),
                 "Δ = Σ_t E_roll[(ρ_t − 1) h_t(c_(t+1))]")
             .le(sp.Sum(sp.Abs(q.Euh(t)), (t, 1, T)),
                 ByLemma("triangle_sums", {a_fn: sp.Lambda(t, q.Euh(t)), q.n: T}))
             .le(sp.Sum(q.Eabs_u(t) * FUTURE, (t, 1, T)),
                 Termwise(ByLemma("holder_sup", {EXY: q.Euh(t), EabsX: q.Eabs_u(t), SUP: FUTURE})),
                 "Hölder: |E[(ρ_t − 1) h_t]| ≤ E|ρ_t − 1| · sup|h_t|")
             .eq(sp.Sum(2 * q.Dbar(t) * FUTURE, (t, 1, T)), Subst(Instance("abs_dev_is_twice_tv")),
                 "E_roll|ρ_t − 1| = 2 D̄_t"))
    return Derivation("delta_route", "|Error| ≤ Σ_t 2 D̄_t · sup_c |V^roll_(t+1)(c) − V^θ_(t+1)(c)|",
                      "THEORY §5 (Adaptive proof)", chain)


@lru_cache(maxsize=None)
def derivations() -> tuple[Derivation, ...]:
    divergences.derivations()
    finite_sums.basic_derivations()
    identities.derivations()
    out = DerivationList()
    out.add(_advantage_bound(), (t, c))
    out.add(_advantage_paper(), (t, c))
    for d in _advantage_routes():
        out.add(d, (t, c))
    out.add(_master_inequality())
    out.add(_abs_dev_token())
    out.add(_error_is_minus_delta_abs())
    out.add(_delta_route())
    return tuple(out)


ADVANTAGE_ROUTES = tuple(ADVANTAGE_ROUTE_RHS)
