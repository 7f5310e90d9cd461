"""The kernel refuses what it must refuse: identical sides, restated hypotheses, wrong rewrites, false or
undecided inequalities, unsupported constructs, ill-defined roots, inconsistent hypotheses, broken
induction, wrong lemma instances; and nothing resting on a citation is reported as proved."""
import pytest
import sympy as sp

from proofs import lemmas
from proofs.kernel import (EXPAND, NUMERIC_LIMITS, ByLemma, Chain, Derivation, DerivationError, Induction, Instance,
                           Link, Rewrite, Sign, Subst, Termwise, Z3, peel, z3_decide, Context)
from proofs.lemmas import KL, TV

x = sp.Symbol("x", positive=True)
y = sp.Symbol("y", real=True)
n = sp.Symbol("n", integer=True, nonnegative=True)
t = sp.Symbol("t", integer=True, positive=True)


def verdict(chain, **kw):
    return Derivation("under_test", "a statement", "test", chain, **kw).check().verdict


def test_identical_sides_are_an_error_when_the_link_is_built():
    with pytest.raises(DerivationError, match="identical sides"):
        Chain(x + 1).eq(1 + x, Rewrite(EXPAND))
    with pytest.raises(DerivationError, match="identical sides"):       # sympy evaluates p·1 + (1 − p)·0 to p
        Chain(x * 1 + (1 - x) * 0).eq(x, Rewrite(EXPAND))
    with pytest.raises(DerivationError, match="identical sides"):
        Link(sp.Integer(2), "=", sp.Integer(2), Z3())


def test_a_link_restating_a_hypothesis_is_an_error():
    chain = Chain(y).le(1, Z3()).le(2, Z3())
    with pytest.raises(DerivationError, match="restates a hypothesis"):
        Derivation("restated", "y ≤ 2", "test", chain, hypotheses=(sp.Le(y, 1),)).check()
    with pytest.raises(DerivationError, match="is one of the hypotheses"):
        Derivation("restated", "y ≤ 1", "test", Chain(y).le(1, Z3()), hypotheses=(sp.Ge(1, y),))


def test_a_wrong_rewrite_fails():
    assert verdict(Chain((x + 1) ** 2).eq(x ** 2 + 2 * x + 2, Rewrite(EXPAND))) == "failed"
    assert verdict(Chain((x + 1) ** 2).eq(x ** 2 + 2 * x + 1, Rewrite(EXPAND))) == "proved"


def test_rewrites_prove_equalities_only():
    assert verdict(Chain(x).le(x + 1, Rewrite(EXPAND))) == "failed"


def test_z3_refutes_false_and_fails_undecided_inequalities():
    assert verdict(Chain(x).le(x - 1, Z3())) == "failed"
    ok, detail = z3_decide(Context(), y, "<=", 0)
    assert not ok and "counterexample" in detail
    assert verdict(Chain(sp.sqrt(x) ** 2 + sp.Min(x, 1)).le(x + 1, Z3())) == "proved"


def test_unsupported_constructs_fail_rather_than_pass():
    ok, detail = z3_decide(Context(), sp.sin(y), "<=", 1)
    assert not ok and "unsupported" in detail


def test_roots_of_possibly_negative_numbers_are_not_proved():
    ok, detail = z3_decide(Context(), sp.sqrt(y), "<=", sp.sqrt(y) + 1)
    assert not ok and "well defined" in detail
    ok, _ = z3_decide(Context((sp.Ge(y, 0),)), sp.sqrt(y), "<=", sp.sqrt(y) + 1)
    assert ok


def test_inconsistent_hypotheses_fail_the_derivation():
    chain = Chain(y).le(y - 5, Z3())
    assert verdict(chain, hypotheses=(sp.Gt(y, 1), sp.Lt(y, 0))) == "failed"


def test_sign_facts_need_a_definite_sign():
    assert verdict(Chain(0).le(x ** 2, Sign())) == "proved"
    assert verdict(Chain(0).le(y, Sign())) == "failed"


def test_a_cited_lemma_is_never_reported_as_proved():
    chain = Chain(TV).le(sp.sqrt(KL / 2), ByLemma("pinsker"))
    report = Derivation("cites", "Pinsker", "test", chain).check()
    assert report.verdict == "cited" and report.steps[0].verdict == "cited"
    assert report.steps[0].test == lemmas.LEMMAS["pinsker"].test
    via_z3 = Derivation("rests", "TV ≤ 1 + sqrt(KL/2)", "test", Chain(TV).le(1 + sp.sqrt(KL / 2), Z3("p")),
                        facts={"p": Instance("pinsker")}).check()
    assert via_z3.verdict == "cited" and all(s.verdict == "cited" for s in via_z3.steps)


def test_a_lemma_instance_must_match_structurally():
    chain = Chain(TV).le(sp.sqrt(KL), ByLemma("pinsker"))
    assert verdict(chain) == "failed"
    with pytest.raises(DerivationError, match="not one of its variables"):
        Derivation("bad_sub", "x", "test", Chain(x).le(x + 1, ByLemma("pinsker", {x: 1}))).check()


def test_a_lemma_instance_must_meet_the_lemma_hypotheses():
    """tv_at_most_one's variable TV is nonnegative: an instance at a possibly negative value fails."""
    assert verdict(Chain(y).le(1, ByLemma("tv_at_most_one", {TV: y}))) == "failed"


def test_induction_checks_base_and_step():
    s = sp.Symbol("s", integer=True, positive=True)
    lhs, rhs = sp.Sum(2 * s - 1, (s, 1, n)), n ** 2
    good_step = (Chain(lhs.xreplace({n: n + 1})).eq(lhs + 2 * n + 1, Rewrite(peel(n + 1)))
                 .eq(n ** 2 + 2 * n + 1, Subst("IH")).eq((n + 1) ** 2, Rewrite(EXPAND)))
    base = Chain(lhs.xreplace({n: 1})).eq(1, Rewrite(NUMERIC_LIMITS))
    ok = Chain(lhs).eq(rhs, Induction(n, 1, base, good_step))
    assert verdict(ok, hypotheses=(sp.Ge(n, 1),)) == "proved"
    wrong_rhs = n ** 2 + 1
    with pytest.raises(DerivationError, match="base chain"):
        Derivation("wrong", "x", "test", Chain(lhs).eq(wrong_rhs, Induction(n, 1, base, good_step))).check()
    bad_step = (Chain(lhs.xreplace({n: n + 1})).eq(lhs + 2 * n + 1, Rewrite(peel(n + 1)))
                .eq(n ** 2 + 2 * n + 1, Z3()).eq((n + 1) ** 2, Rewrite(EXPAND)))   # without the hypothesis
    assert verdict(Chain(lhs).eq(rhs, Induction(n, 1, base, bad_step)), hypotheses=(sp.Ge(n, 1),)) == "failed"


def test_termwise_needs_matching_sums():
    s = sp.Symbol("s", integer=True, positive=True)
    good = Chain(sp.Sum(sp.Min(1, s * x), (s, 1, t))).le(sp.Sum(s * x, (s, 1, t)), Termwise(Z3()))
    assert verdict(good) == "proved"
    other_range = Chain(sp.Sum(sp.Min(1, s * x), (s, 1, t))).le(sp.Sum(s * x, (s, 0, t)), Termwise(Z3()))
    assert verdict(other_range) == "failed"


def test_falsified_lemma_is_false():
    lemma = lemmas.LEMMAS["pinsker"].falsified()
    lhs, rhs = lemma.evaluate(TV=0.5, KL=0.5)
    assert lhs > rhs
