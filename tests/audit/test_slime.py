"""slime: its train dump read as slime writes it, and its masks against a transcription of its code.

The dump is built the way slime builds it (THUDM/slime 624b824, slime/observability/train_data_utils.py:
per-rank ``rollout_data`` as the actor holds it at ``save_debug_train_data``, ``_build_dump_payload``
transcribed below, then ``torch.save``) and audited with no flag. The masks are compared with a
transcription of ``compute_mis_weights`` (examples/train_infer_mismatch_helper/mis.py at the same
commit), written from slime's source, token for token.
"""
import json
import math

import numpy as np
import pytest
import torch

from audit.dialects import slime
from audit.readers import Dump
from numerics.errors import TRMInputError
from tests.cli.runner import run


# ---------------------------------------------------------------------------------------------
# Transcriptions of slime's code (624b824)
# ---------------------------------------------------------------------------------------------

_LAYOUT_FIELDS = ("micro_batch_indices", "num_microbatches", "global_batch_sizes")
_WHOLE_BATCH_FIELDS = ("raw_reward",)


def _is_per_sample(value, num_samples):
    if torch.is_tensor(value):
        return value.dim() >= 1 and value.size(0) == num_samples
    if isinstance(value, (list, tuple)):
        return len(value) == num_samples
    return False


def build_dump_payload(dp_shards, *, rollout_id, writer_rank):
    """slime/observability/train_data_utils.py::_build_dump_payload."""
    samples, layout, whole_batch = [], [], {}
    id_columns = {"sample_indices": "sample_index", "partition": "rollout_position"}
    for shard in dp_shards:
        rollout_data = shard["rollout_data"]
        dp_rank = shard["data_parallel_rank"]
        num_local = len(rollout_data["response_lengths"])
        shard_layout = {"rank": shard["rank"], "data_parallel_rank": dp_rank}
        for column in id_columns:
            value = rollout_data.get(column)
            shard_layout[column] = list(value) if value is not None else None
        per_sample_columns = {}
        for key, value in rollout_data.items():
            if key in id_columns:
                continue
            if key in _WHOLE_BATCH_FIELDS:
                whole_batch.setdefault(key, value)
            elif key in _LAYOUT_FIELDS or not _is_per_sample(value, num_local):
                shard_layout[key] = value
            else:
                per_sample_columns[key] = value
        for i in range(num_local):
            sample = {"data_parallel_rank": dp_rank}
            for column, scalar_key in id_columns.items():
                values = rollout_data.get(column)
                if values is not None:
                    sample[scalar_key] = values[i]
            for key, column in per_sample_columns.items():
                sample[key] = column[i]
            samples.append(sample)
        layout.append(shard_layout)
    order_key = next((k for k in ("rollout_position", "sample_index")
                      if samples and all(s.get(k) is not None for s in samples)), None)
    if order_key is not None:
        samples.sort(key=lambda s: s[order_key])
    return {"format_version": 2, "rollout_id": rollout_id, "rank": writer_rank, "samples": samples,
            "dp_shards": layout, **whole_batch}


