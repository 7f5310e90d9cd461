"""OpenRLHF: its tensor names are recognised, and `--openrlhf TYPE` reproduces the masks of its vLLM
importance-sampling correction and its `vllm_kl`.

The reference is transcribed from OpenRLHF's source (OpenRLHF/OpenRLHF 3c3be62, openrlhf/models/loss.py
`PolicyLoss.forward`, the `ppo` branch with `enable_vllm_is_correction`; openrlhf/models/utils.py
`masked_mean`), in torch on the whole batch: the per-token coefficient `vllm_is` the loss is multiplied
by, and `vllm_kl`.
"""
import json
import math

import numpy as np
import pytest
import torch

from audit.dialects import openrlhf
from audit.readers import write_dump
from numerics.errors import TRMInputError
from tests.cli.runner import run


def masked_mean(tensor, mask, dim=None):
    if mask is None:
        return tensor.mean(dim=dim)
    return (tensor * mask).sum(dim=dim) / mask.sum(dim=dim)


def reference(old_log_probs, rollout_log_probs, action_mask, vllm_is_correction_type="tis",
              vllm_is_truncated_threshold=(0.5, 5.0)):
    """(vllm_is [B, L]: the coefficient of each token's loss, vllm_kl)."""
    low_threshold, high_threshold = vllm_is_truncated_threshold
    rollout_log_ratio = old_log_probs - rollout_log_probs
    if vllm_is_correction_type == "icepop":
        vllm_is = torch.exp(rollout_log_ratio).detach()
        mask = (vllm_is >= low_threshold) & (vllm_is <= high_threshold)
        vllm_is = vllm_is * mask
    elif vllm_is_correction_type == "seq-mask-tis":
        seq_log_ratio = masked_mean(rollout_log_ratio, action_mask, dim=-1)
        seq_is = torch.exp(seq_log_ratio)
        seq_mask = (seq_is >= low_threshold) & (seq_is <= high_threshold)
        vllm_is = seq_mask.unsqueeze(-1) * torch.exp(rollout_log_ratio).detach()
    else:
        vllm_is = torch.exp(rollout_log_ratio).clamp(min=low_threshold, max=high_threshold).detach()
    vllm_kl = masked_mean(rollout_log_probs - old_log_probs, action_mask, dim=None)
    return vllm_is, vllm_kl.item()


def _batch(seed, B=18, L=20):
    """An Experience's tensors: action_log_probs (zero at padding: log_probs * action_mask.float()),
    rollout_log_probs (zero-padded), action_mask (bool)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, L + 1, size=B)
    lengths[-1] = L
    mask = np.arange(L)[None, :] < lengths[:, None]
    roll = np.log(rng.uniform(0.02, 1.0, (B, L)))
    scale = rng.choice([0.01, 0.1, 0.6], size=(B, 1))
    old = np.minimum(roll + scale * rng.standard_normal((B, L)), 0.0)
    old[0, 0], roll[0, 0] = np.log(1e-12), np.log(0.9)         # ℓ = −27.6: no clamp in OpenRLHF's ratio or vllm_kl
    return {"action_log_probs": np.where(mask, old, 0.0).astype(np.float32),
            "rollout_log_probs": np.where(mask, roll, 0.0).astype(np.float32), "action_mask": mask}


def _t(a):
    return torch.as_tensor(np.asarray(a, np.float64))


CASES = [("tis", None), ("icepop", None), ("icepop", (0.8, 1.25)), ("seq-mask-tis", (0.95, 1.05)),
         ("seq-mask-tis", None), ("tis", (0.9, 1.1))]


@pytest.mark.parametrize("i, kind, threshold", [(i, *c) for i, c in enumerate(CASES)])
def test_masks_and_vllm_kl_reproduce_openrlhf(capsys, tmp_path, i, kind, threshold):
    data = _batch(i)
    path = tmp_path / f"exp{('.pt', '.npz', '.safetensors')[i % 3]}"
    write_dump(path, data)
    argv = ["--openrlhf", kind] + (["--openrlhf-threshold", *map(str, threshold)] if threshold else [])
    code, out, err = run(capsys, "audit", path, *argv, "--mask-out", tmp_path / "m.npz", "--json")
    assert code == 0, err
    p = json.loads(out)
    assert p["keys"] == {"old": "action_log_probs", "rollout": "rollout_log_probs", "mask": "action_mask"}
    vllm_is, vllm_kl = reference(_t(data["action_log_probs"]), _t(data["rollout_log_probs"]),
                                 _t(data["action_mask"]), kind, threshold or (0.5, 5.0))
    assert math.isclose(p["metrics"]["vllm_kl"], vllm_kl, rel_tol=1e-9)
    valid = data["action_mask"]
    dropped = (vllm_is == 0).numpy() & valid
    assert np.array_equal(np.load(tmp_path / "m.npz")["mask"], valid & ~dropped)
    label = f"openrlhf:{kind}:{(threshold or (0.5, 5.0))[0]:g}_{(threshold or (0.5, 5.0))[1]:g}"
    c = p["criteria"][label]
    assert c["token_masked_fraction"] == pytest.approx(dropped.sum() / valid.sum(), rel=1e-12)
    if kind == "tis":
        raw = torch.exp(_t(data["action_log_probs"]) - _t(data["rollout_log_probs"]))
        assert c["clamped_tokens"] == int(((raw != vllm_is).numpy() & valid).sum()) > 0
    if kind == "seq-mask-tis":
        d = [x for x in p["suite"]["docs_vs_code"] if x.get("dialect") == "openrlhf"][0]
        kept = (vllm_is > 0).numpy() & valid
        assert d["code"] == pytest.approx(float(vllm_is.numpy()[kept].max()), rel=1e-12)
        assert d["docs"] <= (threshold or (0.5, 5.0))[1]


def test_openrlhf_names_need_no_keys_and_the_default_type(capsys, tmp_path):
    write_dump(tmp_path / "e.pt", _batch(9))
    code, out, err = run(capsys, "audit", tmp_path / "e.pt", "--json")
    assert code == 0, err
    assert json.loads(out)["keys"]["old"] == "action_log_probs"
    code, out, _ = run(capsys, "audit", tmp_path / "e.pt", "--openrlhf")
    assert code == 0 and "openrlhf metrics (vllm_kl)" in out and "openrlhf:tis:0.5_5" in out


def test_bounds_are_inclusive():
    m = np.ones((1, 2), bool)
    for kind in ("icepop", "seq-mask-tis"):
        for lo, hi in ((1.0, 2.0), (0.5, 1.0)):
            assert openrlhf.keep(openrlhf.parse_openrlhf(kind, (lo, hi)), np.zeros((1, 2)), m).all()


@pytest.mark.parametrize("argv, message", [
    (["--openrlhf", "mis"], "--openrlhf 'mis': unknown is_correction_type"),
    (["--openrlhf", "icepop", "--openrlhf-threshold", "2", "1"], "give finite 0 ≤ LOW ≤ HIGH"),
    (["--openrlhf-threshold", "0.5", "2"], "without --openrlhf TYPE"),
    (["--openrlhf", "icepop", "--openrlhf-threshold", "-1", "2"], "argument --openrlhf-threshold"),
])
def test_bad_options_exit_2(capsys, tmp_path, argv, message):
    write_dump(tmp_path / "e.npz", _batch(1))
    code, out, err = run(capsys, "audit", tmp_path / "e.npz", *argv)
    assert code == 2 and out == "" and err.startswith("trm audit: error:") and message in err, err
    with pytest.raises(TRMInputError, match="two numbers"):
        openrlhf.parse_openrlhf("tis", (1.0,))
