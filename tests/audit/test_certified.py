"""The audit's statements with a confidence level (numerics.intervals): sup_R|Error| with its interval, the
improvement certificate, and the bound inputs that are means. Checked on dumps drawn from an automaton pair
whose every sequence is enumerated (the exact truth), at level 1 − 1e-6 so that a single check fails by
chance with probability ≤ 1e-6; padding never changes a number; bad input exits 2 or is flagged."""
import json

import numpy as np
import pytest

from audit.readers import write_dump
from audit.run import AuditConfig, audit_file, audit_files
from gpu_sim.coverage import sample_dump
from numerics.enumeration import exact_by_enumeration, worst_case_error
from numerics.exact import exact_quantities
from numerics.generators import MismatchModel, random_pair
from numerics.martingale import sequence_brackets
from tests.cli.runner import run

LEVEL = 1 - 1e-6


@pytest.fixture(scope="module")
def pair():
    return random_pair("automaton", 3, states=4, vocab=2, T=12, prompts=2, mismatch=MismatchModel("dense", sigma=0.6))


def _audit(tmp_path, data, name="d.npz", **cfg):
    path = tmp_path / name
    write_dump(path, data)
    return audit_file(path, AuditConfig(**cfg))["suite"]


def test_interval_and_certificate_hold_against_the_enumerated_truth(tmp_path, pair):
    truth = worst_case_error(pair).value
    q = exact_quantities(pair, tv_seq_budget=0, second_moments=False)
    tv_seq = exact_by_enumeration(pair).tv_seq
    su = _audit(tmp_path, sample_dump(pair, 4000, seed=1), level=LEVEL)
    w, c = su["worst_case_error"], su["certificate"]
    assert w["level"] == c["level"] == LEVEL and w["n"] == 4000
    assert w["lower"] <= truth <= w["upper"], (w, truth)
    assert w["lower"] <= w["estimate"] <= w["upper"] and w["upper"] < 3 * truth      # informative
    assert c["improvement_lower"] <= q.J_theta - q.J_roll and c["surrogate_lower"] <= q.surrogate
    assert c["holds"] == (c["improvement_lower"] > 0)
    fm = su["bounds"]["from_means"]
    assert fm["tv_seq"]["lower"] <= tv_seq <= fm["tv_seq"]["upper"]
    assert fm["kl_seq"]["lower"] <= q.kl_seq <= fm["kl_seq"]["upper"]
    assert fm["tv_sum"]["lower"] <= q.tv_pos_mean.sum() <= fm["tv_sum"]["upper"]
    # the linear bound is C·Σ_t D̄_t (C = 4 paper, 2 sharp), evaluated through proofs/ at the upper end
    assert fm["linear_bound"]["paper"] == pytest.approx(4 * fm["tv_sum"]["upper"], rel=1e-12)
    assert fm["linear_bound"]["sharp"] == pytest.approx(2 * fm["tv_sum"]["upper"], rel=1e-12)
    assert truth <= fm["linear_bound"]["sharp"]


def test_the_audit_reads_w_by_the_one_definition_and_ignores_padding(tmp_path, pair):
    data = sample_dump(pair, 300, seed=2)
    padded = sample_dump(pair, 300, seed=2, pad=7)
    a, b = _audit(tmp_path, data, "a.npz"), _audit(tmp_path, padded, "b.npz")
    for key in ("estimate", "lower", "upper"):
        assert a["worst_case_error"][key] == pytest.approx(b["worst_case_error"][key], rel=1e-12, abs=1e-15)
    lr = data["old_log_probs"] - data["rollout_log_probs"]
    W, _ = sequence_brackets(lr.T)
    assert a["worst_case_error"]["estimate"] == pytest.approx(np.maximum(-W, 0).mean(), rel=1e-12)
    assert a["certificate"]["improvement_lower"] == pytest.approx(b["certificate"]["improvement_lower"], rel=1e-9)


def test_plug_in_numbers_stay_and_say_so(tmp_path, pair):
    su = _audit(tmp_path, sample_dump(pair, 50, seed=3))
    assert "plugin_certificate_paper" in su["surrogate"] and "no confidence level" in su["surrogate"]["plugin_reading"]
    assert su["bounds"]["reading"].startswith("plug-in")
    assert "upper confidence bound on a maximum needs an assumption" in su["bounds"]["reading"]
    assert {"kl_seq", "chi2_sum", "tv_sum", "tv_seq", "linear_bound"} <= set(su["bounds"]["from_means"])


def test_several_steps_line_up_the_intervals(tmp_path, pair):
    paths = []
    for k in range(2):
        paths.append(tmp_path / f"s{k}.npz")
        write_dump(paths[-1], {**sample_dump(pair, 40, seed=k), "global_steps": np.array(k + 1)})
    tr = audit_files(paths, AuditConfig())["trends"]
    assert len(tr["suite/worst_case_error_upper"]) == 2 and len(tr["suite/certified_improvement_lower"]) == 2


def test_command_line_level_json_and_bad_input(capsys, tmp_path, pair):
    path = tmp_path / "d.npz"
    write_dump(path, sample_dump(pair, 200, seed=4))
    code, out, err = run(capsys, "audit", path, "--level", "0.9", "--json")
    assert code == 0, err
    p = json.loads(out)
    w, c = p["suite"]["worst_case_error"], p["suite"]["certificate"]
    assert {"estimate", "lower", "upper", "level", "method"} <= set(w) and w["level"] == 0.9
    assert {"holds", "level", "improvement_lower", "method"} <= set(c) and c["level"] == 0.9
    assert "NaN" not in out
    code, out, _ = run(capsys, "audit", path)
    assert code == 0 and "95% interval" in out and "certificate at level 0.95" in out
    for bad in ("0", "1", "1.2", "-0.1", "nan", "x"):
        code, out, err = run(capsys, "audit", path, "--level", bad)
        assert code == 2 and out == "" and err.startswith("trm audit: error:") and "--level" in err, err
        assert err.count("\n") == 1
    # every row masked: one line, exit 2
    data = sample_dump(pair, 5, seed=5)
    data["response_mask"][:] = 0
    write_dump(tmp_path / "empty.npz", data)
    code, out, err = run(capsys, "audit", tmp_path / "empty.npz")
    assert code == 2 and "no valid token" in err and err.count("\n") == 1
    # one row: the audit runs, the intervals are flagged as unavailable (never a NaN)
    write_dump(tmp_path / "one.npz", sample_dump(pair, 1, seed=6))
    code, out, err = run(capsys, "audit", tmp_path / "one.npz", "--json")
    assert code == 0, err
    p = json.loads(out)
    assert p["suite"]["worst_case_error"] == {"available": False, "why": p["suite"]["worst_case_error"]["why"]}
    assert "at least 2" in p["suite"]["worst_case_error"]["why"] and "NaN" not in out
    assert p["suite"]["bounds"]["from_means"]["available"] is False
