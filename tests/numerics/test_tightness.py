"""The tightness survey: every bound holds on every surveyed pair (attainment of the sharp
constant is tested on its explicit example in test_bounds_hold)."""
import numpy as np
import pytest

from numerics.bounds import BOUND_NAMES
from numerics.tightness import tightness_survey
from tests.tolerances import ULPS, EPS


@pytest.fixture(scope="module")
def survey():
    return tightness_survey(200, seed=1)


def test_survey_ratios_stay_at_most_one(survey):
    maxima = survey.maxima()
    for name in BOUND_NAMES:
        for family in ("paper", "sharp"):
            assert maxima[family][name]["max_worst_ratio"] <= 1 + ULPS * EPS, (family, name)
            assert maxima[family][name]["max_error_ratio"] <= maxima[family][name]["max_worst_ratio"] + ULPS * EPS
        # sharp bounds are exactly half the paper's, so every ratio doubles
        assert np.allclose(survey.worst_ratio["sharp"][name], 2 * survey.worst_ratio["paper"][name], equal_nan=True)


def test_survey_chi2_family_holds(survey):
    """The χ² family (THEORY §10) on the same 200 pairs: every ratio ≤ 1."""
    maxima = survey.maxima()
    for name in ("chi2_max", "chi2_mixed", "chi2_exact"):
        assert maxima["chi2"][name]["max_worst_ratio"] <= 1 + ULPS * EPS, name
        assert maxima["chi2"][name]["max_error_ratio"] <= maxima["chi2"][name]["max_worst_ratio"] + ULPS * EPS
