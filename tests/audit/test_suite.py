"""The suite's side of the audit: its criterion syntax (the simulator's grammar), the divergence
estimates, the χ² bound family, the length-bias model, and chunk invariance."""
import math

import numpy as np
import pytest

from audit import criteria as audit_criteria
from audit.dialects import slime
from audit.readers import write_dump
from audit.run import AuditConfig, audit_file
from audit.suite import SuiteAccumulator, length_bias
from numerics.errors import TRMInputError


def test_bad_clauses_and_trm_chi2_are_refused_by_the_audit():
    with pytest.raises(TRMInputError, match="trm_chi2 is decided by `trm simulate`"):
        audit_criteria.parse_criterion("trm_max:0.1,trm_chi2:0.01")
    for spec, message in [("trm_maximum:0.1", "unknown name"), ("token_k1:0.5", "lower_upper"),
                          ("seq_mean_k1:1.2_0.8", "0 < lower < upper"), ("seq_max_k2", "needs a threshold"),
                          ("trm_max:-1", "non-negative")]:
        with pytest.raises(TRMInputError, match=message):
            audit_criteria.parse_clause(spec)


def test_exact_clauses_need_distributions():
    clause = audit_criteria.parse_clause("trm_max:0.05")
    with pytest.raises(TRMInputError, match="needs the exact per-token KL"):
        audit_criteria.clause_decision(clause, np.zeros((1, 2)), np.ones((1, 2), bool), None)


def _categorical_step(rng, B, T, p, q):
    """i.i.d. tokens y ~ p at every position; ℓ = log q(y) − log p(y)."""
    y = rng.choice(len(p), size=(B, T), p=p)
    return np.log(q[y]) - np.log(p[y])


@pytest.mark.statistical
def test_estimates_agree_with_exact_values():
    """One context repeated T times: D_KL^seq = T·KL(p‖q), χ²(q‖p) per token, within 5 standard errors."""
    rng = np.random.default_rng(11)
    p = np.array([0.5, 0.3, 0.15, 0.05])
    q = np.array([0.45, 0.33, 0.12, 0.10])
    B, T = 4000, 8
    lr = _categorical_step(rng, B, T, p, q)
    acc = SuiteAccumulator(T)
    acc.add(0, lr, np.ones((B, T), bool))
    res = acc.result()
    kl = float((p * np.log(p / q)).sum())
    chi2 = float((q * q / p).sum() - 1)
    tv = 0.5 * float(np.abs(p - q).sum())
    chi2_seq = (1 + chi2) ** T - 1
    for key, exact in (("kl_seq_k1", T * kl), ("kl_seq_k3", T * kl), ("kl_tok_mean_k3", kl), ("chi2_token", chi2),
                       ("chi2_seq", chi2_seq)):
        e = res["estimates"][key]
        assert abs(e["mean"] - exact) <= 5 * e["se"], (key, e, exact)
    dbar = np.asarray(res["tv_pos_mean"])
    se = 0.5 * np.abs(np.expm1(lr)).std(0) / math.sqrt(B)
    assert np.all(np.abs(dbar - tv) <= 5 * se + 1e-12)


def test_chi2_family_matches_its_formula():
    rng = np.random.default_rng(2)
    B, T, V = 200, 12, 6
    lr_r = rng.normal(size=(B, T, V))
    lr_o = lr_r + 0.3 * rng.normal(size=(B, T, V))
    lp_r = lr_r - np.log(np.exp(lr_r).sum(-1, keepdims=True))
    lp_o = lr_o - np.log(np.exp(lr_o).sum(-1, keepdims=True))
    y = np.array([[rng.choice(V, p=np.exp(lp_r[b, t])) for t in range(T)] for b in range(B)])
    lr = np.take_along_axis(lp_o, y[..., None], -1)[..., 0] - np.take_along_axis(lp_r, y[..., None], -1)[..., 0]
    from audit.readers import exact_divergences

    mask = np.ones((B, T), bool)
    acc = SuiteAccumulator(T)
    acc.add(0, lr, mask, exact_divergences(lp_r, lp_o, mask, "full"))
    res = acc.result()
    c = res["bounds"]["chi2"]
    assert c["available"]
    cm, cs = c["inputs"]["chi2_tok_max"], c["inputs"]["chi2_seq"]
    assert cm == res["sampled_maxima"]["chi2_max_exact"] > 0 and cs > 0
    shift = np.expm1(np.arange(T) * np.log1p(cm))                 # (1 + χ²_max)^(t−1) − 1, t = 1..T
    assert c["B_chi2_max"] == pytest.approx(0.5 * math.sqrt((1 + cm) ** T - 1 - T * cm), rel=1e-9)
    assert c["B_chi2_mixed"] == pytest.approx(0.5 * math.sqrt(cm * np.minimum(cs, shift).sum()), rel=1e-12)
    assert c["unified"] == min(c["B_chi2_max"], c["B_chi2_mixed"])
    assert res["sampled_maxima"]["kl_max_exact"] == pytest.approx(res["bounds"]["inputs"]["kl_tok_max"])