def mis_masks(train_log_probs, rollout_log_probs, loss_masks, *, tis_level="token", tis_mode="truncate",
              tis_lower_bound=None, tis_upper_bound=2.0, use_rs=True, rs_level="token", rs_lower_bound=None,
              rs_upper_bound=None, rs_veto_threshold=None):
    """examples/train_infer_mismatch_helper/mis.py::compute_mis_weights with use_tis: the modified
    response masks (one per sample)."""
    def masked_sum(x, loss_mask, expand=False):
        result = (x * loss_mask).sum()
        return result.expand_as(x) if expand else result

    def masked_mean(x, loss_mask, expand=False):
        result = masked_sum(x, loss_mask) / torch.clamp_min(loss_mask.sum(), 1)
        return result.expand_as(x) if expand else result

    def compute_log_ratio(raw_log_diff, mask, level):
        if level == "token":
            return raw_log_diff
        if level == "sequence":
            return masked_sum(raw_log_diff, mask, expand=True)
        if level == "geometric":
            return masked_mean(raw_log_diff, mask, expand=True)
        raise ValueError(level)

    def mask(weights, loss_mask, lower_bound, upper_bound):
        in_range = (weights >= lower_bound) & (weights <= upper_bound)
        return loss_mask * in_range.float()

    tis_lower_bound = tis_lower_bound if tis_lower_bound is not None else 1.0 / tis_upper_bound
    rs_lower_bound = rs_lower_bound if rs_lower_bound is not None else tis_lower_bound
    rs_upper_bound = rs_upper_bound if rs_upper_bound is not None else tis_upper_bound
    SAFETY_BOUND = 20.0
    out = []
    for train_log_prob, rollout_log_prob, loss_mask in zip(train_log_probs, rollout_log_probs, loss_masks):
        loss_mask = loss_mask.float()
        raw_log_ratio_diff = train_log_prob - rollout_log_prob
        modified_mask = loss_mask.clone().float()
        log_ratio_tis = compute_log_ratio(raw_log_ratio_diff, loss_mask, tis_level)
        weights = torch.exp(torch.clamp(log_ratio_tis, min=-SAFETY_BOUND, max=SAFETY_BOUND))
        if tis_mode == "mask":
            modified_mask = mask(weights, loss_mask, tis_lower_bound, tis_upper_bound)
        if use_rs:
            log_ratio_rs = log_ratio_tis if rs_level == tis_level else compute_log_ratio(raw_log_ratio_diff, loss_mask,
                                                                                          rs_level)
            rs_weights = torch.exp(torch.clamp(log_ratio_rs, min=-SAFETY_BOUND, max=SAFETY_BOUND))
            modified_mask = mask(rs_weights, modified_mask, rs_lower_bound, rs_upper_bound)
            if rs_veto_threshold is not None:                             # calculate_veto_mask
                log_veto_threshold = torch.log(torch.tensor(rs_veto_threshold, device=raw_log_ratio_diff.device))
                catastrophic_tokens = (raw_log_ratio_diff < log_veto_threshold) & loss_mask.bool()
                veto_mask = (~catastrophic_tokens.any()).float().expand_as(raw_log_ratio_diff)
                modified_mask = modified_mask * veto_mask
        out.append(modified_mask)
    return out


# ---------------------------------------------------------------------------------------------
# A run's rollout data, as the actor holds it when it saves the train dump
# ---------------------------------------------------------------------------------------------

