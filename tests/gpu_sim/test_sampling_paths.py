"""The two executions of the finite-state step (fused compiled loop, torch ops) draw identical samples
from the same tables and uniforms; the neural family's inverse-CDF sampler draws from the right law."""
import math

import numpy as np
import pytest
import torch

from gpu_sim import finite_state
from gpu_sim.bench import numpy_loop
from gpu_sim.criteria import parse_criterion
from tests.gpu_sim.step_paths import CRITERIA, compare, pairs
from gpu_sim.finite_state import FiniteStateFamily, fused_available
from gpu_sim.neural import inverse_cdf_sample
from gpu_sim.running import RunningStats
from numerics.errors import TRMInputError
from numerics.generators import random_automaton

#: the numba loop and the torch ops draw identical samples from the same float64 tables: run at every CPU dispatch level by .ci/run (tests/dispatch.py)
pytestmark = pytest.mark.float_sensitive

needs_numba = pytest.mark.skipif(not fused_available(), reason="numba is not installed (the 'fast' extra)")
CPU = torch.device("cpu")


def _run(family, batch, T, block, seed=3, checkpoints=None, criteria=()):
    running = RunningStats(T, checkpoints or [T], [parse_criterion(c) for c in criteria], 0.05, CPU)
    R = family.run_chunk(batch, T, running, torch.Generator().manual_seed(seed), block=block)
    return R, running


@needs_numba
@pytest.mark.parametrize("mode", sorted(CRITERIA))
def test_fused_and_torch_paths_draw_identical_samples(mode):
    """Alias and inverse-CDF draws, with criteria that let the compiled step reduce its blocks and with
    criteria that need the token-level blocks (tests/gpu_sim/step_paths.py)."""
    assert compare(CPU, ("fused", "torch"), mode) == 6


@needs_numba
def test_block_partition_does_not_change_the_samples():
    pair = next(pairs())
    (R1, Q1), a = _run(FiniteStateFamily(pair, CPU), 256, pair.T, block=5)
    (R2, Q2), b = _run(FiniteStateFamily(pair, CPU, kernel="torch"), 256, pair.T, block=64)
    assert torch.equal(R1, R2) and torch.equal(Q1, Q2)
    assert torch.allclose(a.s["sum_kl"], b.s["sum_kl"], rtol=1e-14, atol=0)


def test_numpy_loop_baseline_samples_the_same_law():
    """The benchmark's numpy loop against the suite: the mean per-position D_KL (a function of the
    roll-chain's law only) agrees within 5 standard errors."""
    pair = random_automaton(np.random.default_rng(2), states=5, vocab=4, T=30, prompts=2)
    family = FiniteStateFamily(pair, CPU)
    batch = 4000
    loop = numpy_loop(family, batch, pair.T, seed=1)
    _, running = _run(family, batch, pair.T, block=30)
    a, b = loop["sum_kl"], running.s["sum_kl"].numpy()
    se = math.sqrt(a.var() / batch + b.var() / batch)
    assert abs(a.mean() - b.mean()) <= 5 * se


def test_kernel_choice_is_checked():
    pair = next(pairs())
    with pytest.raises(TRMInputError, match="kernel = 'gpu'"):
        FiniteStateFamily(pair, CPU, kernel="gpu")
    if not fused_available():
        with pytest.raises(TRMInputError, match="numba"):
            FiniteStateFamily(pair, CPU, kernel="fused")
    assert FiniteStateFamily(pair, CPU, kernel="torch").kernel == "torch"


@pytest.mark.statistical
def test_inverse_cdf_sampler_follows_the_law():
    """Chi-square goodness of fit on 200,000 draws from an unnormalised row with zeros and a tiny mass;
    zero-probability tokens are never drawn."""
    probs = torch.tensor([0.0, 3.0, 1e-3, 0.0, 1.0, 6.0, 0.0])
    n = 200_000
    g = torch.Generator().manual_seed(0)
    u = torch.rand(n, generator=g, dtype=torch.float64)
    tokens = inverse_cdf_sample(probs.expand(n, -1), u)
    counts = torch.bincount(tokens, minlength=probs.numel()).double()
    assert counts[probs == 0].sum() == 0
    expected = n * probs.double() / probs.sum()
    support = probs > 0
    chi2 = float((((counts - expected) ** 2)[support] / expected[support]).sum())
    assert chi2 < 36.0                      # P(χ²₄ > 36) = e^−18·19 ≈ 3e-7, within the suite's z = 5 budget
    assert inverse_cdf_sample(torch.tensor([[0.0, 0.0, 2.0]]), torch.tensor([0.999999])).item() == 2


def test_step_tables_hold_the_sampled_estimators():
    """The compiled step reads ℓ, ρ − 1, the clamped ℓ, k2 and k3 from the token table: each column against
    its formula written out here, with ℓ = −inf (π_θ = 0) clamped to −20."""
    pair = list(pairs())[2]
    tables = finite_state.StepTables(pair)
    roll, theta = pair.roll.reshape(-1), pair.theta.reshape(-1)
    sampled = roll > 0
    with np.errstate(divide="ignore"):
        ell = np.log(theta[sampled]) - np.log(roll[sampled])
    clamped = np.clip(ell, -20.0, 20.0)
    token = tables.token[sampled]
    np.testing.assert_array_equal(token[:, 1], ell)
    np.testing.assert_allclose(token[:, 2], theta[sampled] / roll[sampled] - 1, rtol=1e-15, atol=1e-15)
    np.testing.assert_array_equal(token[:, 3], clamped)
    np.testing.assert_allclose(token[:, 4], 0.5 * clamped**2, rtol=1e-15)
    np.testing.assert_allclose(token[:, 5], np.expm1(clamped) - clamped, rtol=1e-14)
    assert np.isneginf(ell).any() and np.isclose(token[np.isneginf(ell), 5], math.expm1(-20.0) + 20.0).all()
