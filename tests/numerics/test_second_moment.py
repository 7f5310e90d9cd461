"""The second-moment (χ²) family of THEORY §10 (this suite's result): the DP against enumeration,
the identities to float precision, and every bound against the worst case over all rewards."""
import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given, target
from hypothesis import strategies as st

from numerics.bounds import BoundInputs, evaluate_bounds
from numerics.chi2_bounds import (CHI2_BOUND_NAMES, Chi2Inputs, chi2_max_bound_closed, chi2_threshold,
                                  evaluate_chi2_bounds, shift_sum, with_chi2)
from numerics.enumeration import exact_by_enumeration, worst_case_error
from numerics.errors import TRMInputError
from numerics.exact import exact_quantities
from numerics.generators import MismatchModel, random_automaton, random_tabular
from numerics.iid import symmetric_pair
from numerics.pair import AutomatonPair
from numerics.enumeration import second_moment_by_enumeration
from numerics.second_moment import second_moment_dp
from proofs import second_moment as formulas
from proofs.symbols import T as T_sym
from tests.strategies import any_pair, automaton_pairs
from tests.tolerances import assert_close, assert_le


def _same(a, b, what, scale=1.0):
    if math.isinf(a) or math.isinf(b):
        assert a == b, what
    else:
        assert_close(a, b, what, scale=scale)


@given(any_pair)
@example(symmetric_pair(0.3, 3))
def test_dynamic_programme_agrees_with_enumeration(pair):
    dp, en = second_moment_dp(pair), second_moment_by_enumeration(pair)
    _same(dp.chi2_tok_max, en.chi2_tok_max, "χ²_max")
    _same(dp.chi2_seq, en.chi2_seq, "χ²_seq", scale=1 + dp.prefix_chi2.max())
    _same(dp.second_moment, en.second_moment, "E[W²]", scale=1 + dp.prefix_chi2.max())
    assert_close(dp.prefix_chi2, en.prefix_chi2, "E[(M_t − 1)²]", scale=1 + dp.prefix_chi2.max())
    assert dp.theta_off_support == en.theta_off_support


@given(automaton_pairs(), st.sampled_from([1, 2, 5, 64, 1000, 2**20 + 3]))
@example(symmetric_pair(0.45, 3), 4000)
def test_scalars_without_positions_equal_the_per_position_pass(pair, T):
    """second_moment_dp(positions=False), the binary powers of the block operator for homogeneous pairs
    (what exact_quantities runs), gives the scalars of the per-position pass: χ²_seq, E[W²], E[W] and χ²_max,
    +inf where either overflows."""
    pair = AutomatonPair(pair.init, pair.next_state, pair.roll if pair.roll.ndim == 2 else pair.roll[0],
                         pair.theta if pair.theta.ndim == 2 else pair.theta[0], pair.reward, T)
    full, scalars = second_moment_dp(pair), second_moment_dp(pair, positions=False)
    assert scalars.prefix_chi2 is None and scalars.second_moment_terms is None and scalars.chi2_pos_mean is None
    scale = 1 + (full.prefix_chi2.max() if np.isfinite(full.prefix_chi2).all() else 0.0)
    for key in ("chi2_seq", "second_moment", "chi2_tok_max"):
        _same(getattr(scalars, key), getattr(full, key), key, scale=scale)
    if math.isfinite(full.mean_W) and math.isfinite(scalars.mean_W):
        assert_close(scalars.mean_W, full.mean_W, "E[W]", scale=scale)
    assert scalars.theta_off_support == full.theta_off_support and scalars.chi2_tok_max_context == full.chi2_tok_max_context


@given(any_pair)
def test_martingale_transform_and_zero_mean(pair):
    """W = Π ρ − 1 − Σ(ρ − 1) = Σ_t (M_(t−1) − 1)(ρ_t − 1) sequence by sequence, and E_roll[W] = 0."""
    en = second_moment_by_enumeration(pair)
    scale = 1 + np.abs(en.W).max()
    assert_close(en.W_transform, en.W, "martingale transform", scale=scale)
    if not en.theta_off_support:
        assert_close(en.mean_W, 0.0, "E[W] (enumeration)", scale=scale)
        assert_close(second_moment_dp(pair).mean_W, 0.0, "E[W] (DP)", scale=scale)


