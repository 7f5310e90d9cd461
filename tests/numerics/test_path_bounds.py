"""The path-moment bounds (THEORY §11, this suite's own results) against the exact worst case over all rewards
(enumeration), on random pairs including sparse flips and heavy-tailed noise; their inputs' validation; the
closed forms the numerics evaluate against proofs.path_bounds."""
import math

import numpy as np
import pytest
from hypothesis import example, given, settings, target

from numerics.bounds import BoundInputs, evaluate_bounds
from numerics.chi2_bounds import Chi2Inputs, evaluate_chi2_bounds, with_chi2
from numerics.enumeration import total_variation_seq, worst_case_error
from numerics.errors import TRMInputError
from numerics.exact import exact_quantities
from numerics.iid import symmetric_pair
from numerics.path_bounds import (COARSE_GRID, FULL_GRID, PATH_BOUND_NAMES, PathInputs, evaluate_path_bounds,
                                  search_weighted_chi2, tangent_bound, tv_upper_bounds, with_path_bounds)
from numerics.path_moments import path_moments, weighted_second_moment
from numerics.split_moments import split_sum_bounds
from proofs import path_bounds as formulas
from proofs.symbols import kl_seq as K_sym
from tests.strategies import any_pair, heavy_tail_pairs, sparse_flip_pairs
from tests.tolerances import assert_close, assert_le

