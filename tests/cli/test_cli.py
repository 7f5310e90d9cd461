"""The `trm` command line: JSON contracts, human output, and errors with a non-zero exit."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from numerics.generators import random_tabular
from numerics.io import save_pair
from trm.cli import main
from tests.cli.runner import run

EXACT_KEYS = {"T", "J_roll", "J_theta", "surrogate", "error", "delta_identity", "kl_tok_max", "tv_tok_max", "kl_seq",
              "tv_seq", "tv_seq_upper", "positions", "bounds", "sharp_bounds", "worst_case_error"}
SUMMARY_KEYS = {"n", "mean", "sum", "max", "argmax_t", "min", "argmin_t", "first", "last"}
BOUND_KEYS = {"classical", "coupling", "linear", "pinsker_marginal_kl", "pinsker_marginal_tv", "mixed_kl", "mixed_tv",
              "adaptive_kl", "adaptive_tv", "adaptive_hybrid", "unified", "argmin"}
CHI2_KEYS = {"chi2_max", "chi2_mixed", "chi2_exact", "unified_with_chi2", "argmin_with_chi2"}
PATH_KEYS = {"sequence_kl", "additive", "tangent", "weighted_chi2", "best", "argmin_best"}


@pytest.fixture
def pair_file(tmp_path, capsys):
    path = tmp_path / "pair.npz"
    code = main(["random", "--family", "kgram", "--seed", "3", "--T", "5", "--vocab", "3", "--out", str(path)])
    assert code == 0
    capsys.readouterr()
    return path


def test_exact_json_contract(capsys, pair_file):
    code, out, _ = run(capsys, "exact", str(pair_file), "--json")
    assert code == 0
    payload = json.loads(out)
    assert EXACT_KEYS | {"chi2_tok_max", "chi2_tok_max_context", "chi2_seq", "second_moment"} <= set(payload)
    keys = BOUND_KEYS | CHI2_KEYS | PATH_KEYS
    assert set(payload["bounds"]) == keys and set(payload["sharp_bounds"]) == keys
    assert "tv_pos_mean" not in payload and "kl_pos_mean" not in payload          # summarised, not listed
    positions = payload["positions"]
    assert positions["file"] is None and positions["in_json"] is False
    assert set(positions["summary"]) == {"tv_pos_mean", "kl_pos_mean"}
    for summary in positions["summary"].values():
        assert set(summary) == SUMMARY_KEYS and summary["n"] == payload["T"] == 5
        assert summary["min"] <= summary["mean"] <= summary["max"] and 1 <= summary["argmax_t"] <= 5
    assert math.isclose(positions["summary"]["kl_pos_mean"]["sum"], payload["kl_seq"], rel_tol=1e-12)
    assert payload["tv_seq"] is not None and payload["worst_case_error"] is not None
    assert payload["worst_case_error"] <= payload["sharp_bounds"]["unified"]
    assert math.isclose(payload["error"], -payload["delta_identity"], rel_tol=1e-9, abs_tol=1e-15)


def test_exact_enumerate_matches_dp(capsys, pair_file):
    _, dp, _ = run(capsys, "exact", str(pair_file), "--json")
    _, en, _ = run(capsys, "exact", str(pair_file), "--json", "--method", "enumerate")
    dp, en = json.loads(dp), json.loads(en)
    for key in ("J_roll", "J_theta", "surrogate", "error", "kl_seq", "tv_seq"):
        assert math.isclose(dp[key], en[key], rel_tol=1e-9, abs_tol=1e-14), key


def test_exact_human_output(capsys, pair_file):
    code, out, _ = run(capsys, "exact", str(pair_file))
    assert code == 0 and "unified B*" in out and "sharp constants" in out


def test_worst_reward_is_written(capsys, pair_file, tmp_path):
    target = tmp_path / "worst.npz"
    code, out, _ = run(capsys, "exact", str(pair_file), "--json", "--worst-reward-out", str(target))
    assert code == 0
    with np.load(target) as data:
        assert set(np.unique(data["reward"])) <= {0.0, 1.0}
        assert data["reward"].shape == (len(data["prompt_states"]), 3**5)


def test_long_horizon_reports_tv_seq_unavailable(capsys, tmp_path):
    path = tmp_path / "long.npz"
    main(["random", "--family", "automaton", "--seed", "1", "--T", "300", "--out", str(path)])
    capsys.readouterr()
    code, out, _ = run(capsys, "exact", str(path), "--json")
    payload = json.loads(out)
    assert code == 0 and payload["tv_seq"] is None and payload["worst_case_error"] is None
    assert any("tv_seq" in note for note in payload["bound_notes"])


def test_support_mismatch_reports_infinity(capsys, tmp_path):
    pair = random_tabular(np.random.default_rng(3), vocab=2, T=2, prompts=1)
    theta = pair.theta.copy()
    theta[0, 0] = [1.0, 0.0]
    path = tmp_path / "inf.npz"
    save_pair(path, type(pair)(pair.roll, theta, pair.reward, pair.prompt))
    code, out, _ = run(capsys, "exact", str(path), "--json")
    payload = json.loads(out)
    strict = json.loads(out, parse_constant=lambda name: pytest.fail(f"non-standard JSON constant {name}"))
    assert code == 0 and strict["kl_tok_max"] == "Infinity" and float(strict["kl_tok_max"]) == math.inf
    assert "prefix ()" in payload["kl_tok_max_context"]


@pytest.mark.parametrize("argv, message", [
    (["exact", "missing.npz"], "no such file"),
    (["bounds", "--T", "4096", "--kl-max", "1e-4", "--tv-max", "0.5"], "Pinsker cap"),
    (["bounds", "--T", "4096", "--kl-max", "-1"], "cannot be negative"),
    (["bounds", "--T", "10", "--kl-max", "1e-3", "--kl-seq", "1"], "chain rule"),
    (["random", "--family", "nope", "--seed", "1", "--out", "x.npz"], "unknown"),
    (["random", "--family", "kgram", "--seed", "1", "--out", "x.npz", "--mismatch", "bogus"], "unknown model"),
    (["threshold", "--T", "100", "--budget", "0"], "budget"),
    (["bench", "nothing"], "unknown benchmark"),
])
def test_bad_input_exits_non_zero_with_a_message(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err and "Traceback" not in err and out == ""


def test_argument_errors_exit_non_zero(capsys):
    with pytest.raises(SystemExit) as info:
        main(["bounds", "--T", "0", "--kl-max", "1e-4"])
    assert info.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err


def test_bounds_json_reproduces_the_paper(capsys):
    code, out, _ = run(capsys, "bounds", "--T", "4096", "--kl-max", "1e-4", "--tv-max", "5e-3", "--kl-seq", "0.01",
                       "--tv-seq", "0.05", "--json")
    payload = json.loads(out)
    assert code == 0 and set(payload["bounds"]) == BOUND_KEYS | PATH_KEYS
    assert round(payload["bounds"]["mixed_tv"], 3) == 4.096 and payload["bounds"]["argmin"] == "mixed_tv"


def test_threshold_json(capsys):
    code, out, _ = run(capsys, "threshold", "--T", "4096", "--budget", "0.05", "--json")
    payload = json.loads(out)
    assert code == 0 and payload["kl_max_threshold"] > 0
    assert payload["unified_at_threshold"] <= 0.05


def test_tables_exit_zero_when_everything_agrees(capsys):
    code, out, _ = run(capsys, "tables", "--json")
    payload = json.loads(out)
    assert code == 0 and payload["all_agree_modulo_slips"] and len(payload["slips"]) == 4
    # all_agree means what it says: four cells carry a slip, so not every cell agrees outright
    disagree = [c for c in payload["cells"] if not c["agrees"]]
    assert payload["all_agree"] is (not disagree) and len(disagree) == payload["summary"]["explained_by_slip"] == 4
    assert all(c["agrees_modulo_slip"] and c["slip"] for c in disagree)


def test_proofs_command(capsys):
    code, out, _ = run(capsys, "proofs", "--json")
    payload = json.loads(out)
    assert code == 0 and payload["failed_steps"] == 0 and len(payload["derivations"]) >= 24


def test_bench_exact_small(capsys):
    code, out, _ = run(capsys, "bench", "exact", "--states", "4", "--vocab", "4", "--T", "64", "128", "--repeats", "1",
                       "--json")
    records = json.loads(out)["records"]
    assert code == 0 and [r["T"] for r in records] == [64, 128]


def test_bench_exact_times_the_whole_command(capsys):
    code, out, _ = run(capsys, "bench", "exact", "--states", "3", "--vocab", "2", "--T", "32", "--repeats", "1",
                       "--command", "--json")
    (record,) = json.loads(out)["records"]
    assert code == 0 and record["command_seconds"] > 0 and record["command_peak_rss_bytes"] > 2**20
    assert record["command_over_engine"] == pytest.approx(record["command_seconds"] / record["suite_seconds"])


@pytest.mark.slow
def test_bench_startup(capsys):
    code, out, _ = run(capsys, "bench", "startup", "--runs", "1", "--json")
    p = json.loads(out)
    assert code == 0 and set(p["over_import_numpy"]) == {"trm bounds", "trm threshold", "trm --help"}
    assert all(s["median"] > 0 for s in p["wall_seconds"].values())


def test_console_script_entry_point():
    result = subprocess.run([sys.executable, "-m", "trm", "bounds", "--T", "16", "--kl-max", "1e-3", "--json"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0 and json.loads(result.stdout)["T"] == 16


def test_simulate_json_contract(capsys, pair_file):
    code, out, _ = run(capsys, "simulate", str(pair_file), "--samples", "200", "--device", "cpu",
                       "--criterion", "trm_max:0.05", "--criterion", "seq_max_k2:2.5,seq_mean_k3:0.01", "--json")
    payload = json.loads(out)
    assert code == 0
    for key in ("error", "objective_gap", "surrogate"):
        assert set(payload[key]) == {"mean", "se", "n"} and payload[key]["n"] == 200
    assert {"kl_tok_max_sampled", "kl_seq", "acceptance", "exact"} <= set(payload)
    assert set(payload["acceptance"]) == {"trm_max:0.05", "seq_max_k2:2.5,seq_mean_k3:0.01", "reference"}
    assert math.isclose(payload["exact"]["error"], json.loads(run(capsys, "exact", str(pair_file), "--json")[1])["error"])


def test_simulate_generated_family_human(capsys):
    code, out, _ = run(capsys, "simulate", "--family", "counter", "--T", "64", "--samples", "100", "--device", "cpu")
    assert code == 0 and "±" in out and "exact" in out


@pytest.mark.parametrize("argv, message", [
    (["simulate", "--family", "nope", "--T", "8", "--samples", "10"], "unknown"),
    (["simulate", "--family", "kgram", "--T", "8", "--samples", "10", "--criterion", "token_k1:0.5"], "lower_upper"),
    (["simulate", "--family", "kgram", "--T", "8", "--samples", "10", "--device", "cuda:7"], "device"),
    (["simulate", "--family", "kgram", "--T", "8", "--samples", "10", "--device", "tpu"], "device"),
    (["simulate", "--family", "kgram", "--samples", "10"], "--T"),
    (["simulate", "--samples", "10", "--T", "8"], "FILE.npz or --family"),
    (["simulate", "--family", "neural", "--T", "8", "--samples", "10", "--dtype", "int8"], "dtype"),
])
def test_simulate_bad_input(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err and "Traceback" not in err


def test_simulate_rejects_non_positive_sizes(capsys):
    for flag in ("--T", "--samples"):
        argv = ["simulate", "--family", "kgram", "--T", "8", "--samples", "10"]
        argv[argv.index(flag) + 1] = "0"
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        assert "must be at least 1" in capsys.readouterr().err


def test_bench_sim_small(capsys):
    code, out, _ = run(capsys, "bench", "sim", "--batch", "16", "--T", "32", "--vocab", "8", "--baseline-T", "8",
                       "--device", "cpu", "--json")
    record = json.loads(out)["records"][0]
    assert code == 0 and record["fast_tokens_per_s"] > 0 and record["baseline_tokens_per_s"] > 0


def test_trm_figures_delegates(capsys, tmp_path):
    code = main(["figures", "--only", "tables", "--fast", "--out", str(tmp_path / "o"), "--cache", str(tmp_path / "c")])
    assert code == 0 and (tmp_path / "o" / "tables.png").exists()
    assert main(["figures", "--only", "nope"]) == 2
    assert "unknown figure" in capsys.readouterr().err


def test_train_json(capsys):
    code, out, _ = run(capsys, "train", "--objective", "trm_max:0.05", "--T", "8", "--hidden", "8", "--prompts", "2",
                       "--group", "2", "--steps", "2", "--pretrain-steps", "1", "--json")
    payload = json.loads(out)
    assert code == 0 and payload["config"]["objective"] == "trm_max:0.05" and len(payload["val_reward"]) == 3


def test_train_bad_objective(capsys):
    code, _, err = run(capsys, "train", "--objective", "token_k1:0.5_2", "--steps", "1")
    assert code == 2 and "sequence criterion" in err


def test_exact_json_chi2_family(capsys, pair_file):
    """The χ² family sits beside the paper's bounds with one constant; B** never changes B*."""
    code, out, _ = run(capsys, "exact", str(pair_file), "--json")
    payload = json.loads(out)
    paper, sharp = payload["bounds"], payload["sharp_bounds"]
    for name in ("chi2_max", "chi2_mixed", "chi2_exact"):
        assert paper[name] == sharp[name] and payload["worst_case_error"] <= paper[name]
    assert math.isclose(paper["chi2_exact"], 0.5 * math.sqrt(payload["second_moment"]), rel_tol=1e-12)
    for b in (paper, sharp):
        assert b["unified_with_chi2"] == min(b["unified"], b["chi2_max"], b["chi2_mixed"], b["chi2_exact"])
        assert b[b["argmin_with_chi2"]] == b["unified_with_chi2"]
    assert paper["unified"] == 2 * sharp["unified"] and any("B**" in n for n in payload["chi2_notes"])
    assert "position t=" in payload["chi2_tok_max_context"] and payload["worst_case_method"] == "enumeration"