def _rollout(seed, n=12, dp=2, max_len=9):
    """(dp_shards, per-sample arrays in rollout order) of one rollout of n samples over dp ranks."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, max_len + 1, size=n)
    prompts = rng.integers(2, 5, size=n)
    roll = [np.log(rng.uniform(0.05, 1.0, k)) for k in lengths]
    scale = rng.choice([0.02, 0.6], size=n)
    old = [np.minimum(r + s * rng.standard_normal(len(r)), 0.0) for r, s in zip(roll, scale)]
    masks = [(rng.uniform(size=k) > 0.2).astype(np.int32) for k in lengths]
    masks[0][:] = 1
    raw_reward = rng.uniform(0, 1, n).round(3).tolist()
    partitions = [list(range(r, n, dp)) for r in range(dp)]
    shards = []
    for r, part in enumerate(partitions):
        t32 = lambda a: torch.tensor(a, dtype=torch.float32)
        rollout_data = {
            "partition": part,
            "tokens": [torch.arange(prompts[j] + lengths[j]) for j in part],
            "response_lengths": [int(lengths[j]) for j in part],
            "rewards": [raw_reward[j] - 0.5 for j in part],
            "truncated": [0 for _ in part],
            "loss_masks": [torch.tensor(masks[j], dtype=torch.int32) for j in part],
            "sample_indices": [j for j in part],
            "rollout_ids": [j // 2 for j in part],
            "rollout_mask_sums": torch.tensor([float(masks[j].sum()) for j in part]),
            "rollout_log_probs": [t32(roll[j]) for j in part],
            "raw_reward": raw_reward,
            "total_lengths": [int(prompts[j] + lengths[j]) for j in part],
            "global_batch_sizes": [n],
            "num_microbatches": [1],
            "micro_batch_indices": [[list(range(len(part)))]],
            "local_raw_reward": [raw_reward[j] for j in part],
            "log_probs": [t32(old[j]) for j in part],
            "advantages": [torch.full((int(lengths[j]),), raw_reward[j] - 0.5) for j in part],
            "returns": [torch.full((int(lengths[j]),), raw_reward[j] - 0.5) for j in part],
            "source_names": ["unknown" for _ in part],
        }
        shards.append({"rank": 2 * r, "data_parallel_rank": r, "rollout_data": rollout_data})
    f32 = lambda xs: [np.asarray(x, np.float32).astype(np.float64) for x in xs]
    return shards, {"old": f32(old), "roll": f32(roll), "mask": masks, "lengths": lengths, "raw_reward": raw_reward}


def _save(tmp_path, shards, rollout_id=9, name="9.pt"):
    path = tmp_path / "train_data" / name
    path.parent.mkdir(exist_ok=True)
    torch.save(build_dump_payload(shards, rollout_id=rollout_id, writer_rank=0), path)
    return path


def test_slimes_train_dump_audits_without_flags(capsys, tmp_path):
    shards, data = _rollout(1)
    path = _save(tmp_path, shards)
    code, out, err = run(capsys, "audit", path, "--json")
    assert code == 0, err
    p = json.loads(out)
    assert p["keys"] == {"old": "log_probs", "rollout": "rollout_log_probs", "mask": "loss_masks",
                         "lengths": "response_lengths", "scores": "local_raw_reward", "advantages": "advantages",
                         "step": "rollout_id"}
    assert p["step"] == 9 and p["rows"] == 12 and p["length"] == int(data["lengths"].max())
    valid = [m.astype(bool) for m in data["mask"]]
    assert p["tokens"] == sum(int(m.sum()) for m in valid)
    kl = sum(float((r - o)[m].sum()) for o, r, m in zip(data["old"], data["roll"], valid)) / (p["tokens"] + 1e-8)
    assert math.isclose(p["metrics"]["rollout_corr/kl"], kl, rel_tol=1e-9)
    assert "surrogate" in p["suite"] and "plugin_certificate_paper" in p["suite"]["surrogate"] and "certificate" in p["suite"]    # raw rewards in [0, 1]
    assert any(n.startswith("slime train dump (format_version 2, rollout 9): 12 samples from 2") for n in p["notes"])
    assert any("not read" in n and "source_names" in n for n in p["notes"])


def test_rows_follow_the_rollout_order(tmp_path):
    shards, data = _rollout(2)
    with Dump(_save(tmp_path, shards)) as d:
        c = next(d.chunks(100))
    for i, (o, m) in enumerate(zip(data["old"], data["mask"])):
        assert np.array_equal(c.old[i, :len(o)][m.astype(bool)], o[m.astype(bool)])
        assert np.array_equal(c.mask[i, :len(o)], m.astype(bool)) and not c.mask[i, len(o):].any()
    assert np.allclose(c.scores, data["raw_reward"])


def test_raw_reward_by_rollout_position_without_the_local_copy(tmp_path):
    shards, data = _rollout(3)
    for s in shards:
        del s["rollout_data"]["local_raw_reward"]
    with Dump(_save(tmp_path, shards)) as d:
        assert d.info.keys["scores"] == "raw_reward"
        assert np.allclose(next(d.chunks(100)).scores, data["raw_reward"])


def test_metadata_weights_only_refuses_is_left_unpickled(capsys, tmp_path):
    """Custom rollouts put what they like into train_metadata (numpy numbers here): the file is read, the
    numbers decoded, the rest not unpickled."""
    shards, _ = _rollout(4)
    for s in shards:
        k = len(s["rollout_data"]["response_lengths"])
        s["rollout_data"]["metadata"] = [{"score": np.float64(0.5), "tags": np.array(["a"])} for _ in range(k)]
        s["rollout_data"]["local_raw_reward"] = [np.float32(0.25)] * k
    path = _save(tmp_path, shards)
    with pytest.raises(Exception, match="Weights only load failed"):
        torch.load(path, weights_only=True)
    code, out, err = run(capsys, "audit", path, "--json")
    assert code == 0, err
    p = json.loads(out)
    assert p["keys"]["scores"] == "local_raw_reward" and p["suite"]["surrogate"]["estimate"]["mean"] is not None
    assert any("weights_only=True) refuses" in n and "numpy" in n for n in p["notes"])


def test_inconsistent_sample_lengths_are_named(capsys, tmp_path):
    shards, _ = _rollout(5)
    rd = shards[1]["rollout_data"]
    rd["rollout_log_probs"][1] = rd["rollout_log_probs"][1][:-1]          # rollout position 3
    n = rd["response_lengths"][1]
    code, out, err = run(capsys, "audit", _save(tmp_path, shards))
    assert code == 2 and out == ""
    assert err.startswith("trm audit: error: ") and err.count("\n") == 1
    assert f"9.pt: samples[3]['rollout_log_probs'] has {n - 1} entries but its response_lengths is {n}" in err
    shards, _ = _rollout(5)
    rd = shards[0]["rollout_data"]
    rd["loss_masks"][3] = torch.ones(rd["response_lengths"][3] + 1, dtype=torch.int32)   # rollout position 6
    code, _, err = run(capsys, "audit", _save(tmp_path, shards))
    assert code == 2 and "samples[6]['loss_masks'] has" in err and "entries but its response_lengths is" in err
    shards, _ = _rollout(5)
    shards[0]["rollout_data"]["log_probs"][2] = torch.zeros(2, 2)
    code, _, err = run(capsys, "audit", _save(tmp_path, shards))
    assert code == 2 and "samples[4]['log_probs'] is a 2-D tensor" in err


def test_every_sample_masked_is_refused(capsys, tmp_path):
    shards, _ = _rollout(6)
    for s in shards:
        s["rollout_data"]["loss_masks"] = [torch.zeros_like(m) for m in s["rollout_data"]["loss_masks"]]
    code, _, err = run(capsys, "audit", _save(tmp_path, shards))
    assert code == 2 and "9.pt: loss_masks: every entry is 0 (no valid token in 12 rows)" in err


def test_version_1_dump_of_one_rank(tmp_path):
    """Before slime 681b3adca: {rollout_id, rank, rollout_data} per rank (slime/utils/train_dump_utils.py);
    the raw reward of the whole rollout is indexed by the rank's partition."""
    shards, data = _rollout(7, dp=3)
    rd = shards[1]["rollout_data"]
    del rd["local_raw_reward"]
    torch.save({"rollout_id": 3, "rank": 2, "rollout_data": rd}, tmp_path / "v1.pt")
    with Dump(tmp_path / "v1.pt") as d:
        assert d.info.step == 3 and d.info.rows == 4 and d.info.keys["mask"] == "loss_masks"
        c = next(d.chunks(100))
    for i, j in enumerate(rd["partition"]):
        m = data["mask"][j].astype(bool)
        assert np.array_equal(c.old[i, :len(m)][m], data["old"][j][m])
        assert c.scores[i] == data["raw_reward"][j]


