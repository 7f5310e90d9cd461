"""numerics/generated_bounds.py against the proof kernel's assembly it was generated from
(``python3 -m numerics.codegen``): the same formulas structurally (each stored srepr, sympified, == the
kernel's expression; so the check does not depend on sympy's printer), the same numbers (each generated
function against sympy.lambdify of the kernel's expression on random inputs, caps and edge values), and
numerics' bound modules importing neither sympy nor the kernel."""
import subprocess
import sys
import zlib

import numpy as np
import pytest
import sympy as sp

from numerics import codegen, formulas, generated_bounds

EPS = np.finfo(np.float64).eps
#: generated function vs lambdify: the same expression tree printed by the same printer gives the same
#: operations; a few ulps allow another sympy to order a product differently
ULPS = 8


@pytest.fixture(scope="module")
def kernel():
    return codegen.kernel_formulas()


def test_generated_module_matches_the_kernel(kernel):
    """The drift test: regenerate with `python3 -m numerics.codegen` when it fails."""
    assert codegen.differences(generated_bounds, kernel) == []


def test_the_check_names_a_drifted_formula(kernel):
    changed = [codegen.Formula(f.key, f.expr.xreplace({sp.Symbol("t", integer=True, positive=True):
                                                          sp.Symbol("t", integer=True, positive=True) + 1}),
                               f.function, f.args) if f.key == "bound_term/classical" else f for f in kernel]
    diff = codegen.differences(generated_bounds, changed)
    assert len(diff) == 1 and diff[0].startswith("bound_term/classical: the kernel gives")
    assert any("no longer in the kernel" in d for d in codegen.differences(generated_bounds, kernel[1:]))


def _inputs(name: str, rng, n: int = 400) -> np.ndarray:
    """Random values of one argument over many decades, with the edges: 0 (for non-negative symbols), the
    smallest normal, values at and around the caps (δ = 2 gives sqrt(δ/2) = 1), 1, huge, and float max
    (numerics passes +inf as float max)."""
    if name in ("T", "t"):
        values = np.concatenate([[1, 2, 3, 4096, 2**40], rng.integers(1, 10**7, n - 5)]).astype(np.float64)
        return values
    edges = [np.finfo(np.float64).tiny, 1e-300, 1e-12, 0.5, 1.0, 2.0, 2.0 * (1 + EPS), 1.0 - EPS, 1e300,
             np.finfo(np.float64).max]
    if name in ("Dbar_t", "chi2_max", "chi2_seq", "E_W2"):
        edges.append(0.0)
    random = 10.0 ** rng.uniform(-15, 3, n - len(edges))
    return np.concatenate([edges, random])


@pytest.mark.parametrize("key", sorted(generated_bounds.ARGUMENTS))
def test_generated_functions_equal_lambdify(kernel, key):
    formula = next(f for f in kernel if f.key == key)
    generated = getattr(generated_bounds, formula.function)
    symbols = codegen._symbols(kernel)
    reference = sp.lambdify(codegen._arguments(formula, symbols), formula.expr, modules="numpy")
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    columns = [_inputs(name, rng) for name in formula.args]
    n = min(len(c) for c in columns)
    columns = [rng.permutation(c)[:n] for c in columns]
    if "T" in formula.args and "t" in formula.args:
        T, t = columns[formula.args.index("T")], columns[formula.args.index("t")]
        columns[formula.args.index("t")] = np.minimum(t, T)                     # positions 1..T
    with np.errstate(over="ignore", invalid="ignore"):
        got = np.broadcast_to(generated(*columns), (n,))
        want = np.broadcast_to(reference(*columns), (n,))
        scalar = generated(*[c[0] for c in columns])
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=ULPS * EPS, atol=0, err_msg=key)
    assert np.isclose(scalar, want[0], rtol=ULPS * EPS, atol=0) or (np.isnan(scalar) and np.isnan(want[0]))


def test_numbers_and_names_equal_the_kernel(kernel):
    table = codegen.kernel_table(kernel)
    assert generated_bounds.BOUND_NAMES == table.BOUND_NAMES
    assert generated_bounds.CONSTANTS == table.CONSTANTS == {"paper": 4.0, "sharp": 2.0}
    assert generated_bounds.CHI2_CONSTANT == table.CHI2_CONSTANT == 0.5
    assert generated_bounds.CHI2_BOUND_NAMES == table.CHI2_BOUND_NAMES
    assert formulas.active() is generated_bounds


def test_use_kernel_swaps_the_table_and_use_puts_it_back():
    previous = formulas.use_kernel()
    try:
        assert previous is generated_bounds and formulas.active() is not generated_bounds
        assert formulas.active().CONSTANTS == generated_bounds.CONSTANTS
    finally:
        formulas.use(previous)
    assert formulas.active() is generated_bounds


def test_light_commands_import_no_sympy_proofs_scipy_or_torch():
    """`trm bounds`, `trm threshold` and `trm --help` (and numerics' bound modules) stay light at start-up."""
    code = """
import contextlib, io, sys
from trm.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    assert main(["bounds", "--T", "4096", "--kl-max", "1e-4", "--chi2-max", "1e-6"]) == 0
    assert main(["threshold", "--T", "1024", "--budget", "0.1", "--divergence", "chi2"]) == 0
    assert main(["threshold", "--T", "1024", "--budget", "0.1"]) == 0
    try:
        main(["--help"])
    except SystemExit:
        pass
import numerics.bounds, numerics.chi2_bounds
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"sympy", "proofs", "scipy", "torch", "matplotlib", "numba"})
print(" ".join(heavy))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "", f"imported at start-up: {result.stdout.strip()}"
