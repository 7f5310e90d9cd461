"""TRL: a dump with TRL's tensor names audits without flags, and `--trl MODE` reproduces TRL's
vLLM importance-sampling correction, its off-policy sequence mask and its `sampling/*` metrics.

The reference below is transcribed from TRL's source (huggingface/trl f2cd577,
trl/trainer/grpo_trainer.py: `_generate_and_score_completions` for the ratio, its truncation or mask
and the `sampling/*` metrics; `get_off_policy_mask`), in torch on the whole batch, not from the library.
"""
import json
import math

import numpy as np
import pytest
import torch

from audit.dialects import trl
from audit.readers import write_dump
from numerics.errors import TRMInputError
from tests.cli.runner import run

FORMATS = [".npz", ".pt", ".safetensors", ".parquet"]


# ---------------------------------------------------------------------------------------------
# Transcription of TRL's code (f2cd577)
# ---------------------------------------------------------------------------------------------

def nanmin(t):
    return torch.min(t[~torch.isnan(t)]) if (~torch.isnan(t)).any() else torch.tensor(float("nan"))


def nanmax(t):
    return torch.max(t[~torch.isnan(t)]) if (~torch.isnan(t)).any() else torch.tensor(float("nan"))


def reference(old_per_token_logps, sampling_per_token_logps, completion_mask, tool_mask=None,
              vllm_importance_sampling_mode="sequence_mask", vllm_importance_sampling_clip_min=None,
              vllm_importance_sampling_clip_max=3.0):
    """(vllm_importance_sampling_ratio, {sampling/* metrics}) of one process's batch."""
    mask = completion_mask if tool_mask is None else completion_mask * tool_mask
    per_token_logps_diff = (old_per_token_logps - sampling_per_token_logps) * mask
    sequence_level_is = vllm_importance_sampling_mode in ["sequence_mask", "sequence_truncate"]
    if sequence_level_is:
        logps_diff = per_token_logps_diff.sum(dim=-1, keepdim=True)
    else:
        logps_diff = per_token_logps_diff
    vllm_importance_sampling_ratio = torch.exp(logps_diff)
    if vllm_importance_sampling_mode in ["sequence_truncate", "token_truncate"]:
        vllm_importance_sampling_ratio = torch.clamp(vllm_importance_sampling_ratio,
                                                     min=vllm_importance_sampling_clip_min,
                                                     max=vllm_importance_sampling_clip_max)
    elif vllm_importance_sampling_mode in ["sequence_mask", "token_mask"]:
        min_val = vllm_importance_sampling_clip_min if vllm_importance_sampling_clip_min is not None else -math.inf
        max_val = vllm_importance_sampling_clip_max if vllm_importance_sampling_clip_max is not None else math.inf
        invalid_mis_mask = (vllm_importance_sampling_ratio < min_val) | (vllm_importance_sampling_ratio > max_val)
        vllm_importance_sampling_ratio = vllm_importance_sampling_ratio.masked_fill(invalid_mis_mask, value=0.0)
    else:
        raise ValueError(vllm_importance_sampling_mode)

    delta = torch.abs(old_per_token_logps - sampling_per_token_logps)
    mask = completion_mask.bool() if tool_mask is None else (completion_mask * tool_mask).bool()
    delta = delta[mask]
    mean_delta = torch.mean(delta) if delta.numel() > 0 else torch.tensor(0.0)
    max_delta = torch.max(delta) if delta.numel() > 0 else torch.tensor(0.0)
    if sequence_level_is:
        flat_is_ratio = vllm_importance_sampling_ratio.flatten()
    else:
        flat_is_ratio = vllm_importance_sampling_ratio[mask]
    min_r = torch.min(flat_is_ratio) if flat_is_ratio.numel() > 0 else torch.tensor(0.0)
    mean_r = torch.mean(flat_is_ratio) if flat_is_ratio.numel() > 0 else torch.tensor(0.0)
    max_r = torch.max(flat_is_ratio) if flat_is_ratio.numel() > 0 else torch.tensor(0.0)
    gather = lambda t: t.reshape(1)                           # one process: accelerator.gather
    metrics = {"sampling/sampling_logp_difference/mean": gather(mean_delta).mean().item(),
               "sampling/sampling_logp_difference/max": gather(max_delta).max().item(),
               "sampling/importance_sampling_ratio/min": nanmin(gather(min_r)).item(),
               "sampling/importance_sampling_ratio/mean": gather(mean_r).nanmean().item(),
               "sampling/importance_sampling_ratio/max": nanmax(gather(max_r)).item()}
    return vllm_importance_sampling_ratio, metrics


