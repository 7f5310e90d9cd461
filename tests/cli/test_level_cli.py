"""--level on `trm simulate` and `trm train`: the interval and the certificate at the stated level in the
JSON, and a level outside (0, 1) refused with one line and exit code 2."""
import json

import pytest

from tests.cli.runner import run


def test_simulate_reports_the_interval_and_the_certificate(capsys):
    code, out, err = run(capsys, "simulate", "--family", "automaton", "--T", "8", "--samples", "200", "--level", "0.8",
                         "--json")
    assert code == 0, err
    p = json.loads(out)
    w, c = p["worst_case_error_interval"], p["certificate"]
    assert w["level"] == c["level"] == 0.8 and w["lower"] <= w["estimate"] <= w["upper"]
    assert w["estimate"] == pytest.approx(p["worst_case_error"]["mean"])          # the point estimate is kept
    assert c["holds"] == (c["improvement_lower"] > 0) and "NaN" not in out
    code, out, _ = run(capsys, "simulate", "--family", "automaton", "--T", "8", "--samples", "200")
    assert code == 0 and "80%" not in out and "95% interval" in out and "certificate at level 0.95" in out


@pytest.mark.parametrize("command", [["simulate", "--family", "automaton", "--T", "8", "--samples", "20"],
                                     ["train", "--T", "4", "--steps", "1"]])
@pytest.mark.parametrize("level", ["0", "1", "95", "-0.5", "nan", "inf", "high"])
def test_levels_outside_the_unit_interval_exit_2(capsys, command, level):
    code, out, err = run(capsys, *command, "--level", level)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"trm {command[0]}: error: argument --level") and "strictly between 0 and 1" in err


def test_train_certify_rows_of_one_is_refused(capsys):
    code, out, err = run(capsys, "train", "--T", "4", "--steps", "1", "--certify-rows", "1")
    assert code == 2 and "certify_rows = 1" in err and "at least 2" in err and err.count("\n") == 1
