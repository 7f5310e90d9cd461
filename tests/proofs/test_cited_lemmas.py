"""One property test per cited lemma (proofs.lemmas): each evaluates the lemma's own statement on
exact quantities of random policy pairs, and Hypothesis target() pushes toward the lemma's boundary
(the ratio of its two sides, or the size of an identity's terms). Each test's @example cases put it at the
lemma's equality and extremal configurations in every profile (tests/proofs/extremal_pairs.py), so that a
lemma weakened in any direction fails (tests/proofs/test_lemma_falsifications.py)."""
import numpy as np
from hypothesis import example, given, target
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from numerics.decomposition import decompose
from numerics.divergence import token_kl, token_tv
from numerics.enumeration import enumerate_sequences
from numerics.exact import as_automaton, exact_quantities
from numerics.generators import softmax
from tests.proofs.extremal_pairs import equal_pair, first_token_tree, one_token_pair, symmetric_pair, two_state_pair
from tests.proofs.lemma_checks import LEMMA_SETTINGS, assert_lemma
from tests.strategies import any_pair, automaton_pairs, tabular_pairs

logits = st.integers(2, 6).flatmap(lambda V: st.tuples(
    arrays(np.float64, V, elements=st.floats(-30, 30)), arrays(np.float64, V, elements=st.floats(-30, 30)),
    arrays(np.float64, V, elements=st.floats(-2, 2)), st.booleans()))
weights_and_values = st.integers(1, 8).flatmap(lambda n: st.tuples(
    arrays(np.float64, n, elements=st.floats(-8, 8)), arrays(np.float64, n, elements=st.floats(-3, 3)),
    arrays(np.float64, n, elements=st.floats(-3, 3)), st.floats(-3, 3)))
full_support = automaton_pairs(max_states=3, max_vocab=3, max_T=4) | tabular_pairs()

A = np.array
#: laws (logits a, b, values f, use f = 1[P > Q]): equal; a small symmetric mismatch (TV / sqrt(KL/2) = 1 − 8e-8);
#: a moderate one; disjoint supports in float64 (TV = 1); a mismatch with the indicator f = 1[P > Q]
EQUAL_LAWS = (A([0.0, 1.0, -1.0]), A([0.0, 1.0, -1.0]), A([1.0, -2.0, 0.5]), False)
NEAR_EQUAL_LAWS = (A([1e-3, -1e-3]), A([0.0, 0.0]), A([0.0, 1.0]), True)
MODERATE_LAWS = (A([0.3, -0.3]), A([0.0, 0.0]), A([0.0, 1.0]), False)
DISJOINT_LAWS = (A([30.0, -30.0]), A([-30.0, 30.0]), A([0.0, 0.0]), True)
INDICATOR_LAWS = (A([1.5, 0.0, -2.0]), A([0.0, 0.5, 1.0]), A([0.0, 0.0, 0.0]), True)
#: (weights, X, Y, λ): Y = sign(X)·λ when λ > 0 (Hölder's equality case); X ≡ 0; plain values
HOLDER_EXTREMAL = (A([0.0, 1.0, -1.0]), A([1.0, -2.0, 0.5]), A([0.0, 0.0, 0.0]), 1.5)
ZERO_X = (A([0.0, 0.0]), A([0.0, 0.0]), A([1.0, 2.0]), -1.0)
PLAIN_VALUES = (A([0.5, -0.5]), A([1.0, 2.0]), A([0.5, -1.0]), -2.0)


def _laws(draw):
    a, b, f, indicator = draw
    p, q = softmax(a), softmax(b)
    if indicator:                         # the maximising function of TV duality: 1[P > Q]
        f = (p > q).astype(np.float64)
    return p, q, f


