"""Support violations: found from the exact tables (finite-state) or from sampled distributions
(neural), and what they do to each estimate (gpu_sim.support)."""
import math

import numpy as np
import pytest

from gpu_sim.finite_state import FiniteStateFamily
from gpu_sim.simulate import SimulationConfig, simulate
from gpu_sim.stats import Estimate
from gpu_sim.support import BIASED, INFINITE, VALID, SupportFacts, assess, finite_state_facts, merge_sampled
from numerics.exact import exact_quantities
from numerics.pair import AutomatonPair

Z = 5.0


def _pair(roll, theta, T=16, init=(1.0, 0.0, 0.0), next_state=((0, 1, 2),) * 3):
    return AutomatonPair(np.array(init), np.array(next_state), np.array([roll] * 3, dtype=float),
                         np.array([theta] * 3, dtype=float), np.array([0.1, 0.9, 0.5]), T)


def test_no_violation_gives_no_facts():
    facts = finite_state_facts(_pair([0.5, 0.3, 0.2], [0.4, 0.4, 0.2]))
    assert not facts.theta_off_roll and not facts.roll_off_theta


def test_off_support_mass_is_the_expected_sum_over_positions():
    facts = finite_state_facts(_pair([0.5, 0.5, 0.0], [0.4, 0.4, 0.2], T=16))
    assert facts.theta_off_roll and not facts.roll_off_theta
    assert facts.theta_off_roll_mass == pytest.approx(16 * 0.2)
    assert "position t=1" in facts.where["theta_off_roll_support"]


def test_a_violation_the_roll_chain_never_reaches_is_not_one():
    # π_roll never emits token 2, so state 2 is never reached; π_θ differs in support only there
    roll = np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.5, 0.5, 0.0]])
    theta = np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.0, 0.5, 0.5]])
    pair = AutomatonPair(np.array([1.0, 0, 0]), np.array([[0, 1, 2]] * 3), roll, theta, np.array([0, 1, 0.5]), 8)
    facts = finite_state_facts(pair)
    assert not facts.theta_off_roll and not facts.roll_off_theta


def test_theta_zero_under_roll_is_an_infinite_kl():
    facts = finite_state_facts(_pair([0.4, 0.4, 0.2], [0.5, 0.5, 0.0]))
    assert facts.roll_off_theta and not facts.theta_off_roll


def test_assess_names_what_each_violation_does():
    est = {k: Estimate(0.1, 0.01, 10) for k in ("J_roll", "objective_gap", "surrogate", "error", "kl_seq",
                                               "kl_seq_k1", "kl_seq_k3")}
    status, notes, applies = assess(SupportFacts(theta_off_roll=True, theta_off_roll_mass=0.3), est)
    assert status["kl_seq_k3"] == BIASED and status["surrogate"] == status["error"] == VALID and not applies
    assert "control variate" in notes[0] and "no bound" in notes[0]
    status, notes, applies = assess(SupportFacts(roll_off_theta=True), est)
    assert all(status[k] == INFINITE for k in ("kl_seq", "kl_seq_k1", "kl_seq_k3")) and applies
    est["error"] = Estimate(math.inf, math.inf, 10)
    status, _, _ = assess(SupportFacts(), est)
    assert status["error"] == BIASED, "a non-finite estimate is never reported as valid"


def test_sampled_counts_complete_the_facts():
    facts = merge_sampled(None, {"theta_off_roll_contexts": 3, "roll_off_theta_contexts": 0,
                                 "theta_off_roll_mass_per_sequence": 0.25})
    assert facts.theta_off_roll and facts.theta_off_roll_mass == 0.25 and facts.source == "sampled contexts"
    facts = merge_sampled(None, None, np.array([0.0, -np.inf]))
    assert facts.roll_off_theta


@pytest.mark.statistical
def test_estimates_stay_unbiased_off_support(sim_device):
    """π_θ has mass where π_roll has none: the plain surrogate and the error still agree with the
    exact engine (the control variate would be off by b·Σ_t E[m(c_t)], many standard errors)."""
    pair = _pair([0.5, 0.5, 0.0], [0.4, 0.4, 0.2], T=16)
    q = exact_quantities(pair, tv_seq_budget=0)
    result = simulate(FiniteStateFamily(pair, sim_device), SimulationConfig(T=16, samples=4000, seed=3), sim_device)
    est = result.estimates
    assert est["surrogate"].agrees_with(q.surrogate, Z) and est["error"].agrees_with(q.error, Z)
    assert est["objective_gap"].agrees_with(q.J_theta - q.J_roll, Z)
    assert not result.bounds_apply and result.estimate_status["kl_seq_k3"] == BIASED
    payload = result.to_json()
    assert payload["kl_seq_k3"] == {"mean": None, "se": None, "n": 4000} and payload["notes"]


def test_infinite_kl_is_written_without_nan(sim_device):
    pair = _pair([0.4, 0.4, 0.2], [0.5, 0.5, 0.0], T=8)
    result = simulate(FiniteStateFamily(pair, sim_device), SimulationConfig(T=8, samples=64, seed=1), sim_device)
    payload = result.to_json()
    assert payload["kl_seq"] == {"mean": math.inf, "se": None, "n": 64}
    for key in ("J_roll", "objective_gap", "surrogate", "error"):
        assert math.isfinite(payload[key]["mean"]) and math.isfinite(payload[key]["se"])


def test_the_neural_family_reports_what_it_checked(sim_device):
    import torch

    from gpu_sim.neural import NeuralFamily

    family = NeuralFamily(16, 8, device=sim_device, seed=0, rollout_dtype=torch.float32)
    result = simulate(family, SimulationConfig(T=4, samples=8, seed=0), sim_device)
    seen = family.sampled_support()
    assert seen["contexts"] == 32 and seen["theta_off_roll_contexts"] == seen["roll_off_theta_contexts"] == 0
    assert result.support.source == "sampled contexts" and "no violation seen" in result.notes[0]