@given(any_pair)
def test_orthogonal_increments_and_prefix_recursion(pair):
    """E[W²] = Σ_t E[(M_(t−1) − 1)² χ²(c_t)] (enumeration's Σ P W² against the DP's per-position sum),
    and E[(M_(t−1) − 1)²] ≤ min(χ²_seq, (1 + χ²_max)^(t−1) − 1) at every t."""
    dp, en = second_moment_dp(pair), second_moment_by_enumeration(pair)
    if dp.theta_off_support or math.isinf(dp.chi2_tok_max):
        return
    scale = 1 + dp.prefix_chi2.max()
    assert_close((en.weights * en.W**2).sum(), dp.second_moment_terms.sum(), "orthogonal increments", scale=scale)
    for t in range(1, len(dp.second_moment_terms) + 1):
        cap = min(dp.chi2_seq, math.expm1((t - 1) * math.log1p(dp.chi2_tok_max)))
        assert_le(dp.prefix_chi2[t - 1], cap, f"E[(M_{t - 1} − 1)²]", scale=scale)


def chi2_values(pair):
    return evaluate_chi2_bounds(Chi2Inputs.from_exact(exact_quantities(pair)))


@given(automaton_pairs(max_states=3, max_vocab=2, max_T=4) | any_pair)
@example(symmetric_pair(0.1, 2))
@example(symmetric_pair(0.45, 6))
def test_every_chi2_bound_exceeds_the_worst_case(pair):
    q = exact_quantities(pair)
    worst = worst_case_error(pair).value
    values = evaluate_chi2_bounds(Chi2Inputs.from_exact(q))
    for name in CHI2_BOUND_NAMES:
        assert_le(worst, values[name], f"sup_R |Error| ≤ {name}")
        if values[name] > 0:
            target(worst / values[name], label=f"worst/{name}")
    assert_le(values["chi2_exact"], values["chi2_mixed"], "χ²-exact ≤ χ²-mixed", scale=values["chi2_mixed"])
    assert_le(values["chi2_mixed"], values["chi2_max"], "χ²-mixed ≤ χ²-max", scale=values["chi2_max"])
    for family in ("paper", "sharp"):
        combined = with_chi2(evaluate_bounds(BoundInputs.from_exact(q), family), values)
        assert_le(worst, combined["unified_with_chi2"], f"B** ({family})")
        assert combined["unified_with_chi2"] <= combined["unified"]
        assert combined[combined["argmin_with_chi2"]] == combined["unified_with_chi2"]


@pytest.mark.parametrize("a", [1e-4, 0.05, 0.2, 0.45])
def test_constant_one_half_is_attained(a):
    """At T = 2 for the symmetric i.i.d. pair |W| = |u_1 u_2| = 4a² is constant, so
    ½E|W| = ½sqrt(E[W²]): every χ² bound equals sup_R |Error| = 2a² and no constant below ½ holds."""
    pair = symmetric_pair(a, 2)
    worst = worst_case_error(pair).value
    assert_close(worst, 2 * a * a)
    values = chi2_values(pair)
    for name in CHI2_BOUND_NAMES:
        assert_close(values[name], worst, name)


def test_tight_family_ratio_over_lengths():
    """On the symmetric i.i.d. family with small a, sup_R|Error| / B_χ²-max is 1 at T = 2, never above
    1, at least 0.61 for every T (minimum 0.612 at T = 4), and tends to 2√2·φ(1) = 0.68440 (the
    Gaussian limit: W ≈ (Tχ²/2)(Z² − 1), E|Z² − 1| = 4φ(1)) as T grows. Exact binomial sums,
    checked against enumeration in tests/numerics/test_iid.py."""
    from numerics.iid import iid_worst_case

    a = 1e-5
    ratios = {}
    for T in list(range(2, 65)) + [4096, 65536]:
        r = iid_worst_case(0.5, 0.5 + a, T)
        ratios[T] = r.worst_case_error / chi2_max_bound_closed(T, r.chi2_tok)
    assert ratios[2] == pytest.approx(1.0, rel=1e-9)
    assert max(ratios.values()) <= 1 + 1e-9
    assert min(ratios.values()) > 0.61
    limit = 2 * math.sqrt(2) * math.exp(-0.5) / math.sqrt(2 * math.pi)
    assert ratios[65536] == pytest.approx(limit, rel=1e-4)