def get_off_policy_mask(advantages, per_token_logps, sampling_per_token_logps, mask, off_policy_threshold):
    kl_div = sampling_per_token_logps - per_token_logps.detach()
    seq_kl_sum = (kl_div * mask).sum(dim=1, keepdim=True)
    avg_seq_kl = seq_kl_sum / mask.sum(dim=1, keepdim=True).clamp(min=1.0)
    is_pos_adv = advantages >= 0
    is_low_kl = avg_seq_kl <= off_policy_threshold
    return (is_pos_adv | is_low_kl).to(dtype=mask.dtype)


# ---------------------------------------------------------------------------------------------
# A GRPO batch as TRL holds it (completions right-padded; sampling log-probs padded with 0)
# ---------------------------------------------------------------------------------------------

def _batch(seed, B=20, L=24, tools=False):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, L + 1, size=B)
    lengths[-1] = L
    completion = (np.arange(L)[None, :] < lengths[:, None]).astype(np.int64)
    sampling = np.log(rng.uniform(0.05, 1.0, (B, L)))
    scale = rng.choice([0.01, 0.05, 0.4], size=(B, 1))
    old = np.minimum(sampling + scale * rng.standard_normal((B, L)), 0.0)
    completion[0] = 0                                   # mask_truncated_completions zeroes a truncated row
    sampling[1, :6], old[1, :6] = np.log(1e-6), np.log(0.9)        # Σℓ ≈ 82 > 20: beyond verl's and slime's clamp
    sampling[2, :6], old[2, :6] = np.log(0.9), np.log(1e-6)
    sampling = np.where(completion, sampling, 0.0)                        # TRL pads them with 0.0
    old = np.where(completion, old, np.log(rng.uniform(0.01, 1.0, (B, L))))  # the model's values at padding
    out = {"old_per_token_logps": old.astype(np.float32), "sampling_per_token_logps": sampling.astype(np.float32),
           "completion_mask": completion,
           "advantages": np.where(rng.uniform(size=B) < 0.2, 0.0, rng.standard_normal(B)).astype(np.float32)}
    if tools:
        tool = np.ones((B, L), dtype=np.int64)
        for i in rng.choice(B, size=B // 2, replace=False):
            a = rng.integers(0, L)
            tool[i, a:a + rng.integers(1, 5)] = 0
        out["tool_mask"] = tool
    return out


def _t(a):
    return torch.as_tensor(np.asarray(a, np.float64))


def _close(got, expected):
    assert set(got) == set(expected)
    for k, v in expected.items():
        assert math.isclose(got[k], v, rel_tol=1e-9, abs_tol=1e-12), (k, got[k], v)


CONFIGS = [
    ("sequence_mask", [], dict()),
    ("sequence_mask", ["--trl-clip-min", "0.5", "--trl-clip-max", "1.5"],
     dict(vllm_importance_sampling_clip_min=0.5, vllm_importance_sampling_clip_max=1.5)),
    ("token_mask", ["--trl-clip-min", "0.8", "--trl-clip-max", "1.25"],
     dict(vllm_importance_sampling_clip_min=0.8, vllm_importance_sampling_clip_max=1.25)),
    ("token_mask", ["--trl-clip-min", "0.9", "--trl-clip-max", "none"],
     dict(vllm_importance_sampling_clip_min=0.9, vllm_importance_sampling_clip_max=None)),
    ("token_truncate", [], dict()),
    ("token_truncate", ["--trl-clip-min", "0.7", "--trl-clip-max", "1.1"],
     dict(vllm_importance_sampling_clip_min=0.7, vllm_importance_sampling_clip_max=1.1)),
    ("sequence_truncate", ["--trl-clip-max", "1.2"], dict(vllm_importance_sampling_clip_max=1.2)),
    ("sequence_truncate", ["--trl-clip-min", "0.8", "--trl-clip-max", "none"],
     dict(vllm_importance_sampling_clip_min=0.8, vllm_importance_sampling_clip_max=None)),
]


@pytest.mark.parametrize("tools", [False, True])
@pytest.mark.parametrize("i, mode, argv, cfg", [(i, *c) for i, c in enumerate(CONFIGS)])
def test_correction_and_metrics_reproduce_trl(capsys, tmp_path, i, mode, argv, cfg, tools):
    data = _batch(i + 10 * tools, tools=tools)
    path = tmp_path / f"trl{FORMATS[i % 4]}"
    write_dump(path, data, mask_key="completion_mask")
    if path.suffix == ".parquet":       # parquet rows are cut to the completion: no padding to read
        data = {k: (np.where(data["completion_mask"], v, 0) if np.ndim(v) == 2 else v) for k, v in data.items()}
    code, out, err = run(capsys, "audit", path, "--trl", mode, *argv, "--mask-out", tmp_path / "m.npz", "--json")
    assert code == 0, err
    p = json.loads(out)
    assert p["keys"]["old"] == "old_per_token_logps"
    assert p["keys"].get("mask") == (None if path.suffix == ".parquet" else "completion_mask")  # parquet: rows cut
    assert tools == (p["keys"].get("extra_mask") == "tool_mask")
    old, samp = _t(data["old_per_token_logps"]), _t(data["sampling_per_token_logps"])
    cm = _t(data["completion_mask"])
    tm = _t(data["tool_mask"]) if tools else None
    rho, expected = reference(old, samp, cm, tm, mode, **cfg)
    _close({k: v for k, v in p["metrics"].items() if k.startswith("sampling/")}, expected)
    valid = (cm if tm is None else cm * tm).numpy().astype(bool)
    dropped = (rho == 0).expand(valid.shape).numpy() if mode.endswith("mask") else np.zeros(valid.shape, bool)
    assert np.array_equal(np.load(tmp_path / "m.npz")["mask"], valid & ~dropped)
    c = p["criteria"][f"trl:{mode}"]
    assert c["token_masked_fraction"] == pytest.approx((valid & dropped).sum() / valid.sum(), rel=1e-12)
    if mode.endswith("truncate"):
        diff = (old - samp) * (cm if tm is None else cm * tm)
        raw = torch.exp(diff.sum(-1, keepdim=True) if mode.startswith("sequence") else diff)
        changed = (raw != rho).numpy()
        expected_truncated = (changed & valid).sum() if mode.startswith("token") else (changed[:, 0] & valid.any(-1)).sum()
        assert c["token_masked_fraction"] == 0 and c["truncated"] == expected_truncated


def test_off_policy_mask_reproduces_trl(capsys, tmp_path):
    data = _batch(3)
    path = tmp_path / "op.pt"
    write_dump(path, data)
    for delta in ("0.0", "0.01", "-0.02"):
        code, out, err = run(capsys, "audit", path, "--trl-off-policy-mask", delta, "--mask-out", tmp_path / "m.npz",
                             "--json")
        assert code == 0, err
        cm = _t(data["completion_mask"])
        keep = get_off_policy_mask(_t(data["advantages"])[:, None], _t(data["old_per_token_logps"]),
                                   _t(data["sampling_per_token_logps"]), cm, float(delta))
        expected = (cm * keep).numpy().astype(bool)
        assert np.array_equal(np.load(tmp_path / "m.npz")["mask"], expected), delta
        assert json.loads(out)["metrics"].keys().isdisjoint({"sampling/importance_sampling_ratio/mean"})
    code, out, _ = run(capsys, "audit", path, "--trl", "--trl-off-policy-mask", "0.01", "--json")
    assert code == 0 and {"trl:sequence_mask", "trl:off_policy_mask:0.01", "trl (all)"} <= set(json.loads(out)["criteria"])


def test_a_trl_named_dump_audits_without_flags(capsys, tmp_path):
    """TRL's names are recognised; `--trl` alone is TRL's default correction (sequence_mask, C_max = 3)."""
    data = _batch(5)
    data["per_token_logps"] = data["old_per_token_logps"] - 0.1           # the current policy's: not the old one
    write_dump(tmp_path / "t.npz", data)
    code, out, err = run(capsys, "audit", tmp_path / "t.npz", "--json")
    assert code == 0, err
    p = json.loads(out)
    assert p["keys"] == {"old": "old_per_token_logps", "rollout": "sampling_per_token_logps", "mask": "completion_mask",
                         "advantages": "advantages"}
    assert not any(k.startswith("sampling/") for k in p["metrics"])
    code, out, _ = run(capsys, "audit", tmp_path / "t.npz", "--trl", "--json")
    c = json.loads(out)["criteria"]["trl:sequence_mask"]
    assert (c["mode"], c["clip_min"], c["clip_max"], c["dialect"]) == ("sequence_mask", None, 3.0, "trl")
    code, out, _ = run(capsys, "audit", tmp_path / "t.npz", "--trl", "token_mask")
    assert code == 0 and "trl metrics (sampling/*)" in out and "sampling/importance_sampling_ratio/mean" in out


def test_library_functions_agree_with_the_reference():
    data = _batch(7)
    lr = data["old_per_token_logps"].astype(np.float64) - data["sampling_per_token_logps"]
    m = data["completion_mask"].astype(bool)
    for mode, _, cfg in CONFIGS:
        spec = trl.parse_trl(mode, cfg.get("vllm_importance_sampling_clip_min"),
                             cfg.get("vllm_importance_sampling_clip_max", "default"))
        rho, _ = reference(_t(data["old_per_token_logps"]), _t(data["sampling_per_token_logps"]),
                           _t(data["completion_mask"]), None, mode, **cfg)
        got = trl.ratio(spec, lr, m)
        np.testing.assert_allclose(np.where(m, got, 0) if spec.token_level else got,
                                   np.where(m, rho.numpy(), 0) if spec.token_level else rho.numpy(), rtol=1e-12)


def test_bounds_are_inclusive_as_in_trl():
    m = np.ones((1, 2), bool)
    for mode, lo, hi in (("token_mask", 1.0, 2.0), ("sequence_mask", 0.5, 1.0), ("token_mask", 0.5, 1.0),
                         ("sequence_mask", 1.0, 3.0)):
        spec = trl.parse_trl(mode, lo, hi)
        assert trl.ratio_keep(spec, np.zeros((1, 2)), m).all(), (mode, lo, hi)      # ρ = e^0 = 1 on a bound: kept
        assert (trl.ratio(spec, np.zeros((1, 2)), m) == 1.0).all(), (mode, lo, hi)


@pytest.mark.parametrize("argv, message", [
    (["--trl", "sequence"], "--trl 'sequence': unknown vllm_importance_sampling_mode"),
    (["--trl", "token_mask", "--trl-clip-min", "2", "--trl-clip-max", "1.5"], "must be less than --trl-clip-max 1.5"),
    (["--trl", "token_truncate", "--trl-clip-max", "none"], "needs --trl-clip-min or --trl-clip-max"),
    (["--trl-clip-max", "2"], "given without --trl MODE"),
    (["--trl", "token_mask", "--trl-clip-min", "abc"], "--trl-clip-min 'abc': not a number"),
    (["--trl", "token_mask", "--trl-clip-max", "nan"], "must be a finite number"),
])
def test_bad_options_exit_2(capsys, tmp_path, argv, message):
    write_dump(tmp_path / "t.npz", _batch(1))
    code, out, err = run(capsys, "audit", tmp_path / "t.npz", *argv)
    assert code == 2 and out == "" and err.startswith("trm audit: error:") and err.count("\n") == 1
    assert message in err, err


def test_off_policy_mask_needs_advantages_and_a_file_is_not_a_mode(capsys, tmp_path):
    data = _batch(2)
    del data["advantages"]
    write_dump(tmp_path / "t.npz", data)
    code, _, err = run(capsys, "audit", tmp_path / "t.npz", "--trl-off-policy-mask", "0.5")
    assert code == 2 and "t.npz: --trl-off-policy-mask needs the advantages" in err
    code, _, err = run(capsys, "audit", "--trl", tmp_path / "t.npz")
    assert code == 2 and "took the file name as its value" in err


def test_parse_defaults():
    spec = trl.parse_trl("sequence_mask")
    assert (spec.clip_min, spec.clip_max) == (None, 3.0)
    with pytest.raises(TRMInputError, match="give a MODE"):
        trl.parse_trl()
