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

Two inequalities of the ceiling given D_KL^seq (proofs.kl_ceiling), the truncated martingale and jump parts, are
tight only at 0 = 0 (π_θ = π_roll), where scaling the right side changes nothing, and their ratio lhs/rhs stays
below 1 − 10⁻⁶ at every other pair: their constant 4 is not sharp, so the lemma scaled by 1 − 10⁻⁶ is TRUE and no
example can refuse it. NOT_TIGHT records, for each, a proved upper bound on the supremum of the ratio and the ratio
c its examples reach; the scaled falsification is then
rhs·c·(1 − 10⁻⁶), and the lemma with its right side scaled by that upper bound must still pass.
So a constant lowered below what the examples show is refused, and losing the extremal example fails here.
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
KAPPA = 1 / (1 - sp.log(2))             # sup u²/φ(u) on [−1, 1] = sup u/φ(u) on [1, ∞), both at u = 1

#: lemma → (an upper bound on the supremum of lhs/rhs over all pairs, the ratio its @example cases reach, why): the
#: arguments are in the lemmas' tests (tests/proofs/test_kl_ceiling_lemmas.py), the searches in
#: tests/proofs/search_lemma_ratios.py (docs/proofs.md has the commands).
NOT_TIGHT = {
    "truncated_martingale_part": (sp.sqrt(KAPPA) / 2, sp.Rational(791, 1000),
                                  "E|Σm| ≤ sqrt(κA): the ratio is at most sqrt(κ)/2 = 0.9026; the largest found is "
                                  "0.79126, boundary_martingale_pair reaches 0.79106"),
    "truncated_jump_part": (KAPPA / 4, KAPPA / 4,
                            "E|Σj| ≤ 2κB: the ratio is at most κ/4 = 0.81472, approached by rare_jump_pair within "
                            "5·10⁻⁷"),
}


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
        if lemma.name in NOT_TIGHT:
            _, reached, _ = NOT_TIGHT[lemma.name]
            out["scaled_below_reached"] = replace(lemma, rhs=rhs * reached * (1 - SCALE))
        elif lemma.lhs != 0:
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
    assert len(CITED) >= 52
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


@pytest.mark.parametrize("name", sorted(NOT_TIGHT))
def test_not_tight_lemmas_pass_at_their_supremum(name, monkeypatch):
    """The recorded supremum is consistent with the examples: the lemma with its right side scaled by it still
    passes on them (and the reached ratio is at most the supremum, and below 1 − 10⁻⁶, else the plain scaling
    applies)."""
    lemma = lemmas.LEMMAS[name]
    assert lemma.cited and lemma.relation == "<=", name
    supremum, reached, why = NOT_TIGHT[name]
    assert why and 0 < reached <= supremum <= 1 and float(reached) < 1 - float(SCALE), name
    monkeypatch.setitem(lemmas.LEMMAS, name, replace(lemma, rhs=lemma.rhs * supremum))
    _run_explicit_examples(_test_of(lemma))
