"""The lower-bound constructions (numerics.lower_bounds): every member of the family has the statistics and the
sup_R|Error| it claims (against the independent engines on small T), each search fixes its statistic exactly,
the kernel-proved closed forms agree with enumeration, and no valid bound falls below a construction's worst case
(ratio ≥ 1: a lower bound above a bound would be a bug in one of them)."""
import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from numerics.enumeration import exact_by_enumeration, worst_case_error
from numerics.errors import TRMInputError
from numerics.lower_bound_search import measure
from numerics.lower_bounds import (STATISTICS, BranchPair, best_construction, best_iid_kl, check_statistic, kl_resolution,
                                   proved_small_pair, rare_limit_lower_bound, single_rare_error, theta_for_chi2,
                                   theta_for_kl, two_token_kl)
from numerics.divergence import token_chi2, token_kl
from proofs import lower_bounds as proved
from tests.tolerances import assert_close, assert_le

probability = st.floats(0.01, 0.95)


@st.composite
def branch_pairs(draw, max_T=6):
    p = draw(probability)
    q = draw(probability)
    T = draw(st.integers(1, max_T))
    m = draw(st.integers(1, T))
    w = draw(st.sampled_from([1.0, 0.5, 0.03]) | st.floats(0.01, 1.0))
    return BranchPair(p, q, T, m, w)


@given(branch_pairs())
def test_branch_pair_statistics_match_the_engines(pair):
    claimed = pair.statistics()
    measured = measure(pair.automaton())
    for name in ("worst_case_error", "kl_tok_max", "tv_tok_max", "chi2_tok_max", "kl_seq", "tv_seq", "chi2_pos_sum"):
        a, b = getattr(claimed, name), getattr(measured, name)
        assert_close(a, b, name, scale=max(1.0, abs(b)))


@given(st.floats(1e-9, 1 - 1e-9), st.floats(1e-9, 1 - 1e-9))
def test_scalar_kl_is_the_engines_kl(p, q):
    assert math.isclose(two_token_kl(p, q), float(token_kl(np.array([p, 1 - p]), np.array([q, 1 - q]))),
                        rel_tol=1e-12, abs_tol=1e-300)


@given(st.floats(1e-6, 0.999), st.sampled_from([1e-8, 1e-4, 0.01, 0.5, 3.0, 20.0]))
def test_theta_for_kl_hits_the_kl(p, delta):
    q = theta_for_kl(p, delta)
    if q is None:                       # 1 − q would be below float64's resolution
        assert delta > 30 * (1 - p)
        return
    assert p < q < 1
    kl = two_token_kl(p, q)
    assert kl <= delta and delta - kl <= kl_resolution(p, q, delta)


@given(st.floats(1e-6, 0.9), st.sampled_from([1e-8, 2e-4, 0.05, 1.0]))
def test_theta_for_chi2_hits_the_chi2(p, chi2):
    q = theta_for_chi2(p, chi2)
    if q is None:
        assert p + math.sqrt(chi2 * p * (1 - p)) >= 1
        return
    assert math.isclose(float(token_chi2(np.array([p, 1 - p]), np.array([q, 1 - q]))), chi2, rel_tol=1e-9)


CASES = [("kl", 1e-4, None), ("kl", 0.3, None), ("chi2", 2e-4, None), ("chi2", 0.5, None), ("kl_seq", 1e-4, 2.5e-4),
         ("additive", 6e-4, None), ("additive", 2.0, None)]


@pytest.mark.parametrize("statistic, value, kl_seq", CASES)
@pytest.mark.parametrize("T", [2, 3, 6])
def test_construction_attains_its_statistic_and_worst_case(statistic, value, kl_seq, T):
    lb = best_construction(statistic, value, T, kl_seq)
    m = measure(lb.pair.automaton())
    assert_close(lb.stats.worst_case_error, worst_case_error(lb.pair.automaton()).value, "sup_R|Error|")
    assert_close(lb.stats.worst_case_error, m.worst_case_error, "sup_R|Error|")
    if statistic in ("kl", "kl_seq"):
        assert value - m.kl_tok_max <= kl_resolution(lb.pair.p_roll, lb.pair.p_theta, value)
        assert m.kl_tok_max <= value * (1 + 1e-12)
    if statistic == "kl_seq":
        assert_le(m.kl_seq, kl_seq, "D_KL^seq ≤ D")
    if statistic == "chi2":
        assert math.isclose(m.chi2_tok_max, value, rel_tol=1e-9)
    if statistic == "additive":
        assert math.isclose(m.chi2_pos_sum, value, rel_tol=1e-9)
        witness = lb.witness["additive"]
        w = measure(witness.pair.automaton())
        assert math.isclose(w.chi2_pos_sum, value, rel_tol=1e-9)
        assert_close(witness.stats.worst_case_error, w.worst_case_error, "the witness's sup_R|Error|")
        assert_close(lb.bounds["additive"], w.tv_seq + 0.5 * math.sqrt(value), "additive bound at the witness's D_TV^seq")
        assert_close(lb.ratios["additive"], lb.bounds["additive"] / w.worst_case_error, "ratio at the witness")
        assert lb.stats.worst_case_error >= w.worst_case_error * (1 - 1e-12)     # the worst given Q reaches further
    assert lb.stats.worst_case_error > 0


