"""The derivations behind the path-moment bounds of proofs.path_bounds (THEORY §11, this suite's own results).

    log_product                Π_t ρ_t = exp(Σ_t log ρ_t)                                      (rewrite)
    surrogate_sum_mean         E_roll[S] = 0, S = Σ_t (ρ_t − 1)
    k3_sum_nonnegative         H = Σ_t (ρ_t − 1 − log ρ_t) ≥ 0                                  (termwise, z3)
    k3_sequence_mean           E_roll[H] = D_KL^seq
    sequence_kl_bound          sup_R|Error| ≤ D_KL^seq            (W⁻ = (1 + S − e^L)⁺ ≤ (S − L)⁺ = H)
    sequence_kl_worst_case     sup_R|Error| ≤ Tδ
    tangent_mean, tangent_second_moment   E[Y_γ] and E[Y_γ²] in D_KL^seq, Q, E[SH], E[H²]
    tangent_bound              sup_R|Error| ≤ ½(m_γ + sqrt(s_γ)) for every γ > 0   (e^L ≥ γ(1 + L − log γ))
    tangent_bound_at_zero      sup_R|Error| ≤ ½(1 + sqrt(1 + Q))                   (e^L ≥ 0)
    tangent_at_zero_below_additive   ½(1 + sqrt(1 + Q)) ≤ 1 + ½ sqrt(Q)
    additive_bound             sup_R|Error| ≤ D_TV^seq + ½ sqrt(Q)      ((a + b)⁺ ≤ a⁺ + b⁺)
    additive_le_cam, additive_bretagnolle_huber   the same with D_TV^seq's two DP-computable upper bounds
    abs_sum_split              E|S| ≤ A_b + sqrt(Q_s) for u_t = u^b_t + (u_t − u^b_t)   (triangle, Cauchy–Schwarz)
    additive_split_bound       sup_R|Error| ≤ D_TV^seq + ½(A_b + sqrt(Q_s))
    weighted_chi2_bound        sup_R|Error| ≤ ½ sqrt(E[W²/Πω] E[Πω]) for positive per-token weights ω

Cited, each with a test in tests/proofs/test_path_lemmas.py that enumerates small random pairs (or draws
random weights): the worst reward in its two forms, monotonicity and linearity of expectation, Cauchy–Schwarz
(plain and weighted), orthogonality of the increments of S, the mean of the log-likelihood ratio, D_TV as an
expectation of the likelihood ratio, Le Cam's and Bretagnolle–Huber's inequalities and the Bhattacharyya
coefficient as a path product.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from proofs import path_bounds as pb
from proofs import quantities as q
from proofs.kernel import (EXPAND, LINEAR_SUMS, SUM_CONSTANT, ByLemma, Chain, Congruence, Derivation, Instance, Rewrite,
                           Subst, Termwise, Z3, unfold)
from proofs.lemmas import E_, N_, DerivationList, Y, Z, cite, f_
from proofs.symbols import T, delta, kl_seq, tv_seq

PATH_TESTS = "tests/proofs/test_path_lemmas.py"

E = q.E_roll
rho = q.rho
t = q.s                 # the position index of every path sum (the index the cited expectation lemmas use)
gamma = pb.gamma
#: Along one sequence: S = Σ u_t, L = Σ log ρ_t = log M_T, M = M_T, H = Σ k3(ρ_t) = S − L, W = M − 1 − S.
S_PATH = sp.Sum(rho(t) - 1, (t, 1, T))
L_PATH = sp.Sum(sp.log(rho(t)), (t, 1, T))
M_PATH = sp.Product(rho(t), (t, 1, T))
H_PATH = sp.Sum(rho(t) - 1 - sp.log(rho(t)), (t, 1, T))
W_PATH = M_PATH - 1 - S_PATH
BC_PATH = sp.Product(sp.sqrt(rho(t)), (t, 1, T))
#: ω_t > 0: a per-token weight (a function of the context and the token emitted); Π_t ω_t along the sequence.
omega = sp.Function("omega", positive=True)
OMEGA_PATH = sp.Product(omega(t), (t, 1, T))
#: X_γ := L − log γ (the point where the tangent of exp at log γ is evaluated).
X_GAMMA = sp.Symbol("X_gamma", real=True)
#: Y_γ = 1 + S − γ(1 + L − log γ), written with X_γ.
Y_GAMMA = 1 + S_PATH - gamma * (1 + X_GAMMA)
Y_GAMMA_PATH = Y_GAMMA.xreplace({X_GAMMA: L_PATH - sp.log(gamma)})

#: u^b_t: the large part of u_t along the sequence (a martingale difference; numerics.split_moments builds it).
u_big = sp.Function("u_b", real=True)
S_BIG = sp.Sum(u_big(t), (t, 1, T))
S_SMALL = sp.Sum(rho(t) - 1 - u_big(t), (t, 1, T))
#: E_(a0 + Σ_i a_i X_i) = a0 + Σ_i a_i E_(X_i): linearity with five random variables.
A_ = sp.symbols("a0:6", real=True)
X_ = sp.symbols("X1:6", real=True)


def _cite_lemmas():
    test = lambda name: f"{PATH_TESTS}::test_{name}"
    cite("worst_reward_negative_part", q.sup_error, "=", E(sp.Max(0, -W_PATH)), (),
         "sup over rewards R ∈ [0, 1] of |E_roll[R W]| = E_roll[W⁻] when E_roll[W] = 0 (R = 1[W < 0] attains it)",
         "THEORY §10 (E_roll|W| = 2 E_roll[W⁻] because E_roll[W] = 0)", test("worst_reward_negative_part"))
    cite("worst_reward_absolute", q.sup_error, "=", E(sp.Abs(W_PATH)) / 2, (),
         "sup over rewards R ∈ [0, 1] of |E_roll[R W]| = ½ E_roll|W| when E_roll[W] = 0",
         "THEORY §10", test("worst_reward_absolute"))
    cite("expectation_monotone", E_(Y), "<=", E_(Z), (E_, Y, Z),
         "Y ≤ Z pointwise ⇒ E[Y] ≤ E[Z]", "monotonicity of the Lebesgue integral; Williams (1991), ch. 6",
         test("expectation_monotone"), hypotheses=(sp.Le(Y, Z),))
    cite("expectation_nonnegative", 0, "<=", E_(Y), (E_, Y),
         "Y ≥ 0 pointwise ⇒ E[Y] ≥ 0", "monotonicity of the Lebesgue integral; Williams (1991), ch. 6",
         test("expectation_nonnegative"), hypotheses=(sp.Ge(Y, 0),))
    cite("expectation_combination", E_(A_[0] + sum(a * x for a, x in zip(A_[1:], X_))), "=",
         A_[0] + sum(a * E_(x) for a, x in zip(A_[1:], X_)), (E_,) + A_ + X_,
         "E[a0 + Σ_i a_i X_i] = a0 + Σ_i a_i E[X_i] for constants a_i (a probability measure: E[1] = 1)",
         "linearity of the Lebesgue integral; Williams (1991), ch. 6", test("expectation_combination"))
    cite("cauchy_schwarz_expectation", E_(sp.Abs(Y)), "<=", sp.sqrt(E_(Y**2)), (E_, Y),
         "E|Y| ≤ sqrt(E[Y²]) (Cauchy–Schwarz with the constant 1, a probability measure)",
         "Cauchy–Schwarz; Williams (1991), §6.8", test("cauchy_schwarz_expectation"))
    cite("cauchy_schwarz_weighted", E_(sp.Abs(Y)), "<=", sp.sqrt(E_(Y**2 / Z) * E_(Z)), (E_, Y, Z),
         "E|Y| = E[(|Y|/sqrt Z) sqrt Z] ≤ sqrt(E[Y²/Z] E[Z]) for every Z > 0",
         "Cauchy–Schwarz; Williams (1991), §6.8", test("cauchy_schwarz_weighted"), hypotheses=(sp.Gt(Z, 0),))
    cite("sum_orthogonal", E(S_PATH**2), "=", pb.q_sum, (),
         "E_roll[(Σ_t u_t)²] = Σ_t E_roll[χ²(c_t)] = Q: the increments u_t of the martingale S are orthogonal "
         "(E[u_t | c_t] = 0) and E[u_t² | c_t] = χ²(c_t)", "Williams, Probability with Martingales (1991), §12.1",
         test("sum_orthogonal"))
    cite("log_ratio_mean", E(L_PATH), "=", -kl_seq, (),
         "E_roll[Σ_t log ρ_t] = −Σ_t E_(d_t^roll)[D_KL(c_t)] = −D_KL^seq (each E_roll[log ρ_t | c_t] = −D_KL(c_t); "
         "the KL chain rule)", "Cover & Thomas (2006), Thm 2.5.3; THEORY §3", test("log_ratio_mean"))
    cite("tv_as_expectation", E(sp.Max(0, 1 - M_PATH)), "=", tv_seq, (),
         "D_TV^seq = E_x Σ_y (P^roll − P^θ)⁺ = E_roll[(1 − Π_t ρ_t)⁺] when π_θ puts no mass off π_roll's support",
         "Levin, Peres & Wilmer (2017), Prop. 4.2; THEORY §11", test("tv_as_expectation"))
    cite("expectation_abs_sum", E_(sp.Abs(sp.Sum(f_(t), (t, 1, N_)))), "<=", sp.Sum(E_(sp.Abs(f_(t))), (t, 1, N_)),
         (E_, f_, N_), "E|Σ_t x_t| ≤ Σ_t E|x_t| (the triangle inequality under the expectation, then linearity)",
         "Williams (1991), ch. 6", test("expectation_abs_sum"))
    cite("split_large_sum", sp.Sum(E(sp.Abs(u_big(t))), (t, 1, T)), "=", pb.a_split, (),
         "Σ_t E_roll|u^b_t| = Σ_t E_(d_t^roll)[g_b(c_t)] = A_b (tower property; g_b(c) = E[|u^b| | c], "
         "numerics.split_moments)", "Williams (1991), §9.7; THEORY §11", test("split_large_sum"))
    cite("split_orthogonal", E(S_SMALL**2), "=", pb.q_split, (),
         "E_roll[(Σ_t u^s_t)²] = Σ_t E_(d_t^roll)[q_s(c_t)] = Q_s: u^s_t = u_t − u^b_t is a martingale difference "
         "(E[u^s_t | c_t] = 0), so its increments are orthogonal", "Williams (1991), §12.1; THEORY §11",
         test("split_orthogonal"))
    cite("bhattacharyya_path", pb.bc_seq, "=", E(BC_PATH), (),
         "the Bhattacharyya coefficient of the sequence laws, averaged over prompts, E_x Σ_y sqrt(P^roll P^θ) = "
         "E_roll[Π_t sqrt(ρ_t)]: a product along the path", "Bhattacharyya (1943); THEORY §11",
         test("bhattacharyya_path"))
    cite("le_cam", tv_seq**2, "<=", 1 - pb.bc_seq**2, (),
         "TV(P, Q) ≤ sqrt(1 − BC(P, Q)²) per prompt (Le Cam), then Jensen for the concave sqrt(1 − b²) over prompts",
         "Le Cam (1973); Tsybakov, Introduction to Nonparametric Estimation (2009), Lemma 2.3", test("le_cam"))
    cite("bretagnolle_huber", tv_seq**2, "<=", 1 - sp.exp(-kl_seq), (),
         "TV(P, Q) ≤ sqrt(1 − exp(−KL(P ‖ Q))) per prompt, then Jensen for the concave sqrt(1 − e^(−k))",
         "Bretagnolle & Huber (1979); Tsybakov (2009), Lemma 2.6 and eq. (2.25)", test("bretagnolle_huber"))


def _combination(coefficients, variables, constant=0) -> Instance:
    """expectation_combination with E_roll, the constant and up to five (coefficient, variable) pairs."""
    coefficients = list(coefficients) + [0] * (5 - len(coefficients))
    variables = list(variables) + [sp.Integer(0)] * (5 - len(variables))
    sub = {E_: E, A_[0]: constant}
    sub.update({a: c for a, c in zip(A_[1:], coefficients)})
    sub.update({x: v for x, v in zip(X_, variables)})
    return Instance("expectation_combination", sub)


def _expand_into(chain: Chain, instance: Instance) -> Chain:
    """E[Y] = E[the instance's combination] (both expanded alike) = the instance's right side."""
    lhs, _, rhs = instance.statement()
    return (chain.eq(lhs, Congruence(Rewrite(LINEAR_SUMS, EXPAND)), "expand under the expectation")
            .eq(rhs, ByLemma(instance.lemma_name, instance.sub), "linearity of E_roll"))


def _nonnegative(expr) -> Instance:
    return Instance("expectation_nonnegative", {E_: E, Y: expr})


def _log_product() -> Derivation:
    chain = Chain(M_PATH).eq(sp.exp(L_PATH), Rewrite(EXPAND), "exp of a sum of logs is the product")
    return Derivation("log_product", "Π_t ρ_t = exp(Σ_t log ρ_t) (ρ_t > 0)", "THEORY §11", chain)


def _surrogate_sum_mean() -> Derivation:
    chain = (Chain(E(S_PATH))
             .eq(sp.Sum(E(rho(t) - 1), (t, 1, T)),
                 ByLemma("expectation_of_sum", {E_: E, f_: sp.Lambda(t, rho(t) - 1), N_: T}))
             .eq(sp.Sum(0, (t, 1, T)), Termwise(ByLemma("ratio_mean_one")), "E_roll[ρ_t − 1] = 0")
             .eq(0, Rewrite(SUM_CONSTANT)))
    return Derivation("surrogate_sum_mean", "E_roll[Σ_t (ρ_t − 1)] = 0", "THEORY §2, §11", chain)


def _k3_nonnegative() -> Derivation:
    chain = (Chain(sp.Integer(0)).eq(sp.Sum(0, (t, 1, T)), Rewrite(SUM_CONSTANT))
             .le(H_PATH, Termwise(Z3()), "k3(ρ) = ρ − 1 − log ρ ≥ 0 (log x ≤ x − 1)"))
    return Derivation("k3_sum_nonnegative", "H = Σ_t (ρ_t − 1 − log ρ_t) ≥ 0", "THEORY §11", chain)


def _k3_mean() -> Derivation:
    chain = (Chain(E(H_PATH))
             .eq(E(S_PATH - L_PATH), Congruence(Rewrite(LINEAR_SUMS)), "H = S − L")
             .eq(E(S_PATH) - E(L_PATH), ByLemma("expectation_additive", {E_: E, Y: S_PATH, Z: L_PATH}, reverse=True))
             .eq(kl_seq, Z3("zero", "log"), "E[S] = 0, E[L] = −D_KL^seq"))
    return Derivation("k3_sequence_mean", "E_roll[Σ_t k3(ρ_t)] = D_KL^seq", "THEORY §11", chain,
                      facts={"zero": Instance("surrogate_sum_mean"), "log": Instance("log_ratio_mean")})


def _negative_part_start() -> Chain:
    """sup_R|Error| = E_roll[(1 + S − e^L)⁺]."""
    return (Chain(q.sup_error)
            .eq(E(sp.Max(0, -W_PATH)), ByLemma("worst_reward_negative_part"))
            .eq(E(sp.Max(0, 1 + S_PATH - sp.exp(L_PATH))), Subst(Instance("log_product")), "M_T = e^L"))


def _sequence_kl_bound() -> Derivation:
    start = E(sp.Max(0, 1 + S_PATH - sp.exp(L_PATH)))
    chain = (_negative_part_start()
             .le(E(sp.Max(0, S_PATH - L_PATH)),
                 ByLemma("expectation_monotone", {E_: E, Y: start.args[0], Z: sp.Max(0, S_PATH - L_PATH)}),
                 "e^L ≥ 1 + L, so 1 + S − e^L ≤ S − L")
             .eq(E(sp.Max(0, H_PATH)), Congruence(Rewrite(LINEAR_SUMS)), "S − L = H")
             .eq(E(H_PATH), Congruence(Z3("h")), "H ≥ 0")
             .eq(kl_seq, ByLemma("k3_sequence_mean")))
    return Derivation("sequence_kl_bound", "sup_R|Error| ≤ D_KL^seq (THEORY §11)", "THEORY §11 (this suite's result)",
                      chain, facts={"h": Instance("k3_sum_nonnegative")})


def _sequence_kl_worst_case() -> Derivation:
    chain = Chain(q.sup_error).le(delta * T, Z3("kl", "chain"), "D_KL^seq ≤ Tδ (the KL chain rule)")
    return Derivation("sequence_kl_worst_case", "sup_R|Error| ≤ Tδ: linear in T given the token maximum δ alone",
                      "THEORY §11 (this suite's result)", chain,
                      facts={"kl": Instance("sequence_kl_bound"), "chain": Instance("seq_kl_bound")})


def _tangent_mean() -> Derivation:
    chain = _expand_into(Chain(E(Y_GAMMA_PATH)), _combination([1, -gamma], [S_PATH, L_PATH], pb.TANGENT_KAPPA))
    chain.eq(pb.TANGENT_MEAN, Z3("zero", "log"), "E[S] = 0, E[L] = −D_KL^seq")
    return Derivation("tangent_mean", "E_roll[Y_γ] = γ D_KL^seq + κ_γ", "THEORY §11", chain,
                      facts={"zero": Instance("surrogate_sum_mean"), "log": Instance("log_ratio_mean")})


def _tangent_second_moment() -> Derivation:
    kappa = pb.TANGENT_KAPPA
    terms = [(2 * kappa * (1 - gamma), S_PATH), (2 * kappa * gamma, H_PATH), ((1 - gamma)**2, S_PATH**2),
             (2 * gamma * (1 - gamma), S_PATH * H_PATH), (gamma**2, H_PATH**2)]
    chain = _expand_into(Chain(E(Y_GAMMA_PATH**2)), _combination(*zip(*terms), constant=kappa**2))
    with_moments = pb.TANGENT_SECOND.xreplace({pb.sh_moment: E(S_PATH * H_PATH), pb.h2_moment: E(H_PATH**2)})
    chain.eq(with_moments, Z3("zero", "h", "ortho"), "E[S] = 0, E[H] = D_KL^seq, E[S²] = Q")
    chain.eq(pb.TANGENT_SECOND, Rewrite(unfold("E_SH", "E_H2")), "E[SH] and E[H²] by name")
    return Derivation("tangent_second_moment", "E_roll[Y_γ²] = (1 − γ)²Q + 2γ(1 − γ)E[SH] + γ²E[H²] + 2κγD_KL^seq + κ²",
                      "THEORY §11", chain,
                      facts={"zero": Instance("surrogate_sum_mean"), "h": Instance("k3_sequence_mean"),
                             "ortho": Instance("sum_orthogonal")},
                      definitions={pb.sh_moment: E(S_PATH * H_PATH), pb.h2_moment: E(H_PATH**2)})


def _tangent_bound() -> Derivation:
    y_x = Y_GAMMA                                    # 1 + S − γ(1 + X_γ)
    lhs, _, rhs = _combination([sp.Rational(1, 2), sp.Rational(1, 2)], [Y_GAMMA_PATH, sp.Abs(Y_GAMMA_PATH)]).statement()
    chain = (_negative_part_start()
             .eq(E(sp.Max(0, 1 + S_PATH - gamma * sp.exp(X_GAMMA))), Rewrite(unfold("X_gamma")),
                 "e^L = γ e^(L − log γ)")
             .le(E(sp.Max(0, y_x)),
                 ByLemma("expectation_monotone", {E_: E, Y: sp.Max(0, 1 + S_PATH - gamma * sp.exp(X_GAMMA)),
                                                   Z: sp.Max(0, y_x)}),
                 "e^x ≥ 1 + x: the tangent of exp at log γ lies below it")
             .eq(E(sp.Max(0, Y_GAMMA_PATH)), Rewrite(unfold("X_gamma")), "X_γ = L − log γ")
             .eq(lhs, Congruence(Z3()), "y⁺ = (y + |y|)/2")
             .eq(rhs, ByLemma("expectation_combination", _combination(
                 [sp.Rational(1, 2), sp.Rational(1, 2)], [Y_GAMMA_PATH, sp.Abs(Y_GAMMA_PATH)]).sub))
             .le(E(Y_GAMMA_PATH) / 2 + sp.sqrt(E(Y_GAMMA_PATH**2)) / 2, Z3("cs", "sq"), "Cauchy–Schwarz")
             .eq(pb.TANGENT_BOUND, Z3("mean", "second", "sq"), "the two moments"))
    return Derivation("tangent_bound", "sup_R|Error| ≤ ½(m_γ + sqrt(s_γ)) for every γ > 0 (THEORY §11)",
                      "THEORY §11 (this suite's result)", chain,
                      facts={"cs": Instance("cauchy_schwarz_expectation", {E_: E, Y: Y_GAMMA_PATH}),
                             "sq": _nonnegative(Y_GAMMA_PATH**2), "mean": Instance("tangent_mean"),
                             "second": Instance("tangent_second_moment")},
                      definitions={X_GAMMA: L_PATH - sp.log(gamma)})


def _tangent_at_zero() -> Derivation:
    y = 1 + S_PATH
    lhs, _, rhs = _combination([sp.Rational(1, 2), sp.Rational(1, 2)], [S_PATH, sp.Abs(y)], sp.Rational(1, 2)).statement()
    chain = (_negative_part_start()
             .le(E(sp.Max(0, y)), ByLemma("expectation_monotone", {E_: E, Y: sp.Max(0, y - sp.exp(L_PATH)),
                                                                     Z: sp.Max(0, y)}), "e^L ≥ 0")
             .eq(lhs, Congruence(Z3()), "y⁺ = (y + |y|)/2")
             .eq(rhs, ByLemma("expectation_combination", _combination(
                 [sp.Rational(1, 2), sp.Rational(1, 2)], [S_PATH, sp.Abs(y)], sp.Rational(1, 2)).sub))
             .le(pb.TANGENT_BOUND_AT_ZERO, Z3("zero", "cs", "sq", "square", "ortho"),
                 "E[S] = 0; Cauchy–Schwarz; E[(1 + S)²] = 1 + Q"))
    return Derivation("tangent_bound_at_zero", "sup_R|Error| ≤ ½(1 + sqrt(1 + Q)) (the tangent bound at γ = 0)",
                      "THEORY §11 (this suite's result)", chain,
                      facts={"zero": Instance("surrogate_sum_mean"),
                             "cs": Instance("cauchy_schwarz_expectation", {E_: E, Y: y}),
                             "sq": _nonnegative(y**2), "square": Instance("one_plus_sum_square"),
                             "ortho": Instance("sum_orthogonal")})


def _one_plus_sum_square() -> Derivation:
    chain = _expand_into(Chain(E((1 + S_PATH)**2)), _combination([2, 1], [S_PATH, S_PATH**2], 1))
    return Derivation("one_plus_sum_square", "E_roll[(1 + S)²] = 1 + 2E_roll[S] + E_roll[S²]", "THEORY §11", chain)


def _tangent_below_additive() -> Derivation:
    chain = Chain(pb.TANGENT_BOUND_AT_ZERO).le(1 + pb.HALF * sp.sqrt(pb.q_sum), Z3(),
                                                "sqrt(1 + Q) ≤ 1 + sqrt(Q)")
    return Derivation("tangent_at_zero_below_additive", "½(1 + sqrt(1 + Q)) ≤ 1 + ½ sqrt(Q): the tangent bound at "
                      "γ = 0 is below the additive bound with D_TV^seq replaced by 1", "THEORY §11", chain)


def _additive_abs() -> Derivation:
    start = sp.Max(0, 1 + S_PATH - M_PATH)
    split = sp.Max(0, 1 - M_PATH) + sp.Max(0, S_PATH)
    lhs, _, rhs = _combination([1, 1], [sp.Max(0, 1 - M_PATH), sp.Max(0, S_PATH)]).statement()
    half = _combination([sp.Rational(1, 2), sp.Rational(1, 2)], [S_PATH, sp.Abs(S_PATH)])
    hl, _, hr = half.statement()
    chain = (Chain(q.sup_error)
             .eq(E(start), ByLemma("worst_reward_negative_part"))
             .le(E(split), ByLemma("expectation_monotone", {E_: E, Y: start, Z: split}), "(a + b)⁺ ≤ a⁺ + b⁺")
             .eq(rhs, ByLemma("expectation_combination", _combination([1, 1], [sp.Max(0, 1 - M_PATH),
                                                                               sp.Max(0, S_PATH)]).sub))
             .eq(tv_seq + E(sp.Max(0, S_PATH)), Subst(Instance("tv_as_expectation")), "D_TV^seq = E_roll[(1 − M)⁺]")
             .eq(tv_seq + hl, Congruence(Congruence(Z3())), "s⁺ = (s + |s|)/2")
             .eq(tv_seq + hr, Subst(half), "linearity of E_roll")
             .eq(tv_seq + E(sp.Abs(S_PATH)) / 2, Z3("zero"), "E[S] = 0"))
    return Derivation("additive_abs", "sup_R|Error| ≤ D_TV^seq + ½ E_roll|S| (THEORY §11)",
                      "THEORY §11 (this suite's result)", chain, facts={"zero": Instance("surrogate_sum_mean")})


def _additive_bound() -> Derivation:
    chain = Chain(q.sup_error).le(pb.ADDITIVE_BOUND, Z3("abs", "cs", "sq", "ortho"), "Cauchy–Schwarz; E[S²] = Q")
    return Derivation("additive_bound", "sup_R|Error| ≤ D_TV^seq + ½ sqrt(Q) (THEORY §11)",
                      "THEORY §11 (this suite's result)", chain,
                      facts={"abs": Instance("additive_abs"),
                             "cs": Instance("cauchy_schwarz_expectation", {E_: E, Y: S_PATH}),
                             "sq": _nonnegative(S_PATH**2), "ortho": Instance("sum_orthogonal")})


def _abs_sum_split() -> Derivation:
    both = sp.Abs(S_BIG) + sp.Abs(S_SMALL)
    lhs, _, rhs = _combination([1, 1], [sp.Abs(S_BIG), sp.Abs(S_SMALL)]).statement()
    chain = (Chain(E(sp.Abs(S_PATH)))
             .eq(E(sp.Abs(S_BIG + S_SMALL)), Congruence(Rewrite(LINEAR_SUMS)), "S = Σ u^b + Σ (u − u^b)")
             .le(E(both), ByLemma("expectation_monotone", {E_: E, Y: sp.Abs(S_BIG + S_SMALL), Z: both}),
                 "|a + b| ≤ |a| + |b|")
             .eq(rhs, ByLemma("expectation_combination", _combination([1, 1], [sp.Abs(S_BIG), sp.Abs(S_SMALL)]).sub))
             .le(pb.a_split + sp.sqrt(pb.q_split), Z3("tri", "cs", "sq", "large", "small"),
                 "triangle over t for the large parts, Cauchy–Schwarz and orthogonality for the small ones"))
    return Derivation("abs_sum_split", "E_roll|Σ_t u_t| ≤ A_b + sqrt(Q_s) for the split u_t = u^b_t + (u_t − u^b_t)",
                      "THEORY §11 (this suite's result)", chain,
                      facts={"tri": Instance("expectation_abs_sum", {E_: E, f_: sp.Lambda(t, u_big(t)), N_: T}),
                             "cs": Instance("cauchy_schwarz_expectation", {E_: E, Y: S_SMALL}),
                             "sq": _nonnegative(S_SMALL**2), "large": Instance("split_large_sum"),
                             "small": Instance("split_orthogonal")})


def _additive_split_bound() -> Derivation:
    chain = Chain(q.sup_error).le(pb.ADDITIVE_SPLIT_BOUND, Z3("abs", "split"), "E|S| ≤ A_b + sqrt(Q_s)")
    return Derivation("additive_split_bound", "sup_R|Error| ≤ D_TV^seq + ½(A_b + sqrt(Q_s)) (THEORY §11)",
                      "THEORY §11 (this suite's result)", chain,
                      facts={"abs": Instance("additive_abs"), "split": Instance("abs_sum_split")})


def _additive_routes() -> list[Derivation]:
    le_cam = Chain(q.sup_error).le(pb.ADDITIVE_BOUND.xreplace({tv_seq: pb.LE_CAM_TV}), Z3("add", "tv"),
                                   "D_TV^seq ≤ sqrt(1 − BC²)")
    bh = Chain(q.sup_error).le(pb.ADDITIVE_BOUND.xreplace({tv_seq: pb.BRETAGNOLLE_HUBER_TV}), Z3("add", "tv"),
                               "D_TV^seq ≤ sqrt(1 − e^(−D_KL^seq))")
    return [Derivation("additive_le_cam", "sup_R|Error| ≤ sqrt(1 − BC²) + ½ sqrt(Q)", "THEORY §11", le_cam,
                       facts={"add": Instance("additive_bound"), "tv": Instance("le_cam")}),
            Derivation("additive_bretagnolle_huber", "sup_R|Error| ≤ sqrt(1 − e^(−D_KL^seq)) + ½ sqrt(Q)",
                       "THEORY §11", bh, facts={"add": Instance("additive_bound"), "tv": Instance("bretagnolle_huber")})]


def _weighted_chi2_bound() -> Derivation:
    chain = (Chain(q.sup_error)
             .eq(E(sp.Abs(W_PATH)) / 2, ByLemma("worst_reward_absolute"))
             .le(sp.sqrt(E(W_PATH**2 / OMEGA_PATH) * E(OMEGA_PATH)) / 2, Z3("cs", "num", "den"),
                 "Cauchy–Schwarz with the weight Π_t ω_t")
             .eq(sp.sqrt(E(W_PATH**2 / OMEGA_PATH)) * sp.sqrt(E(OMEGA_PATH)) / 2, Z3("num", "den"),
                 "sqrt(ab) = sqrt(a) sqrt(b) for a, b ≥ 0")
             .eq(pb.WEIGHTED_CHI2_BOUND, Rewrite(unfold("E_W2_over_w", "E_w")), "the two path moments by name"))
    return Derivation("weighted_chi2_bound", "sup_R|Error| ≤ ½ sqrt(E_roll[W²/Π ω] E_roll[Π ω]) for every positive "
                      "per-token weight ω (THEORY §11)", "THEORY §11 (this suite's result)", chain,
                      facts={"cs": Instance("cauchy_schwarz_weighted", {E_: E, Y: W_PATH, Z: OMEGA_PATH}),
                             "num": _nonnegative(W_PATH**2 / OMEGA_PATH), "den": _nonnegative(OMEGA_PATH)},
                      definitions={pb.weighted_w2: E(W_PATH**2 / OMEGA_PATH), pb.weight_mass: E(OMEGA_PATH)})


@lru_cache(maxsize=None)
def derivations() -> tuple[Derivation, ...]:
    _cite_lemmas()
    out = DerivationList()
    out.add(_log_product())
    out.add(_surrogate_sum_mean())
    out.add(_k3_nonnegative())
    out.add(_k3_mean())
    out.add(_sequence_kl_bound())
    out.add(_sequence_kl_worst_case())
    out.add(_tangent_mean())
    out.add(_tangent_second_moment())
    out.add(_tangent_bound(), (gamma,))
    out.add(_one_plus_sum_square())
    out.add(_tangent_at_zero())
    out.add(_tangent_below_additive())
    out.add(_additive_abs())
    out.add(_additive_bound())
    for d in _additive_routes():
        out.add(d)
    out.add(_abs_sum_split())
    out.add(_additive_split_bound())
    out.add(_weighted_chi2_bound())
    return tuple(out)
