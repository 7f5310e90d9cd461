"""What the bounds guarantee (THEORY §5, §7): monotonic improvement, the TRM threshold is monotone in δ,
the length-neutral LN-TRM and SER bounds, and the length bias (1 − p)^T of TRM-Max.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from proofs import bound_family, bounds, quantities as q
from proofs.kernel import LIMIT, LINEAR_SUMS, ByLemma, Chain, Derivation, Instance, Rewrite, Termwise, Z3, unfold
from proofs.lemmas import M, X, derived
from proofs.symbols import T, dbar, delta, eps, t

B = sp.Symbol("B", nonnegative=True)        # any bound of the family: |Error| ≤ B
w = sp.Function("w", nonnegative=True)      # the LN-TRM weight at position t


def _monotonic_improvement() -> Derivation:
    chain = Chain(q.Lsur - B).le(q.Jgap, Z3(), "J(π_θ) − J(π_roll) = L' + Error ≥ L' − |Error|")
    return Derivation("monotonic_improvement", "|Error| ≤ B* ⇒ J(π_θ) − J(π_roll) ≥ L' − B*", "THEORY §5", chain,
                      hypotheses=(sp.Eq(q.Error, q.Jgap - q.Lsur), sp.Le(sp.Abs(q.Error), B)))


def _improvement_certificate() -> Derivation:
    chain = (Chain(0).lt(q.Lsur - B, Z3(), "L' > B*")
             .le(q.Jgap, ByLemma("monotonic_improvement")))
    return Derivation("improvement_certificate", "L' > B* ⇒ J(π_θ) > J(π_roll)", "THEORY §5", chain,
                      hypotheses=(sp.Eq(q.Error, q.Jgap - q.Lsur), sp.Le(sp.Abs(q.Error), B), sp.Gt(q.Lsur, B)))


def _threshold_monotone() -> list[Derivation]:
    """Every term, with its inputs at their worst case given δ, is nondecreasing in δ: so is B*, and the
    TRM-Max threshold of `trm threshold` is found by bisection."""
    d1, d2 = sp.Symbol("delta_1", positive=True), sp.Symbol("delta_2", positive=True)

    def worst(term, d):
        e, kl = bounds.worst_case_eps(d), bounds.worst_case_kl_seq(d, T)
        return term.xreplace({delta: d, eps: e, dbar: e, q.KL_seq: kl, q.TV_seq: bounds.worst_case_tv_seq(kl)})

    out = []
    for name, term in bounds.BOUND_TERMS.items():
        lo, hi = worst(term, d1), worst(term, d2)
        chain = Chain(sp.Sum(lo, (t, 1, T))).le(sp.Sum(hi, (t, 1, T)), Termwise(Z3()))
        out.append(Derivation(f"worst_case_{name}_monotone", f"{name} with worst-case inputs is nondecreasing in δ",
                              "THEORY §7 (threshold by bisection)", chain, hypotheses=(sp.Le(d1, d2),)))
    return out


def _ln_trm() -> Derivation:
    """|Error| ≤ E_roll[W] (sharp) with W = Σ_t |ρ_t − 1| w_t and w_t the Adaptive-hybrid future factor."""
    C = bounds.CONSTANTS["sharp"]
    weight = bounds.length_neutral_weight()
    chain = (Chain(sp.Abs(q.Error))
             .le(C * sp.Sum(q.Dbar(t) * weight, (t, 1, T)), ByLemma("bound_adaptive_hybrid_sharp"))
             .eq(sp.Sum(C * q.Dbar(t) * weight, (t, 1, T)), Rewrite(LINEAR_SUMS))
             .eq(sp.Sum(q.Eabs_u(t) * weight, (t, 1, T)), Termwise(Z3(local={"abs": Instance("abs_dev_is_twice_tv")})),
                 "2 D̄_t = E_roll|ρ_t − 1|"))
    return Derivation("ln_trm_bound", "LN-TRM: |Error| ≤ Σ_t w_t E_roll|ρ_t − 1| = E_roll[W] (sharp; 2E_roll[W] paper)",
                      "THEORY §7", chain)


def _ser() -> Derivation:
    C = bounds.CONSTANTS["sharp"]
    d_ser = sp.Symbol("delta_SER", nonnegative=True)
    ser = sp.Symbol("E_W_SER", nonnegative=True)      # E_roll[W_SER] = (1/T) Σ_t E_roll|ρ_t − 1| (linearity)
    chain = (Chain(sp.Abs(q.Error))
             .le(C * sp.Sum(q.Dbar(t), (t, 1, T)), ByLemma("bound_linear_sharp"))
             .eq(sp.Sum(C * q.Dbar(t), (t, 1, T)), Rewrite(LINEAR_SUMS))
             .eq(sp.Sum(q.Eabs_u(t), (t, 1, T)), Termwise(Z3(local={"abs": Instance("abs_dev_is_twice_tv")})),
                 "2 D̄_t = E_roll|ρ_t − 1|")
             .eq(T * ser, Rewrite(unfold("E_W_SER")), "E_roll[W_SER] = (1/T) Σ_t E_roll|ρ_t − 1|")
             .le(T * d_ser, Z3("pass"), "every sequence passes: W_SER ≤ δ_SER, so its mean is too"))
    return Derivation("ser_bound", "SER: every sequence passes ⇒ |Error| ≤ Tδ_SER (sharp; 2Tδ_SER paper)", "THEORY §7",
                      chain, definitions={ser: sp.Sum(q.Eabs_u(t), (t, 1, T)) / T},
                      facts={"pass": Instance("bounded_by_max", {M: ser, X: d_ser})})


def _length_bias() -> Derivation:
    s = sp.Symbol("s", positive=True)
    p = 1 / (1 + s)                        # a violation probability in (0, 1), reparametrised
    chain = Chain(sp.Limit((1 - p) ** T, T, sp.oo)).eq(0, Rewrite(LIMIT))
    return Derivation("length_bias", "TRM-Max acceptance (1 − p)^T → 0 as T grows, for every p ∈ (0, 1)",
                      "THEORY §6–§7", chain)


@lru_cache(maxsize=None)
def derivations() -> tuple[Derivation, ...]:
    bound_family.derivations()
    out = []
    for d in (_monotonic_improvement(), _improvement_certificate()):
        derived(d)
        out.append(d)
    out += _threshold_monotone()
    out.append(_ln_trm())
    out.append(_ser())
    out.append(_length_bias())
    return tuple(out)
