"""Criteria parsing and the decisions of RunningStats on hand-built blocks."""
import math

import pytest
import torch

from gpu_sim.criteria import parse_criterion
from gpu_sim.running import RunningStats
from numerics.errors import TRMInputError


@pytest.mark.parametrize("spec, message", [
    ("trm_maximum:0.1", "unknown name"),
    ("token_k1:0.5", "lower_upper"),
    ("seq_mean_k1:1.2_0.8", "0 < lower < upper"),
    ("seq_max_k2", "needs a threshold"),
    ("trm_max:-1", "non-negative"),
    ("trm_avg:abc", "not a number"),
    ("", "empty"),
])
def test_bad_criteria_are_refused(spec, message):
    with pytest.raises(TRMInputError, match=message):
        parse_criterion(spec)


def test_mixed_token_and_sequence_clauses_are_refused():
    with pytest.raises(TRMInputError, match="mixes token clauses"):
        RunningStats(4, [4], [parse_criterion("token_k2:1,trm_max:0.1")], 0.1, torch.device("cpu"))


def _run(criteria, log_ratio, kl, T=None, checkpoints=None, reference=0.05):
    log_ratio = torch.tensor(log_ratio, dtype=torch.float64)
    kl = torch.tensor(kl, dtype=torch.float64)
    T = T or log_ratio.shape[0]
    rs = RunningStats(T, checkpoints or [T], [parse_criterion(c) for c in criteria], reference, torch.device("cpu"))
    rs.start_chunk(log_ratio.shape[1])
    t = 0
    while t < T:
        end = rs.next_boundary(t)
        rs.update(log_ratio[t:end], kl[t:end], kl[t:end] * 0)
        t = end
    rs.end_chunk()
    return rs.acceptance()


def test_decisions_match_their_definitions():
    # two positions, three sequences
    lr = [[0.0, 0.5, -0.1], [0.0, 0.5, -0.1]]
    kl = [[0.01, 0.2, 0.04], [0.03, 0.0, 0.04]]
    acc = _run(["trm_max:0.05", "trm_avg:0.03", "seq_max_k2:0.1", "seq_sum_k1:0.5_2.0", "seq_mean_k1:0.95_1.05",
                "trm_max:0.05,trm_avg:0.03", "token_k2:0.1"], lr, kl)
    assert acc["trm_max:0.05"]["acceptance"][-1] == pytest.approx(2 / 3)       # seq 2 has KL 0.2
    assert acc["trm_avg:0.03"]["acceptance"][-1] == pytest.approx(1 / 3)       # means 0.02, 0.1, 0.04
    assert acc["seq_max_k2:0.1"]["acceptance"][-1] == pytest.approx(2 / 3)     # k2(0.5) = 0.125
    assert acc["seq_sum_k1:0.5_2.0"]["acceptance"][-1] == pytest.approx(2 / 3)  # e^1.0 = 2.72 outside
    assert acc["seq_mean_k1:0.95_1.05"]["acceptance"][-1] == pytest.approx(1 / 3)  # e^0.5, e^-0.1 outside
    assert acc["trm_max:0.05,trm_avg:0.03"]["acceptance"][-1] == pytest.approx(1 / 3)
    assert acc["token_k2:0.1"]["token_keep_rate"][-1] == pytest.approx(4 / 6)
    # against the reference trm_max:0.05: trm_avg masks sequence 3 although it passes the reference
    assert acc["trm_avg:0.03"]["false_mask"][-1] == pytest.approx(1 / 3)
    assert acc["seq_sum_k1:0.5_2.0"]["missed_violation"][-1] == pytest.approx(0.0)


def test_log_ratio_is_clamped_for_sampled_statistics():
    acc = _run(["seq_max_k2:199"], [[-50.0]], [[0.0]])
    assert acc["seq_max_k2:199"]["acceptance"][-1] == 0.0   # k2 of the clamped −20 is 200
    acc = _run(["seq_max_k2:200"], [[-50.0]], [[0.0]])
    assert acc["seq_max_k2:200"]["acceptance"][-1] == 1.0


def test_checkpoints_decide_prefixes():
    lr = [[0.0]] * 4
    kl = [[0.0], [0.0], [0.5], [0.0]]
    acc = _run(["trm_max:0.1"], lr, kl, checkpoints=[1, 2, 3, 4])
    assert acc["trm_max:0.1"]["acceptance"] == [1.0, 1.0, 0.0, 0.0]


def test_ln_trm_and_ser():
    # |ρ − 1| = e^0.1 − 1 at every position of one sequence
    x = math.expm1(0.1)
    acc = _run(["ser:0.2", "ser:0.1", "ln_trm:0.2@0.01", "ln_trm:0.05@0.01"], [[0.1]] * 8, [[0.0]] * 8)
    assert acc["ser:0.2"]["acceptance"][-1] == 1.0 and acc["ser:0.1"]["acceptance"][-1] == 0.0
    # LN-TRM normalises by Z(T) = Σ w_t, so a constant |ρ − 1| scores exactly x
    assert acc["ln_trm:0.2@0.01"]["acceptance"][-1] == 1.0 and acc["ln_trm:0.05@0.01"]["acceptance"][-1] == 0.0
    assert 0.05 < x < 0.2
