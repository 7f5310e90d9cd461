"""The worst-case estimator E[W⁻] (THEORY §10; this suite's) and the trm_chi2 criterion.

W is accumulated through the martingale transform W += (M_{t−1} − 1)·u_t block by block; its mean
W⁻ estimates sup_R |Error|. Checked against enumeration (T ≤ 8), the exact binomial value of the
i.i.d. pair (T up to 4096 here, 65,536 under --run-slow) with the SAME number of samples at every T,
and the DP's E[W²]. False-failure budget as in test_simulate.py: z = 5 per comparison."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gpu_sim.criteria import parse_criterion
from gpu_sim.divergence import chi2_from_log_probs
from gpu_sim.finite_state import FiniteStateFamily
from gpu_sim.neural import NeuralFamily
from gpu_sim.running import RunningStats
from gpu_sim.simulate import SimulationConfig, simulate
from numerics.divergence import token_chi2
from numerics.enumeration import worst_case_error
from numerics.errors import TRMInputError
from numerics.exact import exact_quantities
from numerics.generators import MismatchModel, independent_violation_pair, random_automaton, softmax
from numerics.iid import iid_worst_case, symmetric_pair
from numerics.second_moment import second_moment_dp
from tests.tolerances import assert_close

Z = 5.0


def _feed(log_ratio: np.ndarray, checkpoints, chi2=None, criteria=()):
    """Feed [T, B] log-ratios block by block (blocks end at the checkpoints); return the stats."""
    lr = torch.tensor(log_ratio, dtype=torch.float64)
    T, B = lr.shape
    rs = RunningStats(T, checkpoints, [parse_criterion(c) for c in criteria], 0.05, torch.device("cpu"))
    rs.start_chunk(B)
    zeros = torch.zeros_like(lr)
    t = 0
    while t < T:
        end = min(rs.next_boundary(t), t + 3)
        rs.update(lr[t:end], zeros[t:end], zeros[t:end],
                  chi2=None if chi2 is None else torch.tensor(chi2[t:end], dtype=torch.float64))
        t = end
    rs.end_chunk()
    return rs


@given(arrays(np.float64, st.tuples(st.integers(1, 12), st.integers(1, 4)), elements=st.floats(-2.0, 2.0)),
       st.lists(st.integers(1, 12), max_size=3))
def test_martingale_accumulation_equals_the_telescoped_bracket(log_ratio, checkpoints):
    """W accumulated block by block equals Π ρ − 1 − Σ(ρ − 1) in its telescoped form
    Σ_t u_t (Π_{j>t} ρ_j − 1), computed independently for every sequence."""
    rs = _feed(log_ratio, checkpoints)
    u = np.expm1(log_ratio)
    suffix = np.zeros_like(log_ratio)
    for t in range(log_ratio.shape[0] - 2, -1, -1):
        suffix[t] = suffix[t + 1] + log_ratio[t + 1]
    telescoped = (u * np.expm1(suffix)).sum(axis=0)
    W = rs.s["W"].numpy()
    assert_close(W, telescoped, "W", scale=np.abs(u).sum() * np.exp(np.abs(log_ratio).sum()))
    assert_close(rs.s["sum_lr_raw"].numpy(), log_ratio.sum(axis=0), "log M")


def test_zero_theta_probability_is_handled():
    """ℓ = −inf (π_θ = 0 at the sampled token): ρ = 0, M stays 0, no NaN."""
    rs = _feed(np.array([[0.1], [-np.inf], [0.2], [0.0]]), [4])
    u = np.expm1([0.1, -np.inf, 0.2, 0.0])
    expected = 0.0 - 1.0 - u.sum()           # M_T = 0
    assert_close(float(rs.s["W"][0]), expected)


@pytest.mark.statistical
@pytest.mark.parametrize("seed, T", [(0, 4), (1, 6), (2, 8)])
def test_estimate_agrees_with_enumeration(sim_device, seed, T):
    pair = random_automaton(np.random.default_rng(seed), states=3, vocab=3, T=T, prompts=2,
                            mismatch=MismatchModel("dense", sigma=0.3))
    exact = worst_case_error(pair).value
    result = simulate(FiniteStateFamily(pair, sim_device), SimulationConfig(T=T, samples=20000, seed=seed, chunk=4096),
                      sim_device)
    est = result.estimates["worst_case_error"]
    assert est.agrees_with(exact, Z), (est, exact)
    assert result.estimates["half_mean_abs_W"].agrees_with(exact, Z)


SAMPLES = 1024          # the same at every T: the estimator's variance grows linearly in T, not exponentially


@pytest.mark.statistical
@pytest.mark.parametrize("a", [5e-4, 0.02])
@pytest.mark.parametrize("T", [16, 256, 4096])
def test_estimate_agrees_with_the_binomial_closed_form(sim_device, a, T):
    """a = 0.02 at T = 4096 has χ²_seq = e^6.5 − 1 ≈ 670: ½·mean|W| would need ~χ²_seq samples; E[W⁻]
    does not."""
    exact = iid_worst_case(0.5, 0.5 + a, T)
    result = simulate(FiniteStateFamily(symmetric_pair(a, T), sim_device),
                      SimulationConfig(T=T, samples=SAMPLES, seed=T, chunk=SAMPLES), sim_device)
    est = result.estimates["worst_case_error"]
    assert est.agrees_with(exact.worst_case_error, Z), (est, exact.worst_case_error)
    assert est.se < 0.2 * exact.worst_case_error       # informative, not merely consistent
    # the variance bound of THEORY §10: Var(W⁻) ≤ E[(W⁻)²] ≤ 1 + Σ_t E[χ²(c_t)] = 1 + T χ²
    assert est.se**2 * est.n <= 1 + T * exact.chi2_tok


@pytest.mark.slow
@pytest.mark.statistical
def test_estimate_at_65536_tokens(sim_device):
    """The longest length of the figure: a = 5e-4, T = 65,536, 1,024 sequences (60 s measured on the shared 2-core CPU)."""
    a, T = 5e-4, 65536
    exact = iid_worst_case(0.5, 0.5 + a, T).worst_case_error
    result = simulate(FiniteStateFamily(symmetric_pair(a, T), sim_device),
                      SimulationConfig(T=T, samples=1024, seed=7, chunk=1024, block=1024), sim_device)
    assert result.estimates["worst_case_error"].agrees_with(exact, Z)


@pytest.mark.statistical
def test_second_moment_agrees_with_the_dp(sim_device):
    T = 64
    pair = random_automaton(np.random.default_rng(4), states=6, vocab=4, T=T, prompts=2,
                            mismatch=MismatchModel("dense", sigma=0.05))
    dp = second_moment_dp(pair)
    result = simulate(FiniteStateFamily(pair, sim_device), SimulationConfig(T=T, samples=20000, seed=3, chunk=4096),
                      sim_device)
    assert result.estimates["second_moment"].agrees_with(dp.second_moment, Z)
    assert result.chi2_tok_max_sampled <= dp.chi2_tok_max * (1 + 1e-12)
    assert np.allclose(result.chi2_pos_mean.mean(), dp.chi2_pos_mean.mean(), rtol=0.05)


def test_trm_chi2_decisions():
    chi2 = np.array([[0.01, 0.2, 0.04], [0.03, 0.0, 0.06]])
    rs = _feed(np.zeros((2, 3)), [2], chi2=chi2, criteria=("trm_chi2:0.05", "trm_chi2:0.1,trm_max:1"))
    acc = rs.acceptance()
    assert acc["trm_chi2:0.05"]["acceptance"][-1] == pytest.approx(1 / 3)    # maxima 0.03, 0.2, 0.06
    assert acc["trm_chi2:0.1,trm_max:1"]["acceptance"][-1] == pytest.approx(2 / 3)


def test_trm_chi2_without_chi2_is_refused():
    with pytest.raises(TRMInputError, match="trm_chi2 needs"):
        _feed(np.zeros((2, 1)), [2], criteria=("trm_chi2:0.1",))
    # asked after the fact (as the training masks are): refused, never a silent "accept"
    rs = _feed(np.zeros((2, 1)), [2])
    with pytest.raises(TRMInputError, match="trm_chi2 needs"):
        rs.accepts(parse_criterion("trm_chi2:0.1"))


def test_trm_chi2_masks_the_same_sequences_as_trm_max_on_a_single_bad_state(sim_device):
    """independent_violation_pair: χ² and KL are 0 in state A and positive in B, so trm_chi2:x with
    x < χ²(B) and trm_max:δ with δ < D_KL(B) reject exactly the sequences that visit B."""
    pair = independent_violation_pair(0.01, 64)
    q = exact_quantities(pair)
    result = simulate(FiniteStateFamily(pair, sim_device),
                      SimulationConfig(T=64, samples=2000, seed=1, criteria=(f"trm_chi2:{q.chi2_tok_max / 2}",
                                                                             f"trm_max:{q.kl_tok_max / 2}")),
                      sim_device)
    acc = result.acceptance
    assert acc[f"trm_chi2:{q.chi2_tok_max / 2}"]["acceptance"] == acc[f"trm_max:{q.kl_tok_max / 2}"]["acceptance"]
    everything = simulate(FiniteStateFamily(pair, sim_device),
                          SimulationConfig(T=64, samples=200, seed=1, criteria=(f"trm_chi2:{q.chi2_tok_max}",)),
                          sim_device)
    assert everything.acceptance[f"trm_chi2:{q.chi2_tok_max}"]["acceptance"] == [1.0] * 7


def test_neural_family_reports_chi2_and_the_worst_case(sim_device):
    family = NeuralFamily(16, 8, device=sim_device, seed=0)
    result = simulate(family, SimulationConfig(T=16, samples=64, seed=0, criteria=("trm_chi2:1e9",)), sim_device)
    assert result.chi2_tok_max_sampled > 0 and result.acceptance["trm_chi2:1e9"]["acceptance"][-1] == 1.0
    est = result.estimates["worst_case_error"]
    assert est.n == 64 and est.mean >= 0 and math.isfinite(est.se)
    assert result.bounds_plugin["chi2"]["chi2_family"] >= 0


@given(st.integers(2, 8).flatmap(lambda V: st.tuples(arrays(np.float64, V, elements=st.floats(-30, 30)),
                                                     arrays(np.float64, V, elements=st.floats(-30, 30)))))
def test_torch_chi2_matches_the_float64_reference(pair):
    p, q = softmax(pair[0]), softmax(pair[1])
    value = chi2_from_log_probs(torch.log_softmax(torch.tensor(pair[0]), -1), torch.log_softmax(torch.tensor(pair[1]), -1))
    reference = float(token_chi2(p, q))
    assert np.isclose(float(value), reference, rtol=1e-8, atol=1e-14) or (math.isinf(reference) and math.isinf(value))