def test_support_mismatch_gives_infinite_chi2_named_not_nan():
    pair = random_tabular(np.random.default_rng(4), vocab=2, T=2, prompts=1)
    roll = pair.roll.copy()
    roll[0, 0] = [1.0, 0.0]             # π_roll = 0 < π_θ at the empty prefix
    clipped = type(pair)(roll, pair.theta, pair.reward, pair.prompt)
    q, en = exact_quantities(clipped), exact_by_enumeration(clipped)
    assert math.isinf(q.chi2_tok_max) and math.isinf(en.chi2_tok_max) and "prefix ()" in q.chi2_tok_max_context
    assert math.isinf(q.chi2_seq) and math.isinf(q.second_moment)
    values = evaluate_chi2_bounds(Chi2Inputs.from_exact(q))
    assert all(values[n] == math.inf for n in CHI2_BOUND_NAMES)


def test_theta_zero_keeps_chi2_finite():
    """π_θ = 0 < π_roll (infinite KL) is finite for χ²(θ ‖ roll): ρ = 0 there, u = −1."""
    pair = random_tabular(np.random.default_rng(3), vocab=2, T=3, prompts=1)
    theta = pair.theta.copy()
    theta[0, 1] = [1.0, 0.0]
    broken = type(pair)(pair.roll, theta, pair.reward, pair.prompt)
    dp, en = second_moment_dp(broken), second_moment_by_enumeration(broken)
    assert math.isfinite(dp.chi2_tok_max) and math.isfinite(dp.second_moment)
    assert_close(dp.second_moment, en.second_moment)
    assert_le(worst_case_error(broken).value, chi2_values(broken)["chi2_exact"])


@pytest.mark.parametrize("scale", [1e-3, 1e-6, 1e-9])
def test_nearly_equal_policies_keep_relative_accuracy(scale):
    """E[W²] ~ (Tχ²)² for tiny mismatch: no term of order 1 cancels in the DP."""
    pair = random_automaton(np.random.default_rng(2), states=3, vocab=3, T=6, prompts=1,
                            mismatch=MismatchModel("dense", sigma=scale))
    dp, en = second_moment_dp(pair), second_moment_by_enumeration(pair)
    assert dp.second_moment > 0
    assert np.isclose(dp.second_moment, en.second_moment, rtol=1e-6, atol=0)
    assert np.isclose(dp.chi2_seq, en.chi2_seq, rtol=1e-9, atol=0)


def test_long_horizon_dp_is_finite_and_matches_the_closed_form():
    """For an i.i.d. pair E[W²] = χ² Σ_t ((1 + χ²)^(t−1) − 1): the DP at T = 4096 against the formula."""
    a, T = 5e-3, 4096
    dp = second_moment_dp(symmetric_pair(a, T))
    chi2 = 4 * a * a
    assert_close(dp.chi2_seq, math.expm1(T * math.log1p(chi2)))
    assert np.isclose(dp.second_moment, chi2 * shift_sum("chi2_max", T, chi2), rtol=1e-10)


def test_time_dependent_large_state_path():
    """The per-step push path (time-dependent operators) agrees with enumeration."""
    pair = random_automaton(np.random.default_rng(5), states=3, vocab=2, T=5, time_dependent=True,
                            mismatch=MismatchModel("heavy", sigma=0.5))
    dp, en = second_moment_dp(pair), second_moment_by_enumeration(pair)
    assert_close(dp.second_moment, en.second_moment)


# ---- the bound formulas ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["chi2_max", "chi2_mixed"])
@pytest.mark.parametrize("T, x, s", [(1, 0.3, 0.1), (3, 0.2, 0.1), (7, 1e-3, 2e-3), (5, 2.0, 1.0)])
def test_evaluation_equals_the_sympy_expression(name, T, x, s):
    """numerics sums the lambdified CHI2_SHIFT; the full expression of proofs.second_moment, summed by
    sympy, gives the same number."""
    expr = formulas.chi2_bound_expr(name).subs({T_sym: T, formulas.chi2_max: x, formulas.chi2_seq: s}).doit()
    values = evaluate_chi2_bounds(Chi2Inputs(T, x, s, None))
    assert_close(values[name], float(sp.N(expr, 30)), name)


