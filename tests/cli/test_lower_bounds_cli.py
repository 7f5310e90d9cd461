"""`trm lower-bounds`: the JSON contract, the human table, and one-line errors with exit code 2."""
import json

import pytest

from tests.cli.test_cli import run

ROW_KEYS = {"statistic", "value", "kl_seq_cap", "T", "construction", "worst_case_error", "statistics", "bounds",
            "ratios", "reference", "search"}


def test_json_contract_and_ratios(capsys):
    code, out, err = run(capsys, "lower-bounds", "--statistic", "kl", "--value", "1e-4", "--T", "2", "4096", "--json")
    payload = json.loads(out)
    assert code == 0 and not err
    assert payload["statistic"] == "kl" and [r["T"] for r in payload["rows"]] == [2, 4096]
    for row in payload["rows"]:
        assert set(row) == ROW_KEYS and row["search"] is None
        assert set(row["bounds"]) == {"paper/unified", "sharp/unified"}
        assert all(r >= 1 for r in row["ratios"].values())
        assert row["statistics"]["kl_tok_max"] <= 1e-4
    assert payload["rows"][0]["ratios"]["sharp/unified"] < 1.001          # tight at T = 2
    assert payload["rows"][1]["ratios"]["sharp/unified"] > 50             # loose by √T-ish at T = 4096


def test_search_and_every_statistic(capsys):
    code, out, _ = run(capsys, "lower-bounds", "--statistic", "chi2", "--value", "2e-4", "--T", "3", "--search",
                       "--restarts", "1", "--maxiter", "20", "--json")
    row = json.loads(out)["rows"][0]
    assert code == 0 and row["search"]["statistics"]["chi2_tok_max"] <= 2e-4 * (1 + 1e-12)
    assert set(row["search"]["bounds"]) == {"chi2_max"}
    for argv in (["--statistic", "kl-seq", "--value", "1e-4", "--kl-seq", "1e-3"],
                 ["--statistic", "additive", "--value", "0.5"]):
        code, out, _ = run(capsys, "lower-bounds", *argv, "--T", "64")
        assert code == 0 and "ratio" in out and "worst found" in out


@pytest.mark.parametrize("argv, message", [
    (["--statistic", "kl", "--value", "0", "--T", "8"], "must be positive"),
    (["--statistic", "kl", "--value", "-1", "--T", "8"], "at least 0"),
    (["--statistic", "kl-seq", "--value", "1e-3", "--T", "8"], "--kl-seq"),
    (["--statistic", "kl", "--value", "1e-3", "--kl-seq", "0.1", "--T", "8"], "only the statistic"),
    (["--statistic", "tv", "--value", "1e-3", "--T", "8"], "invalid choice"),
    (["--statistic", "kl", "--value", "nan", "--T", "8"], "finite"),
    (["--statistic", "kl", "--value", "1e-3", "--T", "30", "--search"], "at most 6"),
    (["--statistic", "kl", "--value", "1e-3", "--T", "0"], "at least 1"),
    (["--statistic", "kl", "--value", "1e-3", "--T", "1048576", "--time-limit", "1"], "time limit"),
])
def test_bad_input_is_one_line_with_exit_code_2(capsys, argv, message):
    code, out, err = run(capsys, "lower-bounds", *argv)
    assert code == 2 and not out
    assert err.startswith("trm lower-bounds: error:") and message in err and err.count("\n") == 1
