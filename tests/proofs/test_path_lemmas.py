"""The cited lemmas of the path-moment bounds (THEORY §11, proofs.path_bound_proofs), one test each: the
lemma's own statement evaluated on every sequence of small random pairs (enumeration), or on random
weights and values, with Hypothesis target() pushing toward the lemma's boundary.

Each test's @example cases reach the lemma's equality or extremal case by construction, so that a lemma
weakened by a hair fails in every profile (tests/proofs/test_lemma_falsifications.py runs the examples alone):

- an inequality at equality: Y = Z (monotonicity), Y ≡ 0 (non-negativity), |Y| constant with both signs
  (Cauchy–Schwarz), Z = |Y| (weighted Cauchy–Schwarz), terms of one sign (triangle inequality), equal laws
  (Le Cam, Bretagnolle–Huber at 0) and near-disjoint two-point laws (Bretagnolle–Huber's other tight end,
  KL → ∞: TV²/(1 − e^(−KL)) = 1 − 3·10⁻¹⁰ at a = 10⁻¹⁰);
- an identity with every term non-zero (two_state_pair, T = 3; an identity moved by 10⁻⁶ of itself fails only
  where its sides are well above the 10⁻⁹ relative tolerance), at the support's edge (EDGE_PAIR: π_θ = (1, 0)
  against (½, ½) at both of two positions, so ρ ∈ {2, 0}, M ∈ {4, 0}: sup_R|Error| = E[W⁻] = ½, D_TV^seq = ¾,
  BC = ½; not for the log-ratio mean, whose sides are −∞ there) and at equal laws (every term 0, BC = 1).

Along a sequence: u_t = ρ_t − 1, M = Π_t ρ_t, S = Σ_t u_t, W = M − 1 − S.
"""
import numpy as np
from hypothesis import example, given, target
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from numerics.enumeration import enumerate_sequences, total_variation_seq, worst_case_error
from numerics.exact import as_automaton, exact_quantities
from numerics.generators import softmax
from numerics.pair import AutomatonPair
from proofs.path_bound_proofs import derivations as _register_path_lemmas
from tests.proofs.extremal_pairs import equal_pair, symmetric_pair, two_state_pair
from tests.proofs.lemma_checks import LEMMA_SETTINGS, assert_lemma
from tests.proofs.test_second_moment_lemmas import walk
from tests.strategies import automaton_pairs, heavy_tail_pairs, sparse_flip_pairs, tabular_pairs

_register_path_lemmas()
pairs = automaton_pairs(max_states=3, max_vocab=3, max_T=4) | tabular_pairs() | sparse_flip_pairs(max_T=4) | \
    heavy_tail_pairs(max_T=4)
#: one state, V = 2, T = 2: π_roll = (½, ½), π_θ = (1, 0) at both positions (π_θ is 0 where π_roll is not)
EDGE_PAIR = AutomatonPair(np.array([1.0]), np.array([[0, 0]]), np.array([[0.5, 0.5]]), np.array([[1.0, 0.0]]),
                          np.array([1.0]), 2)
values = st.integers(1, 8).flatmap(lambda n: st.tuples(
    arrays(np.float64, n, elements=st.floats(-8, 8)), arrays(np.float64, n, elements=st.floats(-3, 3)),
    arrays(np.float64, n, elements=st.floats(-3, 3)), arrays(np.float64, (6, n), elements=st.floats(-3, 3)),
    arrays(np.float64, 6, elements=st.floats(-3, 3)), st.booleans()))
A = np.array
LOGIT = A([0.0, 1.0, -1.0])
X_ROWS = A([[1.0, -2.0, 0.5], [0.5, 1.0, -1.0], [-1.5, 0.25, 2.0], [2.0, 2.0, -0.5], [0.75, -0.25, 1.0],
            [-1.0, 3.0, 0.5]])
