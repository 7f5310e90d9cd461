"""Sweeps: spec expansion and validation, the three backends agree, failures are reported with
their parameters while the sweep goes on, results round-trip through the figure cache."""
import json
import math

import numpy as np
import pytest

from numerics.errors import TRMInputError
from numerics.exact import exact_quantities
from sweeps.jobs import build_pair
from sweeps.runner import cache_key, load_cached, result_table, run_sweep, save_result
from sweeps.spec import load_spec, parse_spec
from trm.cli import main

SPEC = {"name": "unit", "seed": 3, "jobs": [
    {"kind": "exact", "family": "automaton", "states": 4, "vocab": 3, "T": [5, 300], "sigma": [0.05, 0.5]},
    {"kind": "worst_case", "family": "kgram", "vocab": 2, "k": 1, "T": [3, 60]},      # T = 60 cannot be enumerated
]}


def test_grids_expand_in_order_with_the_spec_seed():
    spec = parse_spec(SPEC)
    assert len(spec.jobs) == 6 and [j.index for j in spec.jobs] == list(range(6))
    assert [(j.params["T"], j.params["sigma"]) for j in spec.jobs[:4]] == [(5, 0.05), (5, 0.5), (300, 0.05), (300, 0.5)]
    assert all(j.params["seed"] == 3 for j in spec.jobs)
    assert spec.jobs[4].kind == "worst_case" and spec.jobs[5].params["T"] == 60


@pytest.mark.parametrize("bad, match", [
    ({"name": "x", "jobs": []}, "non-empty list"),
    ({"name": "a b", "jobs": [{"kind": "exact", "family": "automaton", "T": 3}]}, "spec name"),
    ({"name": "x", "jobs": [{"kind": "fit", "family": "automaton", "T": 3}]}, r"jobs\[0\].kind"),
    ({"name": "x", "jobs": [{"kind": "exact", "T": 3}]}, "exactly one of 'family'"),
    ({"name": "x", "jobs": [{"kind": "exact", "family": "automaton", "T": 3, "samples": 9}]}, "unknown keys"),
    ({"name": "x", "jobs": [{"kind": "exact", "family": "automaton", "T": []}]}, "empty list"),
    ({"name": "x", "jobs": [{"kind": "exact", "family": "automaton", "T": float("inf")}]}, "finite number"),
    ({"name": "x", "seed": -1, "jobs": [{"kind": "exact", "family": "automaton", "T": 3}]}, "seed"),
    ({"name": "x", "jobs": [{"kind": "exact", "family": "automaton", "T": list(range(400)),
                             "sigma": [0.1] * 300}]}, "more than 100,000 jobs"),
])
def test_bad_specs_are_refused_by_name(bad, match):
    with pytest.raises(TRMInputError, match=match):
        parse_spec(bad)


def test_toml_and_json_read_the_same(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps(SPEC))
    (tmp_path / "s.toml").write_text('name = "unit"\nseed = 3\n[[jobs]]\nkind = "exact"\nfamily = "automaton"\n'
                                     'states = 4\nvocab = 3\nT = [5, 300]\nsigma = [0.05, 0.5]\n[[jobs]]\n'
                                     'kind = "worst_case"\nfamily = "kgram"\nvocab = 2\nk = 1\nT = [3, 60]\n')
    a, b = load_spec(tmp_path / "s.json"), load_spec(tmp_path / "s.toml")
    assert a.jobs == b.jobs and a.canonical() == b.canonical()
    (tmp_path / "s.yaml").write_text("name: x")
    with pytest.raises(TRMInputError, match=".json or .toml"):
        load_spec(tmp_path / "s.yaml")


def _check(result):
    by_index = {o.job.index: o for o in result.outcomes}
    assert [o.job.index for o in result.outcomes] == list(range(6))
    failed = result.failures
    assert [o.job.index for o in failed] == [5] and "enumeration needs" in failed[0].error
    assert failed[0].job.params["T"] == 60
    for o in result.outcomes[:4]:
        q = exact_quantities(build_pair(o.job.params))
        assert o.status == "ok" and o.outputs["error"] == q.error and o.outputs["kl_seq"] == q.kl_seq
    assert by_index[4].outputs["worst_case_error"] >= abs(by_index[4].outputs["error"])
    assert by_index[4].outputs["B_star_sharp"] >= by_index[4].outputs["worst_case_error"]


def test_inline_run_reports_the_failure_and_goes_on():
    _check(run_sweep(parse_spec(SPEC), workers=1))


def test_process_pool_gives_the_same_results():
    spec = parse_spec(SPEC)
    pool, inline = run_sweep(spec, workers=2), run_sweep(spec, workers=1)
    _check(pool)
    assert _numbers(pool) == _numbers(inline)


def _numbers(result) -> list[str]:
    """Every output but the wall time, NaN compared equal (as JSON text)."""
    return [json.dumps({k: v for k, v in o.outputs.items() if k != "seconds"}, sort_keys=True) for o in result.outcomes]


@pytest.mark.filterwarnings("ignore")
def test_ray_on_a_local_instance_gives_the_same_results():
    pytest.importorskip("ray")
    spec = parse_spec(SPEC)
    result = run_sweep(spec, workers=1, address="local")
    _check(result)
    assert result.backend == "ray (local)"
    assert _numbers(result) == _numbers(run_sweep(spec, workers=1))


def test_results_round_trip_through_the_figure_cache(tmp_path):
    spec = parse_spec(SPEC)
    result = run_sweep(spec, workers=1)
    record = save_result(result, tmp_path)
    assert record["key"] == cache_key(spec) and record["spec"] == SPEC and record["seed"] == 3
    assert [f["job"] for f in record["failures"]] == [5] and record["failures"][0]["params"]["T"] == 60
    assert {"revision", "versions", "device"} <= set(record)
    table = load_cached(spec, tmp_path)
    expected = result_table(result)
    assert set(table) == set(expected)
    assert table["param.T"].tolist() == [5, 5, 300, 300, 3, 60]
    assert table["status"].tolist() == ["ok"] * 5 + ["failed"]
    assert np.isnan(table["out.worst_case_error"][:4]).all() and math.isnan(table["out.error"][5])
    changed = parse_spec({**SPEC, "seed": 4})
    assert load_cached(changed, tmp_path) is None


def test_cli_reports_failures_with_parameters_and_reuses_the_cache(tmp_path, capsys):
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(SPEC))
    args = ["sweep", str(spec_path), "--workers", "1", "--cache", str(tmp_path / "cache"), "--json"]
    assert main(args) == 1                                  # a job failed: non-zero, the others are reported
    first = json.loads(capsys.readouterr().out)
    assert first["failed"] == 1 and first["jobs_total"] == 6 and not first["cached"]
    assert first["failures"][0]["params"] == {"T": 60, "family": "kgram", "k": 1, "seed": 3, "vocab": 2}
    assert main(args) == 1
    second = json.loads(capsys.readouterr().out)
    assert second["cached"] and second["jobs"] == first["jobs"]
    assert main(["sweep", str(tmp_path / "missing.json")]) == 2
    assert "no such file" in capsys.readouterr().err
