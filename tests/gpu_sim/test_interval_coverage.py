"""Measured coverage of the worst-case interval, the L' lower end and the certificate (numerics.intervals)
on pairs whose truth is known (gpu_sim.coverage: enumeration, the i.i.d. binomial sum, or a long reference
simulation), sampled with the finite-state simulator.

Statistical: out of R replicate dumps, the misses of each end are compared with the binomial quantile
whose upper tail is this check's false-failure budget (z = 5: 2.9e-7 per check; 5 checks per case, so at
most 1.5e-6 per case and 3e-5 for the slow table): the interval misses ≤ q(R, 1 − level), each one-sided
end ≤ q(R, (1 − level)/2), false certificates ≤ q(R, 1 − level). The default run samples two cases with
exact truths (60 replicates of 300 rows, a few seconds); the slow run the table of docs/certification.md at
1,000 rows (200 replicates each)."""
import pytest
from scipy import stats

from gpu_sim.coverage import automaton_case, default_cases, iid_case, measure_coverage
from numerics.generators import MismatchModel

BUDGET = stats.norm.sf(5.0)


def allowed(replicates: int, rate: float) -> int:
    return int(stats.binom.ppf(1 - BUDGET, replicates, rate))


def check(cov):
    R, a = cov.replicates, 1 - cov.level
    assert cov.interval_misses <= allowed(R, a), cov
    assert cov.lower_misses <= allowed(R, a / 2), cov
    assert cov.upper_misses <= allowed(R, a / 2), cov
    assert cov.surrogate_misses <= allowed(R, a / 2), cov
    assert cov.false_certificates <= allowed(R, a), cov


@pytest.mark.statistical
@pytest.mark.parametrize("make", [
    lambda: automaton_case("heavy", 12, states=4, vocab=2, mismatch=MismatchModel("heavy", sigma=0.3, df=3.0)),
    lambda: iid_case(0.02, 256),
], ids=["enumerated heavy T=12", "iid T=256"])
def test_coverage_at_the_nominal_level(sim_device, make):
    case = make()
    cov = measure_coverage(case, rows=300, replicates=60, level=0.9, seed=1, device=sim_device)
    check(cov)
    assert cov.upper_over_truth < 3                       # informative, not merely valid


@pytest.mark.slow
@pytest.mark.statistical
def test_coverage_table(sim_device):
    for case in default_cases(reference_rows=200_000):
        check(measure_coverage(case, rows=1000, replicates=200, level=0.95, seed=2, device=sim_device))
