"""Generate numerics/generated_bounds.py, the bound formulas as plain numpy functions, from the proof kernel.

The formulas numerics evaluates (every bound's per-position term, the constants of the paper and sharp
families, the worst-case inputs, the Pinsker cap, the LN-TRM weight, the χ² family's shift factors and
B_χ²-exact; the path-moment bounds, their D_TV^seq upper bounds, the weight family of the weighted χ² search,
the slope of the sequence-KL bound at its worst case, and the one-step tables of the path recursions) are
assembled by the proof kernel from checked derivations (:mod:`proofs.bounds`, :mod:`proofs.second_moment`,
:mod:`proofs.path_bounds`, :mod:`proofs.path_recursions`). Building them imports sympy and assembles the
derivations, which costs most of a second; so they are built once, here, and written as a checked-in module
that imports numpy only:

    python3 -m numerics.codegen            # rewrite numerics/generated_bounds.py from the kernel
    python3 -m numerics.codegen --check    # exit 1, naming each formula that differs from the kernel's

Each generated function is printed by sympy's NumPyPrinter (what ``sympy.lambdify(..., "numpy")`` prints),
and the module keeps every formula's ``sympy.srepr`` in ``EXPRESSIONS``, so tests/numerics/
test_generated_bounds.py can compare the kernel's assembly with the file structurally (srepr sympified and
compared with ==) and numerically (generated function against lambdify on random and edge inputs).

The kernel is read through its public names only: proofs.bounds.BOUND_TERMS, CONSTANTS, pinsker_cap,
worst_case_eps, worst_case_kl_seq, worst_case_tv_seq, length_neutral_weight; proofs.second_moment.CHI2_SHIFT,
CHI2_CONSTANT, CHI2_BOUND_NAMES, chi2_bound_expr and the symbols chi2_max, chi2_seq, second_moment;
proofs.path_bounds.PATH_BOUND_NAMES, the bound expressions of :data:`PATH_FORMULAS` and their symbols;
proofs.path_recursions.RECURSIONS through monomials, initial_values and transition_table (each non-zero
coefficient c_ij(u, h) a function; the monomials and their values before the first token as records).
:func:`kernel_table` lambdifies the same formulas from the kernel as it is at call time (the mutation
regression evaluates a mutated kernel through it: :func:`numerics.formulas.use_kernel`).
"""
from __future__ import annotations

import argparse
import keyword
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

TARGET = Path(__file__).with_name("generated_bounds.py")
#: the kernel's public names the generated module is built from (``module:name``)
SOURCES = ("proofs.bounds:BOUND_TERMS", "proofs.bounds:CONSTANTS", "proofs.bounds:pinsker_cap",
           "proofs.bounds:worst_case_eps", "proofs.bounds:worst_case_kl_seq", "proofs.bounds:worst_case_tv_seq",
           "proofs.bounds:length_neutral_weight", "proofs.second_moment:CHI2_SHIFT",
           "proofs.second_moment:CHI2_CONSTANT", "proofs.second_moment:CHI2_BOUND_NAMES",
           "proofs.second_moment:chi2_bound_expr", "proofs.path_bounds:PATH_BOUND_NAMES",
           "proofs.path_bounds:SEQUENCE_KL_BOUND", "proofs.path_bounds:ADDITIVE_BOUND",
           "proofs.path_bounds:ADDITIVE_SPLIT_BOUND", "proofs.path_bounds:TANGENT_BOUND",
           "proofs.path_bounds:TANGENT_BOUND_AT_ZERO", "proofs.path_bounds:WEIGHTED_CHI2_BOUND",
           "proofs.path_bounds:LE_CAM_TV", "proofs.path_bounds:BRETAGNOLLE_HUBER_TV",
           "proofs.path_bounds:WEIGHT_FAMILY",
           "proofs.path_recursions:RECURSIONS", "proofs.path_recursions:monomials",
           "proofs.path_recursions:initial_values", "proofs.path_recursions:transition_table")
