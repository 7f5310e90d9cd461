"""The concrete bad and extreme inputs that once gave tracebacks, hangs, memory blow-ups or silently
wrong answers, each with the behaviour now required. Run through the memory-limited worker of
:mod:`tests.fuzz.harness` (small --memory-limit and --time-limit defaults); the cases that need a
real process of their own (a FIFO, Ctrl-C, closed or full stdout) are in test_process.py."""
import argparse
import json

import numpy as np
import pytest

from tests.fuzz.harness import check_contract

Z = 5.0


def _automaton(path, roll, theta, T=16, reward=(0.1, 0.9, 0.5), **extra):
    ns = np.array([[0, 1, 2]] * 3)
    arrays = dict(init=np.array([1.0, 0, 0]), next_state=ns, roll=np.array([roll] * 3, dtype=float),
                  theta=np.array([theta] * 3, dtype=float), reward=np.array(reward, dtype=float), T=np.int64(T))
    arrays.update(extra)
    np.savez(path, **arrays)
    return str(path)


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    return tmp_path_factory.mktemp("cases")


def refused(worker, d, *argv, match=None):
    argv = list(argv)
    result = worker.run(argv, cwd=d)
    assert check_contract(result, argv) == "refused", (argv, result.out[:500])
    if match is not None:
        assert match in result.err, (match, result.err)
    return result.err


def ok(worker, d, *argv):
    argv = list(argv)
    result = worker.run(argv, cwd=d)
    assert check_contract(result, argv) == "ok", (argv, result.err)
    return json.loads(result.out) if "--json" in argv else result.out


def _simulate(worker, d, path, samples=4000):
    return ok(worker, d, "simulate", path, "--samples", str(samples), "--device", "cpu", "--json")


# --- silently wrong answers ------------------------------------------------------------------
def test_theta_mass_off_roll_support_is_flagged_and_estimates_stay_unbiased(worker, d):
    path = _automaton(d / "off.npz", [0.5, 0.5, 0.0], [0.4, 0.4, 0.2])
    p = _simulate(worker, d, path)
    assert p["bounds_apply"] is False and p["support"]["theta_off_roll_support"] is True
    assert p["notes"] and p["estimate_status"]["kl_seq_k3"] == "biased" and p["kl_seq_k3"]["mean"] is None
    for key in ("surrogate", "error", "objective_gap", "J_roll"):
        est, exact = p[key], p["exact"][key]
        assert abs(est["mean"] - exact) <= Z * est["se"] + 1e-12, (key, est, exact)
    assert p["bound_check"]["paper"]["holds"].startswith("not applicable")


def test_disjoint_supports_give_the_exact_surrogate_not_zero(worker, d):
    path = _automaton(d / "disjoint.npz", [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], T=8, reward=(0.2, 0.9, 0.5))
    p = _simulate(worker, d, path, samples=200)
    assert p["surrogate"]["mean"] == pytest.approx(p["exact"]["surrogate"]) and p["surrogate"]["mean"] != 0
    assert p["kl_seq"] == {"mean": "Infinity", "se": None, "n": 200}


def test_theta_zero_under_roll_support_writes_no_nan(worker, d):
    path = _automaton(d / "zero.npz", [0.4, 0.4, 0.2], [0.5, 0.5, 0.0])
    result = worker.run(["simulate", path, "--samples", "500", "--device", "cpu"], cwd=d)
    assert result.code == 0 and "nan" not in result.out.lower() and "+inf" in result.out
    p = _simulate(worker, d, path, samples=500)
    assert p["kl_seq"]["mean"] == "Infinity" and p["kl_seq"]["se"] is None and p["bounds_apply"] is True




@pytest.mark.parametrize("budget", ["1e-300", "1e-290", "1e-12", "0.01"])
def test_threshold_budget_is_honoured_or_refused(worker, d, budget):
    argv = ["threshold", "--T", "4096", "1024", "--budget", budget, "--json"]
    result = worker.run(argv, cwd=d)
    if check_contract(result, argv) == "ok":
        for row in json.loads(result.out)["thresholds"]:
            assert row["unified_at_threshold"] <= float(budget) and row["within_budget"]
    else:
        assert "budget" in result.err


