"""`trm lower-bounds`: the JSON contract, the human table, and one-line errors with exit code 2."""
import json

import pytest

from tests.cli.runner import run

ROW_KEYS = {"statistic", "value", "kl_seq_cap", "T", "construction", "worst_case_error", "statistics", "bounds",
            "ratios", "best", "reference", "witness", "search"}


def test_json_contract_and_ratios(capsys):
    code, out, err = run(capsys, "lower-bounds", "--statistic", "kl", "--value", "1e-4", "--T", "2", "4096", "--json")
    payload = json.loads(out)
    assert code == 0 and not err
    assert payload["statistic"] == "kl" and [r["T"] for r in payload["rows"]] == [2, 4096]
    for row in payload["rows"]:
        assert set(row) == ROW_KEYS and row["search"] is None
        assert set(row["bounds"]) == set(payload["bound_keys"]) == {"paper/unified", "sharp/unified", "sequence_kl",
                                                                     "kl_ceiling"}
        assert set(payload["kernel"]) == set(payload["bound_keys"])
        assert all(r >= 1 for r in row["ratios"].values())
        assert row["statistics"]["kl_tok_max"] <= 1e-4
        best = row["best"]
        assert best["value"] == min(row["bounds"].values()) == row["bounds"][best["bound"]]
        assert best["ratio"] == pytest.approx(best["value"] / row["worst_case_error"], rel=1e-12)
        assert row["witness"] == {}
    assert payload["rows"][0]["ratios"]["sharp/unified"] < 1.001          # tight at T = 2
    assert payload["rows"][1]["ratios"]["sharp/unified"] > 50             # loose by √T-ish at T = 4096
    late = payload["rows"][1]
    assert late["best"]["bound"] == "sequence_kl"                          # D_KL^seq ≤ Tδ beats B* at T = 4096
    assert late["bounds"]["sequence_kl"] == pytest.approx(4096 * 1e-4, rel=1e-12)
    assert late["bounds"]["sequence_kl"] < late["bounds"]["kl_ceiling"]


def test_search_and_every_statistic(capsys):
    code, out, _ = run(capsys, "lower-bounds", "--statistic", "chi2", "--value", "2e-4", "--T", "3", "--search",
                       "--restarts", "1", "--maxiter", "20", "--json")
    row = json.loads(out)["rows"][0]
    assert code == 0 and row["search"]["statistics"]["chi2_tok_max"] <= 2e-4 * (1 + 1e-12)
    assert set(row["search"]["bounds"]) == {"chi2_max", "tangent_at_zero", "additive_tv_le_1"}
    Q = 3 * 2e-4
    assert row["bounds"]["tangent_at_zero"] == pytest.approx(0.5 * (1 + (1 + Q) ** 0.5), rel=1e-12)
    assert row["bounds"]["additive_tv_le_1"] == pytest.approx(1 + 0.5 * Q ** 0.5, rel=1e-12)
    assert row["best"]["bound"] == "chi2_max"                              # B_χ²-max is tight while Tχ² ≪ 1
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


def test_additive_rows_carry_a_witness(capsys):
    """Under 'additive' the pair-dependent D_TV^seq + ½√Q is reported at its witness (the member minimising its ratio)
    and never chosen as 'best'; the best from Q alone is the tangent bound at γ = 0."""
    code, out, _ = run(capsys, "lower-bounds", "--statistic", "additive", "--value", "0.5", "--T", "64", "--json")
    row = json.loads(out)["rows"][0]
    witness = row["witness"]["additive"]
    assert code == 0 and witness["chi2_pos_sum"] == pytest.approx(0.5, rel=1e-9)
    assert row["bounds"]["additive"] == pytest.approx(witness["tv_seq"] + 0.5 * 0.5 ** 0.5, rel=1e-12)
    assert row["ratios"]["additive"] == pytest.approx(row["bounds"]["additive"] / witness["worst_case_error"])
    assert row["best"]["bound"] == "tangent_at_zero"
    assert row["worst_case_error"] >= witness["worst_case_error"]
