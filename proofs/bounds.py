"""The bound table of THEORY §5 as sympy expressions: the one source of truth for every formula.

Every bound has the form  B = C · Σ_{t=1}^{T} term_t, where term_t is the product of a bound on
‖g_t‖∞ (the advantage lemma) and a bound on the context shift TV(d_t^θ, d_t^roll), or (Adaptive)
of D̄_t and a bound on the future factor. C = 4 reproduces the paper ("paper" constants); C = 2 is
proved in :mod:`proofs.sharp_constants` ("sharp" constants). numerics.bounds lambdifies these terms.
"""
import sympy as sp

from proofs.symbols import PAPER_CONSTANT, SHARP_CONSTANT, C, T, dbar, delta, eps, k, kl_seq, t, tv_seq

CONSTANTS = {"paper": PAPER_CONSTANT, "sharp": SHARP_CONSTANT}


def pinsker_cap(kl: sp.Expr) -> sp.Expr:
    """min(1, sqrt(KL/2)): the largest TV compatible with a KL (Pinsker, capped at 1)."""
    return sp.Min(1, sp.sqrt(kl / 2))


#: term_t of each bound; the bound is C · Σ_{t=1}^T term_t.
BOUND_TERMS: dict[str, sp.Expr] = {
    # ‖g_t‖ ≤ ε, TV(d_t) ≤ (t−1)ε, uncapped: 2T(T−1)ε² with C = 4.
    "classical": eps**2 * (t - 1),
    # ‖g_t‖ ≤ min(1, ε), TV(d_t) ≤ min(1, (t−1)ε).
    "coupling": sp.Min(1, eps) * sp.Min(1, (t - 1) * eps),
    # Σ_t D̄_t: ‖g_t‖ replaced by the expected token TV, context shift by 1 (v2 "linear").
    "linear": dbar,
    # ‖g_t‖ ≤ min(1, sqrt(δ/2)), TV(d_t) ≤ min(1, sqrt((t−1)δ/2)).
    "pinsker_marginal_kl": pinsker_cap(delta) * pinsker_cap((t - 1) * delta),
    "pinsker_marginal_tv": sp.Min(1, eps) * pinsker_cap((t - 1) * delta),
    # TV(d_t) ≤ min(1, sqrt(D_KL^seq/2)) or D_TV^seq for every t.
    "mixed_kl": pinsker_cap(delta) * pinsker_cap(kl_seq),
    "mixed_tv": sp.Min(1, eps) * sp.Min(1, tv_seq),
    # D̄_t times the future factor's bound over the T − t remaining tokens.
    "adaptive_kl": dbar * pinsker_cap((T - t) * delta),
    "adaptive_tv": dbar * sp.Min(1, (T - t) * eps),
    "adaptive_hybrid": dbar * sp.Min(1, (T - t) * eps, sp.sqrt((T - t) * delta / 2)),
}

BOUND_NAMES = tuple(BOUND_TERMS)

#: Bounds whose term involves D̄_t (data-dependent per position).
PER_POSITION_BOUNDS = ("linear", "adaptive_kl", "adaptive_tv", "adaptive_hybrid")


def bound_expr(name: str, constant: sp.Expr = C) -> sp.Expr:
    """C · Σ_{t=1}^T term_t as an unevaluated sympy Sum."""
    return constant * sp.Sum(BOUND_TERMS[name], (t, 1, T))


#: Worst-case values of missing inputs given δ (and each other), THEORY §3 facts:
#: ε = min(1, sqrt(δ/2)), D_KL^seq = Tδ (chain rule), D_TV^seq = min(1, sqrt(D_KL^seq/2)), D̄_t ≡ ε.
def worst_case_eps(d: sp.Expr = delta) -> sp.Expr:
    return pinsker_cap(d)


def worst_case_kl_seq(d: sp.Expr = delta, horizon: sp.Expr = T) -> sp.Expr:
    return horizon * d


def worst_case_tv_seq(kl: sp.Expr = kl_seq) -> sp.Expr:
    return pinsker_cap(kl)


#: The closed forms the paper prints (paper constants), each an upper bound of its bound above.
S_PM = sp.Sum(pinsker_cap(k * delta), (k, 0, T - 1))              # S_PM(δ) = Σ_{k<T} min(1, sqrt(kδ/2))
CLASSICAL_KL_FORM = T * (T - 1) * delta                            # 2T(T−1)ε² with ε² ≤ δ/2
LINEAR_WORST_FORM = 4 * T * sp.sqrt(delta / 2)                     # 4Tε with ε = sqrt(δ/2)
PM_UNCAPPED_FORM = sp.Rational(4, 3) * T ** sp.Rational(3, 2) * delta
MIXED_KL_UNCAPPED_FORM = 2 * T * sp.sqrt(delta * kl_seq)
MIXED_TV_UNCAPPED_FORM = 4 * T * eps * tv_seq
COUPLING_SPLIT_FORM = 4 * T * eps + 2


def length_neutral_weight() -> sp.Expr:
    """w_t = min(1, (T−t)ε, sqrt((T−t)δ/2)), the LN-TRM weight (THEORY §7)."""
    return sp.Min(1, (T - t) * eps, sp.sqrt((T - t) * delta / 2))


def independent_acceptance(p: sp.Expr, horizon: sp.Expr = T) -> sp.Expr:
    """(1 − p)^T: TRM-Max acceptance when each token violates independently with probability p."""
    return (1 - p) ** horizon