#: argument names of every bound term (the symbols' names): B = C · Σ_t term_t(T, t, δ, ε, D_KL^seq, D_TV^seq, D̄_t)
BOUND_ARGS = ("T", "t", "delta", "epsilon", "D_KL_seq", "D_TV_seq", "Dbar_t")
WEIGHT_ARGS = ("T", "t", "delta", "epsilon")
SHIFT_ARGS = ("t", "chi2_max", "chi2_seq")
#: the path-moment formulas (THEORY §11): key → (proofs.path_bounds attribute, argument names). "path_bound/<name>"
#: for each name of proofs.path_bounds.PATH_BOUND_NAMES, in its order; the others are variants numerics searches
#: over (γ = 0, a split of Σ_t u_t) and the D_TV^seq upper bounds
PATH_FORMULAS = {
    "path_bound/sequence_kl": ("SEQUENCE_KL_BOUND", "path_bound_sequence_kl", ("D_KL_seq",)),
    "path_bound/additive": ("ADDITIVE_BOUND", "path_bound_additive", ("D_TV_seq", "Q_seq")),
    "path_bound/tangent": ("TANGENT_BOUND", "path_bound_tangent", ("gamma", "D_KL_seq", "Q_seq", "E_SH", "E_H2")),
    "path_bound/weighted_chi2": ("WEIGHTED_CHI2_BOUND", "path_bound_weighted_chi2", ("E_W2_over_w", "E_w")),
    "path_variant/tangent_at_zero": ("TANGENT_BOUND_AT_ZERO", "tangent_bound_at_zero", ("Q_seq",)),
    "path_variant/additive_split": ("ADDITIVE_SPLIT_BOUND", "additive_split_bound", ("D_TV_seq", "A_b", "Q_s")),
    "tv_upper/le_cam": ("LE_CAM_TV", "tv_upper_le_cam", ("BC_seq",)),
    "tv_upper/bretagnolle_huber": ("BRETAGNOLLE_HUBER_TV", "tv_upper_bretagnolle_huber", ("D_KL_seq",)),
    "path_weight": ("WEIGHT_FAMILY", "path_weight", ("alpha", "lam", "u")),
}
#: arguments of every coefficient c_ij(u, h) of a path recursion's one-step table
RECURSION_ARGS = ("u", "h")


@dataclass(frozen=True)
class Formula:
    """One formula of the generated module. ``key`` names it in EXPRESSIONS ("bound_term/classical");
    ``function`` is the generated function's name (None: a number, or a structure-only record whose
    evaluation numerics writes by hand); ``args`` the argument symbols' names, in order."""

    key: str
    expr: sp.Expr
    function: str | None
    args: tuple[str, ...] = ()


def kernel_formulas() -> list[Formula]:
    """Every formula numerics evaluates, built from the kernel's assembly now."""
    from proofs import bounds, second_moment

    out = [Formula(f"bound_term/{name}", sp.sympify(term), f"bound_term_{name}", BOUND_ARGS)
           for name, term in bounds.BOUND_TERMS.items()]
    out += [Formula(f"constant/{family}", sp.sympify(value), None) for family, value in bounds.CONSTANTS.items()]
    kl_seq, delta, T = bounds.kl_seq, bounds.delta, bounds.T
    out += [
        Formula("pinsker_cap", bounds.pinsker_cap(kl_seq), "pinsker_cap", ("D_KL_seq",)),
        Formula("worst_case_eps", bounds.worst_case_eps(delta), "worst_case_eps", ("delta",)),
        Formula("worst_case_kl_seq", bounds.worst_case_kl_seq(delta, T), "worst_case_kl_seq", ("delta", "T")),
        Formula("worst_case_tv_seq", bounds.worst_case_tv_seq(kl_seq), "worst_case_tv_seq", ("D_KL_seq",)),
        Formula("length_neutral_weight", bounds.length_neutral_weight(), "length_neutral_weight", WEIGHT_ARGS),
    ]
    out += [Formula(f"chi2_shift/{name}", expr, f"chi2_shift_{name}", SHIFT_ARGS)
            for name, expr in second_moment.CHI2_SHIFT.items()]
    out.append(Formula("chi2_constant", sp.sympify(second_moment.CHI2_CONSTANT), None))
    for name in second_moment.CHI2_BOUND_NAMES:
        expr = second_moment.chi2_bound_expr(name)
        if name == "chi2_exact":
            out.append(Formula(f"chi2_bound/{name}", expr, "chi2_exact", (second_moment.second_moment.name,)))
        else:
            # ½ sqrt(χ²_max Σ_t shift_t): numerics sums the generated shift and applies the outer form by hand
            # (numerics.chi2_bounds); the record makes a change of the outer form fail the drift test
            out.append(Formula(f"chi2_bound/{name}", expr, None))
    return out + _path_formulas(bounds)


