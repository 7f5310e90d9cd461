"""Closed forms and inequalities behind the bounds, and the growth exponent of each bound in T.

    Σ_(t=1)^T (t − 1) = T(T − 1)/2
    Σ_(k<T) sqrt(k) ≤ (2/3) T^(3/2)              (so 2δ Σ sqrt(k) ≤ (4/3)T^(3/2)δ: "≤", not "=")
    Σ_(t=1)^T min(1, (t−1)ε) = εK(K+1)/2 + (T − 1 − K) ≤ T + 1/(2ε),  K = min(T−1, ⌊1/ε⌋)
Growth: classical T², Pinsker-Marginal T^(3/2), Mixed/linear/coupling T, by limits.
"""
import sympy as sp

from proofs.bounds import (CLASSICAL_KL_FORM, COUPLING_SPLIT_FORM, LINEAR_WORST_FORM, MIXED_KL_UNCAPPED_FORM,
                           PM_UNCAPPED_FORM)
from proofs.derivation import Derivation, Step
from proofs.symbols import T, delta, eps, k, kl_seq, t

x = sp.Symbol("x", positive=True)
u = sp.Symbol("u", positive=True)
s = sp.Symbol("s", positive=True)
K = sp.Symbol("K", integer=True, nonnegative=True)


def _arithmetic_sum() -> Derivation:
    return Derivation("arithmetic_sum", "Σ_(t=1)^T (t − 1) = T(T − 1)/2, so classical = 2T(T−1)ε² (C = 4)",
                      "THEORY §5", (
                          Step(sp.Sum(t - 1, (t, 1, T)), "==", T * (T - 1) / 2, "Faulhaber"),
                          Step(4 * eps**2 * T * (T - 1) / 2, "==", 2 * T * (T - 1) * eps**2, "C = 4 times the sum"),
                          Step(2 * T * (T - 1) * (delta / (2 * (1 + s))), "<=", CLASSICAL_KL_FORM,
                               "ε² = (δ/2)/(1+s) ≤ δ/2 (Pinsker): 2T(T−1)ε² ≤ T(T−1)δ"),
                      ))


def _sqrt_sum() -> Derivation:
    steps = (
        Step(sp.Integral(sp.sqrt(x), (x, k, k + 1)), "==",
             sp.Rational(2, 3) * ((k + 1) ** sp.Rational(3, 2) - k ** sp.Rational(3, 2)), "∫_k^(k+1) sqrt(x) dx"),
        Step((u**2 + 1) ** 3, ">", (u**3 + sp.Rational(3, 2) * u) ** 2,
             "with k = u²: (k+1)^(3/2) > k^(3/2) + (3/2)sqrt(k) ⟺ (squaring positive sides) (u²+1)³ − (u³+3u/2)² "
             "= 3u²/4 + 1 > 0; so sqrt(k) < ∫_k^(k+1) sqrt(x) dx (k = 0 trivially)"),
        Step(sp.Integral(sp.sqrt(x), (x, 0, T)), "==", sp.Rational(2, 3) * T ** sp.Rational(3, 2),
             "Σ_(k<T) ∫_k^(k+1) = ∫_0^T sqrt(x) dx, hence Σ_(k<T) sqrt(k) ≤ (2/3) T^(3/2)"),
        Step(4 * sp.sqrt(delta / 2) * sp.sqrt(k * delta / 2), "==", 2 * delta * sp.sqrt(k),
             "uncapped Pinsker-Marginal term (caps inactive while kδ/2 ≤ 1)"),
        Step(2 * delta * sp.Rational(2, 3) * T ** sp.Rational(3, 2), "==", PM_UNCAPPED_FORM,
             "so PM-KL ≤ 2δ Σ sqrt(k) ≤ (4/3)T^(3/2)δ; the paper's '=' is a '≤' (THEORY §8)"),
        Step(sp.Sum(sp.sqrt(k), (k, 0, 9)), "<", sp.Rational(2, 3) * 10 ** sp.Rational(3, 2),
             "sanity check at T = 10: the inequality is strict"),
    )
    return Derivation("sqrt_sum", "Σ_(k<T) sqrt(k) ≤ (2/3) T^(3/2)", "THEORY §5, §8", steps)