@pytest.mark.parametrize("statistic, value, kl_seq", CASES)
@pytest.mark.parametrize("T", [2, 5, 64, 1024])
def test_no_bound_below_a_construction(statistic, value, kl_seq, T):
    """Ratio ≥ 1 for every bound: a construction's exact sup_R|Error| above a bound of its statistic would mean a
    wrong bound or a wrong construction."""
    lb = best_construction(statistic, value, T, kl_seq)
    for key, ratio in lb.ratios.items():
        assert ratio >= 1.0 - 1e-9, (key, ratio, lb.bounds[key], lb.stats.worst_case_error)


def test_sharp_b_star_is_attained_at_T_2():
    """At T = 2 the best construction meets sharp B* to within the Pinsker slack: the only tight case."""
    lb = best_construction("kl", 1e-4, 2)
    assert 1.0 <= lb.ratios["sharp/unified"] <= 1.0 + 1e-3


@pytest.mark.parametrize("T", [16, 256, 4096])
def test_the_kl_search_beats_the_symmetric_pair_and_the_proved_forms(T):
    lb = best_construction("kl", 1e-4, T)
    assert lb.stats.worst_case_error >= lb.reference["symmetric_iid"] * (1 - 1e-12)
    assert lb.stats.worst_case_error >= lb.reference["proved_rare_limit"] * (1 - 1e-9)
    assert lb.stats.worst_case_error >= lb.reference["proved_rare_closed_form"] * (1 - 1e-9)


@given(st.floats(0.01, 0.9), st.floats(0.05, 0.95), st.integers(1, 8))
def test_single_rare_closed_form_matches_enumeration(p, frac, T):
    q = p + (1 - p) * frac
    pair = BranchPair(p, q, T, T).automaton()
    seq = np.arange(2**T)
    reward = (sum(((seq >> k) & 1) == 0 for k in range(T)) == 1).astype(float)[None, :]
    error = exact_by_enumeration(pair, reward=reward).error
    closed = single_rare_error(p, q, T)
    assert_close(closed, error, "Error(R₁)", scale=1.0)
    assert_le(abs(closed), worst_case_error(pair).value, "|Error(R₁)| ≤ sup_R|Error|")


@pytest.mark.parametrize("delta", [1e-4, 0.01, 0.5])
@pytest.mark.parametrize("T", [2, 64, 4096])
def test_rare_limit_is_approached_by_valid_pairs(delta, T):
    """The proved limit is a supremum over valid pairs: pairs with p → 0 at q = 1 − e^(−δ) have max KL ≤ δ and
    their exact sup_R|Error| tends to it."""
    q = -math.expm1(-delta)
    limit = rare_limit_lower_bound(delta, T)
    previous = None
    for p in (1e-7 * q, 1e-9 * q, 1e-11 * q):
        assert two_token_kl(p, q) <= delta * (1 + 1e-12)
        worst = BranchPair(p, q, T, T).statistics().worst_case_error
        gap = abs(worst - limit)
        assert previous is None or gap <= previous + 1e-15
        previous = gap
    assert previous <= 1e-6 * max(limit, 1e-12) + 1e-13


