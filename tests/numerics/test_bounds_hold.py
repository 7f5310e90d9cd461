"""Every bound against the true error and against the worst case over all rewards (THEORY §5, §7).

The worst case sup_R |Error| is a far sharper test than any one reward: a bound that holds for
every reward must exceed it. Hypothesis target() pushes the ratio worst / bound upward.
"""
import numpy as np
import pytest
from hypothesis import example, given, target
from hypothesis import strategies as st

from numerics.bounds import BOUND_NAMES, BoundInputs, evaluate_bounds, length_neutral_weights
from numerics.enumeration import enumerate_sequences, exact_by_enumeration, worst_case_error
from numerics.exact import exact_quantities
from numerics.generators import MismatchModel, random_automaton, sparse_violation_pair
from numerics.pair import AutomatonPair
from tests.strategies import any_pair, automaton_pairs
from tests.tolerances import assert_close, assert_le

FAMILIES = ("paper", "sharp")


def bounds_of(q):
    inputs = BoundInputs.from_exact(q)
    return {family: evaluate_bounds(inputs, family) for family in FAMILIES}


def tight_pair(a: float) -> AutomatonPair:
    """One state, V = 2, π_roll = (½, ½), π_θ = (½ + a, ½ − a), T = 2: the sharp constant is attained."""
    roll = np.array([[0.5, 0.5]])
    theta = np.array([[0.5 + a, 0.5 - a]])
    return AutomatonPair(np.array([1.0]), np.array([[0, 0]]), roll, theta, np.array([0.5]), 2)


@given(any_pair)
@example(tight_pair(0.3))
def test_error_below_every_bound(pair):
    q = exact_quantities(pair)
    for family, values in bounds_of(q).items():
        for name in BOUND_NAMES:
            assert_le(abs(q.error), values[name], f"|Error| ≤ {name} ({family})")
        if values["unified"] > 0:
            target(abs(q.error) / values["unified"], label=f"|Error|/B* {family}")


@given(automaton_pairs(max_states=3, max_vocab=2, max_T=4) | any_pair)
@example(tight_pair(0.1))
@example(tight_pair(0.45))
def test_worst_case_below_every_bound(pair):
    q = exact_quantities(pair)
    worst = worst_case_error(pair).value
    for family, values in bounds_of(q).items():
        for name in BOUND_NAMES:
            assert_le(worst, values[name], f"sup_R |Error| ≤ {name} ({family})")
        if values["unified"] > 0:
            target(worst / values["unified"], label=f"worst/B* {family}")
    sharp = bounds_of(q)["sharp"]
    if sharp["adaptive_tv"] > 0:
        target(worst / sharp["adaptive_tv"], label="worst/adaptive_tv sharp")


@pytest.mark.parametrize("a", [0.05, 0.2, 0.45])
def test_sharp_constant_is_attained(a):
    """At T = 2 the sharp classical, coupling and Adaptive-TV bounds equal sup_R |Error| = 2a²:
    any constant below 2 would be violated (proofs.bound_relations.tightness_example)."""
    pair = tight_pair(a)
    worst = worst_case_error(pair).value
    assert_close(worst, 2 * a**2)
    sharp = bounds_of(exact_quantities(pair))["sharp"]
    for name in ("classical", "coupling", "adaptive_tv"):
        assert_close(sharp[name], worst, name)


@given(any_pair)
def test_orderings(pair):
    q = exact_quantities(pair)
    for family, b in bounds_of(q).items():
        assert_le(b["adaptive_hybrid"], min(b["pinsker_marginal_tv"], b["coupling"]), f"AH ≤ min(PM-TV, C) {family}")
        assert_le(b["pinsker_marginal_tv"], b["pinsker_marginal_kl"], family)
        assert_le(b["mixed_tv"], b["mixed_kl"], family)
        assert_le(b["coupling"], b["classical"], family)
        assert_close(b["unified"], min(b["adaptive_hybrid"], b["mixed_tv"]), f"B* = min(AH, Mixed-TV) {family}")


