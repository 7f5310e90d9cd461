"""What the bounds guarantee: monotonic improvement, the TRM guarantee, the length-neutral
LN-TRM and SER bounds, and the length bias (1 − p)^T of TRM-Max (THEORY §5, §7).
"""
import sympy as sp

from proofs.bounds import BOUND_TERMS, independent_acceptance, length_neutral_weight
from proofs.derivation import Derivation, Step, numeric
from proofs.symbols import T, dbar, delta, k, t

BOUNDS_TESTS = "tests/numerics/test_bounds_hold.py"
s = sp.Symbol("s", positive=True)


def _monotonic_improvement() -> Derivation:
    L, B = sp.symbols("L B", real=True)
    steps = (
        Step((L + (-B + s)) - (L - B), ">=", 0,
             "J(π_θ) − J(π_roll) = L' + Error and Error ≥ −|Error| ≥ −B*: write Error = −B* + s with s ≥ 0"),
        Step((L - B).subs(L, B + s), ">", 0, "so L' > B* (L' = B* + s) implies J(π_θ) > J(π_roll)"),
        numeric("J(π_θ) − J(π_roll) ≥ L' − B* on exact pairs", "the bound holds for every pair",
                f"{BOUNDS_TESTS}::test_monotonic_improvement"),
    )
    return Derivation("monotonic_improvement", "J(π_θ) − J(π_roll) ≥ L' − B*; L' > B* ⇒ improvement", "THEORY §5",
                      steps)


def _trm_guarantee() -> Derivation:
    terms = {name: BOUND_TERMS[name] for name in ("pinsker_marginal_kl", "adaptive_kl", "mixed_kl")}
    steps = [Step(sp.diff(sp.sqrt(k * delta / 2), delta), ">=", 0,
                  "every uncapped KL factor sqrt(kδ/2) is nondecreasing in δ (and min(1, ·) preserves that)")]
    for name, term in terms.items():
        uncapped = term.replace(sp.Min, lambda *args: args[-1])
        offset = {t: T - k} if name.startswith("adaptive") else {t: 1 + k}
        steps.append(Step(sp.diff(uncapped, delta).subs(offset), ">=", 0,
                          f"{name}: its term is nondecreasing in δ (uncapped branch; the capped branch is constant)"))
    steps += [
        numeric("accepted sequences satisfy max_t D_KL(c_t) ≤ δ", "definition of the TRM-Max mask M = 1[max_t D_KL ≤ δ]",
                f"{BOUNDS_TESTS}::test_trm_guarantee"),
        numeric("D_KL^(tok,max) ≤ δ on all reachable contexts ⇒ |Error| ≤ B*(δ, ε) for the unmasked L'",
                "B* is nondecreasing in δ, and the threshold does not depend on T", f"{BOUNDS_TESTS}::test_trm_guarantee"),
    ]
    return Derivation("trm_guarantee", "global D_KL^(tok,max) ≤ δ ⇒ |Error| ≤ B*(δ)", "THEORY §7", tuple(steps))


def _length_neutral() -> Derivation:
    p, r = sp.symbols("p r", positive=True)
    w_t = length_neutral_weight()
    dsym = sp.Symbol("delta_SER", positive=True)
    steps = (
        Step(p * sp.Abs(r - 1), "==", sp.Abs(p * r - p),
             "π_roll(v)|ρ(v) − 1| = |π_θ(v) − π_roll(v)| with π_θ = rπ_roll; summing: E_roll|ρ_t − 1| = 2 D_TV(c_t)"),
        Step(2 * (2 * dbar * w_t), "==", 4 * BOUND_TERMS["adaptive_hybrid"],
             "LN-TRM: 2 E_roll[W] = 2 Σ_t 2D̄_t w_t = Adaptive-hybrid (paper); sharp: E_roll[W]"),
        numeric("|Error| ≤ 2 E_roll[W] when D_KL^(tok,max) ≤ δ globally", "Adaptive bound with the LN weights",
                f"{BOUNDS_TESTS}::test_length_neutral_bounds"),
        Step(T * (sp.Symbol("W", nonnegative=True) / T), "==", sp.Symbol("W", nonnegative=True),
             "SER: Σ_t |ρ_t − 1| = T · W_SER"),
        Step(2 * T * dsym * (1 / (1 + s)), "<=", 2 * T * dsym,
             "|Error| ≤ E_roll[Σ_t |ρ_t − 1| · |V^roll − V^θ|] ≤ 2 E[Σ_t |ρ_t − 1|] = 2T E[W_SER]; if every sequence "
             "has W_SER = δ_SER/(1+s) ≤ δ_SER this is ≤ 2Tδ_SER (paper; Tδ_SER with the sharp future factor 1)"),
        numeric("|Error| ≤ 2Tδ_SER when every sequence passes SER", "future factor |V^roll − V^θ| ≤ 1",
                f"{BOUNDS_TESTS}::test_length_neutral_bounds"),
    )
    return Derivation("length_neutral", "LN-TRM: |Error| ≤ 2E_roll[W]; SER: |Error| ≤ 2Tδ_SER", "THEORY §7", steps)


def _length_bias() -> Derivation:
    p = 1 / (1 + s)
    steps = (
        Step(sp.Limit(independent_acceptance(1 - p), T, sp.oo), "==", 0,
             "independent violations with probability q = 1 − p ∈ (0, 1): acceptance (1 − q)^T → 0"),
        Step(independent_acceptance(sp.Rational(1, 1000), 256), "==", sp.Rational(999, 1000) ** 256,
             "the printed table evaluates (1 − p)^T exactly (p = 1e-3, T = 256)"),
    )
    return Derivation("length_bias", "TRM-Max acceptance (1 − p)^T → 0 as T grows", "THEORY §6–§7", steps)


DERIVATIONS = (_monotonic_improvement(), _trm_guarantee(), _length_neutral(), _length_bias())
