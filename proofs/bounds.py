"""The bound formulas of THEORY §5, as produced by the kernel's assembly (proofs.bound_family).

Every bound has the form  B = C · Σ_{t=1}^{T} term_t. ``BOUND_TERMS`` and ``CONSTANTS`` are not typed
here: they are the summand and the constant of the checked derivations ``bound_<name>_<family>``,
which substitute one route of each lemma into the master inequality (classical, coupling,
Pinsker-Marginal, Mixed) or into the Δ route (linear, Adaptive). C = 4 reproduces the paper; C = 2
("sharp") is this suite's result. numerics.bounds lambdifies these terms; the LN-TRM weight is the
Adaptive-hybrid future factor; the worst-case inputs are the right sides of the lemmas that bound them.
"""
import sympy as sp

from proofs import bound_family
from proofs.lemmas import KL, LEMMAS
from proofs.symbols import C, T, delta, eps, k, kl_seq, t, tv_seq  # noqa: F401  (re-exported)

_ASSEMBLIES = bound_family.assemblies()

#: term_t of each bound (D̄_t written as the symbol ``dbar``); the bound is C · Σ_{t=1}^T term_t.
BOUND_TERMS: dict[str, sp.Expr] = {name: by_family["paper"].positional_term for name, by_family in _ASSEMBLIES.items()}
#: C of each constant family, as assembled: 2 × (the advantage lemma's factor).
CONSTANTS = {family: next(iter(_ASSEMBLIES.values()))[family].constant for family in bound_family.FAMILY_FACTOR}

BOUND_NAMES = tuple(BOUND_TERMS)

#: Bounds whose term involves D̄_t (data-dependent per position).
PER_POSITION_BOUNDS = tuple(name for name, term in BOUND_TERMS.items() if term.has(sp.Symbol("Dbar_t", nonnegative=True)))


def bound_expr(name: str, constant: sp.Expr = C) -> sp.Expr:
    """C · Σ_{t=1}^T term_t as an unevaluated sympy Sum."""
    return constant * sp.Sum(BOUND_TERMS[name], (t, 1, T))


def pinsker_cap(kl: sp.Expr) -> sp.Expr:
    """min(1, sqrt(KL/2)): the largest TV compatible with a KL (the lemma pinsker_capped)."""
    return LEMMAS["pinsker_capped"].rhs.xreplace({KL: kl})


#: Worst-case values of missing inputs given δ (and each other), each the right side of the lemma
#: that bounds the input: ε ≤ min(1, sqrt(δ/2)) (eps_pinsker), D_KL^seq ≤ Tδ (seq_kl_bound, the KL
#: chain rule), D_TV^seq ≤ min(1, sqrt(D_KL^seq/2)) (seq_tv_worst), D̄_t ≤ ε (bounded_by_max).
def worst_case_eps(d: sp.Expr = delta) -> sp.Expr:
    return LEMMAS["eps_pinsker"].rhs.xreplace({delta: d})


def worst_case_kl_seq(d: sp.Expr = delta, horizon: sp.Expr = T) -> sp.Expr:
    return LEMMAS["seq_kl_bound"].rhs.xreplace({delta: d, T: horizon})


def worst_case_tv_seq(kl: sp.Expr = kl_seq) -> sp.Expr:
    return LEMMAS["seq_tv_worst"].rhs.xreplace({kl_seq: kl})


#: The closed forms the paper prints (paper constants); proofs.closed_forms proves each an upper bound of its
#: bound ("≤", not the paper's "=", THEORY §8).
S_PM = sp.Sum(pinsker_cap(k * delta), (k, 0, T - 1))              # S_PM(δ) = Σ_{k<T} min(1, sqrt(kδ/2))
CLASSICAL_KL_FORM = T * (T - 1) * delta                            # 2T(T−1)ε² with ε² ≤ δ/2
LINEAR_WORST_FORM = 4 * T * sp.sqrt(delta / 2)                     # 4Tε with ε = sqrt(δ/2)
PM_UNCAPPED_FORM = sp.Rational(4, 3) * T ** sp.Rational(3, 2) * delta
MIXED_KL_UNCAPPED_FORM = 2 * T * sp.sqrt(delta * kl_seq)
MIXED_TV_UNCAPPED_FORM = 4 * T * eps * tv_seq
COUPLING_SPLIT_FORM = 4 * T * eps + 2


def length_neutral_weight() -> sp.Expr:
    """w_t = min(1, (T−t)ε, sqrt((T−t)δ/2)): the Adaptive-hybrid future factor (THEORY §7), as assembled."""
    return bound_family.future_factor("future_route_hybrid")


def independent_acceptance(p: sp.Expr, horizon: sp.Expr = T) -> sp.Expr:
    """(1 − p)^T: TRM-Max acceptance when each token violates independently with probability p."""
    return (1 - p) ** horizon
