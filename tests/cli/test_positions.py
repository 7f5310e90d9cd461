"""Per-position arrays in the output of `trm exact`, `trm simulate` and `trm audit`: summaries in --json by
default, the arrays in a file with --positions-out (.npz or .parquet) or in the JSON with --json-positions,
all three the same numbers; the new flags refused with one line and exit 2 when misused."""
import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from audit.readers import write_dump
from trm import positions
from trm.cli import main
from tests.cli.runner import run


@pytest.fixture
def pair_file(tmp_path, capsys):
    path = tmp_path / "pair.npz"
    assert main(["random", "--family", "automaton", "--states", "5", "--vocab", "3", "--seed", "4", "--T", "40",
                 "--out", str(path)]) == 0
    capsys.readouterr()
    return path


def _read(path):
    if str(path).endswith(".parquet"):
        return {name: np.asarray(col) for name, col in zip(pq.read_table(path).column_names,
                                                            pq.read_table(path).columns)}
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


@pytest.mark.parametrize("suffix", [".npz", ".parquet"])
def test_exact_file_json_and_summary_agree(capsys, pair_file, tmp_path, suffix):
    out_path = tmp_path / f"pos{suffix}"
    code, out, err = run(capsys, "exact", pair_file, "--json", "--json-positions", "--positions-out", out_path)
    assert code == 0, err
    p = json.loads(out)
    table = _read(out_path)
    assert list(table["t"]) == list(range(1, 41)) and p["positions"]["file"] == str(out_path)
    assert p["positions"]["in_json"] is True
    for name in ("tv_pos_mean", "kl_pos_mean"):
        assert np.array_equal(table[name], np.asarray(p[name]))                # the same floats, both routes
        summary = p["positions"]["summary"][name]
        x = table[name]
        assert summary["max"] == x.max() and summary["argmax_t"] == int(np.argmax(x)) + 1
        assert summary["first"] == x[0] and summary["last"] == x[-1] and summary["n"] == 40
        assert summary["sum"] == pytest.approx(x.sum(), rel=1e-14)
    default = json.loads(run(capsys, "exact", pair_file, "--json")[1])
    assert "tv_pos_mean" not in default and default["positions"]["summary"] == p["positions"]["summary"]


def test_simulate_routes_its_arrays(capsys, pair_file, tmp_path):
    out_path = tmp_path / "sim.npz"
    code, out, err = run(capsys, "simulate", pair_file, "--samples", "64", "--device", "cpu", "--json",
                         "--positions-out", out_path)
    assert code == 0, err
    p = json.loads(out)
    assert not {"tv_pos_mean", "kl_pos_mean", "chi2_pos_mean"} & set(p)
    assert set(p["positions"]["summary"]) == {"tv_pos_mean", "kl_pos_mean", "chi2_pos_mean"}
    table = _read(out_path)
    assert set(table) == {"t", "tv_pos_mean", "kl_pos_mean", "chi2_pos_mean"} and table["t"].shape == (40,)
    assert p["positions"]["summary"]["kl_pos_mean"]["max"] == table["kl_pos_mean"].max()


def test_audit_routes_every_step(capsys, tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for k in range(2):
        old = np.log(rng.uniform(0.2, 1.0, (6, 9)))
        paths.append(tmp_path / f"s{k}.npz")
        write_dump(paths[-1], {"old_log_probs": old, "rollout_log_probs": old + 0.01 * rng.standard_normal(old.shape),
                               "response_mask": np.arange(9)[None, :] < rng.integers(3, 10, (6, 1))})
    code, out, err = run(capsys, "audit", *paths, "--json", "--positions-out", tmp_path / "a.parquet")
    assert code == 0, err
    p = json.loads(out)
    table = _read(tmp_path / "a.parquet")
    for k, step in enumerate(p["steps"]):
        suite = step["suite"]
        assert "tv_pos_mean" not in suite and suite["positions"]["file"] == str(tmp_path / "a.parquet")
        rows = table["step"] == k
        assert suite["positions"]["summary"]["tv_pos_mean"]["n"] == rows.sum()
        assert suite["positions"]["summary"]["tv_pos_mean"]["max"] == table["tv_pos_mean"][rows].max()
    single = json.loads(run(capsys, "audit", paths[0], "--json", "--json-positions")[1])
    assert len(single["suite"]["tv_pos_mean"]) == single["suite"]["positions"]["summary"]["tv_pos_mean"]["n"]


@pytest.mark.parametrize("argv, match", [
    (["--positions-out", "x.csv"], ".npz or .parquet"),
    (["--positions-out", "no/such/dir/x.npz"], "does not exist"),
    (["--positions-out", "."], "directory"),
    (["--positions-out", ""], "empty"),
    (["--json-positions=yes"], "ignored explicit argument"),
])
def test_bad_position_flags_are_one_line_errors(capsys, pair_file, argv, match):
    code, out, err = run(capsys, "exact", pair_file, "--json", *argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and match in err, err


def test_parquet_without_pyarrow_is_refused(capsys, pair_file, monkeypatch):
    real = positions.importlib.util.find_spec
    monkeypatch.setattr(positions.importlib.util, "find_spec", lambda name: None if name == "pyarrow" else real(name))
    code, _, err = run(capsys, "exact", pair_file, "--positions-out", "x.parquet")
    assert code == 2 and "needs pyarrow" in err and err.count("\n") == 1


def test_summary_of_infinite_and_empty_arrays():
    s = positions.summary([0.5, np.inf, 0.25])
    assert s["max"] == np.inf and s["argmax_t"] == 2 and s["mean"] == np.inf and s["argmin_t"] == 3
    assert positions.summary([])["n"] == 0 and positions.summary([])["max"] is None
