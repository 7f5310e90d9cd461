"""audit.dialects.verl against an independent torch transcription of verl's algorithm
(tests/audit/verl_reference.py): the rejection decision token for token for every option and
combination, and every rollout_corr/* metric to float tolerance, on random padded batches."""
import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from audit.dialects import verl
from numerics.errors import TRMInputError
from tests.audit import verl_reference as ref

#: numpy masks against a torch transcription of verl, decision for decision: run at every CPU dispatch level by .ci/run (tests/dispatch.py)
pytestmark = pytest.mark.float_sensitive

#: Per option: threshold specs that exercise it (k1: asymmetric, symmetric, single number, empty band).
THRESHOLDS = {
    "token_k1": ["0.6_1.4", "0.5_2.0", "1.5", "0.7_1.3"],
    "token_k2": ["0.02", "2.5"],
    "token_k3": ["0.01", "0.5"],
    "seq_sum_k1": ["0.5_2.0", "0.6_1.4", "3.0"],
    "seq_sum_k2": ["0.1", "5.0"],
    "seq_sum_k3": ["0.1", "2.0"],
    "seq_mean_k1": ["0.999_1.001", "0.95_1.1", "1.05"],
    "seq_mean_k2": ["0.005", "0.05"],
    "seq_mean_k3": ["0.001", "0.01"],
    "seq_max_k2": ["0.05", "2.5"],
    "seq_max_k3": ["0.05", "1.0"],
}