@LEMMA_SETTINGS
@given(logits)
@example(EQUAL_LAWS)
@example(INDICATOR_LAWS)
@example(DISJOINT_LAWS)
@example(NEAR_EQUAL_LAWS)
def test_tv_duality(draw):
    p, q, f = _laws(draw)
    ratio = assert_lemma("tv_duality", EP=float(p @ f), EQ=float(q @ f), TV=float(token_tv(p, q)),
                         OSC=float(f.max() - f.min()))
    target(ratio, label="|E_P f − E_Q f| / (TV osc f)")


@LEMMA_SETTINGS
@given(logits)
@example(EQUAL_LAWS)
@example(NEAR_EQUAL_LAWS)
@example(MODERATE_LAWS)
def test_pinsker(draw):
    p, q, _ = _laws(draw)
    target(assert_lemma("pinsker", TV=float(token_tv(p, q)), KL=float(token_kl(p, q))), label="TV/sqrt(KL/2)")


@LEMMA_SETTINGS
@given(logits)
@example(DISJOINT_LAWS)
@example(EQUAL_LAWS)
def test_tv_at_most_one(draw):
    p, q, _ = _laws(draw)
    target(assert_lemma("tv_at_most_one", TV=float(token_tv(p, q))), label="TV")


@LEMMA_SETTINGS
@given(any_pair)
@example(symmetric_pair(0.2, 3))
@example(equal_pair())
@example(two_state_pair())
def test_bounded_by_max(pair):
    q = exact_quantities(pair, tv_seq_budget=0)
    dec = decompose(pair)
    reachable = (dec.d_roll[:q.T] + dec.d_theta[:q.T]) > 0
    ratios = [assert_lemma("bounded_by_max", M=q.tv_pos_mean, X=q.tv_tok_max),
              assert_lemma("bounded_by_max", M=dec.tv_context[reachable], X=q.tv_tok_max)]
    if np.isfinite(q.kl_tok_max):
        ratios.append(assert_lemma("bounded_by_max", M=q.kl_pos_mean, X=q.kl_tok_max))
    target(max(ratios), label="mean or value / max")


@LEMMA_SETTINGS
@given(tabular_pairs())
@example(first_token_tree())
def test_kl_chain_rule(pair):
    """For a prefix tree, states are contexts: KL(d_t^roll ‖ d_t^θ) = Σ_(s<t) E_(d_s^roll)[D_KL]."""
    dec, q = decompose(pair), exact_quantities(pair)
    sizes = []
    for t in range(1, q.T + 1):
        d_r, d_q = dec.d_roll[t - 1], dec.d_theta[t - 1]
        mask = d_r > 0
        kl_t = float((d_r[mask] * (np.log(d_r[mask]) - np.log(d_q[mask]))).sum())
        sizes.append(assert_lemma("kl_chain_rule", KL_L=kl_t, m=lambda s: q.kl_pos_mean[int(s) - 1], a=1, b=t - 1))
    target(max(sizes), label="KL of the prefix laws")


@LEMMA_SETTINGS
@given(tabular_pairs())
@example(first_token_tree())
def test_coupling_recursion(pair):
    dec, q = decompose(pair), exact_quantities(pair)
    ratios = [assert_lemma("coupling_recursion", TV_L=float(dec.shift_tv[t - 1]),
                           m=lambda s: q.tv_pos_mean[int(s) - 1], a=1, b=t - 1) for t in range(1, q.T + 1)]
    target(max(ratios), label="TV(d_t) / Σ D̄_s")


@LEMMA_SETTINGS
@given(any_pair)
@example(first_token_tree())
@example(equal_pair())
def test_data_processing_tv(pair):
    dec, q = decompose(pair), exact_quantities(pair)
    ratios = [assert_lemma("data_processing_tv", t=t, TV_d=lambda s: float(dec.shift_tv[int(s) - 1]),
                           D_TV_seq=q.tv_seq) for t in range(1, q.T + 1)]
    target(max(ratios), label="TV(d_t) / D_TV^seq")


