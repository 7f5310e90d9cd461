"""The worst-case inputs (proofs.bounds.worst_case_eps, worst_case_kl_seq, worst_case_tv_seq) are the suprema they
claim to be, and every consumer admits real inputs and fills missing ones with them.

A worst-case input is the largest value an input can take given the others; it must be an upper bound (else a
real pair's inputs are refused, and a bound evaluated at the worst case is not a bound) and no larger than the
supremum over pairs (else inconsistent inputs are admitted and the worst-case bounds are looser than stated).
What "attained" means for each, with the explicit pairs that show it (δ = D_KL^{tok,max}):

- D_KL^seq ≤ Tδ (KL chain rule): the maximum over pairs with D_KL^{tok,max} = δ, attained exactly by every i.i.d.
  pair (each context has KL δ). Anything above Tδ is refused.
- ε ≤ min(1, sqrt(δ/2)) (Pinsker): the supremum of TV over pairs with KL ≤ δ is strictly below sqrt(δ/2) for
  every δ > 0 (Fedotov, Harremoës & Topsøe, IEEE Trans. Inf. Theory 49, 2003), but their ratio tends to 1 as
  δ → 0: the symmetric two-point pair π_roll = (½, ½), π_θ = (½ + a, ½ − a) has TV = a and
  KL = −½ log(1 − 4a²) = 2a² + 4a⁴ + …, so TV / sqrt(KL/2) ≥ 1 − 2a². For δ ≥ 2 the cap is 1, the supremum of
  TV as KL → ∞ (π_roll = (1 − η, η), π_θ = (η, 1 − η): TV = 1 − 2η). In between the cap is an upper bound only.
- D_TV^seq ≤ min(1, sqrt(D_KL^seq/2)) (Pinsker per prompt, Jensen): the same two regimes, approached by a pair whose
  whole mismatch is one token. Given δ alone the chained value min(1, sqrt(Tδ/2)) is an upper bound that no pair
  is shown to approach for T ≥ 2: the i.i.d. pair reaches D_KL^seq = Tδ but its log-likelihood ratio is nearly
  normal, and its D_TV^seq is about 0.78·sqrt(Tδ/2) in the small regime (T = 12, a = 10⁻³).

An exponent off by one in any formula (sqrt → ^(3/2) or ^(−1/2), Tδ → T²δ or Tδ²) moves the value away from the
attained one by a factor of a, 1/a, T or δ and fails here (tests/mutations/catalog.py, rows worst_case_*).
"""
import json
import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given, settings

from numerics import codegen
from numerics.bounds import BoundInputs, evaluate_bounds
from numerics.errors import TRMInputError
from numerics.exact import exact_quantities
from numerics.iid import iid_pair, symmetric_pair
from numerics.pair import AutomatonPair
from proofs import bounds
from proofs.lemmas import LEMMAS, numeric_value
from tests.strategies import any_pair
from tests.tolerances import assert_close, assert_le
from trm.cli import main

#: A value above a cap by this factor is refused (numerics.bounds allows a relative slack of 1e-9).
ABOVE = 1 + 1e-6


def worst_eps(d: float) -> float:
    return float(bounds.worst_case_eps(sp.Float(d, 30)))


def worst_kl_seq(d: float, T: int) -> float:
    return float(bounds.worst_case_kl_seq(sp.Float(d, 30), sp.Integer(T)))


def worst_tv_seq(kl: float) -> float:
    return float(bounds.worst_case_tv_seq(sp.Float(kl, 30)))


def one_token_pair(p_roll: float, p_theta: float, T: int) -> AutomatonPair:
    """One state, V = 2, T positions; π_θ differs from π_roll at position 1 only (time-dependent policies), so
    D_KL^seq and D_TV^seq are the first token's KL and TV."""
    roll = np.tile([0.5, 0.5], (T, 1, 1))
    theta = roll.copy()
    roll[0, 0] = [p_roll, 1 - p_roll]
    theta[0, 0] = [p_theta, 1 - p_theta]
    return AutomatonPair(np.array([1.0]), np.array([[0, 0]]), roll, theta, np.array([1.0]), T)


@pytest.mark.parametrize("T, a", [(1, 0.2), (2, 1e-3), (7, 0.1), (64, 0.01), (64, 0.3), (12, 0.45)])
def test_kl_seq_worst_case_is_attained_by_iid_pairs(T, a):
    q = exact_quantities(symmetric_pair(a, T))
    d = q.kl_tok_max
    assert_close(worst_kl_seq(d, T), q.kl_seq, "worst_case_kl_seq(δ, T) = D_KL^seq of an i.i.d. pair", scale=q.kl_seq)
    filled = BoundInputs.worst_case(T, d)
    assert_close(filled.kl_seq, q.kl_seq, "BoundInputs.worst_case fills D_KL^seq with the attained value")
    assert BoundInputs.worst_case(T, d, q.tv_tok_max, q.kl_seq, q.tv_seq_upper).kl_seq == q.kl_seq
    with pytest.raises(TRMInputError, match="--kl-seq"):
        BoundInputs.worst_case(T, d, kl_seq=q.kl_seq * ABOVE)