pairs = any_pair | sparse_flip_pairs() | heavy_tail_pairs()
#: Enumeration and 36 weighted DPs per example: a third of the profile's examples (at least 15).
HEAVY = settings(max_examples=max(15, settings().max_examples // 3))


def _inputs(pair, exact_tv: bool = True, grid: str = "full") -> PathInputs:
    q = exact_quantities(pair, tv_seq_budget=None if exact_tv else 0)
    weighted = search_weighted_chi2(pair, 2 * float(q.tv_pos_mean.sum()), grid=grid)
    return PathInputs.from_exact(q, path_moments(pair), weighted, split_sum_bounds(pair))


@HEAVY
@given(pairs)
@example(symmetric_pair(0.4, 5))
def test_every_path_bound_holds(pair):
    """Each bound (with the exact D_TV^seq, and with its DP upper bounds) is ≥ sup_R|Error| from enumeration."""
    sup = worst_case_error(pair).value
    for exact_tv, grid in ((True, "full"), (False, "coarse")):
        values, _ = evaluate_path_bounds(_inputs(pair, exact_tv, grid))
        for name in PATH_BOUND_NAMES:
            assert values[name] is not None, name
            assert_le(sup, values[name], f"sup_R|Error| ≤ {name}")
    best = min(values.values())
    target(sup / best if best > 0 else 0.0, label="sup_R|Error| / best path bound")


@HEAVY
@given(sparse_flip_pairs(max_T=4) | heavy_tail_pairs(max_T=4))
def test_every_weighted_grid_point_and_every_tangent_point_holds(pair):
    """Not only the minima: every weight of the grid and every γ gives a valid bound (the proofs are for each)."""
    sup = worst_case_error(pair).value
    q = exact_quantities(pair, tv_seq_budget=0)
    scale = 2 * float(q.tv_pos_mean.sum()) or 1.0
    for alpha, nu in FULL_GRID:
        w2, mass = weighted_second_moment(pair, alpha, nu / scale)
        assert_le(sup, 0.5 * math.sqrt(w2 * mass), f"weighted χ² at α = {alpha}, ν = {nu}")
    pm = path_moments(pair)
    for g in (1e-3, 0.1, 0.5, 1.0, 1.7):
        value = float(formulas.TANGENT_BOUND.subs({formulas.gamma: g, K_sym: pm.kl_seq, formulas.q_sum: pm.q_sum,
                                                   formulas.sh_moment: pm.sh_moment,
                                                   formulas.h2_moment: pm.h2_moment}).evalf())
        assert_le(sup, value, f"tangent at γ = {g}")
    assert_le(sup, 0.5 * (1 + math.sqrt(1 + pm.q_sum)), "tangent at γ = 0")
    tv = exact_quantities(pair).tv_seq
    for r, A_b, Q_s in split_sum_bounds(pair):
        assert_le(sup, tv + 0.5 * (A_b + math.sqrt(Q_s)), f"additive with the split at r* = {r}")
    target(sup / max(q.kl_seq, 1e-300), label="sup / D_KL^seq")


@given(pairs)
def test_tv_upper_bounds_hold(pair):
    tv = total_variation_seq(pair)
    bounds = tv_upper_bounds(_inputs(pair, exact_tv=False, grid="none"))
    for name in ("le_cam", "bretagnolle_huber", "pinsker"):
        assert_le(tv, bounds[name], f"D_TV^seq ≤ {name}")


def test_equal_policies_give_zero():
    values, params = evaluate_path_bounds(_inputs(symmetric_pair(0.0, 6)))
    assert all(values[n] == 0 for n in PATH_BOUND_NAMES), values
    assert params["tangent_gamma"] == 1.0          # κ_1 = 0: the only γ > 0 whose bound is 0


def test_horizon_one_gives_zero_weighted_bound():
    """T = 1: W = 0 on every sequence, and the weighted (like the χ²-exact) bound is 0."""
    pair = symmetric_pair(0.3, 1)
    assert worst_case_error(pair).value == 0
    assert _inputs(pair).weighted.value == 0


def test_closed_forms_are_the_proofs_expressions():
    inputs = PathInputs(50, kl_seq=0.7, q_sum=1.9, sh_moment=0.4, h2_moment=0.9, bhattacharyya=0.8)
    values, params = evaluate_path_bounds(inputs)
    assert values["sequence_kl"] == 0.7
    assert_close(params["tv_seq_upper_bounds"]["le_cam"], math.sqrt(1 - 0.64), "Le Cam")
    assert_close(params["tv_seq_upper_bounds"]["bretagnolle_huber"], math.sqrt(1 - math.exp(-0.7)), "BH")
    g = params["tangent_gamma"]
    kappa = 1 - g + g * math.log(g)
    m = g * 0.7 + kappa
    s = (1 - g) ** 2 * 1.9 + 2 * g * (1 - g) * 0.4 + g * g * 0.9 + 2 * kappa * g * 0.7 + kappa**2
    assert_close(values["tangent"], 0.5 * (m + math.sqrt(s)), "tangent at its γ")
    assert_close(values["additive"], min(math.sqrt(1 - 0.64), math.sqrt(1 - math.exp(-0.7)), math.sqrt(0.35))
                 + 0.5 * math.sqrt(1.9), "additive")
    grid = np.geomspace(1e-4, 2, 4001)
    brute = min(0.5 * (1 + math.sqrt(2.9)), min(
        0.5 * ((gg * 0.7 + k) + math.sqrt((1 - gg) ** 2 * 1.9 + 2 * gg * (1 - gg) * 0.4 + gg * gg * 0.9 + 2 * k * gg * 0.7
                                          + k * k)) for gg, k in ((gg, 1 - gg + gg * math.log(gg)) for gg in grid)))
    assert values["tangent"] <= brute * (1 + 1e-9), "the γ search finds the minimum of a fine grid"


def test_only_q_gives_the_tangent_at_zero():
    value, g = tangent_bound(PathInputs(10, kl_seq=2.0, q_sum=3.0))
    assert g == 0.0 and value == pytest.approx(0.5 * (1 + 2.0))


def test_best_is_the_minimum_and_names_it():
    pair = symmetric_pair(0.2, 30)
    q = exact_quantities(pair, tv_seq_budget=0)
    chi2 = evaluate_chi2_bounds(Chi2Inputs.from_exact(q))
    path, _ = evaluate_path_bounds(_inputs(pair, exact_tv=False))
    for family in ("paper", "sharp"):
        bounds = with_path_bounds(with_chi2(evaluate_bounds(BoundInputs.from_exact(q), family), chi2), path)
        numbers = {k: v for k, v in bounds.items() if not k.startswith(("argmin", "unified", "best"))
                   and isinstance(v, float)}
        assert bounds["best"] == min(numbers.values())
        assert bounds[bounds["argmin_best"]] == bounds["best"]
        assert bounds["best"] <= bounds["unified_with_chi2"] <= bounds["unified"]


@pytest.mark.parametrize("kwargs, message", [
    (dict(q_sum=-1.0), "cannot be negative"),
    (dict(q_sum=1.0, sh_moment=0.1), "go together"),
    (dict(sh_moment=0.1, h2_moment=1.0), "need --chi2-sum"),
    (dict(q_sum=1.0, sh_moment=0.1, h2_moment=0.01), "E[H²] ≥ E[H]²"),
    (dict(q_sum=1.0, sh_moment=5.0, h2_moment=1.0), "Cauchy–Schwarz"),
    (dict(bhattacharyya=1.5), "lies in [0, 1]"),
    (dict(bhattacharyya=0.01), "Jensen"),
    (dict(bhattacharyya=0.9, tv_seq=0.01), "1 − BC"),
    (dict(q_sum=100.0, chi2_max=0.1), "T·χ²_max"),
    (dict(sh_moment=float("nan"), h2_moment=1.0, q_sum=1.0), "finite"),
])
def test_user_inputs_are_checked(kwargs, message):
    with pytest.raises(TRMInputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        PathInputs.worst_case(20, 0.5, **kwargs)


def test_weighted_grids():
    assert len(FULL_GRID) == 36 and len(COARSE_GRID) == 8 and (0.0, 0.0) in COARSE_GRID
    pair = symmetric_pair(0.1, 16)
    full = search_weighted_chi2(pair, 1.0, grid="full")
    coarse = search_weighted_chi2(pair, 1.0, grid="coarse")
    assert full.value <= coarse.value and search_weighted_chi2(pair, 1.0, grid="none") is None
    assert search_weighted_chi2(pair, 1.0, grid="auto", max_seconds=0.0) is None
    with pytest.raises(TRMInputError, match="grid"):
        search_weighted_chi2(pair, 1.0, grid="fine")
