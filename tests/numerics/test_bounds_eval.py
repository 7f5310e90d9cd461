"""numerics.bounds evaluates exactly the formulas of proofs.bounds; inputs are validated; the
threshold inverts the worst-case B*."""
import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from numerics.bounds import BOUND_NAMES, BoundInputs, evaluate_bounds, threshold, worst_case_unified
from numerics.errors import TRMInputError
from proofs import bounds as formulas
from proofs.symbols import T as T_sym, dbar, delta, eps, kl_seq, t as t_sym, tv_seq
from tests.tolerances import assert_close

positive = st.floats(1e-8, 2.0)


@given(st.integers(1, 12), positive, st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.sampled_from(["paper", "sharp"]),
       st.lists(st.floats(0.0, 1.0), min_size=12, max_size=12))
def test_numeric_bounds_equal_the_sympy_sums(T, d, e_frac, tv_frac, family, dbar_values):
    e = e_frac * min(1.0, math.sqrt(d / 2))
    D = T * d * 0.5
    tv = tv_frac * min(1.0, math.sqrt(D / 2))
    dbars = np.array(dbar_values[:T]) * e
    values = evaluate_bounds(BoundInputs(T, d, e, D, tv, dbars), family)
    C = formulas.CONSTANTS[family]
    for name in BOUND_NAMES:
        term = formulas.BOUND_TERMS[name]
        exact = sum(term.subs({T_sym: T, t_sym: i, delta: d, eps: e, kl_seq: D, tv_seq: tv, dbar: dbars[i - 1]})
                    for i in range(1, T + 1))
        assert_close(values[name], float(C * exact), name)


def test_infinite_kl_evaluates_through_the_caps():
    values = evaluate_bounds(BoundInputs(8, math.inf, 0.3, math.inf, 0.5, np.full(8, 0.1)))
    assert all(math.isfinite(values[name]) for name in BOUND_NAMES)
    assert values["pinsker_marginal_kl"] == 4 * 1 * 7  # caps: 4 · 1 · Σ_(k<8) min(1, ·) with k = 0 giving 0


@pytest.mark.parametrize("kwargs, message", [
    (dict(T=0, kl_tok_max=1e-3), "T = 0"),
    (dict(T=10, kl_tok_max=-1.0), "cannot be negative"),
    (dict(T=10, kl_tok_max=float("nan")), "finite"),
    (dict(T=10, kl_tok_max=1e-4, tv_tok_max=0.5), "Pinsker cap"),
    (dict(T=10, kl_tok_max=1e-4, kl_seq=1.0), "chain rule"),
    (dict(T=10, kl_tok_max=1e-4, kl_seq=1e-4, tv_seq=0.5), "--tv-seq 0.5 exceeds"),
    (dict(T=2.5, kl_tok_max=1e-4), "integer"),
])
def test_contradictory_inputs_are_refused(kwargs, message):
    with pytest.raises(TRMInputError, match=message):
        BoundInputs.worst_case(**kwargs)


def test_worst_case_substitutions():
    inputs = BoundInputs.worst_case(100, 1e-4)
    assert_close(inputs.tv_tok_max, math.sqrt(5e-5))
    assert_close(inputs.kl_seq, 1e-2)
    assert_close(inputs.tv_seq, math.sqrt(5e-3))
    assert np.all(inputs.tv_pos_mean == inputs.tv_tok_max)


@pytest.mark.parametrize("T", [16, 1024, 4096])
@pytest.mark.parametrize("family", ["paper", "sharp"])
def test_threshold_inverts_the_worst_case_unified_bound(T, family):
    budget = 0.05
    d = threshold(T, budget, family)
    assert worst_case_unified(T, d, family) <= budget
    assert worst_case_unified(T, d * (1 + 1e-6), family) > budget


def test_threshold_is_unbounded_when_every_bound_is_zero():
    assert threshold(1, 0.01) == math.inf


def test_threshold_refuses_a_non_positive_budget():
    with pytest.raises(TRMInputError, match="budget"):
        threshold(100, 0.0)


def test_sharp_thresholds_are_looser():
    assert threshold(4096, 0.01, "sharp") > threshold(4096, 0.01, "paper")


def test_term_functions_reject_unknown_constants():
    with pytest.raises(TRMInputError, match="constants"):
        evaluate_bounds(BoundInputs.worst_case(4, 0.1), "tight")


def test_bound_formulas_are_the_proofs_objects():
    """One source of truth: numerics.bounds exposes the proofs' names and constants, nothing retyped."""
    import numerics.bounds as nb
    assert nb.BOUND_NAMES == formulas.BOUND_NAMES
    assert set(nb.CONSTANT_FAMILIES) == set(formulas.CONSTANTS)
    assert sp.Integer(4) == formulas.CONSTANTS["paper"] and sp.Integer(2) == formulas.CONSTANTS["sharp"]


def test_sums_over_positions_do_not_depend_on_chunks_or_threads(monkeypatch):
    """numerics.bounds.sum_over_positions: one chunk, many chunks summed serially and many on threads give the
    same sums (chunk sums added in chunk order), scalar entries count at every position, and the caller's
    numpy.errstate holds in the worker threads."""
    import numerics.bounds as nb

    T = 300_001
    x = np.random.default_rng(3).random(T)
    terms = lambda start, stop, t: [x[start:stop], t * t, 2.5]
    whole = nb.sum_over_positions(terms, T, 3, chunk=T)
    assert whole[0] == pytest.approx(x.sum(), rel=1e-13) and whole[2] == 2.5 * T
    assert whole[1] == pytest.approx(T * (T + 1) * (2 * T + 1) / 6, rel=1e-13)
    monkeypatch.setattr(nb, "_usable_cores", lambda: 1)
    serial = nb.sum_over_positions(terms, T, 3, chunk=4096)
    monkeypatch.setattr(nb, "_usable_cores", lambda: 4)
    threaded = nb.sum_over_positions(terms, T, 3, chunk=4096)
    assert serial == threaded and serial == pytest.approx(whole, rel=1e-13)
    with np.errstate(over="ignore"):
        assert nb.sum_over_positions(lambda a, b, t: [np.exp(t)], T, 1, chunk=4096) == [np.inf]
