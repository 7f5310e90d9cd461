"""The lemmas of THEORY §3–§4 on exact ground truth (numeric steps of proofs.advantage and
proofs.divergences)."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from numerics.bounds import pinsker_cap
from numerics.decomposition import decompose
from numerics.divergence import token_kl, token_tv
from numerics.enumeration import total_variation_seq
from numerics.exact import exact_quantities
from numerics.generators import softmax
from numerics.pair import AutomatonPair
from tests.strategies import any_pair, automaton_pairs, tabular_pairs
from tests.tolerances import assert_close, assert_le

distributions = st.integers(2, 6).flatmap(
    lambda V: st.tuples(arrays(np.float64, V, elements=st.floats(-30, 30)), arrays(np.float64, V, elements=st.floats(-30, 30))))


@given(any_pair)
def test_advantage_bound(pair):
    dec = decompose(pair)
    assert_le(np.abs(dec.g), dec.tv_context * dec.osc_q, "|g_t| ≤ D_TV · osc(Q)")
    assert_le(dec.osc_q, 1.0, "osc(Q) ≤ 1")
    assert_le(np.abs(dec.g), dec.tv_context, "|g_t| ≤ D_TV (sharp)")


@given(distributions)
def test_pinsker(logits):
    p, q = softmax(logits[0]), softmax(logits[1])
    assert_le(token_tv(p, q), np.sqrt(token_kl(p, q) / 2), "TV ≤ sqrt(KL/2)")
    assert_le(token_tv(p, q), 1.0, "TV ≤ 1")


@given(any_pair)
def test_pinsker_caps(pair):
    q = exact_quantities(pair)
    assert_le(q.tv_tok_max, pinsker_cap(q.kl_tok_max), "ε ≤ min(1, sqrt(δ/2))")
    assert_le(q.tv_seq, pinsker_cap(q.kl_seq), "D_TV^seq ≤ min(1, sqrt(D_KL^seq/2))")
    assert_le(q.tv_pos_mean, q.tv_tok_max, "D̄_t ≤ ε")
    assert_le(q.kl_pos_mean, q.kl_tok_max, "E_(d_t)[D_KL] ≤ δ")


@given(tabular_pairs())
def test_kl_chain_rule(pair):
    """For a prefix tree, states are contexts: KL(d_t^roll ‖ d_t^θ) = Σ_(s<t) E_(d_s^roll)[D_KL] ≤ (t−1)δ."""
    dec = decompose(pair)
    q = exact_quantities(pair)
    for t in range(q.T + 1):
        d_r, d_q = dec.d_roll[t], dec.d_theta[t]
        mask = d_r > 0
        kl_t = float((d_r[mask] * (np.log(d_r[mask]) - np.log(d_q[mask]))).sum())
        assert_close(kl_t, q.kl_pos_mean[:t].sum(), f"chain rule at t={t + 1}")
        assert_le(kl_t, t * q.kl_tok_max, f"KL(d_t) ≤ (t−1)δ at t={t + 1}")
    assert_le(q.kl_seq, q.T * q.kl_tok_max, "D_KL^seq ≤ Tδ")


@given(any_pair)
def test_context_shift(pair):
    """TV(d_t^θ, d_t^roll) ≤ min(1, Σ_(s<t) D̄_s, (t−1)ε, sqrt((t−1)δ/2), D_TV^seq, sqrt(D_KL^seq/2)).
    (For automata the TV is over states, which is at most the TV over contexts.)"""
    dec = decompose(pair)
    q = exact_quantities(pair)
    for t in range(q.T):
        routes = [1.0, q.tv_pos_mean[:t].sum(), t * q.tv_tok_max, np.sqrt(t * q.kl_tok_max / 2), q.tv_seq,
                  pinsker_cap(q.kl_seq)]
        assert_le(dec.shift_tv[t], min(routes), f"context shift at t={t + 1}")


@given(any_pair)
def test_master_inequality(pair):
    dec = decompose(pair)
    q = exact_quantities(pair)
    if q.theta_mass_off_roll_support > 0:
        return
    osc_g = dec.g.max(axis=1) - dec.g.min(axis=1)
    per_step = [(dec.d_theta[t] - dec.d_roll[t]) @ dec.g[t] for t in range(q.T)]
    for t in range(q.T):
        assert_le(abs(per_step[t]), osc_g[t] * dec.shift_tv[t], f"|E_P g − E_Q g| ≤ osc(g) TV at t={t + 1}")
    assert_close(sum(per_step), q.error, "Error = Σ_t (E_(d^θ) − E_(d^roll)) g_t")
    sup_g = np.abs(dec.g).max(axis=1)
    assert_le(abs(q.error), (2 * sup_g * dec.shift_tv).sum(), "master inequality")


def _future_tv(pair: AutomatonPair, t: int, s: int) -> float:
    """TV between the laws of tokens t+1..T started from state s (enumeration)."""
    init = np.zeros(pair.S)
    init[s] = 1.0
    roll, theta = (pair.roll[t:], pair.theta[t:]) if pair.time_dependent else (pair.roll, pair.theta)
    future = AutomatonPair(init, pair.next_state, roll, theta, pair.reward, pair.T - t)
    return total_variation_seq(future)


@given(automaton_pairs(max_states=3, max_T=4))
def test_future_factor(pair):
    """|V_t^roll − V_t^θ|(s) ≤ TV of the future laws ≤ min(1, (T−t)ε, sqrt((T−t)δ/2))."""
    dec = decompose(pair)
    q = exact_quantities(pair)
    for t in range(pair.T):
        for s in range(pair.S):
            tv = _future_tv(pair, t, s)
            assert_le(abs(dec.V_roll[t, s] - dec.V_theta[t, s]), tv, f"future gap at t={t}, s={s}")
            remaining = pair.T - t
            assert_le(tv, min(1.0, remaining * q.tv_tok_max, np.sqrt(remaining * q.kl_tok_max / 2))
                      if dec.d_roll[t, s] + dec.d_theta[t, s] > 0 else 1.0, "future TV caps")
