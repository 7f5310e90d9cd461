"""The dialect registry: every dialect has the interface and its test file, and a new framework is one
module: a toy dialect dropped on the package's path gets its flags, its tensor names, its rule in the
criteria and in --mask-out, its metrics in the output and the report, with nothing else edited."""
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from audit import dialects
from audit.readers import write_dump
from audit.run import AuditConfig, audit_file
from numerics.errors import TRMInputError
from tests.cli.runner import run

INTERFACE = ("NAME", "ORDER", "TITLE", "SOURCE", "KEYS", "METRICS", "DEFAULTS", "add_arguments", "options_from_args",
             "plan", "Rules")


def test_every_dialect_has_the_interface_and_a_test_file():
    names = [d.NAME for d in dialects.all_dialects()]
    assert names == ["verl", "trl", "slime", "openrlhf"]
    for d in dialects.all_dialects():
        assert all(hasattr(d, attr) for attr in INTERFACE), d.NAME
        assert (Path(__file__).parent / f"test_{d.NAME}.py").is_file(), d.NAME
        assert set(d.KEYS) <= {"old", "rollout", "mask", "extra_mask", "lengths", "scores", "advantages", "step"}
    assert len(dialects.option_owners()) == sum(len(d.DEFAULTS) for d in dialects.all_dialects())


def test_options_are_checked_by_the_registry():
    with pytest.raises(TRMInputError, match="unknown audit option 'nope'"):
        dialects.plan({"nope": 1})
    with pytest.raises(TRMInputError, match="AuditConfig field"):
        AuditConfig(options=(("slime", "token:0.5_2"),)).dialect_options()
    cfg = AuditConfig.from_options({"rollout_rs": "token_k2", "trl": "token_mask"}, budget=0.2)
    assert cfg.rollout_rs == "token_k2" and cfg.options == (("trl", "token_mask"),) and cfg.budget == 0.2


TOY = '''
"""A toy framework: masks tokens whose ratio exceeds --toy-cap; reports toy/max_ratio."""
import numpy as np

from audit.rules import RuleCounts

NAME = "toy"
ORDER = 9
TITLE = "toy: a cap on the ratio"
SOURCE = "nowhere"
KEYS = {"old": ("toy_trainer_logps",), "rollout": ("toy_engine_logps",), "mask": ("toy_mask",)}
METRICS = ("toy/",)
DEFAULTS = {"toy_cap": None}


def add_arguments(parser, types):
    parser.add_argument_group("toy").add_argument("--toy-cap", type=types.float_range(1.0, above=True))


def options_from_args(args):
    return {"toy_cap": args.toy_cap}


class Spec:
    def __init__(self, cap):
        self.cap, self.notes = cap, ("toy planned",)


def plan(options):
    return None if options["toy_cap"] is None else Spec(float(options["toy_cap"]))


class Rules:
    masks = True

    def __init__(self, spec, info):
        self.spec, self.max = spec, 0.0
        self.counts = RuleCounts("toy", NAME, True, {"cap": spec.cap})

    def add(self, chunk, st):
        r = np.exp(st.log_ratio)
        keep = (r <= self.spec.cap) | ~chunk.mask
        self.counts.add(keep, chunk.mask, chunk.mask & ~keep)
        self.max = max(self.max, float(r[chunk.mask].max()))
        return keep

    def criteria(self, lengths, tokens):
        return {"toy": self.counts.result(lengths, tokens)}

    def metrics(self):
        return {"toy/max_ratio": self.max}

    def finish(self, result):
        result["notes"].append("toy finished")
'''


@pytest.fixture
def toy(tmp_path, monkeypatch):
    (tmp_path / "toy.py").write_text(textwrap.dedent(TOY))
    monkeypatch.setattr(dialects, "__path__", list(dialects.__path__) + [str(tmp_path)])
    dialects.all_dialects.cache_clear()
    yield
    dialects.all_dialects.cache_clear()


def test_a_new_framework_is_one_module(capsys, tmp_path, toy):
    rng = np.random.default_rng(0)
    B, L = 16, 10
    mask = np.arange(L)[None, :] < rng.integers(1, L + 1, B)[:, None]
    roll = np.log(rng.uniform(0.05, 1, (B, L)))
    old = np.minimum(roll + 0.3 * rng.standard_normal((B, L)), 0.0)
    path = tmp_path / "toy_step.npz"
    write_dump(path, {"toy_trainer_logps": old, "toy_engine_logps": roll, "toy_mask": mask.astype(np.int8)})
    code, out, err = run(capsys, "audit", path, "--toy-cap", "1.3", "--mask-out", tmp_path / "m.npz",
                         "--report", tmp_path / "rep", "--json")
    assert code == 0, err
    p = json.loads(out)
    assert p["keys"] == {"old": "toy_trainer_logps", "rollout": "toy_engine_logps", "mask": "toy_mask"}
    expected = mask & (np.exp(old - roll) <= 1.3)
    assert np.array_equal(np.load(tmp_path / "m.npz")["mask"], expected)
    assert p["mask_out"]["rules"] == ["toy"]
    assert p["criteria"]["toy"]["dialect"] == "toy" and p["criteria"]["toy"]["cap"] == 1.3
    assert p["metrics"]["toy/max_ratio"] == pytest.approx(np.exp(old - roll)[mask].max())
    assert p["notes"][0] == "toy planned" and p["notes"][-1] == "toy finished"
    assert "## toy metrics" in (tmp_path / "rep" / "report.md").read_text()
    result = audit_file(path, AuditConfig(options=(("toy_cap", 1.3),)))
    assert result["criteria"]["toy"]["token_masked_fraction"] == p["criteria"]["toy"]["token_masked_fraction"]
    code, _, err = run(capsys, "audit", path, "--toy-cap", "0.5")
    assert code == 2 and "argument --toy-cap: 0.5 must be above 1" in err


def test_the_example_in_every_frameworks_layout_is_the_same_step(capsys, tmp_path):
    """`--example-layout NAME` writes the same draw under each framework's names and structure: each is
    read without flags, with the framework's names, and gives the same tokens and the same metrics."""
    seen = {}
    for d in dialects.all_dialects():
        if not hasattr(d, "example"):
            continue
        path = tmp_path / d.NAME / "step.pt"
        path.parent.mkdir()
        code, _, err = run(capsys, "audit", "--example", path, "--example-layout", d.NAME, "--example-batch", "12",
                           "--example-length", "16", "--example-vocab", "12")
        assert code == 0, err
        code, out, err = run(capsys, "audit", path, "--json")
        assert code == 0, err
        p = json.loads(out)
        assert p["keys"]["old"] in d.KEYS.get("old", ()) and p["keys"]["mask"] in d.KEYS.get("mask", ()), d.NAME
        seen[d.NAME] = p
    assert set(seen) == {"verl", "trl", "slime", "openrlhf"}
    ref = seen["verl"]
    for name, p in seen.items():
        assert p["tokens"] == ref["tokens"] and p["rows"] == ref["rows"] and p["step"] in (1, None), name
        for key, value in ref["metrics"].items():
            assert p["metrics"][key] == pytest.approx(value, rel=1e-12, abs=1e-15), (name, key)
