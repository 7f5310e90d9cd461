"""The kernel's bound formulas as numpy functions: the table numerics' bound modules evaluate.

By default the checked-in :mod:`numerics.generated_bounds` (written by ``python3 -m numerics.codegen`` from the
proof kernel's assembly; importing it costs numpy only). :func:`use_kernel` swaps in the same names lambdified
from the kernel as it is at that moment: the mutation regression (tests/mutations) does that after mutating a
formula of proofs/, so the tests that must kill the mutant evaluate the mutated kernel, as they would after
``python3 -m numerics.codegen``. :func:`use` puts a table back.

A table carries BOUND_NAMES, BOUND_TERMS (name → term_t(T, t, δ, ε, D_KL^seq, D_TV^seq, D̄_t)), CONSTANTS
(family → C), pinsker_cap, worst_case_eps, worst_case_kl_seq, worst_case_tv_seq, length_neutral_weight,
CHI2_SHIFT (name → shift_t(t, χ²_max, χ²_seq)), CHI2_CONSTANT, CHI2_BOUND_NAMES and chi2_exact; and, for the
path-moment family (THEORY §11; numerics.path_bounds, numerics.path_moments, numerics.path_recursion):
PATH_BOUND_NAMES, PATH_BOUNDS (sequence_kl(D_KL^seq), additive(D_TV^seq, Q), tangent(γ, D_KL^seq, Q, E[SH], E[H²]),
weighted_chi2(E[W²/Πω], E[Πω])), tangent_bound_at_zero(Q), additive_split_bound(D_TV^seq, A_b, Q_s),
TV_UPPER_BOUNDS (le_cam(BC), bretagnolle_huber(D_KL^seq)), path_weight(α, λ, u) (ω = (1 + u)^α (1 + λ|u|)),
sequence_kl_worst_case_slope(T) (the sequence-KL bound at D_KL^seq = Tδ is slope·δ), and the path recursions'
RECURSION_MONOMIALS (name → the monomials' names, in order), RECURSION_INITIAL (their values before the first
token) and RECURSION_COEFFICIENTS (name → rows of c_ij(u, h), None where the coefficient is 0).
"""
from __future__ import annotations

from numerics import generated_bounds

_active = generated_bounds


def active():
    """The table in use (the generated module unless :func:`use` or :func:`use_kernel` changed it)."""
    return _active


def use(table):
    """Evaluate every bound through ``table`` from now on; returns the table it replaces."""
    global _active
    previous, _active = _active, table
    return previous


def use_kernel():
    """Evaluate through formulas lambdified from the proof kernel as it is now (imports sympy and proofs);
    returns the table it replaces."""
    from numerics.codegen import kernel_table

    return use(kernel_table())