def test_length_bias_model():
    lengths = np.array([1, 2, 3, 4, 8, 8, 16])
    accepted = np.array([1, 1, 0, 1, 1, 0, 0], bool)
    res = length_bias(lengths, accepted, 0.1)
    assert [b["lengths"] for b in res["bins"]] == [[0, 1], [2, 2], [3, 4], [5, 8], [9, 16]]
    assert [b["rows"] for b in res["bins"]] == [1, 1, 2, 2, 1]
    assert res["bins"][2]["acceptance"] == 0.5
    assert res["bins"][2]["independent_model"] == pytest.approx((0.9 ** 3 + 0.9 ** 4) / 2)
    assert "independent_model" not in length_bias(lengths, accepted, None)["bins"][0]


def _dump(tmp_path, seed=0, B=60, L=40, name="d.npz"):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, L + 1, size=B)
    mask = np.arange(L)[None, :] < lengths[:, None]
    roll = np.log(rng.uniform(0.05, 1.0, (B, L)))
    old = np.minimum(roll + 0.1 * rng.standard_normal((B, L)), 0.0)
    scores = np.zeros((B, L))
    scores[np.arange(B), np.maximum(lengths - 1, 0)] = rng.uniform(0, 1, B)
    path = tmp_path / name
    write_dump(path, {"old_log_probs": old, "rollout_log_probs": roll, "response_mask": mask,
                      "token_level_scores": scores})
    return path


def test_audit_is_independent_of_the_chunking(tmp_path):
    path = _dump(tmp_path)
    kw = dict(rollout_rs="token_k1,seq_max_k2,seq_mean_k3", rollout_rs_threshold="0.6_1.4,0.02,0.005",
              rollout_is="token", slime="geometric:0.99_1.01", slime_veto=1e-2,
              criteria=("seq_max_k2:0.02,ser:0.1", "ln_trm:0.05"))
    one = audit_file(path, AuditConfig(**kw), mask_out=str(tmp_path / "a.npz"))
    many = audit_file(path, AuditConfig(**kw, memory=2**20 // 8 * 8), mask_out=str(tmp_path / "b.npz"))
    assert np.array_equal(np.load(tmp_path / "a.npz")["mask"], np.load(tmp_path / "b.npz")["mask"])
    for key, value in one["metrics"].items():
        assert many["metrics"][key] == pytest.approx(value, rel=1e-12, abs=1e-15), key
    for label, c in one["criteria"].items():
        assert many["criteria"][label]["token_masked_fraction"] == pytest.approx(c["token_masked_fraction"], rel=1e-12)
        assert many["criteria"][label]["seq_masked_fraction"] == c["seq_masked_fraction"]
    for key, e in one["suite"]["estimates"].items():
        assert many["suite"]["estimates"][key]["mean"] == pytest.approx(e["mean"], rel=1e-12), key
    assert many["suite"]["bounds"]["paper"]["unified"] == pytest.approx(one["suite"]["bounds"]["paper"]["unified"])


def test_mask_out_is_the_and_of_every_rule(tmp_path):
    from audit.dialects import verl
    from audit.readers import Dump

    path = _dump(tmp_path, seed=4)
    cfg = AuditConfig(rollout_rs="seq_mean_k3", rollout_rs_threshold="0.005", slime="token:0.8_1.25",
                      criteria=("seq_max_k2:0.05",))
    audit_file(path, cfg, mask_out=str(tmp_path / "m.npz"))
    got = np.load(tmp_path / "m.npz")["mask"]
    with Dump(path) as d:
        c = next(d.chunks(10 ** 6))
    st = verl.TokenStats.from_log_probs(c.old, c.roll, c.mask)
    keep, _ = verl.decide(verl.parse_rollout_rs("seq_mean_k3", "0.005"), st)
    keep &= slime.decide(slime.parse_slime("token:0.8_1.25"), st.log_ratio, c.mask)[0]
    keep &= audit_criteria.clause_decision(audit_criteria.parse_clause("seq_max_k2:0.05"), st.log_ratio, c.mask, None)[0]
    assert np.array_equal(got, keep & c.mask)


def test_no_valid_token_is_refused(tmp_path):
    path = tmp_path / "z.npz"
    write_dump(path, {"old_log_probs": np.zeros((2, 3)), "rollout_log_probs": np.zeros((2, 3)),
                      "response_mask": np.zeros((2, 3), bool)})
    with pytest.raises(TRMInputError, match=r"z.npz: response_mask: every entry is 0 \(no valid token in 2 rows\)"):
        audit_file(path, AuditConfig())
