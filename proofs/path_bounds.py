"""Bounds on sup_R|Error| from moments of the path (THEORY §11): this suite's own results, not the paper's.

Along a sequence write u_t = ρ_t − 1, S = Σ_t u_t, L = Σ_t log ρ_t = log M_T, H = Σ_t k3(ρ_t) = S − L with
k3(ρ) = ρ − 1 − log ρ ≥ 0, and W = M_T − 1 − S = g(L) − H with g(x) = e^x − 1 − x ≥ 0. For R ∈ [0, 1] and π_θ
on π_roll's support, sup_R|Error| = E_roll[W⁻] = ½E_roll|W| (THEORY §10), and (proofs.path_bound_proofs):

    sequence_kl     W⁻ ≤ H, E_roll[H] = D_KL^seq                    sup_R|Error| ≤ D_KL^seq
    tangent (γ > 0) e^L ≥ γ(1 + L − log γ) (the tangent of exp at log γ), so W⁻ ≤ Y_γ⁺ with
                    Y_γ = 1 + S − γ(1 + L − log γ) = (1 − γ)S + γH + κ_γ,  κ_γ = 1 − γ + γ log γ ≥ 0;
                    E[Y⁺] = ½(E[Y] + E|Y|) ≤ ½(m_γ + sqrt(s_γ)) with m_γ = E[Y_γ] = γ D_KL^seq + κ_γ and
                    s_γ = E[Y_γ²] = (1 − γ)² Q + 2γ(1 − γ) E[SH] + γ² E[H²] + 2κ_γ γ D_KL^seq + κ_γ²
    tangent (γ = 0) e^L ≥ 0:  sup_R|Error| ≤ E[(1 + S)⁺] ≤ ½(1 + sqrt(1 + Q))
    additive        W⁻ ≤ (1 − M_T)⁺ + S⁺:  sup_R|Error| ≤ D_TV^seq + ½ E|S| ≤ D_TV^seq + ½ sqrt(Q), and with u_t split
                    into a large and a small martingale difference (numerics.split_moments),
                    E|S| ≤ A_b + sqrt(Q_s): sup_R|Error| ≤ D_TV^seq + ½(A_b + sqrt(Q_s))
    weighted_chi2   Cauchy–Schwarz with any positive per-token weights ω(c, y):
                    sup_R|Error| = ½E|W| ≤ ½ sqrt(E_roll[W²/Π_t ω_t] · E_roll[Π_t ω_t])  (ω ≡ 1: χ²-exact)

with Q = Σ_t E_roll[χ²(c_t)] = E_roll[S²] (orthogonal increments; χ² = χ²(π_θ ‖ π_roll)). D_TV^seq takes the
exact value or an upper bound: Le Cam's √(1 − BC²) with BC = E_roll[Π_t √ρ_t] (the Bhattacharyya coefficient
of the sequence laws, a product along the path), Bretagnolle–Huber's √(1 − e^(−D_KL^seq)), or Pinsker's cap.
The weight family the numerics search is ω = ρ^α (1 + λ|ρ − 1|) (``WEIGHT_FAMILY``, written in u = ρ − 1).

Every expression here is public so that a code generator can include it; numerics.path_bounds lambdifies them.
KL is KL(roll ‖ θ) throughout.
"""
import sympy as sp
from sympy.codegen.cfunctions import expm1

from proofs.path_recursions import u as u_tok
from proofs.symbols import kl_seq, tv_seq

