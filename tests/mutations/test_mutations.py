"""The mutation regression: every row of tests/mutations/catalog.py is killed by the tests it names.

Each mutation runs in a fresh interpreter (``python -m pytest -p tests.mutations.plugin`` with
TRM_MUTATION set and the derandomized ``ci`` Hypothesis profile) on its killing tests only, which must
fail. The ``fast`` rows run in the default pytest; the whole list runs with ``--run-mutation`` (marker
``mutation``), together with a baseline run of every killing test without any mutation.
"""
import ast
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from numerics import codegen
from tests.mutations.catalog import MUTATIONS, apply, check

ROOT = Path(__file__).resolve().parents[2]
LIVE = [m for m in MUTATIONS.values() if not m.equivalent]
FAST = [m for m in LIVE if m.fast]
SURVIVORS = ("mixed_kl_cap_two", "trm_max_strict", "worst_case_kl_seq_delta")
#: rows that mutate a formula numerics/generated_bounds.py copies (numerics.codegen.SOURCES, and the advantage
#: factor the constants are assembled from): the drift test must kill each while numerics reads the stale copy
DRIFT = "tests/numerics/test_generated_bounds.py::test_generated_module_matches_the_kernel"
FORMULA_ROWS = [m for m in LIVE if m.target in codegen.SOURCES + ("proofs.bound_family:FAMILY_FACTOR",)]


def run_tests(test_ids, mutation: str | None, timeout: int = 900, generated: bool = False) -> subprocess.CompletedProcess:
    """The tests under the mutation, in a fresh interpreter; ``generated``: numerics keeps evaluating the
    generated formulas (numerics/generated_bounds.py) instead of the mutated kernel (tests/mutations/plugin.py)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HYPOTHESIS_PROFILE": "ci"}
    env.pop("TRM_MUTATION", None)
    env.pop("TRM_MUTATION_GENERATED", None)
    if generated:
        env["TRM_MUTATION_GENERATED"] = "1"
    if mutation:
        env["TRM_MUTATION"] = mutation
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "tests.mutations.plugin", "-p", "no:cacheprovider",
               "--no-header", "-W", "ignore::pytest.PytestAssertRewriteWarning", *test_ids]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def assert_killed(mutation):
    """The killing tests fail (exit 1), or the mutant cannot even be imported: the assembly's consistency
    check raises while the tests are collected (exit 2 or 4 with a collection error). The baseline run
    (test_killing_tests_pass_without_mutation) shows that the same tests pass unmutated."""
    result = run_tests(mutation.killers, mutation.id)
    output = result.stdout + result.stderr
    tail = output[-3000:]
    assert "MutationTargetError" not in output, tail
    collection_error = result.returncode in (2, 4) and "ERROR collecting" in output
    assert result.returncode == 1 or collection_error, f"{mutation.id} survived (exit {result.returncode}):\n{tail}"


@lru_cache(maxsize=None)
def _test_names(path: str) -> frozenset:
    tree = ast.parse((ROOT / path).read_text())
    return frozenset(n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))


def test_catalog_is_well_formed():
    assert len(LIVE) >= 25
    for survivor in SURVIVORS:
        assert survivor in MUTATIONS and not MUTATIONS[survivor].equivalent
    for mutation in MUTATIONS.values():
        check(mutation)                    # the target and its snippet are found
        if mutation.equivalent:
            continue
        assert mutation.killers, mutation.id
        for killer in mutation.killers:
            path, _, name = killer.partition("::")
            assert name.split("[")[0] in _test_names(path), f"{mutation.id}: {killer} does not exist"


def _in_process_killers():
    """The fast rows' killing tests called in this process (parametrised ones with explicit arguments)."""
    from tests.gpu_sim import test_criteria_boundaries as criteria
    from tests.numerics import test_boundaries as boundaries
    from tests.numerics import test_martingale as martingale

    return {
        "mixed_kl_cap_two": lambda: boundaries.test_tv_factors_never_exceed_one(7, "paper"),
        "trm_max_strict": criteria.test_trm_max_accepts_kl_equal_to_delta,
        "worst_case_kl_seq_delta": boundaries.test_worst_case_inputs_dominate_every_pair,
        "w_prefix_includes_t": martingale.test_numpy_and_torch_agree_and_equal_the_telescoped_bracket,
    }


@pytest.mark.parametrize("mutation", FAST, ids=[m.id for m in FAST])
def test_fast_mutation_is_killed_in_process(mutation, monkeypatch):
    """The default-suite subset: the mutation applied through monkeypatch and numerics switched to the
    kernel's formulas as mutated (numerics.formulas.use_kernel, what regenerating would give), its killing
    test called here; then the generated formulas back."""
    from numerics import formulas

    killer = _in_process_killers()[mutation.id]
    killer()                                   # passes unmutated
    apply(mutation, monkeypatch)
    generated = formulas.use_kernel()
    try:
        with pytest.raises(AssertionError):
            killer()
    finally:
        monkeypatch.undo()
        formulas.use(generated)
    killer()


@pytest.mark.parametrize("mutation", [m for m in FAST if m in FORMULA_ROWS], ids=lambda m: m.id)
def test_fast_formula_mutation_is_seen_by_the_drift_check(mutation, monkeypatch):
    """A mutated kernel formula differs from the generated module (numerics.codegen.differences)."""
    from numerics import generated_bounds

    assert codegen.differences(generated_bounds) == []
    apply(mutation, monkeypatch)
    assert codegen.differences(generated_bounds), mutation.id


def test_formula_rows_cover_the_generated_module():
    assert len(FORMULA_ROWS) >= 10
    assert {m.target for m in FORMULA_ROWS} >= {"proofs.bounds:BOUND_TERMS", "proofs.bounds:CONSTANTS",
                                                 "proofs.second_moment:CHI2_SHIFT", "proofs.path_bounds:TANGENT_BOUND",
                                                 "proofs.path_bounds:SEQUENCE_KL_BOUND",
                                                 "proofs.path_recursions:RECURSIONS"}


@pytest.mark.mutation
@pytest.mark.parametrize("mutation", FORMULA_ROWS, ids=[m.id for m in FORMULA_ROWS])
def test_stale_generated_module_is_caught(mutation):
    """With numerics left on the generated module, the drift test kills the kernel mutation."""
    result = run_tests([DRIFT], mutation.id, generated=True)
    assert result.returncode == 1, f"{mutation.id}: the drift test passed:\n{(result.stdout + result.stderr)[-3000:]}"


@pytest.mark.mutation
@pytest.mark.parametrize("mutation", LIVE, ids=[m.id for m in LIVE])
def test_mutation_is_killed(mutation):
    assert_killed(mutation)


@pytest.mark.mutation
def test_killing_tests_pass_without_mutation():
    killers = sorted({k for m in LIVE for k in m.killers})
    result = run_tests(killers, None)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
