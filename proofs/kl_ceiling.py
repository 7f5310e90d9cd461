"""A ceiling on the worst case given D_KL^seq (and so given δ): the other side of proofs.lower_bounds, so that what a
statistic forces is bracketed (this suite's own result, a variant of THEORY §11's additive bound; not the paper's).

With u_t = ρ_t − 1 and φ(u) = u − log(1 + u) ≥ 0, D_KL(c) = E_roll[φ(u) | c] when π_θ ≪ π_roll. Split each u_t at 1:
a_t = u_t 1[u_t ≤ 1] ∈ [−1, 1], b_t = u_t 1[u_t > 1] ≥ 0, β_t = E[b_t | c_t] = −E[a_t | c_t]. Then
    Σ_t u_t = Σ_t m_t + Σ_t j_t,   m_t = a_t + β_t (martingale differences),   j_t = b_t − β_t,
and, from u² ≤ 4φ(u) on [−1, 1] and u ≤ 4φ(u) on [1, ∞),
    E|Σ_t m_t| ≤ sqrt(Σ_t E[m_t²]) ≤ sqrt(Σ_t E[a_t²]) ≤ 2 sqrt(A),    E|Σ_t j_t| ≤ 2 Σ_t E[b_t] ≤ 8 B,
with A = Σ_t E_roll[φ(u_t) 1[u_t ≤ 1]], B = Σ_t E_roll[φ(u_t) 1[u_t > 1]], A + B = D_KL^seq. With THEORY §11's split
sup_R|Error| ≤ D_TV^seq + ½ E|Σ_t u_t|:

    sup_R |Error| ≤ D_TV^seq + sqrt(D_KL^seq) + 4 D_KL^seq ≤ min(1, sqrt(D_KL^seq/2)) + sqrt(D_KL^seq) + 4 D_KL^seq
                                                                                                (kl_seq_ceiling*)
and, as D_KL^seq ≤ Tδ, at max token KL δ: ≤ min(1, sqrt(Tδ/2)) + sqrt(Tδ) + 4Tδ, whose slope in T is 4δ
(kl_ceiling_growth), where B*'s is 4 sqrt(δ/2) (paper): for Tδ ≳ 1 B* exceeds the worst case by at least a factor
→ 1/sqrt(2δ) that no pair forces (kl_ceiling_gap_to_paper_slope). proofs.lower_bounds gives the worst case ≥ (1 −
e^(−δ))·T there, so the worst case given δ is Θ(Tδ) at large T, with the constant between 1 and 4.

The first step, sup_R|Error| ≤ D_TV^seq + ½ E_roll|Σ_t u_t|, is the path family's derivation ``additive_abs``
(proofs.path_bound_proofs), cited here by name rather than registered a second time. The four truncation steps are
cited, each with a test in tests/proofs/test_kl_ceiling_lemmas.py that enumerates every sequence of random pairs (and
the pointwise inequalities on φ are checked on a dense grid there).
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from proofs import quantities as q
from proofs.kernel import LIMIT, ByLemma, Chain, Derivation, Instance, Rewrite, Z3, unfold
from proofs.lemmas import DerivationList, cite
from proofs.path_bound_proofs import S_PATH
from proofs.symbols import T, delta

KL_CEILING_TESTS = "tests/proofs/test_kl_ceiling_lemmas.py"
E_roll = q.E_roll

A_trunc = sp.Symbol("A_trunc", nonnegative=True)      # Σ_t E_roll[φ(u_t) 1[u_t ≤ 1]]
B_trunc = sp.Symbol("B_trunc", nonnegative=True)      # Σ_t E_roll[φ(u_t) 1[u_t > 1]]
E_abs_sum_u = sp.Symbol("E_abs_sum_u", nonnegative=True)   # E_roll|Σ_t u_t|
E_abs_m = sp.Symbol("E_abs_m", nonnegative=True)           # E_roll|Σ_t m_t|
E_abs_j = sp.Symbol("E_abs_j", nonnegative=True)           # E_roll|Σ_t j_t|

#: The ceiling in D_KL^seq (numerics.lower_bounds lambdifies it), and at max token KL δ.
KL_SEQ_CEILING = sp.Min(1, sp.sqrt(q.KL_seq / 2)) + sp.sqrt(q.KL_seq) + 4 * q.KL_seq
KL_CEILING_AT_DELTA = KL_SEQ_CEILING.xreplace({q.KL_seq: T * delta})


def _cite_lemmas():
    test = lambda name: f"{KL_CEILING_TESTS}::test_{name}"
    cite("truncated_sum_split", E_abs_sum_u, "<=", E_abs_m + E_abs_j, (),
         "E|Σ_t u_t| ≤ E|Σ_t m_t| + E|Σ_t j_t| (Σu = Σm + Σj, triangle inequality)", "THEORY §11 (truncation at u = 1)",
         test("truncated_sum_split"))
    cite("truncated_martingale_part", E_abs_m, "<=", 2 * sp.sqrt(A_trunc), (),
         "E|Σ_t m_t| ≤ 2 sqrt(A): m_t are martingale differences (orthogonal), E[m_t² | c] ≤ E[a_t² | c], and "
         "u² ≤ 4φ(u) on [−1, 1]", "Williams, Probability with Martingales (1991), §12.1; Cauchy–Schwarz",
         test("truncated_martingale_part"))
    cite("truncated_jump_part", E_abs_j, "<=", 8 * B_trunc, (),
         "E|Σ_t j_t| ≤ Σ_t E[b_t + β_t] = 2 Σ_t E[b_t] ≤ 8B, as u ≤ 4φ(u) for u ≥ 1", "triangle inequality; THEORY §11",
         test("truncated_jump_part"))
    cite("kl_truncation_split", A_trunc + B_trunc, "=", q.KL_seq, (),
         "A + B = D_KL^seq: D_KL(c) = E_roll[φ(u) | c] when E_roll[u | c] = 0, split at u = 1 (chain rule over t)",
         "THEORY §3 (chain rule); φ(u) = u − log(1 + u)", test("kl_truncation_split"))


def _ceiling() -> Derivation:
    chain = (Chain(q.sup_error)
             .le(q.TV_seq + E_roll(sp.Abs(S_PATH)) / 2, ByLemma("additive_abs"),
                 "THEORY §11's split, proved in proofs.path_bound_proofs")
             .eq(q.TV_seq + E_abs_sum_u / 2, Rewrite(unfold("E_abs_sum_u")), "E_roll|Σ_t u_t| by name")
             .le(q.TV_seq + (E_abs_m + E_abs_j) / 2, Z3("split"), "truncate u_t at 1")
             .le(q.TV_seq + sp.sqrt(A_trunc) + 4 * B_trunc, Z3("mart", "jump"), "the two parts")
             .le(q.TV_seq + sp.sqrt(q.KL_seq) + 4 * q.KL_seq, Z3("kl"), "A, B ≥ 0 and A + B = D_KL^seq"))
    return Derivation("kl_seq_ceiling", "sup_R |Error| ≤ D_TV^seq + sqrt(D_KL^seq) + 4 D_KL^seq (π_θ ≪ π_roll)",
                      "THEORY §11 (this suite's result)", chain,
                      facts={"split": Instance("truncated_sum_split"), "mart": Instance("truncated_martingale_part"),
                             "jump": Instance("truncated_jump_part"), "kl": Instance("kl_truncation_split")},
                      definitions={E_abs_sum_u: E_roll(sp.Abs(S_PATH))})


def _ceiling_capped() -> Derivation:
    chain = (Chain(q.sup_error)
             .le(q.TV_seq + sp.sqrt(q.KL_seq) + 4 * q.KL_seq, ByLemma("kl_seq_ceiling"))
             .le(KL_SEQ_CEILING, Z3("tv"), "D_TV^seq ≤ min(1, sqrt(D_KL^seq/2))"))
    return Derivation("kl_seq_ceiling_capped", "sup_R |Error| ≤ min(1, sqrt(D_KL^seq/2)) + sqrt(D_KL^seq) + 4 D_KL^seq",
                      "THEORY §11 (this suite's result)", chain, facts={"tv": Instance("seq_tv_worst")})


def _at_delta() -> list[Derivation]:
    chain = (Chain(q.sup_error)
             .le(KL_SEQ_CEILING, ByLemma("kl_seq_ceiling_capped"))
             .le(KL_CEILING_AT_DELTA, Z3("seq"), "D_KL^seq ≤ Tδ, and the ceiling increases with D_KL^seq"))
    at = Derivation("kl_ceiling_at_delta", "at max token KL δ: sup_R |Error| ≤ min(1, sqrt(Tδ/2)) + sqrt(Tδ) + 4Tδ",
                    "THEORY §11 (this suite's result)", chain, facts={"seq": Instance("seq_kl_bound")})
    large = 1 + sp.sqrt(T * delta) + 4 * T * delta
    regime = Derivation("kl_ceiling_large_regime", "once Tδ ≥ 2 the cap is active: the ceiling at max KL δ is "
                        "1 + sqrt(Tδ) + 4Tδ", "THEORY §11", Chain(KL_CEILING_AT_DELTA).eq(large, Z3()),
                        hypotheses=(sp.Ge(T * delta, 2),))
    growth = Derivation("kl_ceiling_growth", "(1 + sqrt(Tδ) + 4Tδ)/T → 4δ: the ceiling is linear in T", "THEORY §11",
                        Chain(sp.Limit(large / T, T, sp.oo)).eq(4 * delta, Rewrite(LIMIT)))
    gap = Derivation("kl_ceiling_gap_to_paper_slope", "B*'s large-T asymptote 4 sqrt(δ/2)·T (paper constants, "
                     "growth_pm_kl_large_regime) over the ceiling → 1/sqrt(2δ): beyond Tδ ≈ 1 the paper's bound exceeds "
                     "every pair's worst case by a factor that tends to 1/sqrt(2δ) (sharp constants: half of it)",
                     "THEORY §11", Chain(sp.Limit(4 * sp.sqrt(delta / 2) * T / large, T, sp.oo))
                     .eq(1 / sp.sqrt(2 * delta), Rewrite(LIMIT)))
    return [at, regime, growth, gap]


@lru_cache(maxsize=None)
def derivations() -> tuple[Derivation, ...]:
    _cite_lemmas()
    out = DerivationList()
    out.add(_ceiling())
    out.add(_ceiling_capped())
    for d in _at_delta():
        out.add(d)
    return tuple(out)
