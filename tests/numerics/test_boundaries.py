"""Boundary checks that pin the caps, the worst-case substitutions and the linear bound to what they
mean, independently of the formulas' text (each kills mutants listed in tests/mutations/catalog.py)."""
import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from numerics.bounds import BOUND_NAMES, BoundInputs, constant, evaluate_bounds
from numerics.enumeration import enumerate_sequences
from numerics.exact import exact_quantities
from numerics.pair import AutomatonPair
from proofs.lemmas import LEMMAS, numeric_value
from tests.strategies import any_pair
from tests.tolerances import assert_close, assert_le

#: Bounds whose every factor is a TV (so at most 1): all but the uncapped classical 2T(T−1)ε².
CAPPED = tuple(name for name in BOUND_NAMES if name != "classical")


def iid_pair(a: float, T: int) -> AutomatonPair:
    """One state, V = 2, π_roll = (½, ½), π_θ = (a, 1 − a) at every position: every context has the same
    KL, so D_KL^seq = T·δ attains its worst case."""
    return AutomatonPair(np.array([1.0]), np.array([[0, 0]]), np.array([[0.5, 0.5]]), np.array([[a, 1 - a]]),
                         np.array([1.0]), T)


@pytest.mark.parametrize("family", ["paper", "sharp"])
@pytest.mark.parametrize("T", [1, 2, 7])
def test_tv_factors_never_exceed_one(T, family):
    """Every factor of a capped bound is a TV (≤ 1), so the bound is at most C·T; with every divergence
    infinite each KL-driven factor sits at exactly 1."""
    C = constant(family)
    values = evaluate_bounds(BoundInputs(T, math.inf, 1.0, math.inf, 1.0, np.ones(T)), family)
    for name in CAPPED:
        assert_le(values[name], C * T, name)
    assert values["mixed_kl"] == C * T and values["mixed_tv"] == C * T
    assert values["pinsker_marginal_kl"] == C * (T - 1) and values["coupling"] == C * (T - 1)


@given(st.integers(1, 40), st.floats(0.0, 1e6), st.floats(0.0, 1.0), st.floats(0.0, 1e6), st.floats(0.0, 1.0),
       st.sampled_from(["paper", "sharp"]))
def test_capped_bounds_stay_below_C_T(T, d, e, D, tv, family):
    values = evaluate_bounds(BoundInputs(T, d, e, D, tv, np.full(T, e)), family)
    for name in CAPPED:
        assert_le(values[name], constant(family) * T, name)


@given(any_pair)
@example(iid_pair(0.3, 5))
@example(iid_pair(0.05, 3))
def test_worst_case_inputs_dominate_every_pair(pair):
    """The worst case given δ is a maximum over pairs: every bound at the worst-case inputs is at least the
    bound at a pair's exact inputs (for the i.i.d. pair D_KL^seq = Tδ exactly)."""
    q = exact_quantities(pair)
    if not math.isfinite(q.kl_tok_max):
        return
    worst = BoundInputs.worst_case(q.T, q.kl_tok_max)
    assert_le(q.kl_seq, worst.kl_seq, "D_KL^seq ≤ its worst case", scale=q.kl_seq)
    assert_le(q.tv_seq, worst.tv_seq, "D_TV^seq ≤ its worst case")
    assert_le(q.tv_tok_max, worst.tv_tok_max, "ε ≤ its worst case")
    for family in ("paper", "sharp"):
        exact = evaluate_bounds(BoundInputs.from_exact(q), family)
        at_worst = evaluate_bounds(worst, family)
        for name in BOUND_NAMES:
            assert_le(exact[name], at_worst[name], f"{name} ({family})", scale=max(exact[name], 1.0))


@pytest.mark.parametrize("d", [1e-6, 1e-2, 0.5, 3.0, 50.0])
@pytest.mark.parametrize("T", [1, 16, 1024])
def test_worst_case_inputs_are_the_lemma_caps(T, d):
    """The worst-case substitutions are the right sides of the lemmas that bound each input."""
    w = BoundInputs.worst_case(T, d)
    eps = float(numeric_value(LEMMAS["eps_pinsker"].rhs, {"delta": d}))
    kl = float(numeric_value(LEMMAS["seq_kl_bound"].rhs, {"delta": d, "T": T}))
    tv = float(numeric_value(LEMMAS["seq_tv_worst"].rhs, {"D_KL_seq": kl}))
    assert_close(w.tv_tok_max, eps, "ε")
    assert_close(w.kl_seq, kl, "D_KL^seq")
    assert_close(w.tv_seq, tv, "D_TV^seq")
    assert w.tv_tok_max <= 1.0 and w.tv_seq <= 1.0


@given(any_pair)
def test_linear_bound_is_twice_the_expected_absolute_deviation(pair):
    """The Δ route: linear = (C/2) Σ_t E_roll|ρ_t − 1| with E_roll|ρ_t − 1| = 2 D̄_t, by enumeration."""
    q = exact_quantities(pair)
    if q.theta_mass_off_roll_support > 0:
        return
    table = enumerate_sequences(pair)
    P = table.prompt_prob[:, None] * np.exp(table.log_p_roll)
    expected = float(np.einsum("xm,txm->", P, np.abs(table.rho_minus_one)))
    for family in ("paper", "sharp"):
        assert_close(evaluate_bounds(BoundInputs.from_exact(q), family)["linear"], constant(family) / 2 * expected,
                     f"linear ({family})", scale=max(expected, 1.0))
