"""Criteria at their boundaries and the sampled-token estimators' formulas (each kills mutants listed in
tests/mutations/catalog.py): TRM-Max and TRM-Avg accept KL = δ exactly; k1 is −log r on the ratio as
written, k2 = ½(log r)², k3 = r − 1 − log r (not its inverse)."""
import math

import pytest
import torch

from gpu_sim.criteria import parse_criterion
from gpu_sim.running import RunningStats


def _run(criteria, log_ratio, kl, reference=0.05):
    log_ratio = torch.tensor(log_ratio, dtype=torch.float64)
    kl = torch.tensor(kl, dtype=torch.float64)
    T = log_ratio.shape[0]
    rs = RunningStats(T, [T], [parse_criterion(c) for c in criteria], reference, torch.device("cpu"))
    rs.start_chunk(log_ratio.shape[1])
    rs.update(log_ratio, kl, kl * 0)
    rs.end_chunk()
    return rs.acceptance()


def test_trm_max_accepts_kl_equal_to_delta():
    """M(x, y) = 1[max_t D_KL(c_t) ≤ δ]: the boundary KL = δ is accepted, anything above is not."""
    delta = 0.05
    above = math.nextafter(delta, 1.0)
    acc = _run([f"trm_max:{delta!r}"], [[0.0, 0.0], [0.0, 0.0]], [[delta, above], [0.0, 0.0]])
    assert acc[f"trm_max:{delta!r}"]["acceptance"][-1] == pytest.approx(0.5)


def test_reference_accepts_kl_equal_to_delta():
    delta = 0.05
    acc = _run(["trm_max:1.0"], [[0.0, 0.0]], [[delta, math.nextafter(delta, 1.0)]], reference=delta)
    assert acc["reference"]["acceptance"][-1] == pytest.approx(0.5)
    assert acc["trm_max:1.0"]["false_mask"][-1] == 0.0 and acc["trm_max:1.0"]["missed_violation"][-1] == 0.5


def test_trm_avg_accepts_mean_kl_equal_to_delta():
    acc = _run(["trm_avg:0.25"], [[0.0, 0.0], [0.0, 0.0]], [[0.25, 0.5], [0.25, 0.25]])
    assert acc["trm_avg:0.25"]["acceptance"][-1] == pytest.approx(0.5)


def test_k3_is_the_unbiased_roll_estimator():
    """k3 = r − 1 − log r at log r = ½ is e^½ − 1.5 ≈ 0.14872; the inverted k3 (1/r) would give 0.10653."""
    k3 = math.expm1(0.5) - 0.5
    acc = _run(["seq_max_k3:0.1487", "seq_max_k3:0.1488", "seq_mean_k3:0.0744", "seq_mean_k3:0.0743"],
               [[0.5], [0.0]], [[0.0], [0.0]])
    assert 0.1487 < k3 < 0.1488
    assert acc["seq_max_k3:0.1487"]["acceptance"][-1] == 0.0 and acc["seq_max_k3:0.1488"]["acceptance"][-1] == 1.0
    assert acc["seq_mean_k3:0.0744"]["acceptance"][-1] == 1.0 and acc["seq_mean_k3:0.0743"]["acceptance"][-1] == 0.0


def test_k2_is_half_the_squared_log_ratio():
    acc = _run(["seq_max_k2:0.124", "seq_max_k2:0.126", "seq_sum_k2:0.249", "seq_sum_k2:0.251"],
               [[0.5], [-0.5]], [[0.0], [0.0]])
    assert acc["seq_max_k2:0.124"]["acceptance"][-1] == 0.0 and acc["seq_max_k2:0.126"]["acceptance"][-1] == 1.0
    assert acc["seq_sum_k2:0.249"]["acceptance"][-1] == 0.0 and acc["seq_sum_k2:0.251"]["acceptance"][-1] == 1.0


def test_k1_band_is_on_the_ratio_as_written():
    """Σ log r = 0.3, r = 1.35: inside [1.3, 1.4], outside [0.6, 1.2]; a mirrored band (the −log r slip)
    would see 0.74 instead."""
    acc = _run(["seq_sum_k1:1.3_1.4", "seq_sum_k1:0.6_1.2", "seq_mean_k1:1.1_1.2", "token_k1:1.3_1.4"],
               [[0.1], [0.2]], [[0.0], [0.0]])
    assert acc["seq_sum_k1:1.3_1.4"]["acceptance"][-1] == 1.0
    assert acc["seq_sum_k1:0.6_1.2"]["acceptance"][-1] == 0.0
    assert acc["seq_mean_k1:1.1_1.2"]["acceptance"][-1] == 1.0           # e^0.15 = 1.16
    assert acc["token_k1:1.3_1.4"]["token_keep_rate"][-1] == 0.0        # e^0.1, e^0.2 are both below 1.3
