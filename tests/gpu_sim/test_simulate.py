"""Monte-Carlo estimates against the exact engine (marker statistical), on cpu by default and on
CUDA with --device cuda (marker gpu for the CUDA-only run).

False-failure budget: each comparison is |mean − exact| ≤ z·se with z = 5, two-sided probability
5.7e-7 under a correct estimator; the suite makes fewer than 60 such comparisons, so the chance
that any correct run fails is below 4e-5. Seeds are fixed, so a run is also reproducible."""
import math

import numpy as np
import pytest
import torch

from gpu_sim.finite_state import FiniteStateFamily
from gpu_sim.neural import NeuralFamily
from gpu_sim.simulate import SimulationConfig, simulate
from numerics.exact import exact_quantities
from numerics.generators import MismatchModel, independent_violation_pair, random_automaton
from numerics.pair import AutomatonPair

Z = 5.0


def _pair(T):
    return random_automaton(np.random.default_rng(3), states=6, vocab=4, T=T, prompts=2,
                            mismatch=MismatchModel("dense", sigma=0.15))


@pytest.mark.statistical
@pytest.mark.parametrize("T, samples", [(16, 20000), (1024, 4096), (4096, 2048)])
def test_estimates_agree_with_the_exact_engine(sim_device, T, samples):
    pair = _pair(T)
    q = exact_quantities(pair, tv_seq_budget=0)
    result = simulate(FiniteStateFamily(pair, sim_device), SimulationConfig(T=T, samples=samples, seed=T, chunk=2048),
                      sim_device)
    est = result.estimates
    exact = {"J_roll": q.J_roll, "objective_gap": q.J_theta - q.J_roll, "surrogate": q.surrogate, "error": q.error,
             "kl_seq": q.kl_seq, "kl_seq_k1": q.kl_seq, "kl_seq_k3": q.kl_seq}
    for key, value in exact.items():
        assert est[key].agrees_with(value, Z), (key, est[key], value)
    assert result.kl_tok_max_sampled <= q.kl_tok_max + 1e-15
    assert np.allclose(result.tv_pos_mean.mean(), q.tv_pos_mean.mean(), rtol=0.05)


@pytest.mark.statistical
def test_acceptance_matches_independent_violations(sim_device):
    p, T = 2e-3, 1024
    pair = independent_violation_pair(p, T)
    q = exact_quantities(pair, tv_seq_budget=0)
    assert q.kl_tok_max > 0.05
    n = 8192
    result = simulate(FiniteStateFamily(pair, sim_device),
                      SimulationConfig(T=T, samples=n, seed=5, chunk=4096, criteria=("trm_max:0.05",),
                                       checkpoints=(16, 256, 1024)), sim_device)
    acc = result.acceptance["trm_max:0.05"]
    for T_c, rate in zip(acc["T"], acc["acceptance"]):
        expected = (1 - p) ** T_c
        se = math.sqrt(expected * (1 - expected) / n)
        assert abs(rate - expected) <= Z * se + 1e-12, (T_c, rate, expected)
    assert acc["acceptance"] == result.acceptance["reference"]["acceptance"]
    assert acc["false_mask"] == [0.0] * 3 and acc["missed_violation"] == [0.0] * 3


def test_sampled_maximum_is_labelled_a_lower_estimate(sim_device):
    pair = _pair(32)
    result = simulate(FiniteStateFamily(pair, sim_device), SimulationConfig(T=32, samples=64, seed=1), sim_device)
    payload = result.to_json()
    assert "lower estimate" in payload["kl_tok_max_sampled_is"]
    assert {"error", "objective_gap", "surrogate"} <= set(payload)
    assert set(payload["error"]) == {"mean", "se", "n"}


def test_same_seed_same_result(sim_device):
    pair = _pair(64)
    cfg = SimulationConfig(T=64, samples=300, seed=7, chunk=128, criteria=("seq_mean_k3:0.01",))
    a = simulate(FiniteStateFamily(pair, sim_device), cfg, sim_device).to_json()
    b = simulate(FiniteStateFamily(pair, sim_device), cfg, sim_device).to_json()
    for key in ("error", "surrogate", "kl_seq", "acceptance"):
        assert a[key] == b[key]


def test_neural_without_mismatch_has_zero_divergence(sim_device):
    family = NeuralFamily(64, 16, device=sim_device, seed=0, rollout_dtype=torch.float32)
    result = simulate(family, SimulationConfig(T=24, samples=64, seed=0, criteria=("trm_max:0.0",)), sim_device)
    est = result.estimates
    assert est["kl_seq"].mean == pytest.approx(0.0, abs=1e-6)
    assert est["objective_gap"].mean == 0.0 and est["objective_gap"].se == 0.0
    assert result.kl_tok_max_sampled < 1e-6


def test_neural_bfloat16_rollout_is_a_real_mismatch(sim_device):
    family = NeuralFamily(128, 32, device=sim_device, seed=0, rollout_dtype=torch.bfloat16)
    result = simulate(family, SimulationConfig(T=16, samples=64, seed=0), sim_device)
    assert result.estimates["kl_seq"].mean > 0
    assert result.estimates["kl_seq_k3"].agrees_with(result.estimates["kl_seq"].mean, Z)


@pytest.mark.gpu
def test_estimates_agree_on_cuda():
    device = torch.device("cuda")
    test_estimates_agree_with_the_exact_engine(device, 1024, 4096)
    test_acceptance_matches_independent_violations(device)


@pytest.mark.statistical
def test_coupled_theta_chain_follows_pi_theta(sim_device):
    """A large mismatch at a short horizon, many samples: the θ-chain's rewards must average to the
    exact J(π_θ) (a wrong residual law in the coupling biases this at order D_TV)."""
    roll, theta = np.tile([0.9, 0.1], (3, 1)), np.tile([0.3, 0.7], (3, 1))
    next_state = np.array([[2, 1]] * 3)                         # token 1 → "good" state 1
    pair = AutomatonPair(np.array([1.0, 0, 0]), next_state, roll, theta, np.array([0.0, 1.0, 0.0]), 4)
    q = exact_quantities(pair)
    assert q.J_theta - q.J_roll == pytest.approx(0.6)
    result = simulate(FiniteStateFamily(pair, sim_device), SimulationConfig(T=4, samples=200000, seed=2, chunk=50000),
                      sim_device)
    est = result.estimates
    assert est["objective_gap"].agrees_with(q.J_theta - q.J_roll, Z), (est["objective_gap"], q.J_theta - q.J_roll)
    assert est["error"].agrees_with(q.error, Z)


@pytest.mark.slow
@pytest.mark.statistical
def test_estimates_agree_at_the_longest_horizon(sim_device):
    """T = 32768 (the issue's scale), 1024 sequences: about 20 s on two CPU cores."""
    T = 32768
    pair = random_automaton(np.random.default_rng(3), states=64, vocab=64, T=T, prompts=2,
                            mismatch=MismatchModel("dense", sigma=0.05))
    q = exact_quantities(pair, tv_seq_budget=0)
    result = simulate(FiniteStateFamily(pair, sim_device), SimulationConfig(T=T, samples=1024, seed=1, chunk=1024),
                      sim_device)
    est = result.estimates
    for key, value in (("J_roll", q.J_roll), ("objective_gap", q.J_theta - q.J_roll), ("surrogate", q.surrogate),
                       ("error", q.error), ("kl_seq", q.kl_seq), ("kl_seq_k3", q.kl_seq)):
        assert est[key].agrees_with(value, Z), (key, est[key], value)