COEFFICIENTS = A([0.5, -1.0, 2.0, 0.25, -0.5, 1.5])
#: values (logits, Y, D, X, a, flag) with the flag set: Z = Y (monotonicity), Y ≡ 0 (non-negativity), Y ≡ Y[0]
#: (Cauchy–Schwarz), Z = max(|Y|, 10⁻³) = |Y| (weighted Cauchy–Schwarz), the terms |X_k| (triangle inequality)
FLAGGED = (LOGIT, A([1.0, 2.0, 0.5]), A([0.3, -1.0, 2.0]), X_ROWS, COEFFICIENTS, True)
#: flag off: |Y| = 1.5 with both signs (Cauchy–Schwarz's equality without a constant Y), and terms X_k that share
#: their sign at each outcome, a sign that differs between outcomes (the triangle inequality's equality)
PLUS_MINUS = (LOGIT, A([1.5, -1.5, 1.5]), A([0.3, -1.0, 2.0]), np.abs(X_ROWS) * A([1.0, -1.0, 1.0]), COEFFICIENTS,
              False)


def _path(pair):
    """(E_roll as a function of an array over sequences, ρ_s as a function of s, T, the walk)."""
    w = walk(pair)
    E = lambda arr: float(w.P @ np.broadcast_to(arr, w.P.shape))
    rho = lambda s: 1.0 + w.u[int(s) - 1]
    return E, rho, w.T, w


@LEMMA_SETTINGS
@given(pairs)
@example(two_state_pair())
@example(EDGE_PAIR)
@example(equal_pair())
def test_worst_reward_negative_part(pair):
    E, rho, T, _ = _path(pair)
    sup = worst_case_error(pair).value
    assert_lemma("worst_reward_negative_part", sup_R_Error=sup, E_roll=E, rho=rho, T=T)
    target(sup, label="sup_R|Error|")


@LEMMA_SETTINGS
@given(pairs)
@example(two_state_pair())
@example(EDGE_PAIR)
@example(equal_pair())
def test_worst_reward_absolute(pair):
    E, rho, T, _ = _path(pair)
    sup = worst_case_error(pair).value
    assert_lemma("worst_reward_absolute", sup_R_Error=sup, E_roll=E, rho=rho, T=T)
    target(sup, label="sup_R|Error|")


def _expectation(logit):
    w = softmax(logit)
    return lambda arr: float(w @ np.broadcast_to(arr, w.shape))


@LEMMA_SETTINGS
@given(values)
@example(FLAGGED)
def test_expectation_monotone(draw):
    logit, Yv, Dv, _, _, equal = draw
    Zv = Yv if equal else Yv + np.abs(Dv)
    target(assert_lemma("expectation_monotone", E=_expectation(logit), Y=Yv, Z=Zv), label="E[Y]/E[Z]")


@LEMMA_SETTINGS
@given(values)
@example(FLAGGED)
def test_expectation_nonnegative(draw):
    logit, Yv, _, _, _, zero = draw
    Y = np.zeros_like(Yv) if zero else np.abs(Yv)
    E = _expectation(logit)
    assert_lemma("expectation_nonnegative", E=E, Y=Y)
    target(-E(Y), label="−E[Y]")


@LEMMA_SETTINGS
@given(values)
@example(FLAGGED)
def test_expectation_combination(draw):
    logit, _, _, X, a, _ = draw
    named = {f"a{i}": float(a[i]) for i in range(6)}
    named.update({f"X{i}": X[i - 1] for i in range(1, 6)})
    target(assert_lemma("expectation_combination", E=_expectation(logit), **named), label="|E[a0 + Σ a X]|")


@LEMMA_SETTINGS
@given(values)
@example(PLUS_MINUS)
@example(FLAGGED)
def test_cauchy_schwarz_expectation(draw):
    logit, Yv, _, _, _, constant = draw
    Y = np.full_like(Yv, Yv[0]) if constant else Yv          # |Y| constant: equality
    target(assert_lemma("cauchy_schwarz_expectation", E=_expectation(logit), Y=Y), label="E|Y| / sqrt(E[Y²])")


@LEMMA_SETTINGS
@given(values)
@example(FLAGGED)
def test_cauchy_schwarz_weighted(draw):
    logit, Yv, Dv, _, _, proportional = draw
    Z = np.maximum(np.abs(Yv), 1e-3) if proportional else np.exp(Dv)    # Z = |Y| where |Y| ≥ 10⁻³: equality
    ratio = assert_lemma("cauchy_schwarz_weighted", E=_expectation(logit), Y=Yv, Z=Z)
    target(ratio, label="E|Y| / sqrt(E[Y²/Z] E[Z])")


