"""The exact binomial worst case of i.i.d. two-token pairs against enumeration (T ≤ 8) and the DP,
and the numbers it prints at LLM lengths (THEORY §10; this suite's result)."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from numerics.enumeration import exact_by_enumeration, worst_case_error
from numerics.errors import TRMInputError
from numerics.generators import random_automaton
from numerics.iid import iid_pair, iid_worst_case, iid_worst_case_of, is_iid_two_token, symmetric_pair
from numerics.second_moment import second_moment_dp
from tests.tolerances import assert_close

probability = st.floats(0.02, 0.98)


@given(probability, probability, st.integers(1, 8))
def test_closed_form_matches_enumeration(p, q, T):
    pair = iid_pair(p, q, T)
    r = iid_worst_case(p, q, T)
    en = exact_by_enumeration(pair)
    scale = 1 + r.second_moment
    assert_close(r.worst_case_error, worst_case_error(pair).value, "sup_R |Error|", scale=scale)
    assert_close(r.half_mean_abs_W, r.worst_case_error, "½E|W| = E[W⁻]", scale=scale)
    assert_close(r.mean_W, 0.0, "E[W]", scale=scale)
    assert_close(r.second_moment, en.second_moment, "E[W²]", scale=scale)
    assert_close(r.chi2_seq, en.chi2_seq, "χ²_seq", scale=scale)
    assert_close(r.tv_seq, en.tv_seq, "D_TV^seq")
    assert_close(r.kl_seq, en.kl_seq, "D_KL^seq")
    assert_close(r.chi2_tok, en.chi2_tok_max, "χ²")


@pytest.mark.parametrize("T", [16, 4096, 65536])
def test_closed_form_second_moment_matches_the_dp(T):
    a = 5e-4
    r = iid_worst_case(0.5, 0.5 + a, T)
    dp = second_moment_dp(symmetric_pair(a, T))
    assert np.isclose(r.second_moment, dp.second_moment, rtol=1e-9)
    assert np.isclose(r.chi2_seq, dp.chi2_seq, rtol=1e-9)


@pytest.mark.parametrize("T, worst", [(16, 3.668e-6), (4096, 9.909e-4), (65536, 1.580e-2)])
def test_worst_case_at_llm_lengths(T, worst):
    """a = 5e-4: sup_R|Error| grows linearly in T; B_χ²-max is within 2× of it (ratio 1.46–1.49),
    the best paper bound is not (sharp B*: 5.5× at T = 16, 88× at 4096, 354× at 65,536)."""
    r = iid_worst_case(0.5, 0.5 + 5e-4, T)
    assert r.worst_case_error == pytest.approx(worst, rel=1e-3)
    sharp, paper = r.bounds("sharp"), r.bounds("paper")
    assert 1.0 <= sharp["chi2_max"] / r.worst_case_error <= 2.0
    assert sharp["chi2_exact"] == pytest.approx(sharp["chi2_max"], rel=1e-9)    # i.i.d.: E[W²] is the worst case
    assert sharp["unified"] / r.worst_case_error > 5.0
    assert paper["unified"] == pytest.approx(2 * sharp["unified"], rel=1e-12)
    assert sharp["unified_with_chi2"] == min(sharp["unified"], sharp["chi2_max"], sharp["chi2_mixed"],
                                             sharp["chi2_exact"])


def test_dense_mismatch_at_the_papers_operating_point():
    """T = 4096, δ = D_KL ≈ 1e-4 on every token: B* (both constant families) is above 1 while the
    χ² family is below 1 and above the exact worst case."""
    a = math.sqrt(1e-4 / 2)
    r = iid_worst_case(0.5, 0.5 + a, 4096)
    assert r.kl_tok == pytest.approx(1e-4, rel=1e-3)
    sharp, paper = r.bounds("sharp"), r.bounds("paper")
    assert sharp["unified"] > 1 and paper["unified"] > 1
    assert r.worst_case_error <= sharp["chi2_max"] < 1
    assert sharp["unified_with_chi2"] == sharp["chi2_max"] and sharp["argmin_with_chi2"] in ("chi2_max", "chi2_mixed",
                                                                                             "chi2_exact")


def test_recognition_and_refusals():
    assert is_iid_two_token(symmetric_pair(0.1, 4))
    two_states = random_automaton(np.random.default_rng(0), states=2, vocab=2, T=3, prompts=1)
    assert not is_iid_two_token(two_states)
    with pytest.raises(TRMInputError, match="one-state"):
        iid_worst_case_of(two_states)
    with pytest.raises(TRMInputError, match="strictly between 0 and 1"):
        iid_worst_case(0.0, 0.5, 4)
    with pytest.raises(TRMInputError, match="integer ≥ 1"):
        iid_worst_case(0.5, 0.6, 0)
    with pytest.raises(TRMInputError, match="must lie in"):
        symmetric_pair(0.5, 4)


def test_extreme_mismatch_does_not_overflow():
    r = iid_worst_case(0.5, 0.999, 65536)
    assert math.isfinite(r.worst_case_error) and r.worst_case_error > 0
    assert r.second_moment == math.inf and r.chi2_seq == math.inf     # (1 + χ²)^T overflows float64
    assert r.bounds("sharp")["chi2_max"] == math.inf