def test_tables_json_says_what_it_means(worker, d):
    p = ok(worker, d, "tables", "--json")
    assert p["all_agree"] == all(c["agrees"] for c in p["cells"])
    assert p["all_agree_modulo_slips"] == all(c["agrees_modulo_slip"] for c in p["cells"])
    assert p["summary"]["agree"] + p["summary"]["explained_by_slip"] + p["summary"]["disagree"] == len(p["cells"])


@pytest.mark.parametrize("argv, match", [
    (["simulate", "--family", "kgram", "--T", "8", "--samples", "8", "--criterion", "ln_trm:0.1@"], "after '@'"),
    (["train", "--pretrain-steps", "-5"], "--pretrain-steps"),
])
def test_malformed_options_are_refused(worker, d, argv, match):
    refused(worker, d, *argv, match=match)


# --- unbounded memory and time ---------------------------------------------------------------
@pytest.mark.parametrize("argv, match", [
    (["random", "--family", "tabular", "--T", "40", "--seed", "0", "--out", "x.npz"], "--T"),
    # 4^62 sequences: the size estimate overflows to inf − inf, which must still refuse (found by the long fuzz run)
    (["simulate", "--family", "tabular", "--T", "62", "--samples", "1", "--device", "cpu"], "--T"),
    (["random", "--family", "kgram", "--k", "20", "--seed", "0", "--out", "x.npz"], "--k"),
    (["random", "--family", "automaton", "--states", str(10**9), "--seed", "0", "--out", "x.npz"], "--states"),
    (["simulate", "--family", "neural", "--hidden", str(10**6), "--T", "8", "--samples", "8"], "--hidden"),
    (["simulate", "--family", "kgram", "--T", "8", "--samples", str(2**62)], "--samples"),
    (["simulate", "--family", "automaton", "--T", "100000000", "--samples", "8"], "--memory-limit"),
    (["bounds", "--T", str(2**31), "--kl-max", "1e-4"], "--memory-limit"),
    (["bounds", "--T", str(2**63), "--kl-max", "1e-4"], "--T"),
    (["threshold", "--T", str(2**31), "--budget", "0.1"], "--memory-limit"),
    (["tightness", "--samples", str(10**6)], "--time-limit"),
    (["tightness", "--samples", str(2**40)], "--samples"),
    (["bench", "exact", "--T", str(2**31), "--states", "4", "--vocab", "4"], "--memory-limit"),
    (["train", "--steps", "1000000"], "--time-limit"),
])
def test_sizes_are_estimated_and_refused_before_work(worker, d, argv, match):
    refused(worker, d, *argv, match=match)


def test_a_stored_horizon_of_a_billion_is_refused_before_the_dp(worker, d):
    """(T = 10⁷ fits the worker's 1 GB guard since the second moments need no per-position pass.)"""
    path = _automaton(d / "long.npz", [0.5, 0.5, 0.0], [0.5, 0.5, 0.0], T=10**9)
    refused(worker, d, "exact", path, match="--memory-limit")
    refused(worker, d, "exact", _automaton(d / "ok.npz", [0.5, 0.5, 0], [0.5, 0.5, 0]), "--T", "100000000",
            match="--memory-limit")


@pytest.mark.parametrize("value, shown", [(1e300, "1e+300"), (2.0**63, "9.223372036854776e+18"),
                                          (np.uint64(2**63), "9223372036854775808"), (-1.0, "-1.0"),
                                          (3.0, "3.0")])
def test_an_out_of_range_state_is_reported_as_stored(worker, d, value, shown):
    """A float (or unsigned) next_state entry beyond int64 is named with the value in the file, not the value
    a cast to int64 wraps it to, and without a numpy warning on stderr (one error line)."""
    path = _automaton(d / "ns.npz", [0.5, 0.5, 0], [0.5, 0.5, 0])
    arrays = dict(np.load(path))
    ns = arrays["next_state"].astype(np.asarray(value).dtype if np.asarray(value).dtype.kind == "u" else np.float64)
    ns[0, 1] = value
    arrays["next_state"] = ns
    np.savez(path, **arrays)
    for argv in (["exact", path], ["simulate", path, "--samples", "4", "--device", "cpu"]):
        err = refused(worker, d, *argv, match=f"next_state[0, 1] = {shown}: out of range")
        assert "Warning" not in err and "-9223372036854775808" not in err


