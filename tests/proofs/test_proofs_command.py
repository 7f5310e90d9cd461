"""`trm proofs`: the JSON contract, the human report's per-derivation summary lines, and a non-zero exit
when a derivation fails."""
import json

from proofs.kernel import KINDS
from trm.cli import main


def test_json_shape(capsys):
    code = main(["proofs", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["failed_steps"] == 0
    assert set(payload["summary"]) == set(KINDS) and all(payload["summary"][k] > 0 for k in KINDS)
    assert len(payload["derivations"]) >= 100
    for derivation in payload["derivations"]:
        assert {"name", "steps", "verdict", "statement", "reference"} <= set(derivation)
        assert derivation["verdict"] in ("proved", "cited")
        for step in derivation["steps"]:
            assert {"relation", "lhs", "rhs", "kind", "verdict", "test"} <= set(step)
            assert step["relation"] in ("=", "<=", "<") and step["kind"] in KINDS
            assert step["verdict"] in ("proved", "cited", "failed")
            assert step["lhs"] != step["rhs"]
    counted = {k: sum(s["kind"] == k for d in payload["derivations"] for s in d["steps"]) for k in KINDS}
    assert counted == payload["summary"]


def test_human_report_has_a_summary_line_per_derivation(capsys):
    assert main(["proofs"]) == 0
    out = capsys.readouterr().out
    assert out.count("; verdict ") >= 100
    assert "links by kind: rewrite" in out


def test_a_failing_derivation_makes_the_command_fail(capsys, monkeypatch):
    import sympy as sp

    from proofs import catalog
    from proofs.kernel import Chain, Derivation, Z3

    x = sp.Symbol("x", positive=True)
    wrong = Derivation("wrong", "x ≤ x − 1", "test", Chain(x).le(x - 1, Z3()))
    monkeypatch.setattr(catalog, "all_derivations", lambda: (wrong,))
    assert main(["proofs", "--json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["derivations"][0]["verdict"] == "failed" and payload["failed_steps"] == 1
