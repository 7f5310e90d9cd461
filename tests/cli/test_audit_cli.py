"""`trm audit`: on random padded batches its --mask-out and its metrics are verl's (the independent
torch transcription in tests/audit/verl_reference.py), in every input format; the JSON contract,
the report, several steps, the example dump, and bad input with exit code 2."""
import json
import math

import numpy as np
import pytest
import torch

from audit.dialects import verl
from audit.readers import write_dump
from tests.audit import verl_reference as ref
from tests.cli.runner import run

FORMATS = [".npz", ".pt", ".safetensors", ".parquet"]
OPTION_THRESHOLDS = {"token_k1": "0.6_1.4", "token_k2": "0.02", "token_k3": "0.01", "seq_sum_k1": "0.5_2.0",
                     "seq_sum_k2": "0.3", "seq_sum_k3": "0.3", "seq_mean_k1": "0.95_1.1", "seq_mean_k2": "0.01",
                     "seq_mean_k3": "0.005", "seq_max_k2": "0.05", "seq_max_k3": "0.1"}


def _batch(seed, B=24, L=30):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, L + 1, size=B)
    lengths[-1] = L
    mask = np.arange(L)[None, :] < lengths[:, None]
    roll = np.log(rng.uniform(0.02, 1.0, (B, L)))
    old = np.minimum(roll + 0.15 * rng.standard_normal((B, L)) * rng.choice([0.1, 1.0], (B, 1)), 0.0)
    junk = rng.normal(0, 30, (B, L))
    return np.where(mask, old, junk), np.where(mask, roll, -junk), mask


def _write(tmp_path, seed, suffix, **extra):
    old, roll, mask = _batch(seed)
    path = tmp_path / f"step{seed}{suffix}"
    write_dump(path, {"old_log_probs": old.astype(np.float32), "rollout_log_probs": roll.astype(np.float32),
                      "response_mask": mask.astype(np.int64), **extra})
    # what verl sees: float32 tensors (padding cut by the parquet format does not matter: never read)
    return path, old.astype(np.float32).astype(np.float64), roll.astype(np.float32).astype(np.float64), mask


def _reference(old, roll, mask, **cfg):
    t = lambda a: torch.as_tensor(a, dtype=torch.float64)
    m, metrics = ref.correction(t(old), t(roll), t(mask.astype(np.float64)), **cfg)
    return m.numpy().astype(bool), metrics


def _assert_metrics(got, expected):
    assert set(got) == set(expected)
    for key, value in expected.items():
        rel = 2e-7 if "fraction" in key else 1e-9
        if key.endswith("_std") and not key.endswith("seq_std"):
            assert math.isclose(got[key] ** 2, value ** 2, rel_tol=1e-9, abs_tol=1e-13), key
        else:
            assert math.isclose(got[key], value, rel_tol=rel, abs_tol=1e-12), (key, got[key], value)


@pytest.mark.parametrize("i, option", list(enumerate(verl.OPTIONS)))
def test_mask_out_and_metrics_reproduce_verl_for_every_option(capsys, tmp_path, i, option):
    suffix = FORMATS[i % len(FORMATS)]
    path, old, roll, mask = _write(tmp_path, i, suffix)
    out_mask = tmp_path / "mask.npz"
    code, out, err = run(capsys, "audit", path, "--rollout-rs", option, "--rollout-rs-threshold",
                         OPTION_THRESHOLDS[option], "--mask-out", out_mask, "--json")
    assert code == 0, err
    payload = json.loads(out)
    expected_mask, expected = _reference(old, roll, mask, rollout_rs=option,
                                         rollout_rs_threshold=OPTION_THRESHOLDS[option])
    got = np.load(out_mask)["mask"]
    assert got.shape == mask.shape
    assert np.array_equal(got, expected_mask)
    _assert_metrics(payload["metrics"], expected)