def test_threshold_slope_is_the_attained_worst_case():
    """TRM-Max's and TRM-Avg's thresholds solve β / slope, the slope being the sequence-KL bound at D_KL^seq =
    worst_case_kl_seq(δ, T) per unit δ. The kernel's assembly (numerics.codegen) refuses a worst case that is not
    linear in δ through 0; its slope times δ is the D_KL^seq an i.i.d. pair attains."""
    table = codegen.kernel_table()
    T, a = 64, 0.01
    q = exact_quantities(symmetric_pair(a, T))
    assert_close(float(table.sequence_kl_worst_case_slope(T)) * q.kl_tok_max, q.kl_seq,
                 "sequence-KL bound at the worst case D_KL^seq, per unit δ, times δ", scale=q.kl_seq)


@pytest.mark.parametrize("a", [0.1, 1e-2, 1e-3, 1e-4])
def test_eps_worst_case_is_approached_as_delta_vanishes(a):
    q = exact_quantities(symmetric_pair(a, 3))
    d, e = q.kl_tok_max, q.tv_tok_max
    w = worst_eps(d)
    assert_le(e, w, "Pinsker: ε ≤ worst_case_eps(δ)")
    assert e / w >= 1 - 2 * a * a, f"ε / worst_case_eps(δ) = {e / w} at a = {a}: the cap is not the supremum"
    assert_close(BoundInputs.worst_case(3, d).tv_tok_max, w, "BoundInputs.worst_case fills ε")
    assert BoundInputs.worst_case(3, d, e).tv_tok_max == e
    with pytest.raises(TRMInputError, match="--tv-max"):
        BoundInputs.worst_case(3, d, w * ABOVE)


@pytest.mark.parametrize("eta", [1e-3, 1e-6])
def test_eps_worst_case_is_one_where_the_supremum_is(eta):
    """Near-disjoint laws: δ = (1 − 2η) log((1 − η)/η) ≥ 2, the cap is exactly 1 and ε = 1 − 2η approaches it."""
    q = exact_quantities(iid_pair(1 - eta, eta, 2))
    assert q.kl_tok_max >= 2 and worst_eps(q.kl_tok_max) == 1.0
    assert 1 - 3 * eta <= q.tv_tok_max <= 1.0
    for d in (2.0, 50.0, 1e300):
        assert worst_eps(d) == 1.0 and BoundInputs.worst_case(4, d).tv_tok_max == 1.0


@pytest.mark.parametrize("a", [0.1, 1e-2, 1e-3, 1e-4])
def test_tv_seq_worst_case_is_approached_by_a_one_token_mismatch(a):
    T = 4
    q = exact_quantities(one_token_pair(0.5, 0.5 + a, T))
    D, tv = q.kl_seq, q.tv_seq
    w = worst_tv_seq(D)
    assert_le(tv, w, "D_TV^seq ≤ worst_case_tv_seq(D_KL^seq)")
    assert tv / w >= 1 - 2 * a * a, f"D_TV^seq / worst_case_tv_seq = {tv / w} at a = {a}: the cap is not the supremum"
    filled = BoundInputs.worst_case(T, q.kl_tok_max, kl_seq=D)
    assert_close(filled.tv_seq, w, "BoundInputs.worst_case fills D_TV^seq")
    assert BoundInputs.worst_case(T, q.kl_tok_max, q.tv_tok_max, D, tv).tv_seq == tv
    with pytest.raises(TRMInputError, match="--tv-seq"):
        BoundInputs.worst_case(T, q.kl_tok_max, kl_seq=D, tv_seq=w * ABOVE)


def test_tv_seq_worst_case_is_one_where_the_supremum_is():
    q = exact_quantities(one_token_pair(1 - 1e-6, 1e-6, 3))
    assert q.kl_seq >= 2 and worst_tv_seq(q.kl_seq) == 1.0 and q.tv_seq >= 1 - 3e-6


def test_worst_case_functions_are_the_lemma_right_sides():
    """The functions return the right sides of the lemmas that bound each input (never a retyped formula)."""
    d, T, D = sp.Symbol("d", positive=True), sp.Symbol("H", integer=True, positive=True), sp.Symbol("D", positive=True)
    assert bounds.worst_case_eps(d) == LEMMAS["eps_pinsker"].rhs.xreplace({bounds.delta: d})
    assert bounds.worst_case_kl_seq(d, T) == LEMMAS["seq_kl_bound"].rhs.xreplace({bounds.delta: d, bounds.T: T})
    assert bounds.worst_case_tv_seq(D) == LEMMAS["seq_tv_worst"].rhs.xreplace({bounds.kl_seq: D})


