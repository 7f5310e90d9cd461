"""numerics/generated_bounds.py against the proof kernel's assembly it was generated from
(``python3 -m numerics.codegen``): the same formulas structurally (each stored srepr, sympified, == the
kernel's expression; so the check does not depend on sympy's printer), the same numbers (each generated
function against sympy.lambdify of the kernel's expression on random inputs, caps and edge values), and
numerics' bound modules (the paper's family, the χ² family, the path-moment family and the path recursions)
importing neither sympy nor the kernel."""
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


#: arguments that may be 0 (non-negative symbols) and those that may be negative (u = ρ − 1 ≥ −1, E[SH] real)
NONNEGATIVE = ("Dbar_t", "chi2_max", "chi2_seq", "E_W2", "Q_seq", "E_H2", "BC_seq", "A_b", "Q_s", "E_W2_over_w",
               "alpha", "lam", "h")
SIGNED = ("u", "E_SH")


def _inputs(name: str, rng, n: int = 400) -> np.ndarray:
    """Random values of one argument over many decades, with the edges: 0 (for non-negative symbols), the
    smallest normal, values at and around the caps (δ = 2 gives sqrt(δ/2) = 1), 1, huge, and float max
    (numerics passes +inf as float max); for u = ρ − 1 also −1 (π_θ = 0), values just above it and negative
    decades, for E[SH] negative decades."""
    if name in ("T", "t"):
        values = np.concatenate([[1, 2, 3, 4096, 2**40], rng.integers(1, 10**7, n - 5)]).astype(np.float64)
        return values
    edges = [np.finfo(np.float64).tiny, 1e-300, 1e-12, 0.5, 1.0, 2.0, 2.0 * (1 + EPS), 1.0 - EPS, 1e300,
             np.finfo(np.float64).max]
    if name in NONNEGATIVE + SIGNED:
        edges.append(0.0)
    if name == "u":
        edges += [-1.0, -1.0 + EPS, -0.5, -1e-12]
    random = 10.0 ** rng.uniform(-15, 3, n - len(edges))
    if name in SIGNED:
        low = -1.0 if name == "u" else -1e3
        random = np.where(rng.random(random.size) < 0.5, random, np.maximum(low, -random))
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
    assert generated_bounds.PATH_BOUND_NAMES == table.PATH_BOUND_NAMES == ("sequence_kl", "additive", "tangent",
                                                                           "weighted_chi2")
    assert generated_bounds.RECURSION_MONOMIALS == table.RECURSION_MONOMIALS
    assert generated_bounds.RECURSION_MONOMIALS["path"] == ("1", "S", "H", "S**2", "H*S", "H**2")
    assert generated_bounds.RECURSION_INITIAL == table.RECURSION_INITIAL
    assert formulas.active() is generated_bounds


def _shape(value):
    """A table entry's structure: functions and numbers by kind, containers by their keys and lengths."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_shape(v) for v in value)
    if callable(value):
        return "function"
    return value


def test_kernel_table_carries_what_the_generated_module_carries(kernel):
    """use_kernel() swaps in a table with every name numerics reads, of the same structure (the same
    dictionaries' keys, the same zero pattern of the recursions' coefficients, the same numbers)."""
    table = vars(codegen.kernel_table(kernel))
    for name, value in table.items():
        assert hasattr(generated_bounds, name), name
        assert _shape(getattr(generated_bounds, name)) == _shape(value), name
    generated_names = {n for n, v in vars(generated_bounds).items()
                       if not n.startswith("_") and n not in ("ARGUMENTS", "EXPRESSIONS", "numpy", "functools")
                       and not (callable(v) and n not in table)}
    assert generated_names == set(table)


def test_path_numerics_follow_the_kernel(kernel, monkeypatch):
    """Change the sequence-KL bound in proofs.path_bounds: the drift check names the bound and the threshold
    slope built from it, and numerics evaluating the kernel (use_kernel) follows in the bound and the
    TRM-Max / TRM-Avg threshold; a bound no longer linear in δ at its worst case is refused."""
    from numerics.path_bounds import PathInputs, evaluate_path_bounds, sequence_kl_threshold
    from proofs import path_bounds
    from proofs.symbols import kl_seq

    inputs = PathInputs(64, kl_seq=0.3, q_sum=0.5)
    before, threshold = evaluate_path_bounds(inputs)[0]["sequence_kl"], sequence_kl_threshold(64, 0.1)
    monkeypatch.setattr(path_bounds, "SEQUENCE_KL_BOUND", 2 * kl_seq)
    drifted = sorted(d.split(":")[0] for d in codegen.differences(generated_bounds))
    assert drifted == ["path_bound/sequence_kl", "sequence_kl_worst_case_slope"]
    generated = formulas.use_kernel()
    try:
        assert evaluate_path_bounds(inputs)[0]["sequence_kl"] == 2 * before
        assert sequence_kl_threshold(64, 0.1) == threshold / 2
    finally:
        formulas.use(generated)
    monkeypatch.setattr(path_bounds, "SEQUENCE_KL_BOUND", kl_seq**2)
    with pytest.raises(ValueError, match="not linear in δ"):
        codegen.kernel_formulas()
    monkeypatch.undo()
    assert evaluate_path_bounds(inputs)[0]["sequence_kl"] == before


def test_use_kernel_swaps_the_table_and_use_puts_it_back():
    previous = formulas.use_kernel()
    try:
        assert previous is generated_bounds and formulas.active() is not generated_bounds
        assert formulas.active().CONSTANTS == generated_bounds.CONSTANTS
    finally:
        formulas.use(previous)
    assert formulas.active() is generated_bounds


def test_light_commands_import_no_sympy_proofs_scipy_or_torch():
    """`trm bounds` (with the path-moment flags), `trm threshold` (kl, kl-avg, chi2) and `trm --help`, and
    numerics' bound modules, path moments and path recursions, stay light at start-up."""
    code = """
import contextlib, io, sys
from trm.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    assert main(["bounds", "--T", "4096", "--kl-max", "1e-4", "--chi2-max", "1e-6"]) == 0
    assert main(["threshold", "--T", "1024", "--budget", "0.1", "--divergence", "chi2"]) == 0
    assert main(["threshold", "--T", "1024", "--budget", "0.1"]) == 0
    assert main(["threshold", "--T", "1024", "--budget", "0.1", "--divergence", "kl-avg"]) == 0
    assert main(["bounds", "--T", "1024", "--kl-max", "1e-3", "--kl-seq", "0.2", "--tv-seq", "0.3", "--chi2-max",
                 "1e-3", "--chi2-sum", "0.5", "--sh-moment", "0.01", "--h2-moment", "0.3",
                 "--bhattacharyya", "0.95"]) == 0
    try:
        main(["--help"])
    except SystemExit:
        pass
import numerics.bounds, numerics.chi2_bounds, numerics.path_bounds, numerics.path_moments, numerics.path_recursion
import numerics.split_moments
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"sympy", "proofs", "scipy", "torch", "matplotlib", "numba"})
print(" ".join(heavy))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "", f"imported at start-up: {result.stdout.strip()}"