def test_exact_iid_pair_beyond_enumeration_uses_the_binomial_closed_form(capsys, tmp_path):
    from numerics.iid import symmetric_pair

    path = tmp_path / "iid.npz"
    save_pair(path, symmetric_pair(5e-4, 16))
    code, out, _ = run(capsys, "exact", str(path), "--T", "4096", "--json")
    payload = json.loads(out)
    assert code == 0 and payload["worst_case_method"].startswith("binomial")
    assert math.isclose(payload["worst_case_error"], 9.909e-4, rel_tol=1e-3)
    assert payload["worst_case_error"] <= payload["sharp_bounds"]["chi2_max"] <= 2 * payload["worst_case_error"]


def test_iid_command_prints_the_ratios(capsys):
    code, out, _ = run(capsys, "iid", "--a", "5e-4", "--T", "16", "65536", "--json")
    rows = json.loads(out)["rows"]
    assert code == 0 and [r["T"] for r in rows] == [16, 65536]
    assert all(1 <= r["ratios"]["chi2_max"] <= 2 for r in rows)
    assert rows[0]["ratios"]["unified_sharp"] > 5 and rows[1]["ratios"]["unified_sharp"] > 300
    code, out, _ = run(capsys, "iid", "--p-roll", "0.3", "--p-theta", "0.31", "--T", "8")
    assert code == 0 and "sup_R|Error|" in out