def _path_formulas(bounds) -> list[Formula]:
    """The path-moment family (proofs.path_bounds) and the path recursions' tables (proofs.path_recursions)."""
    from proofs import path_bounds, path_recursions

    named = tuple(k.split("/", 1)[1] for k in PATH_FORMULAS if k.startswith("path_bound/"))
    if tuple(path_bounds.PATH_BOUND_NAMES) != named:
        raise ValueError(f"proofs.path_bounds.PATH_BOUND_NAMES = {path_bounds.PATH_BOUND_NAMES}: numerics.codegen "
                         f"knows {named} (add the new bound's expression to PATH_FORMULAS)")
    out = [Formula(key, sp.sympify(getattr(path_bounds, attr)), function, args)
           for key, (attr, function, args) in PATH_FORMULAS.items()]
    # TRM-Max and TRM-Avg thresholds: the sequence-KL bound at D_KL^seq = its worst case Tδ must be linear in δ
    # (β / slope is then the threshold); the slope is a function of T
    delta, T = bounds.delta, bounds.T
    worst = sp.sympify(path_bounds.SEQUENCE_KL_BOUND).xreplace({bounds.kl_seq: bounds.worst_case_kl_seq(delta, T)})
    if sp.diff(worst, delta, 2) != 0 or worst.xreplace({delta: 0}) != 0:
        raise ValueError(f"the sequence-KL bound at its worst case is not linear in δ through 0: {worst}")
    out.append(Formula("sequence_kl_worst_case_slope", sp.diff(worst, delta), "sequence_kl_worst_case_slope", ("T",)))
    for name in path_recursions.RECURSIONS:
        out.append(Formula(f"recursion/{name}/monomials", sp.Tuple(*path_recursions.monomials(name)), None))
        out.append(Formula(f"recursion/{name}/initial", sp.Tuple(*path_recursions.initial_values(name)), None))
        for i, row in enumerate(path_recursions.transition_table(name)):
            out += [Formula(f"recursion/{name}/{i}/{j}", sp.sympify(c), f"recursion_{name}_{i}_{j}", RECURSION_ARGS)
                    for j, c in enumerate(row) if c != 0]
    return out


def _symbols(formulas: list[Formula]) -> dict[str, sp.Symbol]:
    """name → symbol over every formula; two symbols of one name (different assumptions) are an error."""
    found: dict[str, sp.Symbol] = {}
    for f in formulas:
        for s in f.expr.free_symbols:
            if found.setdefault(s.name, s) != s:
                raise ValueError(f"{f.key}: two symbols named {s.name!r} ({found[s.name]!r} and {s!r})")
    return found


def _arguments(formula: Formula, symbols: dict[str, sp.Symbol]) -> list[sp.Symbol]:
    """The argument symbols of ``formula`` in order (a name the expression does not use gets a plain symbol)."""
    extra = {s.name for s in formula.expr.free_symbols} - set(formula.args)
    if extra and formula.function is not None:
        raise ValueError(f"{formula.key}: uses {sorted(extra)} beyond its arguments {formula.args}")
    for name in formula.args:
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"{formula.key}: argument {name!r} is not a Python identifier")
    return [symbols.get(name, sp.Symbol(name)) for name in formula.args]


def kernel_table(formulas: list[Formula] | None = None) -> SimpleNamespace:
    """The generated module's names, lambdified from the kernel as it is now (sympy's "numpy" printer)."""
    formulas = kernel_formulas() if formulas is None else formulas
    symbols = _symbols(formulas)
    by_key = {f.key: f for f in formulas}
    fn = {f.key: sp.lambdify(_arguments(f, symbols), f.expr, modules="numpy")
          for f in formulas if f.function is not None}
    return SimpleNamespace(**_assemble(by_key, fn, float, lambda name: name))


