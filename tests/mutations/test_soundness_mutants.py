"""Each soundness mutant (tests/mutations/soundness_rows.py) is killed by EACH of its named tests on its own.

The catalog's runner (test_mutations.py::test_mutation_is_killed) runs a row's killers together in a fresh
interpreter and needs one of them to fail. Here every (row, killer) pair runs in this process: the mutation
applied through monkeypatch, the killing test called directly (every parametrised case of it, Hypothesis tests
under the active profile), and it must fail (a failed assertion, or an exception such as a real pair's inputs
refused, as pytest counts it); the same test passes unmutated. The whole list runs with
``--run-mutation`` (marker ``mutation``); one row per class runs in the default pytest.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import itertools
from collections import namedtuple

import pytest

from tests.mutations.catalog import MUTATIONS, apply
from tests.mutations.soundness_rows import SOUNDNESS_ROWS

ROWS = [MUTATIONS[row["id"]] for row in SOUNDNESS_ROWS]
PAIRS = [(m, killer) for m in ROWS for killer in m.killers]
#: one row per class in the default suite
DEFAULT = ("lemma_pinsker", "z3_exp_tangent", "worst_case_tv_seq_exponent_down")


CaptureResult = namedtuple("CaptureResult", "out err")


class _Capture:
    """The part of pytest's capsys the killing tests use (readouterr), for calling them in this process."""

    def __init__(self):
        self.out, self.err = io.StringIO(), io.StringIO()

    def readouterr(self):
        out, err = self.out.getvalue(), self.err.getvalue()
        self.out.seek(0), self.out.truncate(), self.err.seek(0), self.err.truncate()
        return CaptureResult(out, err)


def _cases(killer: str):
    """Callables, one per parametrised case of the test ``path::name[param]`` (a bracketed id selects one)."""
    path, _, name = killer.partition("::")
    name, _, selected = name.partition("[")
    function = getattr(importlib.import_module(path[:-3].replace("/", ".")), name)
    marks = [m for m in getattr(function, "pytestmark", []) if m.name == "parametrize"]
    grids = []
    for mark in marks:
        names = [n.strip() for n in (mark.args[0].split(",") if isinstance(mark.args[0], str) else mark.args[0])]
        values = [v if len(names) > 1 else (v,) for v in mark.args[1]]
        grids.append([dict(zip(names, v)) for v in values])
    for combo in itertools.product(*grids) if grids else [()]:
        kwargs = {k: v for part in combo for k, v in part.items()}
        if selected and str(kwargs.get(next(iter(kwargs), None))) != selected.rstrip("]"):
            continue
        yield lambda kwargs=kwargs: _call(function, kwargs)


def _call(function, kwargs):
    if "capsys" in function.__code__.co_varnames[:function.__code__.co_argcount]:
        capture = _Capture()
        with contextlib.redirect_stdout(capture.out), contextlib.redirect_stderr(capture.err):
            return function(capture, **kwargs)
    return function(**kwargs)


def _use_kernel_if_proofs(mutation):
    """After a mutation of proofs/, numerics evaluates the mutated kernel (as tests/mutations/plugin.py arranges, and
    as it would after ``python3 -m numerics.codegen``); returns the table to put back."""
    from numerics import formulas

    if not mutation.target.startswith("proofs."):
        return None
    try:
        return formulas.use_kernel()
    except Exception:            # the mutant kernel cannot assemble: the killing tests that import it fail
        return None


def _recite(mutation, monkeypatch) -> None:
    """A mutated citation function (proofs.second_moment_proofs._cite_lemmas) acts when it registers its lemmas,
    which this process did before: register them again from the mutant, the registry restored afterwards."""
    if not mutation.target.endswith(":_cite_lemmas"):
        return
    from proofs import lemmas, second_moment_proofs

    for name in [n for n, lemma in lemmas.LEMMAS.items() if lemma.cited and lemma.test.startswith(lemmas.SECOND_MOMENT_TESTS)]:
        monkeypatch.delitem(lemmas.LEMMAS, name)
    before = set(lemmas.LEMMAS)
    second_moment_proofs._cite_lemmas()
    for name in set(lemmas.LEMMAS) - before:            # registered by the mutant: undone with the monkeypatch
        monkeypatch.setitem(lemmas.LEMMAS, name, lemmas.LEMMAS.pop(name))


def _kills(mutation, killer, monkeypatch) -> bool:
    cases = list(_cases(killer))
    assert cases, f"{killer}: no test case found"
    for case in cases:                                  # unmutated, every case passes
        case()
    apply(mutation, monkeypatch)
    _recite(mutation, monkeypatch)
    previous = _use_kernel_if_proofs(mutation)
    try:
        for case in cases:
            try:
                case()
            except Exception:                           # a failed assertion, or an input refused (a test error)
                return True
        return False
    finally:
        monkeypatch.undo()
        if previous is not None:
            from numerics import formulas

            formulas.use(previous)


@pytest.mark.mutation
@pytest.mark.parametrize("mutation, killer", PAIRS, ids=[f"{m.id}-{k.rpartition('::')[2]}" for m, k in PAIRS])
def test_each_killer_kills_the_mutant(mutation, killer, monkeypatch):
    assert _kills(mutation, killer, monkeypatch), f"{mutation.id} survives {killer}"


@pytest.mark.parametrize("mutation", [MUTATIONS[i] for i in DEFAULT], ids=list(DEFAULT))
def test_one_mutant_per_class_is_killed(mutation, monkeypatch):
    for killer in mutation.killers:
        assert _kills(mutation, killer, monkeypatch), f"{mutation.id} survives {killer}"
