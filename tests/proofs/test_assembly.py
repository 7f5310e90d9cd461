"""The bound terms numerics evaluates are the kernel's assembly: one source of truth, the linear and
Adaptive bounds through the Δ route (the ‖g_t‖∞ ≤ 2 D̄_t step is false), the LN-TRM weight the Adaptive
future factor."""
import numpy as np
import sympy as sp

import numerics.bounds as nb
from numerics.bounds import BoundInputs, evaluate_bounds, length_neutral_weights
from numerics.decomposition import decompose
from numerics.exact import exact_quantities
from numerics.pair import AutomatonPair
from proofs import bound_family, bounds, quantities as q
from proofs.kernel import ByLemma
from proofs.symbols import T, dbar, delta, eps, t
from tests.tolerances import assert_close, assert_le


def test_bound_terms_and_constants_are_the_assembly():
    assemblies = bound_family.assemblies()
    assert bounds.BOUND_NAMES == tuple(bound_family.BOUND_ROUTES) == nb.BOUND_NAMES
    for name, by_family in assemblies.items():
        assert bounds.BOUND_TERMS[name] == by_family["paper"].positional_term == by_family["sharp"].positional_term
    assert bounds.CONSTANTS == {"paper": sp.Integer(4), "sharp": sp.Integer(2)}
    assert {a.constant for a in (by["paper"] for by in assemblies.values())} == {4}


def test_numerics_evaluates_the_proofs_terms(monkeypatch):
    """Change the term in proofs.bounds: the generated module no longer matches it (the drift check names
    it), and numerics evaluating the kernel's formulas (what `python3 -m numerics.codegen` would generate)
    follows: nothing is retyped on the numerics side."""
    from numerics import codegen, formulas, generated_bounds

    inputs = BoundInputs.worst_case(64, 1e-3)
    before = evaluate_bounds(inputs)["linear"]
    monkeypatch.setitem(bounds.BOUND_TERMS, "linear", 3 * dbar)
    assert [d.split(":")[0] for d in codegen.differences(generated_bounds)] == ["bound_term/linear"]
    generated = formulas.use_kernel()
    try:
        assert_close(evaluate_bounds(inputs)["linear"], 3 * before)
    finally:
        monkeypatch.undo()
        formulas.use(generated)
    assert_close(evaluate_bounds(inputs)["linear"], before)


def test_master_and_delta_routes():
    for name, (route, *_) in bound_family.BOUND_ROUTES.items():
        derivation = bound_family.assemblies()[name]["paper"].derivation
        first = derivation.chain.links[0].by
        assert isinstance(first, ByLemma)
        assert first.instance.lemma_name == ("master_inequality" if route == "master" else "delta_route")
        if route == "delta":
            assert not any(link.rhs.has(q.g) for link in derivation.links()), "the Δ route never uses ‖g_t‖∞"
            assert bounds.BOUND_TERMS[name].has(dbar)


def test_ln_weight_is_the_adaptive_future_factor():
    assert bounds.length_neutral_weight() == bounds.BOUND_TERMS["adaptive_hybrid"] / dbar
    for T_, d, e in ((8, 1e-3, 0.02), (33, 0.5, 0.3)):
        expected = [float(bounds.length_neutral_weight().subs({T: T_, t: i, delta: d, eps: e})) for i in range(1, T_ + 1)]
        assert_close(length_neutral_weights(T_, d, e), expected)


def bad_context_pair() -> AutomatonPair:
    """The first token is 1 with roll-probability 0.01 and leads to the only mismatched context, where
    π_roll = (½, ½), π_θ = (0.7, 0.3); R = 1 exactly after that context's token 0."""
    next_state = np.array([[1, 2], [4, 4], [3, 4], [4, 4], [4, 4]])
    roll = np.array([[0.99, 0.01], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5]])
    theta = roll.copy()
    theta[2] = [0.7, 0.3]
    init = np.array([1.0, 0, 0, 0, 0])
    reward = np.array([0.0, 0.0, 0.0, 1.0, 0.0])
    return AutomatonPair(init, next_state, roll, theta, reward, 2)


def test_sup_g_is_not_bounded_by_twice_the_mean_tv():
    """The old linear/Adaptive argument used ‖g_t‖∞ ≤ 2 D̄_t, which fails: g_2 at the bad context is 0.2
    while 2 D̄_2 = 2 · 0.01 · 0.2 = 0.004. The assembled bounds, through the Δ route, still hold."""
    pair = bad_context_pair()
    dec = decompose(pair)
    quantities = exact_quantities(pair)
    reachable = (dec.d_roll[1] + dec.d_theta[1]) > 0
    sup_g2 = float(np.abs(dec.g[1][reachable]).max())
    assert_close(sup_g2, 0.2)
    assert_close(quantities.tv_pos_mean[1], 0.002)
    assert sup_g2 > 2 * quantities.tv_pos_mean[1] * 10
    for family in ("paper", "sharp"):
        values = evaluate_bounds(BoundInputs.from_exact(quantities), family)
        for name in ("linear", "adaptive_kl", "adaptive_tv", "adaptive_hybrid"):
            assert_le(abs(quantities.error), values[name], name)