@pytest.mark.parametrize("T", [1, 2, 3, 10, 1000, 100_000])
@pytest.mark.parametrize("x", [1e-14, 1e-8, 1e-4, 0.1, 1.0, 3.0])
def test_closed_form_equals_the_sum(T, x):
    summed = evaluate_chi2_bounds(Chi2Inputs(T, x, math.inf))["chi2_max"]
    closed = chi2_max_bound_closed(T, x)
    if math.isinf(summed):
        assert math.isinf(closed) or closed > 1e150
    else:
        assert np.isclose(closed, summed, rtol=1e-9, atol=0), (closed, summed)


def test_ten_million_positions_in_bounded_memory():
    T, x = 10**7, 1e-12
    value = evaluate_chi2_bounds(Chi2Inputs(T, x, math.inf))["chi2_max"]
    assert np.isclose(value, chi2_max_bound_closed(T, x), rtol=1e-9)
    assert np.isclose(value, T * x / (2 * math.sqrt(2)), rtol=1e-4)      # T χ² ≪ 1: linear in T


def test_exact_bound_is_half_root_of_the_second_moment():
    values = evaluate_chi2_bounds(Chi2Inputs(4, 0.1, 0.2, 0.04))
    assert values["chi2_exact"] == pytest.approx(0.1)
    assert values["chi2_family"] == min(values[n] for n in CHI2_BOUND_NAMES)
    assert evaluate_chi2_bounds(Chi2Inputs(4, 0.1, 0.2))["chi2_exact"] is None


@pytest.mark.parametrize("kwargs, message", [
    (dict(T=10, chi2_max=-1), "cannot be negative"),
    (dict(T=10, chi2_max=float("nan")), "finite"),
    (dict(T=10, chi2_max="abc"), "not a number"),
    (dict(T=0, chi2_max=0.1), "integer ≥ 1"),
    (dict(T=10, chi2_max=1e-3, chi2_seq=1.0), "recursion"),
    (dict(T=10, chi2_max=1e-3, chi2_seq=1e-3, second_moment=1.0), "orthogonal-increment"),
])
def test_inconsistent_inputs_are_refused(kwargs, message):
    with pytest.raises(TRMInputError, match=message):
        Chi2Inputs.worst_case(**kwargs)


def test_worst_case_inputs_make_mixed_equal_max():
    values = evaluate_chi2_bounds(Chi2Inputs.worst_case(4096, 2e-4))
    assert values["chi2_mixed"] == pytest.approx(values["chi2_max"], rel=1e-12)
    assert values["chi2_exact"] is None


@given(st.integers(2, 10**6), st.floats(1e-6, 10.0))
def test_chi2_threshold_inverts_the_bound(T, budget):
    x = chi2_threshold(T, budget)
    assert chi2_max_bound_closed(T, x) <= budget * (1 + 1e-12)
    assert chi2_max_bound_closed(T, x * (1 + 1e-8)) > budget * (1 - 1e-12)


def test_chi2_threshold_scales_like_one_over_T():
    x1, x2 = chi2_threshold(4096, 0.01), chi2_threshold(8192, 0.01)
    assert x1 / x2 == pytest.approx(2.0, rel=1e-3)
    assert x1 == pytest.approx(2 * math.sqrt(2) * 0.01 / 4096, rel=1e-2)
    assert chi2_threshold(1, 0.01) == math.inf


def test_guarantee_of_a_chi2_threshold():
    """If every reachable context has χ² ≤ x then |Error| ≤ sup_R|Error| ≤ B_χ²-max(x): on random pairs
    with x = the pair's χ²_max (and above), the worst case stays below the bound at x."""
    rng = np.random.default_rng(7)
    for _ in range(30):
        pair = random_automaton(rng, states=3, vocab=2, T=int(rng.integers(1, 7)), prompts=1,
                                mismatch=MismatchModel("dense", sigma=float(10 ** rng.uniform(-2, 0))))
        q = exact_quantities(pair)
        worst = worst_case_error(pair).value
        for x in (q.chi2_tok_max, 2 * q.chi2_tok_max):
            assert_le(worst, chi2_max_bound_closed(q.T, x), "B_χ²-max at a threshold above χ²_max")
            assert_le(abs(q.error), chi2_max_bound_closed(q.T, x))


def test_from_exact_needs_second_moments():
    pair = AutomatonPair(np.array([1.0]), np.array([[0, 0]]), np.array([[0.5, 0.5]]), np.array([[0.6, 0.4]]),
                         np.array([0.5]), 3)
    with pytest.raises(TRMInputError, match="second_moments=False"):
        Chi2Inputs.from_exact(exact_quantities(pair, second_moments=False))
