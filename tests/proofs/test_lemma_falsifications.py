"""The cited lemmas' tests reject every small falsification of their lemma by construction, in every profile.

tests/proofs/test_derivations.py runs each cited lemma's test against one falsified lemma (the bound halved and
lowered by ⅛) with 200 generated examples. A lemma weakened only slightly (a bound scaled by 1 − 10⁻⁶ or lowered
by 10⁻⁹, an identity moved by 10⁻⁶ of itself) is false too, but only its equality or extremal case shows it,
which random draws reach rarely or never. Here each lemma's test runs with its explicit @example cases ONLY
(Hypothesis phase "explicit", no generated examples), first against the true lemma, which must pass, then
against each falsification, which must fail:

    inequality lhs ≤ rhs:  rhs·(1 − 10⁻⁶) (unless lhs is 0, where scaling keeps it true), rhs − 10⁻⁹·max(1, |rhs|),
                           lhs + 10⁻⁹·max(1, |lhs|), and the halved falsification of proofs.lemmas.Lemma.falsified;
    identity lhs = rhs:    rhs·(1 + 10⁻⁶) (unless rhs is 0), rhs ± 10⁻⁶·max(1, |rhs|), and the moved one.

So the examples themselves reach each equality case (equal laws, disjoint supports, f = 1[P > Q], Y = sign(X)·c,
constant |W|, a constant χ², t = 2 on a prefix tree, t = T, …: tests/proofs/extremal_pairs.py).
"""
import ast
import importlib
from dataclasses import replace
from pathlib import Path

import pytest
import sympy as sp
from hypothesis import Phase, settings

from proofs import lemmas
from proofs.catalog import all_derivations

ROOT = Path(__file__).resolve().parents[2]
all_derivations()                       # registers every cited lemma (the χ² family's are cited while building)
CITED = lemmas.cited_lemmas()
SCALE = sp.Rational(1, 10**6)
SHIFT_INEQUALITY = sp.Rational(1, 10**9)
SHIFT_IDENTITY = sp.Rational(1, 10**6)


def falsifications(lemma) -> dict:
    """name → a false version of the lemma (each differs from it)."""
    rhs = lemma.rhs
    out = {"halved": lemma.falsified()}
    if lemma.relation == "=":
        size = sp.Max(1, sp.Abs(rhs))
        if rhs != 0:
            out["scaled_up"] = replace(lemma, rhs=rhs * (1 + SCALE))
        out["raised"] = replace(lemma, rhs=rhs + SHIFT_IDENTITY * size)
        out["lowered"] = replace(lemma, rhs=rhs - SHIFT_IDENTITY * size)
    else:
        if lemma.lhs != 0:
            out["scaled_down"] = replace(lemma, rhs=rhs * (1 - SCALE))
        out["lowered"] = replace(lemma, rhs=rhs - SHIFT_INEQUALITY * sp.Max(1, sp.Abs(rhs)))
        out["lhs_raised"] = replace(lemma, lhs=lemma.lhs + SHIFT_INEQUALITY * sp.Max(1, sp.Abs(lemma.lhs)))
    return out


def _test_of(lemma):
    path, _, name = lemma.test.partition("::")
    return getattr(importlib.import_module(path[:-3].replace("/", ".")), name)


def _run_explicit_examples(test) -> None:
    """Run a Hypothesis test on its @example cases only, derandomized, without a database."""
    original = test._hypothesis_internal_use_settings
    test._hypothesis_internal_use_settings = settings(original, database=None, derandomize=True,
                                                      phases=(Phase.explicit,), print_blob=False)
    try:
        test()
    finally:
        test._hypothesis_internal_use_settings = original


def test_every_cited_lemma_is_covered():
    assert len(CITED) >= 29
    for lemma in CITED:
        path, _, name = lemma.test.partition("::")
        tree = ast.parse((ROOT / path).read_text())
        node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
        assert any(isinstance(d, ast.Call) and getattr(d.func, "id", "") == "example" for d in node.decorator_list), (
            f"{lemma.test} has no @example case")


@pytest.mark.parametrize("lemma", CITED, ids=[lemma.name for lemma in CITED])
def test_explicit_examples_reject_every_falsification(lemma, monkeypatch):
    test = _test_of(lemma)
    _run_explicit_examples(test)                 # the true lemma passes on its examples
    variants = falsifications(lemma)
    assert len(variants) >= 3
    survivors = []
    for name, wrong in variants.items():
        assert (wrong.lhs, wrong.rhs) != (lemma.lhs, lemma.rhs), name
        monkeypatch.setitem(lemmas.LEMMAS, lemma.name, wrong)
        try:
            _run_explicit_examples(test)
        except AssertionError:
            continue
        finally:
            monkeypatch.setitem(lemmas.LEMMAS, lemma.name, lemma)
        survivors.append(f"{name}: {wrong.lhs} {wrong.relation} {wrong.rhs}")
    assert not survivors, f"{lemma.test}'s @example cases accept the false lemma(s) {survivors}"