@pytest.mark.parametrize("suffix, options, thresholds, is_args", [
    (".npz", "token_k1,seq_max_k2", "0.6_1.6,2.5", ["--rollout-is", "token"]),
    (".pt", "seq_max_k2,seq_mean_k3", "0.05,0.001", ["--rollout-is", "sequence", "--rollout-is-batch-normalize"]),
    (".parquet", "token_k1,token_k3,seq_sum_k1,seq_mean_k1,seq_max_k3", "1.5,0.02,3.0,1.05,0.2", []),
    (".safetensors", "seq_mean_k2,seq_sum_k3,token_k2", "0.01", ["--rollout-is", "token", "--rollout-is-threshold", "1.5"]),
])
def test_combinations_and_is_metrics_reproduce_verl(capsys, tmp_path, suffix, options, thresholds, is_args):
    path, old, roll, mask = _write(tmp_path, 40, suffix)
    code, out, err = run(capsys, "audit", path, "--rollout-rs", options, "--rollout-rs-threshold", thresholds,
                         "--mask-out", tmp_path / "m.npz", "--json", *is_args)
    assert code == 0, err
    cfg = {"rollout_rs": options, "rollout_rs_threshold": thresholds}
    if is_args:
        cfg.update(rollout_is=is_args[1], batch_normalize="--rollout-is-batch-normalize" in is_args,
                   rollout_is_threshold=float(is_args[-1]) if "--rollout-is-threshold" in is_args else 2.0)
    expected_mask, expected = _reference(old, roll, mask, **cfg)
    assert np.array_equal(np.load(tmp_path / "m.npz")["mask"], expected_mask)
    _assert_metrics(json.loads(out)["metrics"], expected)


def test_a_preset_by_name(capsys, tmp_path):
    path, old, roll, mask = _write(tmp_path, 3, ".npz")
    code, out, _ = run(capsys, "audit", path, "--preset", "decoupled_geo_rs_token_tis", "--json",
                       "--mask-out", tmp_path / "m.npz")
    assert code == 0
    expected_mask, expected = _reference(old, roll, mask, rollout_is="token", rollout_is_threshold=2.0,
                                         rollout_rs="seq_mean_k1", rollout_rs_threshold="0.999_1.001")
    assert np.array_equal(np.load(tmp_path / "m.npz")["mask"], expected_mask)
    _assert_metrics(json.loads(out)["metrics"], expected)


def test_json_contract_and_both_k1_readings(capsys, tmp_path):
    path, *_ = _write(tmp_path, 5, ".npz", token_level_scores=np.full((24, 30), 0.01, np.float32))
    code, out, _ = run(capsys, "audit", path, "--rollout-rs", "token_k1", "--rollout-rs-threshold", "0.6_1.4",
                       "--slime", "geometric:0.99_1.01", "--slime-veto", "1e-3", "--criterion",
                       "seq_max_k2:0.05,ser:0.1", "--json")
    assert code == 0
    p = json.loads(out)
    assert {"metrics", "criteria", "suite"} <= set(p)
    assert all(k.startswith("rollout_corr/") for k in p["metrics"])
    assert {"verl:token_k1:0.6_1.4", "verl:token_k1:0.6_1.4 (docs reading)", "slime", "suite:seq_max_k2:0.05",
            "suite:ser:0.1", "suite:seq_max_k2:0.05,ser:0.1"} <= set(p["criteria"])
    assert {"estimates", "sampled_maxima", "bounds", "threshold", "docs_vs_code", "surrogate"} <= set(p["suite"])
    k1 = [d for d in p["suite"]["docs_vs_code"] if d.get("option") == "token_k1:0.6_1.4"][0]
    assert k1["code"]["keeps_ratio_in"] == pytest.approx([1 / 1.4, 1 / 0.6])
    assert k1["docs"]["keeps_ratio_in"] == [0.6, 1.4]
    assert isinstance(p["suite"]["bounds"]["verdict"]["vacuous"], bool)


def test_docs_reading_writes_the_documented_mask(capsys, tmp_path):
    path, old, roll, mask = _write(tmp_path, 6, ".npz")
    code, _, _ = run(capsys, "audit", path, "--rollout-rs", "token_k1", "--rollout-rs-threshold", "0.6_1.4",
                     "--k1-reading", "docs", "--mask-out", tmp_path / "d.npz")
    assert code == 0
    ratio = np.exp(np.clip(old - roll, -20, 20))
    assert np.array_equal(np.load(tmp_path / "d.npz")["mask"], mask & (ratio >= 0.6 * (1 - 1e-12)) & (ratio <= 1.4 * (1 + 1e-12)))