@LEMMA_SETTINGS
@given(pairs)
@example(two_state_pair())
@example(EDGE_PAIR)
@example(equal_pair())
def test_sum_orthogonal(pair):
    E, rho, T, w = _path(pair)
    Q = sum(w.E(w.chi2[t]) for t in range(T))
    size = assert_lemma("sum_orthogonal", E_roll=E, rho=rho, T=T, Q_seq=Q)
    target(size, label="Q")


@LEMMA_SETTINGS
@given(pairs)
@example(two_state_pair())
@example(symmetric_pair(0.2, 3))
@example(equal_pair())
def test_log_ratio_mean(pair):
    E, rho, T, _ = _path(pair)
    kl = exact_quantities(pair, tv_seq_budget=0, second_moments=False).kl_seq
    target(assert_lemma("log_ratio_mean", E_roll=E, rho=rho, T=T, D_KL_seq=kl), label="D_KL^seq")


@LEMMA_SETTINGS
@given(pairs)
@example(two_state_pair())
@example(EDGE_PAIR)
@example(equal_pair())
def test_tv_as_expectation(pair):
    E, rho, T, _ = _path(pair)
    tv = total_variation_seq(pair)
    target(assert_lemma("tv_as_expectation", E_roll=E, rho=rho, T=T, D_TV_seq=tv), label="D_TV^seq")


@LEMMA_SETTINGS
@given(pairs)
@example(two_state_pair())
@example(EDGE_PAIR)
@example(equal_pair())
def test_bhattacharyya_path(pair):
    E, rho, T, _ = _path(pair)
    table = enumerate_sequences(as_automaton(pair))
    with np.errstate(divide="ignore"):
        bc = float((table.prompt_prob[:, None] * np.exp(0.5 * (table.log_p_roll + table.log_p_theta))).sum())
    target(assert_lemma("bhattacharyya_path", E_roll=E, rho=rho, T=T, BC_seq=bc), label="1 − BC")


def _laws(draw):
    """Two laws on a finite set from logits, with entries switched off (so supports may differ)."""
    a, b, keep_a, keep_b = draw
    p = softmax(np.where(keep_a, a, -np.inf)) if keep_a.any() else softmax(a)
    q = softmax(np.where(keep_b, b, -np.inf)) if keep_b.any() else softmax(b)
    return p, q


laws = st.integers(2, 6).flatmap(lambda V: st.tuples(
    arrays(np.float64, V, elements=st.floats(-20, 20)), arrays(np.float64, V, elements=st.floats(-20, 20)),
    arrays(np.bool_, V), arrays(np.bool_, V)))
EQUAL = (np.array([0.3, -1.0, 2.0]), np.array([0.3, -1.0, 2.0]), np.ones(3, bool), np.ones(3, bool))
DISJOINT = (np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0]), np.array([True, False, False]),
            np.array([False, True, True]))
#: two-point laws (1 − a, a) and (a, 1 − a) at a = 10⁻¹⁰: TV² = (1 − 2a)², 1 − e^(−KL) = 1 − a + O(a² log a), so
#: TV²/(1 − e^(−KL)) = 1 − 3a: Bretagnolle–Huber's tight end (KL → ∞), 1 − 3·10⁻¹⁰ in float64 (a bound scaled by
#: 1 − 10⁻⁶ or lowered by 10⁻⁹ fails here)
_A = 1e-10
_X = 0.5 * np.log((1 - _A) / _A)
NEAR_DISJOINT = (np.array([_X, -_X]), np.array([-_X, _X]), np.ones(2, bool), np.ones(2, bool))


@LEMMA_SETTINGS
@given(laws)
@example(EQUAL)
@example(DISJOINT)
def test_le_cam(draw):
    p, q = _laws(draw)
    tv = 0.5 * float(np.abs(p - q).sum())
    bc = float(np.sqrt(p * q).sum())
    target(assert_lemma("le_cam", D_TV_seq=tv, BC_seq=bc), label="TV² / (1 − BC²)")