def _named(by_key: dict, prefix: str) -> list[str]:
    return [k[len(prefix):] for k in by_key if k.startswith(prefix)]


def _assemble(by_key: dict, fn: dict, number, text) -> dict:
    """The module-level names both the generated file and :func:`kernel_table` carry (``fn``: key → function,
    ``number``: sympy number → value, ``text``: a string → value; the file passes source text for each)."""
    bounds = _named(by_key, "bound_term/")
    shifts = _named(by_key, "chi2_shift/")
    recursions = [k.split("/")[1] for k in by_key if k.startswith("recursion/") and k.endswith("/monomials")]

    def coefficients(name: str) -> tuple:
        n = len(by_key[f"recursion/{name}/monomials"].expr)
        return tuple(tuple(fn.get(f"recursion/{name}/{i}/{j}") for j in range(n)) for i in range(n))

    return {
        "BOUND_NAMES": tuple(text(name) for name in bounds),
        "BOUND_TERMS": {name: fn[f"bound_term/{name}"] for name in bounds},
        "CONSTANTS": {k.split("/", 1)[1]: number(f.expr) for k, f in by_key.items() if k.startswith("constant/")},
        "pinsker_cap": fn["pinsker_cap"], "worst_case_eps": fn["worst_case_eps"],
        "worst_case_kl_seq": fn["worst_case_kl_seq"], "worst_case_tv_seq": fn["worst_case_tv_seq"],
        "length_neutral_weight": fn["length_neutral_weight"],
        "CHI2_SHIFT": {name: fn[f"chi2_shift/{name}"] for name in shifts},
        "CHI2_CONSTANT": number(by_key["chi2_constant"].expr),
        "CHI2_BOUND_NAMES": tuple(text(name) for name in _named(by_key, "chi2_bound/")),
        "chi2_exact": fn["chi2_bound/chi2_exact"],
        "PATH_BOUND_NAMES": tuple(text(name) for name in _named(by_key, "path_bound/")),
        "PATH_BOUNDS": {name: fn[f"path_bound/{name}"] for name in _named(by_key, "path_bound/")},
        "tangent_bound_at_zero": fn["path_variant/tangent_at_zero"],
        "additive_split_bound": fn["path_variant/additive_split"],
        "TV_UPPER_BOUNDS": {name: fn[f"tv_upper/{name}"] for name in _named(by_key, "tv_upper/")},
        "path_weight": fn["path_weight"],
        "sequence_kl_worst_case_slope": fn["sequence_kl_worst_case_slope"],
        "RECURSION_MONOMIALS": {name: tuple(text(str(m)) for m in by_key[f"recursion/{name}/monomials"].expr)
                                for name in recursions},
        "RECURSION_INITIAL": {name: tuple(number(v) for v in by_key[f"recursion/{name}/initial"].expr)
                              for name in recursions},
        "RECURSION_COEFFICIENTS": {name: coefficients(name) for name in recursions},
    }


HEADER = '''"""GENERATED by `python3 -m numerics.codegen` from the proof kernel's assembly (proofs.bounds,
proofs.second_moment, proofs.path_bounds, proofs.path_recursions): do not edit. After changing a bound in the
kernel, run `python3 -m numerics.codegen`; tests/numerics/test_generated_bounds.py fails while this file and the
kernel disagree.

The bound formulas as numpy functions (printed by sympy {version}'s NumPyPrinter, as sympy.lambdify prints
them), for numerics.bounds, numerics.chi2_bounds, numerics.path_bounds, numerics.path_moments and
numerics.path_recursion, which import this module instead of sympy and the kernel. EXPRESSIONS holds the sympy
srepr of every formula (the structure the drift test compares).
"""
'''


