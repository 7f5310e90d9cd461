"""Every derivation step is machine-checked: a symbolic step must be proved (an undecided step
fails), and a numeric step must name a test that exists."""
import ast
from pathlib import Path

import pytest
import sympy as sp

from proofs import all_derivations
from proofs.derivation import Step

ROOT = Path(__file__).resolve().parents[2]
DERIVATIONS = all_derivations()
SYMBOLIC = [(d.name, i, s) for d in DERIVATIONS for i, s in enumerate(d.steps, 1) if s.symbolic]
NUMERIC = [(d.name, i, s) for d in DERIVATIONS for i, s in enumerate(d.steps, 1) if not s.symbolic]


@pytest.mark.parametrize("name, index, step", SYMBOLIC, ids=[f"{n}-{i}" for n, i, _ in SYMBOLIC])
def test_symbolic_step_is_proved(name, index, step):
    assert step.decide() is True, step.describe()


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


@pytest.mark.parametrize("name, index, step", NUMERIC, ids=[f"{n}-{i}" for n, i, _ in NUMERIC])
def test_numeric_step_names_an_existing_test(name, index, step):
    path, _, test = step.numeric_test.partition("::")
    assert (ROOT / path).exists(), step.numeric_test
    assert test in _test_names(ROOT / path), step.numeric_test


def test_every_result_the_issue_names_is_derived():
    names = {d.name for d in DERIVATIONS}
    assert {"telescoping", "importance_weight", "baseline_constant", "equal_policies", "martingale",
            "performance_difference", "advantage_bound", "pinsker", "kl_chain_rule", "context_shift",
            "master_inequality", "arithmetic_sum", "sqrt_sum", "coupling_split", "growth_exponents", "bound_assembly",
            "recovery", "sharp_constants", "monotonic_improvement", "trm_guarantee", "length_neutral", "length_bias",
            "seq_kl_insufficient", "worst_case_reward"} <= names


x = sp.Symbol("x", positive=True)
y = sp.Symbol("y", real=True)


@pytest.mark.parametrize("step, verdict", [
    (Step(x + 1, "==", x + 2, "false identity"), None),
    (Step(x, "<=", x - 1, "false inequality"), False),
    (Step(y, ">=", 0, "undecidable sign"), None),
    (Step(sp.sqrt(x) ** 2, "==", x, "true"), True),
])
def test_the_checker_does_not_pass_wrong_or_undecided_steps(step, verdict):
    assert step.decide() is verdict


def test_growth_exponents_are_the_papers():
    growth = next(d for d in DERIVATIONS if d.name == "growth_exponents")
    exponents = [s.rhs for s in growth.steps if s.symbolic and isinstance(s.lhs, sp.Limit) and s.lhs.args[0].has(sp.log)]
    assert exponents == [2, sp.Rational(3, 2), 1]