def test_several_steps_report_and_human_output(capsys, tmp_path):
    paths = [_write(tmp_path, s, ".npz", global_steps=np.array(10 * s))[0] for s in (1, 2, 3)]
    code, out, err = run(capsys, "audit", *paths, "--rollout-rs", "seq_max_k2", "--rollout-rs-threshold", "0.05",
                         "--report", tmp_path / "rep", "--json")
    assert code == 0, err
    p = json.loads(out)
    assert p["trends"]["step"] == [10, 20, 30] and len(p["steps"]) == 3
    assert len(p["metrics"]["rollout_corr/kl"]) == 3
    for name in ("report.md", "acceptance_vs_length.png", "divergence_histograms.png", "bound_vs_budget.png",
                 "trends.png"):
        assert (tmp_path / "rep" / name).stat().st_size > 0, name
    assert "## verl metrics" in (tmp_path / "rep" / "report.md").read_text()
    code, out, err = run(capsys, "audit", *paths, "--rollout-rs", "seq_max_k2", "--rollout-rs-threshold", "0.05")
    assert code == 0 and "3 steps" in out and "rollout_corr/kl" in out and "plug-in B*" in out
    assert err == ""          # no progress bar when stderr is not a terminal


@pytest.mark.parametrize("suffix", [".pt", ".parquet"])
def test_example_dump_audits_out_of_the_box(capsys, tmp_path, suffix):
    out_file = tmp_path / f"ex{suffix}"
    code, out, _ = run(capsys, "audit", "--example", out_file, "--example-batch", "24", "--example-length", "40",
                       "--example-vocab", "16", "--json")
    assert code == 0
    written = json.loads(out)["written"][0]
    assert written["lengths"]["min"] < written["lengths"]["max"]            # the EOS token makes lengths vary
    code, out, _ = run(capsys, "audit", out_file, "--preset", "decoupled_k3_rs", "--json")
    assert code == 0
    p = json.loads(out)
    assert p["step"] == 1 and p["tokens"] == p["suite"]["tokens"] < 24 * 40
    assert "rollout_corr/rollout_rs_seq_mean_k3_mean" in p["metrics"]


def test_example_with_distributions_gives_exact_quantities(capsys, tmp_path):
    f = tmp_path / "full.npz"
    assert run(capsys, "audit", "--example", f, "--example-batch", "16", "--example-length", "24", "--example-vocab",
               "12", "--example-distributions", "full")[0] == 0
    code, out, _ = run(capsys, "audit", f, "--criterion", "trm_max:0.05,trm_avg:0.01", "--json")
    assert code == 0
    p = json.loads(out)
    assert p["distributions"] == "full" and p["suite"]["bounds"]["chi2"]["available"]
    assert "kl_seq_exact" in p["suite"]["estimates"]


@pytest.mark.parametrize("argv, message", [
    (["--rollout-rs", "seq_max_k1", "--rollout-rs-threshold", "1"], "unknown option 'seq_max_k1'"),
    (["--rollout-rs", "token_k2,token_k3", "--rollout-rs-threshold", "1,2,3"], "3 thresholds for 2 option"),
    (["--rollout-rs", "token_k2"], "--rollout-rs-threshold: required"),
    (["--rollout-rs-threshold", "0.1"], "without --rollout-rs"),
    (["--preset", "nope"], "unknown verl preset"),
    (["--criterion", "trm_max:0.05"], "needs the exact per-token KL"),
    (["--slime", "seq:1_2"], "level 'seq' unknown"),
    (["--keys", "old"], "ROLE=KEY"),
    (["--budget", "-1"], "budget"),
])
def test_bad_options_exit_2(capsys, tmp_path, argv, message):
    path, *_ = _write(tmp_path, 8, ".npz")
    code, out, err = run(capsys, "audit", path, *argv)
    assert code == 2 and out == ""
    assert err.startswith("trm audit: error:") and message in err, err


def test_bad_files_exit_2(capsys, tmp_path):
    old, roll, mask = _batch(9)
    bad = tmp_path / "bad.npz"
    roll[2, 3] = 0.5
    np.savez(bad, old_log_probs=old, rollout_log_probs=roll, response_mask=mask)
    code, _, err = run(capsys, "audit", bad)
    assert code == 2 and "rollout_log_probs[2, 3] = 0.5" in err and "positive log-probability" in err
    code, _, err = run(capsys, "audit", bad, bad, "--mask-out", tmp_path / "m.npz")
    assert code == 2 and "--mask-out: give a single dump file" in err
    code, _, err = run(capsys, "audit")
    assert code == 2 and "give one or more dump files" in err