def test_small_regime_constant():
    """|Error(R₁)| / (Tδ) at p = (2 − √2)/T, small δ, long T → 2(√2 − 1)e^(√2 − 2) ≈ 0.4612 (proofs.lower_bounds),
    and c = 2 − √2 maximises c(2 − c)e^(−c) (its derivative vanishes there and the grid agrees)."""
    constant = float(proved.SMALL_CONSTANT)
    assert math.isclose(constant, 0.46117, rel_tol=1e-4)
    T, delta = 2**16, 1e-10
    p, q = proved_small_pair(delta, T)
    assert math.isclose(abs(single_rare_error(p, q, T)) / (T * delta), constant, rel_tol=2e-3)
    c = proved.c
    g = c * (2 - c) * sp.exp(-c)
    assert sp.expand(sp.diff(g, c).subs(c, proved.SMALL_ARGMAX)) == 0
    grid = np.linspace(0.01, 2.0, 2000)
    assert abs(grid[np.argmax(grid * (2 - grid) * np.exp(-grid))] - (2 - math.sqrt(2))) < 2e-3


def test_kl_worst_case_grows_at_least_linearly():
    """sup_R|Error|/(Tδ) of the best construction stays above the small-regime constant from T = 16 on and tends
    to 1 at large Tδ (the one-rare-token limit); B* sharp grows like √T faster until T ≈ 1/δ."""
    delta = 1e-4
    per = [best_construction("kl", delta, T).stats.worst_case_error / (T * delta) for T in (16, 256, 4096)]
    assert all(v >= float(proved.SMALL_CONSTANT) for v in per)
    assert per[0] <= per[1] <= per[2]


@pytest.mark.parametrize("statistic, kl_seq", [("kl", None), ("kl_seq", 0.01)])
@pytest.mark.parametrize("T", [2, 64, 4096])
def test_constructions_stay_below_the_proved_ceiling(statistic, kl_seq, T):
    """The kernel-proved ceiling min(1, sqrt(D/2)) + sqrt(D) + 4D holds for every construction (a cross-check of both),
    and at T = 4096 it already lies below B* (sharp): there B* is loose by more than any pair forces."""
    lb = best_construction(statistic, 1e-4, T, kl_seq)
    ceiling = lb.bounds["kl_ceiling"]
    assert lb.stats.worst_case_error <= ceiling
    D = lb.stats.kl_seq
    assert lb.stats.worst_case_error <= min(1, math.sqrt(D / 2)) + math.sqrt(D) + 4 * D
    if T == 4096:
        assert lb.bounds["sharp/unified"] / ceiling > 6


def test_kl_seq_uses_a_branch_when_the_cap_binds():
    lb = best_construction("kl_seq", 1e-4, 4096, 0.01)
    assert lb.pair.weight < 1.0
    assert_le(lb.stats.kl_seq, 0.01, "D_KL^seq ≤ D")
    assert lb.stats.worst_case_error <= 0.01


@pytest.mark.parametrize("args, message", [
    (("kll", 1e-4, None), "statistic"), (("kl", -1.0, None), "negative"), (("kl", 0.0, None), "positive"),
    (("kl", float("nan"), None), "finite"), (("kl_seq", 1e-4, None), "kl_seq"), (("kl", 1e-4, 0.1), "only"),
    (("kl", 100.0, None), "not searched"), (("kl_seq", 1e-4, 0.0), "at least"), (("chi2", 1e-300, None), "resolution")])
def test_bad_statistics_are_refused(args, message):
    with pytest.raises(TRMInputError, match=message):
        check_statistic(*args)


def test_branch_pair_refuses_bad_parameters():
    for kwargs in ({"m": 0}, {"m": 5}, {"weight": 0.0}, {"weight": 1.5}, {"p_roll": 1.0}):
        base = {"p_roll": 0.3, "p_theta": 0.4, "T": 4, "m": 4, "weight": 1.0} | kwargs
        with pytest.raises(TRMInputError):
            BranchPair(**base)


def test_every_statistic_has_a_construction():
    for statistic, value, kl_seq in [("kl", 1e-3, None), ("kl_seq", 1e-3, 1e-3), ("chi2", 1e-3, None),
                                     ("additive", 1e-2, None)]:
        assert statistic in STATISTICS
        assert best_construction(statistic, value, 8, kl_seq).stats.worst_case_error > 0


def test_search_over_p_finds_the_grid_optimum():
    """The refined search is at least as good as any point of a finer grid (it does not stop at a poor local point)."""
    delta, T = 1e-3, 64
    p_best, q_best, best = best_iid_kl(delta, T)
    grid = np.exp(np.linspace(math.log(1e-5), math.log(0.99), 150))
    finer = max(BranchPair(p, theta_for_kl(p, delta), T, T).statistics().worst_case_error for p in grid)
    assert best >= finer * (1 - 1e-3)
