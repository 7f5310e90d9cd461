"""RunningStats with a response mask: padded positions never count, in any statistic or decision.

Checked three ways: an all-ones mask changes nothing against no mask; garbage (NaN, ±1e6) in padded
positions changes nothing; every sequence criterion decides as the independent numpy evaluation of
audit.criteria does on the same masked batch (each sequence with its own length)."""
import math

import numpy as np
import pytest
import torch

from gpu_sim.criteria import parse_criterion
from gpu_sim.running import RunningStats
from audit import criteria as audit_criteria
from numerics.bounds import length_neutral_weights

#: running statistics compared with torch.equal across update paths: run at every CPU dispatch level by .ci/run (tests/dispatch.py)
pytestmark = pytest.mark.float_sensitive

SEQUENCE_CRITERIA = ["trm_max:0.05", "trm_avg:0.02", "ser:0.2", "seq_sum_k1:0.5_2.0", "seq_mean_k1:0.9_1.1",
                     "seq_sum_k2:0.3", "seq_sum_k3:0.3", "seq_mean_k2:0.02", "seq_mean_k3:0.02", "seq_max_k2:0.05",
                     "seq_max_k3:0.05", "trm_max:0.05,seq_mean_k3:0.02"]
TOKEN_CRITERIA = ["token_k1:0.8_1.25", "token_k2:0.02", "token_k3:0.02", "token_k2:0.02,token_k3:0.01"]


def _data(seed, T=24, B=40, pad_value=np.nan):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, T + 1, size=B)
    lengths[:2] = (0, T)
    valid = np.arange(T)[:, None] < lengths[None, :]            # [T, B]
    lr = 0.2 * rng.standard_normal((T, B)) * rng.choice([0.2, 1.0], size=(1, B))
    kl = np.abs(0.03 * rng.standard_normal((T, B)))
    tv = np.abs(0.05 * rng.standard_normal((T, B)))
    pad = lambda x: np.where(valid, x, pad_value)
    return pad(lr), pad(kl), pad(tv), valid, lengths


def _run(criteria, lr, kl, tv, mask, checkpoints=None, block=5):
    T, B = lr.shape
    rs = RunningStats(T, checkpoints or [T], [parse_criterion(c) for c in criteria], 0.05, torch.device("cpu"))
    rs.start_chunk(B)
    t = 0
    while t < T:
        end = min(rs.next_boundary(t), t + block)
        m = None if mask is None else torch.as_tensor(mask[t:end])
        rs.update(*(torch.as_tensor(x[t:end], dtype=torch.float64) for x in (lr, kl, tv)), mask=m)
        t = end
    rs.end_chunk()
    return rs


def test_all_ones_mask_changes_nothing():
    lr, kl, tv, valid, _ = _data(0, pad_value=0.0)
    valid[:] = True
    criteria = SEQUENCE_CRITERIA + TOKEN_CRITERIA + ["ln_trm:0.05"]
    a = _run(criteria, lr, kl, tv, None, checkpoints=[4, 8, 16, 24])
    b = _run(criteria, lr, kl, tv, valid, checkpoints=[4, 8, 16, 24])
    assert a.acceptance() == b.acceptance()
    for key in ("sum_kl", "sum_lr", "sum_k3", "max_k2", "sum_absx"):
        assert torch.equal(a.s[key], b.s[key]), key


@pytest.mark.parametrize("pad_value", [np.nan, 1e6, -1e6, 0.0])
def test_padding_values_never_count(pad_value):
    lr, kl, tv, valid, _ = _data(1, pad_value=pad_value)
    ref_lr, ref_kl, ref_tv, _, _ = _data(1, pad_value=0.0)
    criteria = SEQUENCE_CRITERIA + TOKEN_CRITERIA + ["ln_trm:0.05"]
    a = _run(criteria, lr, kl, tv, valid)
    b = _run(criteria, ref_lr, ref_kl, ref_tv, valid)
    assert a.acceptance() == b.acceptance()
    assert torch.equal(a.pos_kl, b.pos_kl) and torch.equal(a.pos_tv, b.pos_tv)
    assert float(a.max_kl_seen) == float(b.max_kl_seen) and math.isfinite(float(a.max_kl_seen))
    assert torch.equal(a.s["n"], torch.as_tensor(valid.sum(0), dtype=torch.float64))


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_sequence_decisions_equal_the_masked_numpy_evaluation(seed):
    lr, kl, tv, valid, lengths = _data(seed)
    rs = _run(SEQUENCE_CRITERIA, lr, kl, tv, valid)
    exact = {"kl": np.where(valid, kl, 0.0).T, "tv": np.where(valid, tv, 0.0).T, "chi2": np.zeros_like(lr.T),
             "kind": "full"}
    for text in SEQUENCE_CRITERIA:
        crit = audit_criteria.parse_criterion(text)
        keep = np.ones(valid.T.shape, dtype=bool)
        for clause in crit.clauses:
            keep &= audit_criteria.clause_decision(clause, np.nan_to_num(lr.T), valid.T, exact)[0]
        expected = keep.all(-1)
        got = rs.accepts(parse_criterion(text)).numpy()
        assert np.array_equal(got, expected), text


def test_token_keep_rates_are_shares_of_valid_tokens():
    lr, kl, tv, valid, _ = _data(5)
    acc = _run(TOKEN_CRITERIA, lr, kl, tv, valid).acceptance()
    v = valid
    l = np.clip(np.nan_to_num(lr), -20, 20)
    k2, k3 = 0.5 * l * l, np.exp(l) - 1 - l
    expected = {"token_k1:0.8_1.25": (l >= math.log(0.8)) & (l <= math.log(1.25)), "token_k2:0.02": k2 <= 0.02,
                "token_k3:0.02": k3 <= 0.02, "token_k2:0.02,token_k3:0.01": (k2 <= 0.02) & (k3 <= 0.01)}
    for text, keep in expected.items():
        assert acc[text]["token_keep_rate"][-1] == pytest.approx((keep & v).sum() / v.sum(), rel=1e-12), text


def test_ln_trm_normalises_by_the_weights_of_valid_positions():
    lr, kl, tv, valid, _ = _data(6)
    T = lr.shape[0]
    rs = _run(["ln_trm:0.05@0.001"], lr, kl, tv, valid)
    w = length_neutral_weights(T, 0.001, math.sqrt(0.0005))
    x = np.abs(np.expm1(np.where(valid, lr, 0.0)))
    W = (x * w[:, None]).sum(0)
    Z = np.where(valid, w[:, None], 0.0).sum(0)
    expected = (W <= 0.05 * Z) | (Z <= 0)
    assert np.array_equal(rs.accepts(parse_criterion("ln_trm:0.05@0.001")).numpy(), expected)


def test_mask_shape_is_checked():
    rs = RunningStats(4, [4], [], 0.05, torch.device("cpu"))
    rs.start_chunk(3)
    with pytest.raises(ValueError, match="mask has shape"):
        rs.update(torch.zeros(4, 3, dtype=torch.float64), torch.zeros(4, 3, dtype=torch.float64),
                  torch.zeros(4, 3, dtype=torch.float64), mask=torch.ones(4, 2, dtype=torch.bool))
