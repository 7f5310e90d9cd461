"""The path-moment bounds at the worst case of their inputs given one statistic (THEORY §11; this suite's own
results, not the paper's): what the suite can say from χ²_max alone or from Q alone, beside B* from δ alone
(numerics.statistic_bounds evaluates them; docs/lower_bounds.md sets them against the worst case found).

    chi2_sum_bound             Q = Σ_t E_(d_t^roll)[χ²(c_t)] ≤ T χ²_max                 (termwise, the maximum)
    additive_tv_at_most_one    sup_R|Error| ≤ 1 + ½ sqrt(Q)          (additive_bound with D_TV^seq ≤ 1: Q alone)
    tangent_at_zero_chi2_max   sup_R|Error| ≤ ½(1 + sqrt(1 + T χ²_max))  (tangent_bound_at_zero, Q ≤ T χ²_max)
    additive_chi2_max          sup_R|Error| ≤ 1 + ½ sqrt(T χ²_max)       (dominated by the previous line:
                                                                          tangent_at_zero_below_additive)
    sequence_kl_below_ceiling  D_KL^seq ≤ min(1, sqrt(D_KL^seq/2)) + sqrt(D_KL^seq) + 4 D_KL^seq: sequence_kl_bound
                               is never above proofs.kl_ceiling's ceiling, so given δ (D_KL^seq ≤ Tδ) or D_KL^seq
                               the ceiling is never the suite's best bound

Every bound here needs π_θ on π_roll's support, as the path family does (THEORY §10–§11). KL is KL(roll ‖ θ),
χ² is χ²(π_θ ‖ π_roll).
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from proofs import path_bounds as pb
from proofs import quantities as q
from proofs.kernel import SUM_CONSTANT, ByLemma, Chain, Derivation, Instance, Rewrite, Termwise, Z3, unfold
from proofs.kl_ceiling import KL_SEQ_CEILING
from proofs.lemmas import TV, M, X, DerivationList
from proofs.second_moment import chi2_max
from proofs.symbols import T, tv_seq

s = q.s
#: Q := Σ_t E_(d_t^roll)[χ²(c_t)] (THEORY §11), the definition the termwise bound unfolds.
Q_DEFINITION = sp.Sum(q.chi2bar(s), (s, 1, T))
#: The worst case of Q given χ²_max.
Q_WORST_CASE = T * chi2_max
#: sup_R|Error| ≤ 1 + ½ sqrt(Q): the additive bound with D_TV^seq at its cap 1.
ADDITIVE_TV_ONE = pb.ADDITIVE_BOUND.xreplace({tv_seq: 1})
#: The tangent bound at γ = 0 and the additive bound with D_TV^seq ≤ 1, both at Q = T χ²_max.
TANGENT_AT_ZERO_CHI2_MAX = pb.TANGENT_BOUND_AT_ZERO.xreplace({pb.q_sum: Q_WORST_CASE})
ADDITIVE_CHI2_MAX = ADDITIVE_TV_ONE.xreplace({pb.q_sum: Q_WORST_CASE})


def _chi2_sum_bound() -> Derivation:
    chain = (Chain(pb.q_sum)
             .eq(Q_DEFINITION, Rewrite(unfold("Q_seq")), "Q = Σ_t E_(d_t^roll)[χ²(c_t)]")
             .le(sp.Sum(chi2_max, (s, 1, T)), Termwise(ByLemma("bounded_by_max", {M: q.chi2bar(s), X: chi2_max})),
                 "each mean χ² over reachable contexts ≤ χ²_max")
             .eq(Q_WORST_CASE, Rewrite(SUM_CONSTANT)))
    return Derivation("chi2_sum_bound", "Q = Σ_t E_roll[χ²(c_t)] ≤ T χ²_max: the worst case of Q given χ²_max",
                      "THEORY §11", chain, definitions={pb.q_sum: Q_DEFINITION})


def _additive_tv_one() -> Derivation:
    chain = Chain(q.sup_error).le(ADDITIVE_TV_ONE, Z3("add", "tv"), "D_TV^seq ≤ 1")
    return Derivation("additive_tv_at_most_one", "sup_R|Error| ≤ 1 + ½ sqrt(Q): the additive bound from Q alone",
                      "THEORY §11 (this suite's result)", chain,
                      facts={"add": Instance("additive_bound"), "tv": Instance("tv_at_most_one", {TV: tv_seq})})


def _tangent_at_zero_chi2_max() -> Derivation:
    chain = (Chain(q.sup_error)
             .le(pb.TANGENT_BOUND_AT_ZERO, ByLemma("tangent_bound_at_zero"))
             .le(TANGENT_AT_ZERO_CHI2_MAX, Z3("q"), "Q ≤ Tχ²_max and sqrt is increasing"))
    return Derivation("tangent_at_zero_chi2_max", "sup_R|Error| ≤ ½(1 + sqrt(1 + Tχ²_max)): the tangent bound at "
                      "γ = 0 from χ²_max alone", "THEORY §11 (this suite's result)", chain,
                      facts={"q": Instance("chi2_sum_bound")})


def _additive_chi2_max() -> Derivation:
    chain = (Chain(q.sup_error)
             .le(ADDITIVE_TV_ONE, ByLemma("additive_tv_at_most_one"))
             .le(ADDITIVE_CHI2_MAX, Z3("q"), "Q ≤ Tχ²_max and sqrt is increasing"))
    return Derivation("additive_chi2_max", "sup_R|Error| ≤ 1 + ½ sqrt(Tχ²_max): the additive bound from χ²_max alone",
                      "THEORY §11 (this suite's result)", chain, facts={"q": Instance("chi2_sum_bound")})


def _sequence_kl_below_ceiling() -> Derivation:
    chain = Chain(pb.SEQUENCE_KL_BOUND).le(KL_SEQ_CEILING, Z3(), "D ≤ 4D plus non-negative terms")
    return Derivation("sequence_kl_below_ceiling", "D_KL^seq ≤ min(1, sqrt(D_KL^seq/2)) + sqrt(D_KL^seq) + 4 D_KL^seq: "
                      "the sequence-KL bound is below the ceiling of proofs.kl_ceiling at every D_KL^seq",
                      "THEORY §11", chain)


@lru_cache(maxsize=None)
def derivations() -> tuple[Derivation, ...]:
    out = DerivationList()
    out.add(_chi2_sum_bound())
    out.add(_additive_tv_one())
    out.add(_tangent_at_zero_chi2_max())
    out.add(_additive_chi2_max())
    out.add(_sequence_kl_below_ceiling())
    return tuple(out)