@pytest.mark.parametrize("value", [np.inf, np.nan, 2.5, -1, np.array([3, 4])])
def test_a_bad_stored_horizon_is_refused(worker, d, value):
    path = _automaton(d / "badT.npz", [0.5, 0.5, 0], [0.5, 0.5, 0], T=1)
    arrays = dict(np.load(path))
    arrays["T"] = np.asarray(value)
    np.savez(path, **arrays)
    refused(worker, d, "exact", path, match="T")


# --- tracebacks and quiet surprises ----------------------------------------------------------
@pytest.mark.parametrize("kind", ["complex", "str", "object"])
def test_non_real_arrays_are_refused(worker, d, kind):
    path = _automaton(d / f"{kind}.npz", [0.5, 0.5, 0], [0.5, 0.5, 0])
    arrays = dict(np.load(path))
    arrays["roll"] = {"complex": arrays["roll"] + 0j, "str": arrays["roll"].astype(str),
                      "object": arrays["roll"].astype(object)}[kind]
    np.savez(path, **arrays)
    refused(worker, d, "exact", path, match="roll")


def test_a_renamed_npy_is_named(worker, d):
    np.save(d / "single.npy", np.ones(3))
    (d / "single.npy").rename(d / "single.npz")
    refused(worker, d, "exact", str(d / "single.npz"), match=".npy")


@pytest.mark.parametrize("argv, match", [
    (["random", "--family", "kgram", "--seed", "-1", "--out", "x.npz"], "--seed"),
    (["random", "--family", "kgram", "--seed", str(2**64), "--out", "x.npz"], "--seed"),
    (["train", "--lr", "inf"], "--lr"),
    (["train", "--lr", "1e300"], "--lr"),
    (["random", "--family", "kgram", "--seed", "0", "--out", "x.npz", "--sigma", "inf"], "--sigma"),
    (["random", "--family", "kgram", "--seed", "0", "--out", "x.npz", "--tau", "inf"], "--tau"),
    (["simulate", "--family", "neural", "--T", "4", "--samples", "4", "--logit-scale", "inf"], "--logit-scale"),
    (["simulate", "--family", "neural", "--T", "4", "--samples", "4", "--stale-sigma", "1e308"], "--stale-sigma"),
    (["random", "--family", "kgram", "--seed", "0", "--out", "no/such/dir/x.npz"], "does not exist"),
    (["random", "--family", "kgram", "--seed", "0", "--out", "."], "is a directory"),
    (["bounds", "--T", "8", "--kl-max", "1e-3", "--bogus", "1"], "trm bounds: error: unrecognized arguments"),
    (["exact", "no\nsuch\x1b[31m.npz"], "\\n"),
])
def test_bad_flags_give_one_line(worker, d, argv, match):
    refused(worker, d, *argv, match=match)


def test_out_is_written_exactly_where_asked(worker, d):
    for name in ("plain", "pair.data"):
        p = ok(worker, d, "random", "--family", "kgram", "--seed", "1", "--T", "3", "--out", name, "--json")
        assert p["out"] == name and (d / name).is_file() and not (d / f"{name}.npz").exists()
        ok(worker, d, "exact", name, "--json")


def test_worst_reward_out_is_checked_before_work(worker, d):
    ok(worker, d, "random", "--family", "kgram", "--seed", "1", "--T", "3", "--out", "w.npz")
    refused(worker, d, "exact", "w.npz", "--worst-reward-out", "missing/w.npz", match="does not exist")
    ok(worker, d, "exact", "w.npz", "--worst-reward-out", "worst", "--json")
    assert (d / "worst").is_file()


# --- output that interprets itself -----------------------------------------------------------
def test_bounds_marks_vacuous_values(worker, d):
    text = ok(worker, d, "bounds", "--T", "4096", "--kl-max", "1e-4")
    assert "vacuous" in text
    p = ok(worker, d, "bounds", "--T", "4096", "--kl-max", "1e-4", "--json")
    assert "classical" in p["vacuous"] and p["bounds"]["classical"] > 1
    assert p["surrogate"] == 0 and "1 + |L'|" in p["definitions"]["vacuous"]