@LEMMA_SETTINGS
@given(any_pair)
@example(one_token_pair(5e-4))
@example(equal_pair())
def test_seq_pinsker(pair):
    q = exact_quantities(pair)
    if np.isfinite(q.kl_seq):
        target(assert_lemma("seq_pinsker", D_TV_seq=q.tv_seq, D_KL_seq=q.kl_seq), label="D_TV^seq / sqrt(D_KL^seq/2)")


@LEMMA_SETTINGS
@given(any_pair)
@example(two_state_pair())
def test_performance_difference(pair):
    dec, q = decompose(pair), exact_quantities(pair)
    size = assert_lemma("performance_difference", Jgap=q.J_theta - q.J_roll, T=q.T,
                        Eg_theta=lambda t: float(dec.d_theta[int(t) - 1] @ dec.g[int(t) - 1]))
    target(size, label="|J gap|")


@LEMMA_SETTINGS
@given(full_support)
@example(two_state_pair())
def test_per_token_surrogate(pair):
    dec, q = decompose(pair), exact_quantities(pair)
    size = assert_lemma("per_token_surrogate", Lsur=q.surrogate, T=q.T,
                        Eg_roll=lambda t: float(dec.d_roll[int(t) - 1] @ dec.g[int(t) - 1]))
    target(size, label="|L'|")


def _q_values(dec, t):
    """Q_t(c, v) = V^roll_(t+1)(next(c, v)) for the 1-based position t: [S, V]."""
    return dec.V_roll[t][dec.pair.next_state]


@LEMMA_SETTINGS
@given(automaton_pairs(max_states=3, max_vocab=3, max_T=4))
@example(two_state_pair())
def test_advantage_as_difference(pair):
    dec = decompose(pair)
    auto = dec.pair
    sizes = []
    for t in range(1, auto.T + 1):
        roll, theta = auto.policies_at(t - 1)
        Q = _q_values(dec, t)
        for c in range(auto.S):
            sizes.append(assert_lemma("advantage_as_difference", t=t, c=c, g=lambda i, s: float(dec.g[int(i) - 1, int(s)]),
                                      EQ_theta=lambda i, s: float(theta[int(s)] @ Q[int(s)]),
                                      EQ_roll=lambda i, s: float(roll[int(s)] @ Q[int(s)])))
    target(max(sizes), label="|g_t(c)|")


@LEMMA_SETTINGS
@given(any_pair)
@example(two_state_pair())
def test_value_at_most_one(pair):
    dec = decompose(pair)
    target(assert_lemma("value_at_most_one", Y=np.concatenate([dec.V_roll.ravel(), dec.V_theta.ravel()])),
           label="largest value")


@LEMMA_SETTINGS
@given(any_pair)
@example(two_state_pair())
def test_value_nonnegative(pair):
    dec = decompose(pair)
    values = np.concatenate([dec.V_roll.ravel(), dec.V_theta.ravel()])
    assert_lemma("value_nonnegative", Y=values)
    target(-float(values.min()), label="−smallest value")


def _delta_terms(dec):
    """E_roll[(ρ_t − 1) h_t(c_(t+1))] with h_t = V^roll_(t+1) − V^θ_(t+1), per position t = 1..T."""
    auto = dec.pair
    out = []
    for t in range(1, auto.T + 1):
        roll, theta = auto.policies_at(t - 1)
        h = (dec.V_roll[t] - dec.V_theta[t])[auto.next_state]           # [S, V]
        out.append(float(dec.d_roll[t - 1] @ ((theta - roll) * h).sum(axis=1)))
    return out


@LEMMA_SETTINGS
@given(full_support)
@example(two_state_pair())
def test_delta_tower(pair):
    dec, q = decompose(pair), exact_quantities(pair)
    terms = _delta_terms(dec)
    target(assert_lemma("delta_tower", Delta=q.delta_identity, T=q.T, Euh=lambda t: terms[int(t) - 1]), label="|Δ|")