@settings(max_examples=max(15, settings().max_examples // 4))
@given(any_pair)
@example(symmetric_pair(0.3, 5))
@example(one_token_pair(0.5, 0.5 + 1e-3, 3))
@example(iid_pair(1 - 1e-6, 1e-6, 2))
def test_every_pair_inputs_are_admitted(pair):
    """A real pair's four measured inputs are accepted together by BoundInputs.worst_case, unchanged."""
    q = exact_quantities(pair)
    if not math.isfinite(q.kl_tok_max):
        return
    tv = q.tv_seq if q.tv_seq is not None else q.tv_seq_upper
    given_inputs = BoundInputs.worst_case(q.T, q.kl_tok_max, q.tv_tok_max, q.kl_seq, tv)
    assert (given_inputs.tv_tok_max, given_inputs.kl_seq, given_inputs.tv_seq) == (q.tv_tok_max, q.kl_seq, tv)


# --- the command line consumers

def _trm_json(capsys, *argv) -> dict:
    code = main([*argv, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def _between(value, attained, a, what):
    """attained ≤ value ≤ attained / (1 − 2a²): the worst case is an upper bound within the pair's Pinsker gap."""
    assert attained * (1 - 1e-12) <= value <= attained / (1 - 2 * a * a), f"{what}: {value} vs attained {attained}"


def test_trm_bounds_fills_missing_inputs_with_attained_values(capsys):
    """`trm bounds --kl-max δ` fills D_KL^seq with the i.i.d. pair's exact value and ε within the pair's Pinsker gap;
    `--kl-seq D` fills D_TV^seq within the one-token pair's gap; given a pair's own inputs it accepts them, and it
    refuses a D_KL^seq just above Tδ."""
    T, a = 64, 0.01
    q = exact_quantities(symmetric_pair(a, T))
    filled = _trm_json(capsys, "bounds", "--T", str(T), "--kl-max", repr(q.kl_tok_max))
    assert_close(filled["kl_seq"], q.kl_seq, "trm bounds: D_KL^seq filled")
    _between(filled["tv_tok_max"], q.tv_tok_max, a, "trm bounds: ε filled")
    one = exact_quantities(one_token_pair(0.5, 0.5 + a, 4))
    filled = _trm_json(capsys, "bounds", "--T", "4", "--kl-max", repr(one.kl_tok_max), "--kl-seq", repr(one.kl_seq))
    _between(filled["tv_seq"], one.tv_seq, a, "trm bounds: D_TV^seq filled")
    given_ = _trm_json(capsys, "bounds", "--T", str(T), "--kl-max", repr(q.kl_tok_max), "--tv-max", repr(q.tv_tok_max),
                       "--kl-seq", repr(q.kl_seq), "--tv-seq", repr(q.tv_seq_upper))
    assert given_["kl_seq"] == q.kl_seq and given_["tv_tok_max"] == q.tv_tok_max
    code = main(["bounds", "--T", str(T), "--kl-max", repr(q.kl_tok_max), "--kl-seq", repr(q.kl_seq * ABOVE)])
    assert code == 2 and "--kl-seq" in capsys.readouterr().err


def _lemma_inputs(T: int, d: float) -> BoundInputs:
    """The worst-case inputs at δ recomputed from the lemmas' right sides (not through proofs.bounds)."""
    e = float(numeric_value(LEMMAS["eps_pinsker"].rhs, {"delta": d}))
    D = float(numeric_value(LEMMAS["seq_kl_bound"].rhs, {"delta": d, "T": T}))
    tv = float(numeric_value(LEMMAS["seq_tv_worst"].rhs, {"D_KL_seq": D}))
    return BoundInputs(T, d, e, D, tv, np.full(T, e))


@pytest.mark.parametrize("T, budget", [(16, 0.5), (64, 3.0)])
def test_trm_threshold_is_the_largest_delta_at_the_lemma_worst_case(capsys, T, budget):
    """`trm threshold`: B* at the lemma worst-case inputs is within the budget at the printed δ and exceeds it just
    above (the bisection's tolerance is 1e-10 in log δ)."""
    out = _trm_json(capsys, "threshold", "--T", str(T), "--budget", str(budget))
    d = out["kl_max_threshold"]
    assert_le(evaluate_bounds(_lemma_inputs(T, d))["unified"], budget, "B* at the threshold", scale=budget)
    assert evaluate_bounds(_lemma_inputs(T, d * (1 + 1e-6)))["unified"] > budget