def test_vacuous_means_no_narrower_than_the_range_of_the_gap(worker, d):
    """A bound B says J(π_θ) − J(π_roll) ∈ [L' − B, L' + B]; with a reward in [0, 1] the gap lies in [−1, 1], so B
    adds nothing exactly when B ≥ 1 + |L'|. |Error| can exceed 1 (L' is unbounded), so 1 alone is not the line."""
    p = ok(worker, d, "bounds", "--T", "64", "--kl-max", "1e-3", "--json")
    at_zero = {k: v for k, v in p["bounds"].items() if isinstance(v, (int, float)) and not k.startswith("argmin")}
    assert set(p["vacuous"]) == {k for k, v in at_zero.items() if v >= 1}
    p = ok(worker, d, "bounds", "--T", "64", "--kl-max", "1e-3", "--surrogate", "-2.5", "--json")
    assert set(p["vacuous"]) == {k for k, v in at_zero.items() if v >= 3.5}
    assert set(p["vacuous"]) < {k for k, v in at_zero.items() if v >= 1}        # some bounds above 1 now count
    refused(worker, d, "bounds", "--T", "64", "--kl-max", "1e-3", "--surrogate", "nan", match="surrogate")


def test_bounds_take_measured_dbar(worker, d):
    np.savetxt(d / "dbar.txt", np.full(64, 1e-4))
    worst = ok(worker, d, "bounds", "--T", "64", "--kl-max", "1e-3", "--json")
    measured = ok(worker, d, "bounds", "--T", "64", "--kl-max", "1e-3", "--tv-pos", "dbar.txt", "--json")
    assert measured["bounds"]["adaptive_hybrid"] < worst["bounds"]["adaptive_hybrid"]
    refused(worker, d, "bounds", "--T", "65", "--kl-max", "1e-3", "--tv-pos", "dbar.txt", match="one per position")
    np.savetxt(d / "big.txt", np.full(64, 0.5))
    refused(worker, d, "bounds", "--T", "64", "--kl-max", "1e-3", "--tv-pos", "big.txt", match="exceeds ε")


def test_exact_and_simulate_print_error_over_bound(worker, d):
    ok(worker, d, "random", "--family", "kgram", "--seed", "2", "--T", "4", "--out", "r.npz")
    text = ok(worker, d, "exact", "r.npz")
    assert "|Error|/bound" in text and "holds" in text
    p = ok(worker, d, "exact", "r.npz", "--json")
    ratio = p["bound_check"]["sharp"]["error_over_bound"]["unified"]
    assert ratio == pytest.approx(abs(p["error"]) / p["sharp_bounds"]["unified"]) and p["bound_check"]["sharp"]["holds"]
    text = ok(worker, d, "simulate", "r.npz", "--samples", "64", "--device", "cpu", "--criterion", "trm_max:0.05")
    assert "estimate/B*" in text and "bound holds" in text
    # criteria at every checkpoint (1, 2, 4 and T = 4), not only the last
    rows = [line.split()[0] for line in text.splitlines() if line.startswith("    ") and line.split()[0].isdigit()]
    assert {"1", "2", "4"} <= set(rows)


def test_every_flag_has_help_and_defaults_show(worker, d):
    from trm.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():
        if name == "figures":
            continue
        for action in p._actions:
            assert action.help, (name, action.option_strings or action.dest)
        text = p.format_help()
        has_defaults = any(a.default not in (None, False, argparse.SUPPRESS) for a in p._actions if a.option_strings)
        assert "--json" in text and ("default:" in text or not has_defaults), name
    assert "(default: 1024)" in " ".join(sub.choices["simulate"].format_help().split())


def test_figures_json_and_bad_cache(worker, d):
    refused(worker, d, "figures", "--only", "nope", match="unknown figure")
    (d / "afile").write_text("x")
    refused(worker, d, "figures", "--cache", str(d / "afile" / "c"), match="not a directory")
    refused(worker, d, "figures", "--bogus", match="unrecognized")