@LEMMA_SETTINGS
@given(weights_and_values)
@example(HOLDER_EXTREMAL)
@example(ZERO_X)
def test_holder_sup(draw):
    logit, X, Y, _ = draw
    w = softmax(logit)
    if draw[3] > 0:                         # the extremal case: Y = sign(X)·const
        Y = np.sign(X) * abs(draw[3])
    ratio = assert_lemma("holder_sup", EXY=float(w @ (X * Y)), EabsX=float(w @ np.abs(X)), SUP=float(np.abs(Y).max()))
    target(ratio, label="|E[XY]| / (E|X| sup|Y|)")


@LEMMA_SETTINGS
@given(full_support)
@example(two_state_pair())
def test_abs_dev_is_twice_tv(pair):
    table = enumerate_sequences(pair)
    q = exact_quantities(pair)
    P = table.prompt_prob[:, None] * np.exp(table.log_p_roll)
    absdev = np.einsum("xm,txm->t", P, np.abs(table.rho_minus_one))
    size = assert_lemma("abs_dev_is_twice_tv", t=np.arange(1, q.T + 1), Eabs_u=lambda t: absdev[t.astype(int) - 1],
                        Dbar=lambda t: q.tv_pos_mean[t.astype(int) - 1])
    target(size, label="E_roll|ρ_t − 1|")


@LEMMA_SETTINGS
@given(weights_and_values)
@example(PLAIN_VALUES)
def test_expectation_linear(draw):
    logit, Yv, _, lam = draw
    w = softmax(logit)
    target(assert_lemma("expectation_linear", E=lambda arr: float(w @ arr), lam=lam, Y=Yv), label="|E[λY]|")


@LEMMA_SETTINGS
@given(weights_and_values)
@example(PLAIN_VALUES)
def test_expectation_additive(draw):
    logit, Yv, Zv, _ = draw
    w = softmax(logit)
    target(assert_lemma("expectation_additive", E=lambda arr: float(w @ arr), Y=Yv, Z=Zv), label="|E[Y] − E[Z]|")


@LEMMA_SETTINGS
@given(weights_and_values, st.integers(0, 4))
@example(PLAIN_VALUES, 3)
def test_expectation_of_sum(draw, N):
    logit, Yv, Zv, _ = draw
    w = softmax(logit)
    terms = [Yv * (k + 1) + Zv for k in range(N)]
    target(assert_lemma("expectation_of_sum", E=lambda arr: float(w @ np.broadcast_to(arr, w.shape)),
                        f=lambda s: terms[int(s) - 1], N=N), label="|E[Σ f]|")


def _sequence_weights(pair):
    table = enumerate_sequences(pair)
    P = (table.prompt_prob[:, None] * np.exp(table.log_p_roll)).ravel()
    rho = lambda s: 1.0 + table.rho_minus_one[int(s) - 1].ravel()
    return table, P, rho


@LEMMA_SETTINGS
@given(full_support)
@example(two_state_pair())
def test_change_of_measure(pair):
    table, P, rho = _sequence_weights(pair)
    q = exact_quantities(pair)
    size = assert_lemma("change_of_measure", Jgap=q.J_theta - q.J_roll, E_roll=lambda arr: float(P @ arr),
                        R=table.reward.ravel(), rho=rho, T=q.T)
    target(size, label="|J gap|")


@LEMMA_SETTINGS
@given(full_support)
@example(two_state_pair())
def test_ratio_mean_one(pair):
    table, P, rho = _sequence_weights(pair)
    sizes = [assert_lemma("ratio_mean_one", E_roll=lambda arr: float(P @ arr), rho=rho, s=s)
             for s in range(1, as_automaton(pair).T + 1)]
    target(float(np.abs(table.rho_minus_one).max()), label="largest |ρ − 1|")
    assert len(sizes) == as_automaton(pair).T
