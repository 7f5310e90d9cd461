"""numerics.intervals: each end of each interval covers its truth at least at its nominal rate on
distributions whose mean is known (statistical: the number of misses out of R replicates is compared with
the binomial quantile whose upper tail is the suite's per-check false-failure budget, z = 5, i.e. 2.9e-7),
and bad input gives a TRMInputError or a flagged result, never a NaN."""
import math

import numpy as np
import pytest
from scipy import stats

from numerics.errors import TRMInputError
from numerics.intervals import (CLIP_LEVELS, betting_lower_bound, bounded_mean_interval, bounded_upper_bound,
                                check_level, improvement_certificate, nonnegative_mean_interval,
                                worst_case_error_interval)

BUDGET = stats.norm.sf(5.0)          # per check


def allowed_misses(replicates: int, rate: float) -> int:
    """The largest miss count a correct bound of miss rate ≤ ``rate`` exceeds with probability ≤ BUDGET."""
    return int(stats.binom.ppf(1 - BUDGET, replicates, rate))


#: (name, sampler(rng, n), exact mean): light, heavy (lognormal σ = 2), rare large values, exact zeros.
NONNEGATIVE = [
    ("exponential", lambda g, n: g.exponential(0.01, n), 0.01),
    ("lognormal", lambda g, n: g.lognormal(-5.0, 2.0, n), math.exp(-5.0 + 2.0)),
    ("rare", lambda g, n: 10.0 * (g.random(n) < 1e-3), 1e-2),
    ("mostly zero", lambda g, n: np.where(g.random(n) < 0.9, 0.0, g.exponential(1.0, n)), 0.1),
]


@pytest.mark.statistical
@pytest.mark.parametrize("name, sampler, mean", NONNEGATIVE, ids=[c[0] for c in NONNEGATIVE])
def test_betting_lower_bound_covers(name, sampler, mean):
    g = np.random.default_rng(7)
    R, alpha = 300, 0.05
    misses = sum(betting_lower_bound(sampler(g, 200), alpha) > mean for _ in range(R))
    assert misses <= allowed_misses(R, alpha), (name, misses)


@pytest.mark.statistical
def test_bounded_upper_bound_covers_and_is_informative():
    g = np.random.default_rng(8)
    R, alpha = 300, 0.05
    a, b = 0.5, 20.0                                       # Beta(0.5, 20) on [0, 1]: mean ≈ 0.024, skewed
    mean = a / (a + b)
    uppers = [bounded_upper_bound(g.beta(a, b, 500), 1.0, alpha) for _ in range(R)]
    assert sum(u < mean for u in uppers) <= allowed_misses(R, alpha)
    assert np.median(uppers) < 3 * mean                    # not merely the trivial bound 1


@pytest.mark.statistical
def test_worst_case_interval_covers_a_known_mean():
    """W⁻ exponential (and W⁺ arbitrary: only W⁻ enters): E[W⁻] = 0.02 exactly."""
    g = np.random.default_rng(9)
    R, level = 200, 0.9
    out = [worst_case_error_interval(np.where(g.random(300) < 0.5, -g.exponential(0.04, 300),
                                              g.exponential(5.0, 300)), level) for _ in range(R)]
    assert sum(i.lower > 0.02 for i in out) <= allowed_misses(R, (1 - level) / 2)
    assert sum(i.upper < 0.02 for i in out) <= allowed_misses(R, (1 - level) / 2)
    assert np.median([i.upper for i in out]) < 0.04        # informative


def test_each_clip_level_bounds_the_mean_by_its_decomposition():
    """E[W⁻] ≤ E[min(W⁻, c)] + E[(W⁻)²]/(4c) for every c (population identity checked on an empirical law)."""
    w = np.random.default_rng(3).lognormal(-3, 1.5, 10_000)
    for c in CLIP_LEVELS:
        assert w.mean() <= np.minimum(w, c).mean() + (w * w).mean() / (4 * c) + 1e-15


@pytest.mark.parametrize("level", [0.0, 1.0, -0.5, 1.5, float("nan"), "high", None])
def test_levels_outside_the_open_unit_interval_are_refused(level):
    with pytest.raises(TRMInputError, match="level"):
        check_level(level)
    with pytest.raises(TRMInputError, match="level"):
        worst_case_error_interval(np.zeros(5), level)


def test_too_few_rows_are_refused_and_few_rows_flagged():
    with pytest.raises(TRMInputError, match="at least 2"):
        worst_case_error_interval(np.zeros(1))
    flagged = worst_case_error_interval(-np.full(5, 0.1))
    assert flagged.flags and "unreliable" in flagged.flags[0]
    assert 0 <= flagged.lower <= 0.1 <= flagged.upper


def test_non_finite_rows_are_flagged_never_nan():
    w = np.array([-0.1, np.nan, -np.inf, 0.2, -0.05])
    interval = worst_case_error_interval(w)
    values = [interval.estimate, interval.lower, interval.upper]
    assert not any(math.isnan(v) for v in values)
    assert interval.upper == math.inf and interval.estimate == math.inf and interval.lower >= 0
    assert "not finite" in " ".join(interval.flags)
    zero = worst_case_error_interval(np.zeros(10))            # no mismatch: the interval is [0, tiny]
    assert zero.estimate == 0.0 and zero.lower == 0.0 and 0.0 <= zero.upper < 1e-3


def test_certificate_is_the_union_of_its_two_ends():
    g = np.random.default_rng(0)
    n = 2000
    reward = g.random(n)
    s = (reward - 0.5) * 0.4 + 0.05 * g.standard_normal(n)      # a step that moves mass toward high rewards
    w = -0.001 * g.exponential(1.0, n)
    cert = improvement_certificate(reward, s, w, 0.9)
    assert cert["improvement_lower"] == pytest.approx(cert["surrogate_lower"] - cert["worst_case_upper"])
    assert cert["holds"] == (cert["improvement_lower"] > 0) and cert["holds"]
    assert cert["level"] == 0.9 and "union bound" in cert["method"]
    with pytest.raises(TRMInputError, match=r"\[0, 1\]"):
        improvement_certificate(reward * 2, s, w)


def test_mean_intervals():
    g = np.random.default_rng(1)
    x = g.exponential(1.0, 400)
    i = nonnegative_mean_interval(x, 0.95)
    assert i.lower <= x.mean() <= i.upper and "ASSUMPTION" in i.method
    b = bounded_mean_interval(g.random(400) * 0.1, 1.0, 0.95)
    assert 0 <= b.lower <= b.estimate <= b.upper <= 1 and "distribution-free" in b.method
