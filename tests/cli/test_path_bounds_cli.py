"""The command line of the path-moment bounds (THEORY §11, this suite's): `trm exact` keys, `trm bounds` flags and
their checks, `trm threshold --divergence kl` best and kl-avg."""
import json
import math

import pytest

from tests.cli.runner import run
from trm.cli import main

PATH_BOUNDS = ("sequence_kl", "additive", "tangent", "weighted_chi2")


@pytest.fixture
def flips_file(tmp_path, capsys):
    path = tmp_path / "flips.npz"
    assert main(["random", "--family", "automaton", "--seed", "3", "--states", "5", "--vocab", "3", "--T", "6",
                 "--mismatch", "flips", "--rate", "0.3", "--flip-sigma", "2", "--out", str(path)]) == 0
    capsys.readouterr()
    return path


def test_exact_reports_the_path_family_and_best(capsys, flips_file):
    code, out, _ = run(capsys, "exact", str(flips_file), "--json")
    p = json.loads(out)
    assert code == 0
    sup = p["worst_case_error"]
    for key in ("bounds", "sharp_bounds"):
        b = p[key]
        for name in PATH_BOUNDS:
            assert b[name] >= sup * (1 - 1e-12), name
        numbers = {k: v for k, v in b.items() if not k.startswith(("argmin", "unified", "best"))}
        assert b["best"] == min(numbers.values()) and b[b["argmin_best"]] == b["best"]
        assert b["best"] <= b["unified_with_chi2"] <= b["unified"]
        assert p["bound_check"]["paper" if key == "bounds" else "sharp"]["worst_case_over_bound"]["best"] <= 1
    m = p["path_moments"]
    assert {"q_sum", "sh_moment", "h2_moment", "bhattacharyya", "tangent_gamma", "additive_tv", "weighted_chi2_alpha",
            "weighted_chi2_lambda", "weighted_chi2_grid", "tv_seq_upper_bounds"} <= set(m)
    assert math.isclose(m["kl_seq_from_path"], p["kl_seq"], rel_tol=1e-9)
    assert m["additive_tv"]["source"] == "exact" and m["weighted_chi2_grid"] == "full"
    assert len(p["path_notes"]) >= 2


def test_exact_weights_flag(capsys, flips_file):
    _, out, _ = run(capsys, "exact", str(flips_file), "--json", "--weights", "none")
    p = json.loads(out)
    assert p["bounds"]["weighted_chi2"] is None and any("--weights none" in n for n in p["path_notes"])
    code, _, err = run(capsys, "exact", str(flips_file), "--weights", "fine")
    assert code == 2 and "--weights" in err


def test_exact_human_output_lists_the_path_family(capsys, flips_file):
    code, out, _ = run(capsys, "exact", str(flips_file))
    assert code == 0 and "path-moment family" in out and "best (every bound)" in out


def test_bounds_path_flags(capsys):
    base = ("bounds", "--T", "1024", "--kl-max", "0.011", "--kl-seq", "4.0", "--json")
    _, out, _ = run(capsys, *base)
    b = json.loads(out)["bounds"]
    eps = math.sqrt(0.011 / 2)
    assert b["sequence_kl"] == 4.0 and b["tangent"] is None and b["weighted_chi2"] is None
    assert b["additive"] == pytest.approx(math.sqrt(-math.expm1(-4.0)) + 1024 * eps)     # the L1 split, D̄_t ≡ ε
    _, out, _ = run(capsys, *base, "--chi2-sum", "8.8")
    b = json.loads(out)["bounds"]
    assert b["tangent"] == pytest.approx(0.5 * (1 + math.sqrt(9.8))) and b["argmin_best"] == "tangent"
    _, out, _ = run(capsys, *base, "--chi2-sum", "8.8", "--sh-moment", "6.0", "--h2-moment", "18.0", "--bhattacharyya",
                    "0.2")
    p = json.loads(out)
    assert p["bounds"]["tangent"] < 0.5 * (1 + math.sqrt(9.8)) and p["path_moments"]["additive_tv"]["source"] == "le_cam"


@pytest.mark.parametrize("extra, message", [
    (("--sh-moment", "1"), "go together"),
    (("--chi2-sum", "-1"), "cannot be negative"),
    (("--chi2-sum", "nan"), "finite"),
    (("--bhattacharyya", "2"), "[0, 1]"),
    (("--chi2-sum", "1", "--sh-moment", "1", "--h2-moment", "1"), "Jensen"),
    (("--chi2-max", "1e-3", "--chi2-sum", "50"), "T·χ²_max"),
])
def test_bounds_path_flags_are_checked(capsys, extra, message):
    code, _, err = run(capsys, "bounds", "--T", "1024", "--kl-max", "0.011", "--kl-seq", "4.0", *extra)
    assert code == 2 and err.startswith("trm bounds: error:") and message in err and err.count("\n") == 1


def test_threshold_best_and_kl_avg(capsys):
    code, out, _ = run(capsys, "threshold", "--T", "32768", "--budget", "0.01", "--json")
    p = json.loads(out)
    assert code == 0 and p["kl_max_threshold_best"] == pytest.approx(0.01 / 32768) and p["best_bound"] == "sequence_kl"
    assert p["kl_max_threshold_best"] > 100 * p["kl_max_threshold"]
    code, out, _ = run(capsys, "threshold", "--T", "32768", "--budget", "0.01", "--divergence", "kl-avg", "--json")
    p = json.loads(out)
    assert code == 0 and p["kl_avg_threshold"] == pytest.approx(0.01 / 32768) and p["mask_with"].startswith("trm_avg:")
    assert p["kl_avg_threshold_unified"] < p["kl_avg_threshold"]
    code, out, _ = run(capsys, "threshold", "--T", "1", "--budget", "0.1", "--json")
    assert math.isinf(float(json.loads(out)["kl_max_threshold_best"]))