def batch(seed, B=12, L=20, scale=0.3, pad="garbage", outliers=True):
    """Random padded batch: lengths 0..L (an empty row and a full row included), rollout log-probs
    ≤ 0, trainer log-probs = rollout + noise (a few outliers beyond the ±20 clamp)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, L + 1, size=B)
    lengths[0], lengths[-1] = 0, L
    mask = np.arange(L)[None, :] < lengths[:, None]
    roll = np.log(rng.uniform(0.01, 1.0, size=(B, L)))
    noise = scale * rng.standard_normal((B, L)) * rng.choice([0.05, 1.0], size=(B, 1))
    if outliers:
        hit = rng.random((B, L)) < 0.02
        noise = np.where(hit, rng.choice([-30.0, -3.0, 2.0, 25.0], size=(B, L)), noise)
    old = np.minimum(roll + noise, 0.0)
    if pad == "garbage":
        junk = rng.normal(0, 50, size=(B, L))
        old, roll = np.where(mask, old, junk), np.where(mask, roll, -junk)
    elif pad == "nan":
        old, roll = np.where(mask, old, np.nan), np.where(mask, roll, np.nan)
    elif pad == "zero":
        old, roll = np.where(mask, old, 0.0), np.where(mask, roll, 0.0)
    return old, roll, mask


def compare(lib_metrics, ref_metrics):
    assert set(lib_metrics) == set(ref_metrics), set(lib_metrics) ^ set(ref_metrics)
    for key, expected in ref_metrics.items():
        got = lib_metrics[key]
        if key.endswith("_std") and not key.endswith("seq_std"):
            # std = sqrt(E[x²] − E[x]²): compare variances, whose rounding is absolute in E[x²]
            assert math.isclose(got ** 2, expected ** 2, rel_tol=1e-9, abs_tol=1e-12 * max(1.0, expected ** 2) + 1e-13), key
        else:
            # verl takes some fractions as (x > t).float().mean(): float32, good to ~6e-8 relative
            rel = 2e-7 if "fraction" in key else 1e-9
            assert math.isclose(got, expected, rel_tol=rel, abs_tol=1e-12), (key, got, expected)


def run_both(old, roll, mask, **cfg):
    t = lambda a: torch.as_tensor(a, dtype=torch.float64)
    ref_mask, ref_metrics = ref.correction(t(old), t(roll), t(mask.astype(np.float64)), **cfg)
    lib_mask, lib_metrics = verl.rollout_correction(old, roll, mask, **cfg)
    return lib_mask, ref_mask.numpy().astype(bool), lib_metrics, ref_metrics


@pytest.mark.parametrize("option", verl.OPTIONS)
@pytest.mark.parametrize("pad", ["garbage", "nan", "zero"])
def test_every_option_matches_reference(option, pad):
    for k, spec in enumerate(THRESHOLDS[option]):
        old, roll, mask = batch(100 + k, pad=pad)
        lib_mask, ref_mask, lm, rm = run_both(old, roll, mask, rollout_rs=option, rollout_rs_threshold=spec)
        assert np.array_equal(lib_mask, ref_mask), (option, spec)
        compare(lm, rm)


def test_every_pair_of_options_matches_reference():
    for i, (a, b) in enumerate(itertools.combinations(verl.OPTIONS, 2)):
        old, roll, mask = batch(7 + i, B=10, L=16)
        spec = f"{THRESHOLDS[a][0]},{THRESHOLDS[b][-1]}"
        lib_mask, ref_mask, lm, rm = run_both(old, roll, mask, rollout_rs=f"{a},{b}", rollout_rs_threshold=spec)
        assert np.array_equal(lib_mask, ref_mask), (a, b, spec)
        compare(lm, rm)


@pytest.mark.slow
def test_every_combination_matches_reference():
    """All 2^11 − 1 AND-combinations, each with its own random batch."""
    count = 0
    for r in range(1, len(verl.OPTIONS) + 1):
        for combo in itertools.combinations(verl.OPTIONS, r):
            old, roll, mask = batch(count, B=8, L=12)
            spec = ",".join(THRESHOLDS[o][count % len(THRESHOLDS[o])] for o in combo)
            lib_mask, ref_mask, lm, rm = run_both(old, roll, mask, rollout_rs=",".join(combo), rollout_rs_threshold=spec)
            assert np.array_equal(lib_mask, ref_mask), (combo, spec)
            compare(lm, rm)
            count += 1
    assert count == 2 ** len(verl.OPTIONS) - 1


@settings(max_examples=40)
@given(seed=st.integers(0, 2 ** 31), subset=st.sets(st.sampled_from(verl.OPTIONS), min_size=1, max_size=5),
       scale=st.sampled_from([1e-3, 0.05, 0.3, 2.0]), rollout_is=st.sampled_from([None, "token", "sequence"]),
       is_threshold=st.sampled_from([1.5, 2.0, 5.0]), normalize=st.booleans(), shared=st.booleans())
def test_random_combinations_and_is_metrics_match_reference(seed, subset, scale, rollout_is, is_threshold, normalize,
                                                            shared):
    options = sorted(subset)
    old, roll, mask = batch(seed, B=9, L=15, scale=scale)
    if shared and all(not o.endswith("k1") for o in options):
        spec = THRESHOLDS[options[0]][seed % 2]
    else:
        spec = ",".join(THRESHOLDS[o][seed % len(THRESHOLDS[o])] for o in options)
    lib_mask, ref_mask, lm, rm = _run_is(old, roll, mask, options, spec, rollout_is, is_threshold, normalize)
    assert np.array_equal(lib_mask, ref_mask)
    compare(lm, rm)


def _run_is(old, roll, mask, options, spec, rollout_is, thr, normalize):
    t = lambda a: torch.as_tensor(a, dtype=torch.float64)
    ref_mask, rm = ref.correction(t(old), t(roll), t(mask.astype(np.float64)), rollout_is=rollout_is,
                                  rollout_is_threshold=thr, batch_normalize=normalize,
                                  rollout_rs=",".join(options), rollout_rs_threshold=spec)
    lib_mask, lm = verl.rollout_correction(old, roll, mask, rollout_is=rollout_is, rollout_is_threshold=thr,
                                           rollout_is_batch_normalize=normalize, rollout_rs=",".join(options),
                                           rollout_rs_threshold=spec)
    return lib_mask, ref_mask.numpy().astype(bool), lm, rm


def test_chunked_accumulation_equals_whole_batch():
    old, roll, mask = batch(5, B=40, L=30)
    rs = verl.parse_rollout_rs("token_k1,seq_mean_k3,seq_max_k2", "0.6_1.4,0.01,0.5")
    cfg = verl.RolloutIS("sequence", 2.0, True)
    whole = verl.VerlAccumulator(rs, cfg)
    keep_whole, _, _ = whole.add(old, roll, mask)
    chunked = verl.VerlAccumulator(rs, cfg)
    keeps = [chunked.add(old[a:a + 7], roll[a:a + 7], mask[a:a + 7])[0] for a in range(0, 40, 7)]
    assert np.array_equal(np.concatenate(keeps), keep_whole)
    compare(chunked.metrics(), whole.metrics())


def test_thresholds_are_inclusive():
    """ℓ = ±0.5 gives k2 = 0.125 exactly: a threshold of 0.125 keeps it, one ulp below rejects it."""
    mask = np.ones((2, 1), dtype=bool)
    old, roll = np.array([[-0.5], [-1.5]]), np.array([[-1.0], [-1.0]])
    keep, _ = verl.rollout_correction(old, roll, mask, rollout_rs="token_k2", rollout_rs_threshold="0.125")
    assert keep.all()
    below = repr(float(np.nextafter(0.125, 0)))
    keep, _ = verl.rollout_correction(old, roll, mask, rollout_rs="token_k2", rollout_rs_threshold=below)
    assert not keep.any()


def test_k1_band_is_mirrored_in_code_and_not_in_docs():
    """verl keeps k1 = −ℓ in [log lo, log hi], i.e. r = π_train/π_roll in [1/hi, 1/lo]; its docs say r ∈ [lo, hi].
    With 0.6_1.4: r = 1.6 (ℓ = log 1.6) is kept by the code (1.6 ∈ [0.714, 1.667]) and rejected by the docs."""
    mask = np.ones((1, 2), dtype=bool)
    old, roll = np.log(np.array([[0.8, 0.35]])), np.log(np.array([[0.5, 0.5]]))     # r = 1.6 and 0.7
    code, _ = verl.rollout_correction(old, roll, mask, rollout_rs="token_k1", rollout_rs_threshold="0.6_1.4")
    docs, _ = verl.rollout_correction(old, roll, mask, rollout_rs="token_k1", rollout_rs_threshold="0.6_1.4",
                                      reading="docs")
    assert code.tolist() == [[True, False]]
    assert docs.tolist() == [[False, True]]
    # a symmetric band (lo·hi = 1) is read the same both ways
    a, _ = verl.rollout_correction(old, roll, mask, rollout_rs="token_k1", rollout_rs_threshold="0.5_2.0")
    b, _ = verl.rollout_correction(old, roll, mask, rollout_rs="token_k1", rollout_rs_threshold="0.5_2.0",
                                   reading="docs")
    assert np.array_equal(a, b)


def test_seq_mean_divides_by_valid_tokens_plus_verl_epsilon():
    """Padding never dilutes seq_mean: a row of 2 valid tokens with k3 = c each has mean c·2/(2 + 1e-8)."""
    lr = 0.25
    c = math.exp(lr) - 1 - lr
    old = np.array([[-0.75, -0.75, 0.0, 0.0]])
    roll = np.array([[-1.0, -1.0, 5.0, -7.0]])
    mask = np.array([[1, 1, 0, 0]], dtype=bool)
    _, m = verl.rollout_correction(old, roll, mask, rollout_rs="seq_mean_k3", rollout_rs_threshold="1")
    assert math.isclose(m["rollout_corr/rollout_rs_seq_mean_k3_seq_mean"], 2 * c / (2 + 1e-8), rel_tol=1e-13)
    assert not math.isclose(m["rollout_corr/rollout_rs_seq_mean_k3_seq_mean"], c, rel_tol=1e-12)


def test_parsing_follows_verl():
    rs = verl.parse_rollout_rs("token_k1, seq_max_k2,token_k1", "1.5,2.5")
    assert [o.name for o in rs.options] == ["token_k1", "seq_max_k2"]
    assert rs.options[0].lower == 1.0 / 1.5 and rs.options[0].upper == 1.5
    assert verl.parse_rollout_rs("seq_max_k2,seq_mean_k3", 0.5).options[1].upper == 0.5
    assert verl.parse_rollout_rs("token_k1", "0.5_1.5_2").options[0].upper == 1.52   # float('1.5_2')
    with pytest.raises(TRMInputError, match="unknown option 'seq_max_k1'"):
        verl.parse_rollout_rs("seq_max_k1", "1")
    with pytest.raises(TRMInputError, match="2 thresholds for 3 option"):
        verl.parse_rollout_rs("token_k2,token_k3,seq_max_k2", "1,2")
    with pytest.raises(TRMInputError, match="without '_'"):
        verl.parse_rollout_rs("token_k2", "0.1_0.2")
    with pytest.raises(TRMInputError, match="must be positive"):
        verl.parse_rollout_rs("token_k1", "0_2")
    with pytest.raises(TRMInputError, match="NaN"):
        verl.parse_rollout_rs("token_k2", "nan")
    with pytest.raises(TRMInputError, match="required"):
        verl.parse_rollout_rs("token_k2", None)


def test_presets_are_verl_configs():
    assert verl.preset("decoupled_k3_rs")["rollout_rs"] == "seq_mean_k3"
    assert verl.preset("decoupled_geo_rs")["rollout_rs_threshold"] == "0.999_1.001"
    assert verl.preset("decoupled_seq_is_rs")["rollout_rs_threshold"] == "0.5_2.0"
    for name, cfg in verl.PRESETS.items():
        if cfg["rollout_rs"] is not None:
            verl.parse_rollout_rs(cfg["rollout_rs"], cfg["rollout_rs_threshold"])
    with pytest.raises(TRMInputError, match="unknown verl preset"):
        verl.preset("geo_rs")


def test_near_threshold_decisions_are_counted():
    """A statistic within 1e-6 of its bound is reported: float32 (verl's usual dtype) may flip it."""
    mask = np.ones((1, 3), dtype=bool)
    old, roll = np.array([[-0.5, -1.0, -1.2]]), np.array([[-1.0, -1.0, -1.0]])   # k2 = 0.125, 0, 0.02
    st = verl.TokenStats.from_log_probs(old, roll, mask)
    d = verl.option_decision(verl.RSOption("token_k2", upper=0.125), st)
    assert verl.near_threshold(d, mask) == 1
    d = verl.option_decision(verl.RSOption("token_k2", upper=0.1251), st)
    assert verl.near_threshold(d, mask) == 0


def test_docs_readings_of_the_metrics():
    """ppl_ratio: code = mean_i exp(d_i), docs = exp(mean_i d_i); rollout_is_max (sequence): shown only past the clamp."""
    mask = np.ones((2, 2), dtype=bool)
    old = np.array([[-1.0, -1.0], [-30.0, -1.0]])
    roll = np.array([[-1.5, -1.5], [-1.0, -1.0]])
    acc = verl.VerlAccumulator(None, verl.RolloutIS("sequence"))
    acc.add(old, roll, mask)
    rows = {d["metric"]: d for d in acc.docs_readings()}
    d = np.array([-0.5, 14.5])                                   # mean roll − mean old per row
    assert rows["ppl_ratio"]["code"] == pytest.approx(np.exp(d).mean(), rel=1e-7)
    assert rows["ppl_ratio"]["docs"] == pytest.approx(np.exp(d.mean()), rel=1e-7)
    assert "rollout_is_max" not in rows                          # max Σℓ = 1 < 20
    acc = verl.VerlAccumulator(None, verl.RolloutIS("sequence"))
    acc.add(np.array([[-0.1] * 2]), np.array([[-15.0] * 2]), np.ones((1, 2), bool))   # Σℓ = 29.8
    rows = {d["metric"]: d for d in acc.docs_readings()}
    assert rows["rollout_is_max"]["code"] == pytest.approx(math.exp(20))
    assert rows["rollout_is_max"]["docs"] == pytest.approx(math.exp(29.8))