def _coupling_split() -> Derivation:
    lam = 1 / (1 + s)   # λ = Kε ∈ (0, 1]
    steps = (
        Step(sp.Sum(k * eps, (k, 0, K)) + sp.Sum(1, (k, K + 1, T - 1)), "==",
             eps * K * (K + 1) / 2 + T - 1 - K,
             "split Σ_(k<T) min(1, kε) at K = min(T−1, ⌊1/ε⌋): kε ≤ 1 for k ≤ K, else the cap 1 "
             "(the paper's index is off by one here; its numbers are right)"),
        Step(lam * (K + 1) / 2, "<=", (K + 1) / 2, "εK(K+1)/2 = λ(K+1)/2 with λ = Kε ≤ 1"),
        Step((K + 1) / 2 + T - 1 - K, "<=", T + 1 / (2 * eps), "so the sum is ≤ T − (K+1)/2 ≤ T + 1/(2ε)"),
        Step(4 * eps * (T + 1 / (2 * eps)), "==", COUPLING_SPLIT_FORM, "coupling ≤ 4ε(T + 1/(2ε)) = 4Tε + 2"),
    )
    return Derivation("coupling_split", "Σ_t min(1,(t−1)ε) = εK(K+1)/2 + T−1−K ≤ 1/(2ε) + T", "THEORY §5, §8",
                      steps)


def _growth() -> Derivation:
    D = kl_seq
    lower = sp.Rational(2, 3) * (T - 1) ** sp.Rational(3, 2)  # ∫_0^(T−1) sqrt ≤ Σ_(k<T) sqrt(k)
    upper = sp.Rational(2, 3) * T ** sp.Rational(3, 2)
    coupling_closed = 4 * eps * (eps * K * (K + 1) / 2 + T - 1 - K)
    steps = (
        Step(sp.Limit(CLASSICAL_KL_FORM / T**2, T, sp.oo), "==", delta, "classical / T² → δ"),
        Step(sp.Limit(sp.log(CLASSICAL_KL_FORM) / sp.log(T), T, sp.oo), "==", 2, "classical grows like T²"),
        Step(sp.diff(sp.sqrt(x), x), ">", 0,
             "sqrt is increasing, so ∫_0^(T−1) sqrt ≤ Σ_(k<T) sqrt(k) ≤ ∫_0^T sqrt (squeeze)"),
        Step(sp.Limit(lower / T ** sp.Rational(3, 2), T, sp.oo), "==", sp.Rational(2, 3), "lower side / T^(3/2) → 2/3"),
        Step(sp.Limit(upper / T ** sp.Rational(3, 2), T, sp.oo), "==", sp.Rational(2, 3), "upper side / T^(3/2) → 2/3"),
        Step(sp.Limit(sp.log(2 * delta * upper) / sp.log(T), T, sp.oo), "==", sp.Rational(3, 2),
             "Pinsker-Marginal (small regime, 2δ Σ sqrt(k)) grows like T^(3/2)"),
        Step(sp.Limit(MIXED_KL_UNCAPPED_FORM / T, T, sp.oo), "==", 2 * sp.sqrt(delta * D),
             "Mixed at fixed D_KL^seq: / T → 2 sqrt(δ D_KL^seq)"),
        Step(sp.Limit(sp.log(MIXED_KL_UNCAPPED_FORM) / sp.log(T), T, sp.oo), "==", 1, "Mixed grows like T"),
        Step(sp.Limit(LINEAR_WORST_FORM / T, T, sp.oo), "==", 4 * sp.sqrt(delta / 2), "linear grows like T"),
        Step(sp.Limit(coupling_closed / T, T, sp.oo), "==", 4 * eps,
             "coupling at fixed ε (K fixed once T > 1/ε): / T → 4ε, linear growth after the T² start"),
    )
    return Derivation("growth_exponents", "classical ~ T², Pinsker-Marginal ~ T^(3/2), Mixed/linear/coupling ~ T",
                      "THEORY §5", steps)


DERIVATIONS = (_arithmetic_sum(), _sqrt_sum(), _coupling_split(), _growth())