def test_bounds_with_chi2_flags(capsys):
    code, out, _ = run(capsys, "bounds", "--T", "4096", "--kl-max", "1e-4", "--chi2-max", "2e-4", "--json")
    payload = json.loads(out)
    b = payload["bounds"]
    assert code == 0 and set(b) == BOUND_KEYS | CHI2_KEYS | PATH_KEYS and b["chi2_exact"] is None
    assert b["unified"] > 1 > b["chi2_max"] == b["unified_with_chi2"]
    assert math.isclose(b["chi2_mixed"], b["chi2_max"], rel_tol=1e-12)     # χ²_seq at its worst case
    code, out, _ = run(capsys, "bounds", "--T", "4096", "--kl-max", "1e-4", "--chi2-max", "2e-4", "--chi2-seq", "0.5",
                       "--json")
    assert json.loads(out)["bounds"]["chi2_mixed"] < b["chi2_max"]


def test_threshold_chi2(capsys):
    code, out, _ = run(capsys, "threshold", "--T", "4096", "--budget", "0.01", "--divergence", "chi2", "--json")
    payload = json.loads(out)
    assert code == 0 and payload["mask_with"].startswith("trm_chi2:")
    assert payload["chi2_max_bound_at_threshold"] <= 0.01 * (1 + 1e-9)
    code, out, _ = run(capsys, "threshold", "--T", "4096", "--budget", "0.01", "--json")
    assert json.loads(out)["mask_with"].startswith("trm_max:")


@pytest.mark.parametrize("argv, message", [
    (["bounds", "--T", "10", "--kl-max", "1e-3", "--chi2-seq", "0.1"], "needs --chi2-max"),
    (["bounds", "--T", "10", "--kl-max", "1e-3", "--chi2-max", "1e-3", "--chi2-seq", "1"], "recursion"),
    (["bounds", "--T", "10", "--kl-max", "1e-3", "--chi2-max", "-1"], "cannot be negative"),
    (["threshold", "--T", "10", "--budget", "-1", "--divergence", "chi2"], "budget"),
    (["iid", "--T", "10"], "give --a"),
    (["iid", "--T", "10", "--a", "0.7"], "must be at most 0.5"),
    (["iid", "--T", "10", "--a", "0.5"], "(−½, ½)"),
    (["iid", "--T", "10", "--p-roll", "0", "--p-theta", "0.5"], "strictly between"),
])
def test_chi2_bad_input(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err and "Traceback" not in err and out == ""