@given(any_pair)
def test_monotonic_improvement(pair):
    q = exact_quantities(pair)
    for family, values in bounds_of(q).items():
        assert_le(q.surrogate - values["unified"], q.J_theta - q.J_roll, f"J gap ≥ L' − B* ({family})")


@given(any_pair, st.floats(0.0, 10.0))
def test_trm_guarantee(pair, slack):
    """With δ ≥ D_KL^(tok,max) (the TRM-Max threshold holding on every reachable context),
    |Error| ≤ B*(δ) with the other inputs at their worst case given δ; and every sequence is accepted."""
    q = exact_quantities(pair)
    threshold = q.kl_tok_max * (1 + slack) + slack * 1e-6
    table = enumerate_sequences(pair)
    accepted = np.where(table.reachable, table.kl_context, 0.0).max(axis=0) <= threshold
    assert accepted.all()
    for family in FAMILIES:
        B = evaluate_bounds(BoundInputs.worst_case(q.T, threshold), family)["unified"]
        assert_le(abs(q.error), B, f"TRM guarantee ({family})")


@given(any_pair)
def test_length_neutral_bounds(pair):
    q = exact_quantities(pair)
    table = enumerate_sequences(pair)
    P = table.prompt_prob[:, None] * np.exp(table.log_p_roll)
    abs_dev = np.abs(table.rho_minus_one)                     # [T, X, M]
    w = length_neutral_weights(q.T, q.kl_tok_max, q.tv_tok_max)
    W = np.einsum("t,txm->xm", w, abs_dev)
    expected_W = (P * W).sum()
    assert_close(expected_W, 2 * (q.tv_pos_mean * w).sum(), "E_roll[W] = Σ 2D̄_t w_t")
    assert_le(abs(q.error), expected_W, "LN-TRM (sharp): |Error| ≤ E[W]")
    assert_le(abs(q.error), 2 * expected_W, "LN-TRM (paper): |Error| ≤ 2E[W]")
    ser = abs_dev.mean(axis=0)
    delta_ser = ser[P > 0].max()
    assert_le(abs(q.error), q.T * delta_ser, "SER (sharp): |Error| ≤ Tδ_SER")
    assert_le(abs(q.error), 2 * q.T * delta_ser, "SER (paper)")


@pytest.mark.parametrize("p", [0.5, 0.1, 1e-3, 1e-6])
def test_sequence_kl_does_not_control_token_max(p):
    q = exact_quantities(sparse_violation_pair(p))
    assert_close(q.kl_seq, p)
    assert_close(q.kl_tok_max, 1.0)


@given(any_pair, st.integers(0, 2**32 - 1))
def test_worst_case_reward_attains_the_supremum(pair, seed):
    worst = worst_case_error(pair)
    attained = exact_by_enumeration(pair, reward=worst.reward)
    assert_close(attained.error, worst.value, "Error(R*) = sup")
    assert_close(exact_by_enumeration(pair, reward=1.0 - worst.reward).error, -worst.value, "Error(1 − R*) = −sup")
    other = np.random.default_rng(seed).random(worst.reward.shape)
    assert_le(abs(exact_by_enumeration(pair, reward=other).error), worst.value, "any reward stays below the sup")


@pytest.mark.parametrize("kind", ["dense", "heavy", "flips", "temperature"])
def test_bounds_hold_at_long_horizon(kind):
    """T = 1024 through the dynamic programme (D_TV^seq replaced by its Pinsker cap)."""
    pair = random_automaton(np.random.default_rng(11), states=8, vocab=4, T=1024, prompts=2,
                            mismatch=MismatchModel(kind, sigma=0.05, rate=0.02, flip_sigma=1.0, tau=1.05))
    q = exact_quantities(pair)
    for family, values in bounds_of(q).items():
        for name in BOUND_NAMES:
            assert_le(abs(q.error), values[name], f"{name} ({family}, {kind})")