#: Q = Σ_t E_roll[χ²(c_t)] = E_roll[S²], the summed per-position χ²(π_θ ‖ π_roll).
q_sum = sp.Symbol("Q_seq", nonnegative=True)
#: E_roll[S·H] and E_roll[H²], S = Σ_t (ρ_t − 1), H = Σ_t (ρ_t − 1 − log ρ_t).
sh_moment = sp.Symbol("E_SH", real=True)
h2_moment = sp.Symbol("E_H2", nonnegative=True)
#: γ > 0: the tangent point of exp is log γ.
gamma = sp.Symbol("gamma", positive=True)
#: BC = E_roll[Π_t sqrt(ρ_t)] = E_x Σ_y sqrt(P^roll(y|x) P^θ(y|x)).
bc_seq = sp.Symbol("BC_seq", nonnegative=True)
#: A_b = Σ_t E_roll|u^b_t| and Q_s = E_roll[(Σ_t u^s_t)²] = Σ_t E_roll[E[(u^s_t)² | c_t]] for a split u = u^b + u^s.
a_split = sp.Symbol("A_b", nonnegative=True)
q_split = sp.Symbol("Q_s", nonnegative=True)
#: E_roll[W² / Π_t ω_t] and E_roll[Π_t ω_t] for positive per-token weights ω.
weighted_w2 = sp.Symbol("E_W2_over_w", nonnegative=True)
weight_mass = sp.Symbol("E_w", positive=True)
#: The weight family's parameters (its per-token argument is u = ρ − 1 of the emitted token).
alpha = sp.Symbol("alpha", nonnegative=True)
lam = sp.Symbol("lam", nonnegative=True)

#: ½: sup_R|E[R·X]| = E[X⁻] and E[Y⁺] = ½(E[Y] + E|Y|) bring the same constant as the χ² family.
HALF = sp.Rational(1, 2)

#: κ_γ = 1 − γ + γ log γ ≥ 0: Y_γ's constant term.
TANGENT_KAPPA = 1 - gamma + gamma * sp.log(gamma)
#: m_γ = E_roll[Y_γ].
TANGENT_MEAN = gamma * kl_seq + TANGENT_KAPPA
#: s_γ = E_roll[Y_γ²] (E_roll[S] = 0 used).
TANGENT_SECOND = ((1 - gamma)**2 * q_sum + 2 * gamma * (1 - gamma) * sh_moment + gamma**2 * h2_moment
                  + 2 * TANGENT_KAPPA * gamma * kl_seq + TANGENT_KAPPA**2)
#: The tangent bound at γ > 0.
TANGENT_BOUND = HALF * (TANGENT_MEAN + sp.sqrt(TANGENT_SECOND))
#: The tangent bound at γ = 0 (the limit γ → 0: Y_0 = 1 + S).
TANGENT_BOUND_AT_ZERO = HALF * (1 + sp.sqrt(1 + q_sum))
#: sup_R|Error| ≤ D_KL^seq.
SEQUENCE_KL_BOUND = kl_seq
#: sup_R|Error| ≤ D_TV^seq + ½ sqrt(Q) (D_TV^seq or any upper bound of it).
ADDITIVE_BOUND = tv_seq + HALF * sp.sqrt(q_sum)
#: sup_R|Error| ≤ D_TV^seq + ½(A_b + sqrt(Q_s)) (A_b = 0, Q_s = Q: the additive bound).
ADDITIVE_SPLIT_BOUND = tv_seq + HALF * (a_split + sp.sqrt(q_split))
#: sup_R|Error| ≤ ½ sqrt(E[W²/Πω] E[Πω]).
WEIGHTED_CHI2_BOUND = HALF * sp.sqrt(weighted_w2 * weight_mass)
#: ω = ρ^α (1 + λ|ρ − 1|) with ρ = 1 + u: the weights numerics searches over (α = λ = 0 gives χ²-exact).
WEIGHT_FAMILY = (1 + u_tok)**alpha * (1 + lam * sp.Abs(u_tok))

#: Upper bounds of D_TV^seq (each valid by a cited lemma of proofs.path_bound_proofs).
LE_CAM_TV = sp.sqrt(1 - bc_seq**2)
BRETAGNOLLE_HUBER_TV = sp.sqrt(-expm1(-kl_seq))

PATH_BOUND_NAMES = ("sequence_kl", "additive", "tangent", "weighted_chi2")