def render(formulas: list[Formula] | None = None) -> str:
    """The text of numerics/generated_bounds.py."""
    formulas = kernel_formulas() if formulas is None else formulas
    symbols = _symbols(formulas)
    printer = NumPyPrinter({"fully_qualified_modules": True, "inline": True, "allow_unknown_functions": False})
    functions = []
    for f in formulas:
        if f.function is None:
            continue
        args = ", ".join(s.name for s in _arguments(f, symbols))
        body = printer.doprint(f.expr)
        functions.append(f'def {f.function}({args}):\n    """{_doc(f.expr)}"""\n    return {body}\n')
    modules = sorted(printer.module_imports)
    by_key = {f.key: f for f in formulas}
    names = _assemble(by_key, {f.key: f.function for f in formulas if f.function}, lambda v: repr(float(v)), repr)
    lines = [HEADER.format(version=sp.__version__)] + [f"import {m}" for m in modules] + ["", ""]
    lines += ["\n\n".join(functions), ""]
    lines += [f"{name} = {_source(value)}" for name, value in names.items() if value != name]
    lines += ["", "#: name → argument names of every generated function (the kernel's symbols)", "ARGUMENTS = {"]
    lines += [f"    {f.key!r}: {f.args!r}," for f in formulas if f.function is not None]
    lines += ["}", "", "#: the sympy srepr of every formula (evaluate with sympy's namespace and sympy.codegen.cfunctions)",
              "EXPRESSIONS = {"]
    lines += [f"    {f.key!r}:\n        {sp.srepr(f.expr)!r}," for f in formulas]
    lines += ["}", ""]
    return "\n".join(lines)


def _source(value, indent: str = "") -> str:
    """Python source of a name of the generated module: strings are already source text (a function's name, a
    repr); a dict one entry a line; a tuple of tuples one inner tuple a line."""
    if isinstance(value, str):
        return value
    if value is None:
        return "None"
    inner = indent + "    "
    if isinstance(value, dict):
        return "{\n" + "".join(f"{inner}{k!r}: {_source(v, inner)},\n" for k, v in value.items()) + indent + "}"
    if value and all(isinstance(v, tuple) for v in value):
        return "(\n" + "".join(f"{inner}{_source(v, inner)},\n" for v in value) + indent + ")"
    items = [_source(v, inner) for v in value]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _doc(expr: sp.Expr) -> str:
    text = sp.sstr(expr)
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def parse_srepr(text: str) -> sp.Expr:
    """A formula back from its srepr (sympy's namespace plus sympy.codegen.cfunctions: expm1, log1p)."""
    from sympy.codegen import cfunctions

    namespace = {name: getattr(cfunctions, name) for name in ("expm1", "log1p", "exp2", "log2")}
    return sp.sympify(text, locals=namespace)


def differences(module, formulas: list[Formula] | None = None) -> list[str]:
    """What differs between ``module`` (the generated file, imported) and the kernel's assembly: keys missing
    or extra, formulas whose srepr sympifies to a different expression, argument lists that moved."""
    formulas = kernel_formulas() if formulas is None else formulas
    stored, out = dict(module.EXPRESSIONS), []
    for f in formulas:
        if f.key not in stored:
            out.append(f"{f.key}: in the kernel, not in the generated module")
            continue
        if parse_srepr(stored.pop(f.key)) != f.expr:
            out.append(f"{f.key}: the kernel gives {sp.sstr(f.expr)}")
        if f.function is not None and tuple(module.ARGUMENTS.get(f.key, ())) != f.args:
            out.append(f"{f.key}: arguments {module.ARGUMENTS.get(f.key)} in the module, {f.args} in the kernel")
    out += [f"{key}: in the generated module, no longer in the kernel" for key in stored]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m numerics.codegen", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on a difference")
    parser.add_argument("--out", type=Path, default=TARGET, help="where to write (default: %(default)s)")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        from numerics import generated_bounds

        diff = differences(generated_bounds)
        if diff:
            for line in diff:
                print(f"numerics.codegen: {line}", file=sys.stderr)
            print("numerics.codegen: run `python3 -m numerics.codegen` to regenerate", file=sys.stderr)
            return 1
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        same = "" if current == text else " (same expressions; this sympy prints the file differently)"
        print(f"{args.out} matches the kernel's assembly{same}")
        return 0
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(args.out)
    print(f"wrote {args.out} ({len(kernel_formulas())} formulas)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
