"""Divergence routes (THEORY §3–§4): Pinsker with its cap, the KL chain rule, and every route the
bounds use for the context shift TV(d_t^θ, d_t^roll) and for the future factor of the Δ route.

Each derivation is registered as a lemma; the bound assembly (proofs.bound_family) instantiates
their right-hand sides, so the caps and indices of every bound come from here.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from proofs import quantities as q
from proofs.kernel import (SUM_CONSTANT, ByLemma, Chain, Derivation, Instance, Rewrite, Termwise, Z3, unfold)
from proofs.lemmas import EP, EQ, KL, OSC, TV, M, X, Y, a_, b_, law_kl, law_tv, m_, DerivationList
from proofs.symbols import T, delta, eps, t

s = q.s
c = q.c
c_eps = sp.Symbol("c_eps")       # a reachable context attaining ε = max_c D_TV(c)


def _pinsker_capped() -> Derivation:
    chain = Chain(TV).le(sp.Min(1, sp.sqrt(KL / 2)), Z3("pinsker", "one"), "Pinsker and TV ≤ 1")
    return Derivation("pinsker_capped", "TV ≤ min(1, sqrt(KL/2))", "THEORY §3", chain,
                      facts={"pinsker": Instance("pinsker"), "one": Instance("tv_at_most_one")})


def _token_pinsker() -> Derivation:
    chain = (Chain(q.TV_tok(c))
             .le(sp.Min(1, sp.sqrt(q.KL_tok(c) / 2)), ByLemma("pinsker_capped", {TV: q.TV_tok(c), KL: q.KL_tok(c)}))
             .le(sp.Min(1, sp.sqrt(delta / 2)), Z3("kl_max"), "D_KL(c) ≤ δ and sqrt is increasing"))
    return Derivation("token_pinsker", "D_TV(c) ≤ min(1, sqrt(δ/2)) at every reachable context", "THEORY §3", chain,
                      facts={"kl_max": Instance("bounded_by_max", {M: q.KL_tok(c), X: delta})})


def _eps_pinsker() -> Derivation:
    chain = (Chain(eps)
             .eq(q.TV_tok(c_eps), Rewrite(unfold("epsilon")), "ε is attained at a reachable context c_ε")
             .le(sp.Min(1, sp.sqrt(delta / 2)), ByLemma("token_pinsker", {c: c_eps})))
    return Derivation("eps_pinsker", "ε ≤ min(1, sqrt(δ/2)): the worst case of ε given δ", "THEORY §3", chain,
                      definitions={eps: q.TV_tok(c_eps)})


def _kl_bound(name, lhs, first, last, statement) -> Derivation:
    """KL over positions first..last ≤ (number of positions)·δ, by the chain rule."""
    chain = (Chain(lhs)
             .eq(sp.Sum(q.KLbar(s), (s, first, last)),
                 ByLemma("kl_chain_rule", {law_kl: lhs, m_: q.KLbar, a_: first, b_: last}), "KL chain rule")
             .le(sp.Sum(delta, (s, first, last)), Termwise(ByLemma("bounded_by_max", {M: q.KLbar(s), X: delta})),
                 "each E_(d_s^roll)[D_KL] ≤ δ")
             .eq((last - first + 1) * delta, Rewrite(SUM_CONSTANT)))
    return Derivation(name, statement, "THEORY §3", chain)


def _prefix_kl() -> Derivation:
    return _kl_bound("prefix_kl_bound", q.KL_d(t), 1, t - 1, "KL(d_t^roll ‖ d_t^θ) ≤ (t − 1)δ")


def _seq_kl() -> Derivation:
    return _kl_bound("seq_kl_bound", q.KL_seq, 1, T, "D_KL^seq ≤ Tδ: the worst case of D_KL^seq given δ")


def _future_kl() -> Derivation:
    fut = sp.Lambda(s, q.KLbar_fut(t, c, s))
    chain = (Chain(q.KL_fut(t, c))
             .eq(sp.Sum(q.KLbar_fut(t, c, s), (s, t + 1, T)),
                 ByLemma("kl_chain_rule", {law_kl: q.KL_fut(t, c), m_: fut, a_: t + 1, b_: T}),
                 "KL chain rule for the laws of y_(t+1..T) given c_(t+1) = c")
             .le(sp.Sum(delta, (s, t + 1, T)),
                 Termwise(ByLemma("bounded_by_max", {M: q.KLbar_fut(t, c, s), X: delta})))
             .eq((T - t) * delta, Rewrite(SUM_CONSTANT)))
    return Derivation("future_kl_bound", "KL of the future laws from c_(t+1) ≤ (T − t)δ", "THEORY §5", chain)


def _tv_bound(name, lhs, first, last, mean, statement) -> Derivation:
    chain = (Chain(lhs)
             .le(sp.Sum(mean(s), (s, first, last)),
                 ByLemma("coupling_recursion", {law_tv: lhs, m_: sp.Lambda(s, mean(s)), a_: first, b_: last}),
                 "coupling: the laws first differ at some position s")
             .le(sp.Sum(eps, (s, first, last)), Termwise(ByLemma("bounded_by_max", {M: mean(s), X: eps})),
                 "each expected token TV ≤ ε")
             .eq((last - first + 1) * eps, Rewrite(SUM_CONSTANT)))
    return Derivation(name, statement, "THEORY §4", chain)


def _shift_tv() -> Derivation:
    return _tv_bound("shift_tv", q.TV_d(t), 1, t - 1, q.Dbar, "TV(d_t^θ, d_t^roll) ≤ (t − 1)ε")


def _future_tv() -> Derivation:
    return _tv_bound("future_tv", q.TV_fut(t, c), t + 1, T, lambda i: q.Dbar_fut(t, c, i),
                     "TV of the future laws from c_(t+1) ≤ (T − t)ε")


def _shift_tv_capped() -> Derivation:
    chain = Chain(q.TV_d(t)).le(sp.Min(1, (t - 1) * eps), Z3("route", "one"))
    return Derivation("shift_tv_capped", "TV(d_t^θ, d_t^roll) ≤ min(1, (t − 1)ε)", "THEORY §4", chain,
                      facts={"route": Instance("shift_tv"), "one": Instance("tv_at_most_one", {TV: q.TV_d(t)})})


def _shift_kl() -> Derivation:
    chain = (Chain(q.TV_d(t))
             .le(sp.Min(1, sp.sqrt(q.KL_d(t) / 2)), ByLemma("pinsker_capped", {TV: q.TV_d(t), KL: q.KL_d(t)}))
             .le(sp.Min(1, sp.sqrt((t - 1) * delta / 2)), Z3("prefix"), "KL chain rule: KL(d_t) ≤ (t − 1)δ"))
    return Derivation("shift_kl", "TV(d_t^θ, d_t^roll) ≤ min(1, sqrt((t − 1)δ/2))", "THEORY §4", chain,
                      facts={"prefix": Instance("prefix_kl_bound")})


def _shift_seq_kl() -> Derivation:
    chain = Chain(q.TV_d(t)).le(sp.Min(1, sp.sqrt(q.KL_seq / 2)), Z3("dp", "seq", "one"))
    return Derivation("shift_seq_kl", "TV(d_t^θ, d_t^roll) ≤ min(1, sqrt(D_KL^seq/2))", "THEORY §4", chain,
                      facts={"dp": Instance("data_processing_tv"), "seq": Instance("seq_pinsker"),
                             "one": Instance("tv_at_most_one", {TV: q.TV_d(t)})})


def _shift_seq_tv() -> Derivation:
    chain = Chain(q.TV_d(t)).le(sp.Min(1, q.TV_seq), Z3("dp", "one"))
    return Derivation("shift_seq_tv", "TV(d_t^θ, d_t^roll) ≤ min(1, D_TV^seq)", "THEORY §4", chain,
                      facts={"dp": Instance("data_processing_tv"), "one": Instance("tv_at_most_one", {TV: q.TV_d(t)})})


def _seq_tv_worst() -> Derivation:
    chain = Chain(q.TV_seq).le(sp.Min(1, sp.sqrt(q.KL_seq / 2)), Z3("seq", "one"))
    return Derivation("seq_tv_worst", "D_TV^seq ≤ min(1, sqrt(D_KL^seq/2)): the worst case of D_TV^seq", "THEORY §3",
                      chain, facts={"seq": Instance("seq_pinsker"), "one": Instance("tv_at_most_one", {TV: q.TV_seq})})


# --- the future factor of the Δ route: |V^roll_(t+1)(c) − V^θ_(t+1)(c)|

GAP = sp.Abs(q.V_roll(t, c) - q.V_theta(t, c))


def _future_gap() -> Derivation:
    chain = (Chain(GAP)
             .le(q.TV_fut(t, c) * sp.Abs(q.R_max - q.R_min),
                 ByLemma("tv_duality", {EP: q.V_roll(t, c), EQ: q.V_theta(t, c), TV: q.TV_fut(t, c),
                                        OSC: sp.Abs(q.R_max - q.R_min)}),
                 "V^roll and V^θ are expectations of R under the two future laws")
             .le(q.TV_fut(t, c), Z3("hi", "hi2", "lo", "lo2"), "osc(R) ≤ 1 for R ∈ [0, 1]"))
    return Derivation("future_gap", "|V^roll_(t+1)(c) − V^θ_(t+1)(c)| ≤ TV of the future laws (sharp)", "THEORY §5",
                      chain, facts={"hi": Instance("value_at_most_one", {Y: q.R_max}),
                                    "hi2": Instance("value_at_most_one", {Y: q.R_min}),
                                    "lo": Instance("value_nonnegative", {Y: q.R_max}),
                                    "lo2": Instance("value_nonnegative", {Y: q.R_min})})


def _future_route(name, rhs, facts, statement) -> Derivation:
    chain = Chain(GAP).le(rhs, Z3(*facts))
    return Derivation(name, statement, "THEORY §5", chain, facts={k: v for k, v in _FUTURE_FACTS().items() if k in facts})


def _FUTURE_FACTS():
    return {"gap": Instance("future_gap"), "tv": Instance("future_tv"),
            "kl": Instance("pinsker_capped", {TV: q.TV_fut(t, c), KL: q.KL_fut(t, c)}),
            "klb": Instance("future_kl_bound"), "one": Instance("tv_at_most_one", {TV: q.TV_fut(t, c)})}


FUTURE_ROUTE_RHS = {
    "one": sp.Integer(1),
    "tv": sp.Min(1, (T - t) * eps),
    "kl": sp.Min(1, sp.sqrt((T - t) * delta / 2)),
}


def _future_routes() -> list[Derivation]:
    return [
        _future_route("future_route_one", FUTURE_ROUTE_RHS["one"], ("gap", "one"),
                      "the future factor ≤ 1 (the linear bound)"),
        _future_route("future_route_tv", FUTURE_ROUTE_RHS["tv"], ("gap", "tv", "one"),
                      "the future factor ≤ min(1, (T − t)ε)"),
        _future_route("future_route_kl", FUTURE_ROUTE_RHS["kl"], ("gap", "kl", "klb"),
                      "the future factor ≤ min(1, sqrt((T − t)δ/2))"),
    ]


def _future_hybrid() -> Derivation:
    rhs = sp.Min(FUTURE_ROUTE_RHS["tv"], FUTURE_ROUTE_RHS["kl"])
    chain = Chain(GAP).le(rhs, Z3("tv", "kl"))
    return Derivation("future_route_hybrid", "the future factor ≤ min(1, (T − t)ε, sqrt((T − t)δ/2)) "
                      "(also the LN-TRM weight w_t)", "THEORY §5, §7", chain,
                      facts={"tv": Instance("future_route_tv"), "kl": Instance("future_route_kl")})


@lru_cache(maxsize=None)
def derivations() -> tuple[Derivation, ...]:
    """Build (and register as lemmas) every route, in dependency order."""
    out = DerivationList()
    out.add(_pinsker_capped(), (TV, KL))
    out.add(_token_pinsker(), (c,))
    out.add(_eps_pinsker(), (delta,))
    out.add(_prefix_kl(), (t,))
    out.add(_seq_kl(), (T, delta))
    out.add(_future_kl(), (t, c))
    out.add(_shift_tv(), (t,))
    out.add(_future_tv(), (t, c))
    out.add(_shift_tv_capped(), (t,))
    out.add(_shift_kl(), (t,))
    out.add(_shift_seq_kl(), (t,))
    out.add(_shift_seq_tv(), (t,))
    out.add(_seq_tv_worst(), (q.KL_seq,))
    out.add(_future_gap(), (t, c))
    for d in _future_routes():
        out.add(d, (t, c))
    out.add(_future_hybrid(), (t, c))
    return tuple(out)


SHIFT_ROUTES = ("shift_tv", "shift_tv_capped", "shift_kl", "shift_seq_kl", "shift_seq_tv")
FUTURE_ROUTES = ("future_route_one", "future_route_tv", "future_route_kl", "future_route_hybrid")