# ---------------------------------------------------------------------------------------------
# The masks, against the transcription
# ---------------------------------------------------------------------------------------------

def _padded(data):
    B, L = len(data["old"]), int(max(data["lengths"]))
    old, roll, mask = np.zeros((B, L)), np.zeros((B, L)), np.zeros((B, L), bool)
    for i, (o, r, m) in enumerate(zip(data["old"], data["roll"], data["mask"])):
        old[i, :len(o)], roll[i, :len(o)], mask[i, :len(o)] = o, r, m.astype(bool)
    return old, roll, mask


CASES = [  # (library spec, veto, the transcription's configuration)
    ("token:0.5_2.0", None, dict(rs_level="token", rs_lower_bound=0.5, rs_upper_bound=2.0)),
    ("sequence:0.2_5.0", None, dict(rs_level="sequence", rs_lower_bound=0.2, rs_upper_bound=5.0)),
    ("geometric:0.9_1.1", 1e-2, dict(rs_level="geometric", rs_lower_bound=0.9, rs_upper_bound=1.1,
                                     rs_veto_threshold=1e-2)),
    ("token:0.6_1.5,geometric:0.95_1.05", None, dict(tis_level="token", tis_mode="mask", tis_lower_bound=0.6,
                                                      tis_upper_bound=1.5, rs_level="geometric",
                                                      rs_lower_bound=0.95, rs_upper_bound=1.05)),
    ("geometric:0.8_1.25", 0.3, dict(tis_level="geometric", tis_upper_bound=1.25, rs_level="geometric",
                                     rs_veto_threshold=0.3)),          # rs bounds from the TIS bounds: 1/1.25, 1.25
]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("spec, veto, cfg", CASES)
def test_masks_match_mis_py(seed, spec, veto, cfg):
    _, data = _rollout(10 + seed, n=40)
    old, roll, mask = _padded(data)
    keep, _ = slime.decide(slime.parse_slime(spec, veto), old - roll, mask)
    t = lambda xs: [torch.as_tensor(x, dtype=torch.float64) for x in xs]
    expected = mis_masks(t(data["old"]), t(data["roll"]), [torch.as_tensor(m) for m in data["mask"]], **cfg)
    for i, e in enumerate(expected):
        assert np.array_equal((keep & mask)[i, :len(e)], e.numpy().astype(bool)), (spec, i)