@LEMMA_SETTINGS
@given(laws)
@example(EQUAL)
@example(NEAR_DISJOINT)
def test_bretagnolle_huber(draw):
    a, b, _, _ = draw
    p, q = softmax(a), softmax(b)                   # full support: KL(p ‖ q) finite
    tv = 0.5 * float(np.abs(p - q).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = float(np.sum(np.where(p > 0, p * (np.log(p) - np.log(q)), 0.0)))
    target(assert_lemma("bretagnolle_huber", D_TV_seq=tv, D_KL_seq=kl), label="TV² / (1 − e^(−KL))")


@LEMMA_SETTINGS
@given(values, st.integers(0, 5))
@example(FLAGGED, 3)
@example(PLUS_MINUS, 5)
@example(PLUS_MINUS, 0)
def test_expectation_abs_sum(draw, N):
    logit, Yv, Dv, X, _, same_sign = draw
    terms = [np.abs(X[k]) if same_sign else X[k] for k in range(N)]          # equal signs: equality
    ratio = assert_lemma("expectation_abs_sum", E=_expectation(logit), f=lambda s: terms[int(s) - 1], N=N)
    target(ratio, label="E|Σ x| / Σ E|x|")


def _split_walk(pair, threshold):
    """(E_roll, ρ_s, u^b_s as functions of s, T) along every sequence, u^b built as numerics.split_moments does."""
    auto = as_automaton(pair)
    table = enumerate_sequences(auto)
    T, V = auto.T, auto.V
    X, Mn = table.log_p_roll.shape
    seq = np.arange(Mn)
    states = np.repeat(table.prompt_states[:, None], Mn, axis=1)
    big_parts = np.empty((T, X, Mn))
    for t in range(T):
        roll_t, theta_t = auto.policies_at(t)
        token = (seq // V ** (T - 1 - t)) % V
        p, q = roll_t[states, token], theta_t[states, token]
        u = (q - p) / p
        on = roll_t > 0
        uu = np.where(on, (theta_t - roll_t) / np.where(on, roll_t, 1.0), 0.0)
        big_tok = on & (uu + 1.0 > threshold) if threshold > 0 else on
        a = np.where(big_tok, roll_t * uu, 0.0).sum(axis=-1)[states]
        big = (u + 1.0 > threshold) if threshold > 0 else np.ones_like(u, dtype=bool)
        big_parts[t] = np.where(big, u, 0.0) - a
        states = auto.next_state[states, token]
    P = (table.prompt_prob[:, None] * np.exp(table.log_p_roll)).ravel()
    E = lambda arr: float(P @ np.broadcast_to(arr, P.shape))
    rho = lambda s: 1.0 + table.rho_minus_one[int(s) - 1].ravel()
    ub = lambda s: big_parts[int(s) - 1].ravel()
    return E, rho, ub, T


thresholds = st.sampled_from([0.0, 1.1, 1.5, 3.0, 30.0, np.inf])


@LEMMA_SETTINGS
@given(pairs, thresholds)
@example(two_state_pair(), 1.1)
@example(two_state_pair(), 0.0)
@example(EDGE_PAIR, 1.1)
def test_split_large_sum(pair, threshold):
    from numerics.split_moments import split_sum_bounds

    E, rho, ub, T = _split_walk(pair, threshold)
    (_, A_b, _), = split_sum_bounds(pair, thresholds=(threshold,))
    target(assert_lemma("split_large_sum", E_roll=E, u_b=ub, T=T, A_b=A_b), label="A_b")


@LEMMA_SETTINGS
@given(pairs, thresholds)
@example(two_state_pair(), 1.1)
@example(two_state_pair(), np.inf)
@example(EDGE_PAIR, 1.1)
def test_split_orthogonal(pair, threshold):
    from numerics.split_moments import split_sum_bounds

    E, rho, ub, T = _split_walk(pair, threshold)
    (_, _, Q_s), = split_sum_bounds(pair, thresholds=(threshold,))
    target(assert_lemma("split_orthogonal", E_roll=E, rho=rho, u_b=ub, T=T, Q_s=Q_s), label="Q_s")
