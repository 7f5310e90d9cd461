"""Lower bounds on the worst case over policy pairs: an explicit construction whose surrogate error has a
closed form, checked by the kernel (this suite's own result, beside THEORY §10–§11; not the paper's).

The construction ("one rare token"): one context, two tokens, π_roll = (p, 1 − p), π_θ = (q, 1 − q) with
0 < p < q < 1 at every one of T i.i.d. positions; token 0 is the rare one, N the number of its draws. The
reward R₁ = 1[N = 1] pays for exactly one rare token. Then J(π) = P_π(N = 1) = T r (1 − r)^(T−1) (r = p or q),
and on {N = 1} the surrogate sum is Σ_t u_t = x₀ + (T − 1)x₁ with x₀ = (q − p)/p, x₁ = (p − q)/(1 − p), so

    Error(R₁) = Tq[(1 − q)^(T−1) − (1 − p)^(T−1)] + T(T − 1)p(q − p)(1 − p)^(T−2)          (single_rare_error)
    sup_R |Error| ≥ |Error(R₁)|                                                   (single_rare_worst_case)

Two regimes, each a chain of limits the kernel evaluates (Gruntz):
  large (T·δ ≳ 1): p → 0 with q = 1 − e^(−δ) fixed. D_KL(roll ‖ θ) → −log(1 − q) = δ and
      |Error(R₁)| → Tq[1 − (1 − q)^(T−1)], so sup_R|Error| / T → 1 − e^(−δ) as T → ∞: linear in T with slope
      ≈ δ, where B* grows with slope 4 sqrt(δ/2) (paper; closed_forms.growth_pm_kl_large_regime): a gap that
      tends to 2√2/√δ as δ → 0.
  small (T·δ ≪ 1): q → p, parametrised as p = s/(1 + s), 1 − q = (1 − p)/(1 + η), η → 0. Error(R₁)/η² →
      T(T − 1)(1 + s)^(−T)(Ts − 2s − 2)/2 and D_KL/η² → 1/(2s); with p = c/T their ratio over T tends to
      c(c − 2)e^(−c) as T → ∞, whose magnitude is largest at c = 2 − √2, where it is 2(√2 − 1)e^(√2−2) ≈ 0.4612:
      sup_R|Error| ≥ 0.46·T·δ to first order in δ, linear in T where Pinsker-Marginal grows like T^(3/2)δ.
Hence the worst case over pairs with max token KL δ grows at least linearly in T in both regimes; proofs.kl_ceiling
bounds it above by min(1, sqrt(Tδ/2)) + sqrt(Tδ) + 4Tδ, so for Tδ ≳ 1 it is Θ(Tδ) (constant between 1 and 4).

The three probabilistic facts the closed form rests on (the binomial probability of one rare token, the
surrogate on that event, and sup_R ≥ any one reward) are cited, each with a test in
tests/proofs/test_lower_bound_lemmas.py that enumerates every sequence.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from proofs import quantities as q
from proofs.kernel import (EXPAND, FACTOR, LIMIT, POWSIMP, TOGETHER, Chain, Congruence, Derivation, Instance,
                           Rewrite, Subst, Z3, unfold)
from proofs.lemmas import DerivationList, cite
from proofs.symbols import T, delta

LOWER_BOUND_TESTS = "tests/proofs/test_lower_bound_lemmas.py"

p = sp.Symbol("p", positive=True)          # π_roll(rare token)
q_ = sp.Symbol("q", positive=True)         # π_θ(rare token)
r = sp.Symbol("r", positive=True)          # the rare token's probability under either policy
s = sp.Symbol("s", positive=True)          # the odds p/(1 − p) in the small regime
eta = sp.Symbol("eta", positive=True)      # 1 − q = (1 − p)/(1 + η) in the small regime
c = sp.Symbol("c", positive=True)          # p·T in the small regime

P_one = sp.Function("P_one", nonnegative=True)     # P(N = 1) for T i.i.d. draws with rare probability r
L_one = sp.Symbol("L_one", real=True)              # L'(R₁) = E_roll[1[N = 1] Σ_t u_t]
Error_one = sp.Symbol("Error_one", real=True)      # Error(R₁) = J_θ(R₁) − J_roll(R₁) − L'(R₁)

X0 = (q_ - p) / p                                  # u at the rare token
X1 = (p - q_) / (1 - p)                            # u at the other token
HYPOTHESES = (sp.Lt(p, q_), sp.Lt(q_, 1))

#: The closed form of Error(R₁) (numerics.lower_bounds lambdifies it).
SINGLE_RARE_ERROR = (T * q_ * ((1 - q_) ** (T - 1) - (1 - p) ** (T - 1))
                     + T * (T - 1) * p * (q_ - p) * (1 - p) ** (T - 2))
#: D_KL(π_roll ‖ π_θ) of the two-token context (THEORY §3).
KL_TWO_TOKEN = p * sp.log(p / q_) + (1 - p) * sp.log((1 - p) / (1 - q_))
#: The large-regime limit p → 0 of |Error(R₁)| at q = 1 − e^(−δ) (a lower bound on sup_R|Error| at max KL δ).
RARE_LIMIT_WORST = T * (1 - sp.exp(-delta)) * (1 - sp.exp(-delta * (T - 1)))
#: The small-regime constant: |Error(R₁)| / (T·D_KL) → SMALL_CONSTANT at p = (2 − √2)/T, q → p, then T → ∞.
SMALL_CONSTANT = 2 * (sp.sqrt(2) - 1) * sp.exp(sp.sqrt(2) - 2)
SMALL_ARGMAX = 2 - sp.sqrt(2)
#: lim_(η→0) Error(R₁)/η² and lim_(η→0) D_KL/η² in the small-regime parametrisation (see _small_regime).
SMALL_ERROR_COEFF = T * (T - 1) * (1 + s) ** (-T) * (T * s - 2 * s - 2) / 2
SMALL_KL_COEFF = 1 / (2 * s)


def _cite_lemmas():
    test = lambda name: f"{LOWER_BOUND_TESTS}::test_{name}"
    cite("single_rare_probability", P_one(r), "=", T * r * (1 - r) ** (T - 1), (r,),
         "T i.i.d. draws that each give the rare token with probability r give it exactly once with probability "
         "T r (1 − r)^(T−1)", "the binomial distribution; Feller, An Introduction to Probability Theory I (1968), "
         "§VI.2", test("single_rare_probability"), hypotheses=(sp.Lt(r, 1),))
    cite("single_rare_surrogate", L_one, "=", P_one(p) * (X0 + (T - 1) * X1), (p, q_),
         "L'(1[N = 1]) = P_roll(N = 1)·(x₀ + (T − 1)x₁): on {N = 1} the surrogate sum Σ_t u_t takes x₀ once and "
         "x₁ at the T − 1 other positions", "THEORY §2 (definition of L'), counted on the event",
         test("single_rare_surrogate"), hypotheses=HYPOTHESES)
    cite("worst_case_at_least_one_reward", sp.Abs(Error_one), "<=", q.sup_error, (),
         "the supremum over rewards R ∈ [0, 1] of |Error| is at least |Error| at the reward R₁ = 1[N = 1]",
         "definition of the supremum; THEORY §10", test("worst_case_at_least_one_reward"))


def _single_rare_error() -> Derivation:
    sur = P_one(p) * (X0 + (T - 1) * X1)
    chain = (Chain(Error_one)
             .eq(P_one(q_) - P_one(p) - L_one, Rewrite(unfold("Error_one")),
                 "Error = J_θ − J_roll − L' with R₁ = 1[N = 1], and J_π(R₁) = P_π(N = 1)")
             .eq(P_one(q_) - P_one(p) - sur, Subst(Instance("single_rare_surrogate")), "the surrogate on {N = 1}")
             .eq(T * q_ * (1 - q_) ** (T - 1) - P_one(p) - sur, Subst(Instance("single_rare_probability", {r: q_})),
                 "P_θ(N = 1)")
             .eq(T * q_ * (1 - q_) ** (T - 1) - T * p * (1 - p) ** (T - 1)
                 - T * p * (1 - p) ** (T - 1) * (X0 + (T - 1) * X1),
                 Subst(Instance("single_rare_probability", {r: p})), "P_roll(N = 1)")
             .eq(SINGLE_RARE_ERROR, Rewrite(EXPAND, POWSIMP, EXPAND)))
    return Derivation("single_rare_error", "one rare token, R₁ = 1[N = 1]: Error(R₁) = Tq[(1 − q)^(T−1) − (1 − p)^(T−1)]"
                      " + T(T − 1)p(q − p)(1 − p)^(T−2)", "THEORY §2, §10 (lower bounds)", chain,
                      hypotheses=HYPOTHESES, definitions={Error_one: P_one(q_) - P_one(p) - L_one})


def _single_rare_worst_case() -> Derivation:
    chain = Chain(sp.Abs(SINGLE_RARE_ERROR)).le(q.sup_error, Z3("error", "sup"),
                                                "Error(R₁) in closed form, and sup_R ≥ its value at R₁")
    return Derivation("single_rare_worst_case", "one rare token: sup_R |Error| ≥ |Tq[(1 − q)^(T−1) − (1 − p)^(T−1)] "
                      "+ T(T − 1)p(q − p)(1 − p)^(T−2)|", "THEORY §10 (lower bounds)", chain, hypotheses=HYPOTHESES,
                      facts={"error": Instance("single_rare_error"), "sup": Instance("worst_case_at_least_one_reward")})


def _large_regime() -> list[Derivation]:
    q_delta = 1 - sp.exp(-delta)
    error = (Chain(sp.Limit(SINGLE_RARE_ERROR, p, 0, "+"))
             .eq(T * q_ * ((1 - q_) ** (T - 1) - 1), Rewrite(LIMIT, EXPAND)))
    kl = (Chain(sp.Limit(KL_TWO_TOKEN.xreplace({q_: q_delta}), p, 0, "+"))
          .eq(delta, Rewrite(LIMIT, EXPAND)))
    growth = (Chain(sp.Limit(RARE_LIMIT_WORST / T, T, sp.oo))
              .eq(q_delta, Rewrite(LIMIT, EXPAND)))
    paper_slope = 4 * sp.sqrt(delta / 2)
    gap = (Chain(sp.Limit(sp.sqrt(delta) * paper_slope / q_delta, delta, 0, "+"))
           .eq(2 * sp.sqrt(2), Rewrite(LIMIT)))
    same = (Chain(RARE_LIMIT_WORST)
            .eq(-(T * q_ * ((1 - q_) ** (T - 1) - 1)).xreplace({q_: q_delta}), Rewrite(EXPAND, POWSIMP, EXPAND)))
    ref = "THEORY §10 (lower bounds, large regime)"
    return [
        Derivation("single_rare_limit_error", "p → 0: Error(R₁) → −Tq[1 − (1 − q)^(T−1)]", ref, error,
                   hypotheses=(sp.Lt(q_, 1),)),
        Derivation("single_rare_limit_kl", "p → 0 with q = 1 − e^(−δ): D_KL(roll ‖ θ) → δ", ref, kl),
        Derivation("single_rare_limit_at_delta", "at q = 1 − e^(−δ) the limit magnitude Tq[1 − (1 − q)^(T−1)] is "
                   "T(1 − e^(−δ))(1 − e^(−δ(T−1)))", ref, same),
        Derivation("single_rare_linear_growth", "T(1 − e^(−δ))(1 − e^(−δ(T−1))) / T → 1 − e^(−δ): the worst case at "
                   "max KL δ grows at least linearly in T", ref, growth),
        Derivation("single_rare_gap_to_paper_slope", "B*'s large-T slope 4 sqrt(δ/2) over the construction's "
                   "1 − e^(−δ), times √δ, → 2√2 as δ → 0: a gap of order 1/√δ that no proof from δ alone can close "
                   "below this construction", ref, gap),
    ]


def _small_regime() -> list[Derivation]:
    """q → p, parametrised so that every base of a symbolic power is positive by construction (CONVENTIONS: a
    probability as s/(1 + s)): p = s/(1 + s), 1 − q = (1 − p)/(1 + η), η → 0 (then q − p = (1 − p)η/(1 + η))."""
    sub = {p: s / (1 + s), q_: 1 - 1 / ((1 + s) * (1 + eta))}
    error = SINGLE_RARE_ERROR.xreplace(sub)
    kl = KL_TWO_TOKEN.xreplace(sub)
    ref = "THEORY §10 (lower bounds, small regime)"
    d_error = Derivation(
        "single_rare_small_error", "p = s/(1 + s), 1 − q = (1 − p)/(1 + η): Error(R₁)/η² → SMALL_ERROR_COEFF(s, T) = "
        "T(T − 1)(1 + s)^(−T)(Ts − 2s − 2)/2 as η → 0", ref,
        Chain(sp.Limit(error / eta ** 2, eta, 0, "+"))
        .eq(sp.Limit(sp.together(error, deep=True) / eta ** 2, eta, 0, "+"), Congruence(Rewrite(TOGETHER)),
            "over one denominator: 1 − p = 1/(1 + s), 1 − q = 1/((1 + s)(1 + η))")
        .eq(SMALL_ERROR_COEFF, Rewrite(LIMIT, FACTOR, POWSIMP)))
    d_kl = Derivation(
        "single_rare_small_kl", "same parametrisation: D_KL(roll ‖ θ)/η² → 1/(2s) as η → 0", ref,
        Chain(sp.Limit(kl / eta ** 2, eta, 0, "+"))
        .eq(sp.Limit(sp.together(kl, deep=True) / eta ** 2, eta, 0, "+"), Congruence(Rewrite(TOGETHER)))
        .eq(SMALL_KL_COEFF, Rewrite(LIMIT, FACTOR)))
    ratio = (SMALL_ERROR_COEFF / SMALL_KL_COEFF).xreplace({s: c / (T - c)}) / T
    d_growth = Derivation(
        "single_rare_small_growth", "p = c/T (s = c/(T − c)): [lim_η Error(R₁)/D_KL] / T → c(c − 2)e^(−c) as T → ∞, "
        "so |Error(R₁)| ≈ c(2 − c)e^(−c)·T·D_KL: linear in T", ref,
        Chain(sp.Limit(ratio, T, sp.oo)).eq(c * (c - 2) * sp.exp(-c), Rewrite(LIMIT, EXPAND)))
    d_value = Derivation(
        "single_rare_small_constant", "at c = 2 − √2 the constant c(2 − c)e^(−c) is 2(√2 − 1)e^(√2−2) ≈ 0.4612 (the "
        "largest over c, where d/dc [c(2 − c)e^(−c)] = e^(−c)(c² − 4c + 2) vanishes: a choice the bound does not "
        "depend on, tested rather than derived)", ref,
        Chain((c * (2 - c) * sp.exp(-c)).xreplace({c: SMALL_ARGMAX})).eq(SMALL_CONSTANT, Rewrite(EXPAND)))
    return [d_error, d_kl, d_growth, d_value]


@lru_cache(maxsize=None)
def derivations() -> tuple[Derivation, ...]:
    _cite_lemmas()
    out = DerivationList()
    out.add(_single_rare_error(), (p, q_, T))
    out.add(_single_rare_worst_case(), (p, q_, T))
    for d in _large_regime() + _small_regime():
        out.add(d)
    return tuple(out)