def test_mask_out_of_a_slime_dump_is_mis_py(capsys, tmp_path):
    shards, data = _rollout(20, n=30)
    path = _save(tmp_path, shards)
    code, _, err = run(capsys, "audit", path, "--slime", "token:0.7_1.4,sequence:0.1_10", "--slime-veto", "0.05",
                       "--mask-out", tmp_path / "m.npz")
    assert code == 0, err
    got = np.load(tmp_path / "m.npz")["mask"]
    t = lambda xs: [torch.as_tensor(x, dtype=torch.float64) for x in xs]
    expected = mis_masks(t(data["old"]), t(data["roll"]), [torch.as_tensor(m) for m in data["mask"]],
                         tis_level="token", tis_mode="mask", tis_lower_bound=0.7, tis_upper_bound=1.4,
                         rs_level="sequence", rs_lower_bound=0.1, rs_upper_bound=10.0, rs_veto_threshold=0.05)
    for i, e in enumerate(expected):
        assert np.array_equal(got[i, :len(e)], e.numpy().astype(bool)) and not got[i, len(e):].any()


def test_veto_threshold_is_taken_in_float32_as_slime_does():
    """ℓ between log(1e-4) and log(float32(1e-4)): vetoed by slime's torch.log(torch.tensor(1e-4))."""
    lo, hi = sorted([math.log(1e-4), float(np.log(np.float32(1e-4)))])
    assert lo < hi
    lr = np.array([[0.0, (lo + hi) / 2]])
    ref = mis_masks([torch.tensor(lr[0])], [torch.zeros(2, dtype=torch.float64)], [torch.ones(2)],
                    rs_lower_bound=0.0, rs_upper_bound=1e9, rs_veto_threshold=1e-4)[0]
    _, vetoed = slime.decide(slime.parse_slime(None, 1e-4), lr, np.ones((1, 2), bool))
    assert vetoed[0] == (not ref.any())


def test_bands_clamp_after_aggregation_and_veto():
    mask = np.array([[1, 1, 1, 0]], dtype=bool)
    # Σℓ = 25 − 10 + 0 = 15: clamped after the sum r = e^15; verl clamps each token first (Σ = 20 − 10 = 10)
    lr = np.array([[25.0, -10.0, 0.0, 99.0]])
    keep, _ = slime.decide(slime.parse_slime("sequence:0_3e6"), lr, mask)       # e^15 = 3.27e6 > 3e6
    assert not keep[0, :3].any()
    keep, _ = slime.decide(slime.parse_slime("sequence:0_3.3e6"), lr, mask)
    assert keep.all()
    # Σℓ = 25 clamps to 20: r = e^20 = 4.85e8 is inside 0_1e10, though e^25 = 7.2e10 is not
    keep, _ = slime.decide(slime.parse_slime("sequence:0_1e10"), np.array([[25.0, 0.0]]), np.ones((1, 2), bool))
    assert keep.all()
    # a band on r as written: r = 1.6 is outside 0.6_1.4 (verl's code would keep it: 1.6 ∈ [1/1.4, 1/0.6])
    keep, _ = slime.decide(slime.parse_slime("token:0.6_1.4"), np.log([[1.6, 0.7]]), np.ones((1, 2), bool))
    assert keep.tolist() == [[False, True]]
    # both bounds inclusive (mis.py's mask: weights >= lower and weights <= upper); r = e^0 = 1 exactly
    for spec in ("token:1_2", "token:0.5_1", "sequence:1_2", "geometric:0.5_1"):
        assert slime.decide(slime.parse_slime(spec), np.zeros((1, 2)), np.ones((1, 2), bool))[0].all(), spec
    # geometric mean over the valid tokens only
    keep, _ = slime.decide(slime.parse_slime("geometric:0.99_1.01"), np.array([[0.005, 0.005, 5.0]]),
                           np.array([[1, 1, 0]], bool))
    assert keep[0, :2].all()
    keep, vetoed = slime.decide(slime.parse_slime(None, 1e-4), np.log([[1.0, 5e-5, 1.0], [1.0, 1.0, 1e-9]]),
                                np.array([[1, 1, 1], [1, 1, 0]], bool))
    assert vetoed.tolist() == [True, False] and not keep[0].any() and keep[1].all()
    for spec, veto, message in [("seq:0.5_2", None, "level"), ("token:2", None, "LOWER_UPPER"),
                                ("token:2_1", None, "lower < upper"), (None, 2.0, "in \\(0, 1\\)"),
                                (None, None, "give LEVEL"), ("token:0.5_2,", None, "level ''")]:
        with pytest.raises(TRMInputError, match=message):
            slime.parse_slime(spec, veto)
