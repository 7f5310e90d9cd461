"""The exact identities of THEORY §2 on exact ground truth (numeric steps of proofs.identities and
proofs.advantage)."""
import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from numerics.decomposition import decompose
from numerics.enumeration import enumerate_sequences, exact_by_enumeration, sequence_ratio
from numerics.exact import exact_quantities
from numerics.generators import MismatchModel, random_automaton, random_tabular
from tests.strategies import any_pair, automaton_pairs, tabular_pairs
from tests.tolerances import assert_close

EQUAL = random_tabular(np.random.default_rng(0), mismatch=MismatchModel("none"))
UNIFORM = random_tabular(np.random.default_rng(1), vocab=2, T=3, mismatch=MismatchModel("dense", sigma=0.5))


@given(any_pair)
@example(EQUAL)
@example(UNIFORM)
def test_sequence_importance_weight(pair):
    table = enumerate_sequences(pair)
    w = table.prompt_prob[:, None] * np.exp(table.log_p_roll)
    weight = sequence_ratio(table)
    q = exact_quantities(pair)
    assert_close((w * table.reward * (weight - 1)).sum(), q.J_theta - q.J_roll, "E_roll[R(Πρ − 1)]")


@given(any_pair)
@example(EQUAL)
def test_telescoping_error_equals_minus_delta(pair):
    for q in (exact_quantities(pair), exact_by_enumeration(pair)):
        assert_close(q.error, -q.delta_identity, q.method, scale=abs(q.surrogate) + q.J_theta)


@given(any_pair, st.floats(-3.0, 3.0))
def test_baseline_constant(pair, b):
    table = enumerate_sequences(pair)
    w = table.prompt_prob[:, None] * np.exp(table.log_p_roll)
    rho = table.rho_minus_one + 1.0
    q = exact_quantities(pair)
    with_baseline = (w * (table.reward - b) * table.rho_minus_one.sum(axis=0)).sum()
    assert_close(with_baseline, q.surrogate, "E_roll[(R − b)Σ(ρ − 1)]", scale=1 + abs(b))
    paper_L = (w * (table.reward - b) * rho.sum(axis=0)).sum()
    assert_close(paper_L, q.surrogate + q.T * (q.J_roll - b), "L = L' + T(J(π_roll) − b)", scale=q.T * (1 + abs(b)))


@given(automaton_pairs() | tabular_pairs())
def test_equal_policies_give_zero(pair):
    same = type(pair)(**{**{f: getattr(pair, f) for f in pair.__dataclass_fields__}, "theta": pair.roll})
    for q in (exact_quantities(same), exact_by_enumeration(same)):
        assert q.error == 0.0 or abs(q.error) < 1e-15
        assert abs(q.surrogate) < 1e-15
        assert q.kl_tok_max == 0.0 and q.tv_tok_max == 0.0 and q.kl_seq == 0.0


@given(any_pair)
def test_martingale(pair):
    dec = decompose(pair)
    auto = dec.pair
    for t in range(auto.T):
        roll_t, _ = auto.policies_at(t)
        Q = dec.V_roll[t + 1][auto.next_state]
        A = Q - dec.V_roll[t][:, None]
        assert_close((roll_t * A).sum(axis=1), 0.0, f"E_roll[A_t] at t={t + 1}")


@given(any_pair)
def test_per_token_surrogate(pair):
    dec = decompose(pair)
    q = exact_quantities(pair)
    if q.theta_mass_off_roll_support > 0:
        return
    per_token = sum(dec.d_roll[t] @ dec.g[t] for t in range(q.T))
    assert_close(per_token, q.surrogate, "Σ_t E_(d_t^roll)[g_t]")


@given(any_pair)
def test_performance_difference(pair):
    dec = decompose(pair)
    q = exact_quantities(pair)
    via_theta = sum(dec.d_theta[t] @ dec.g[t] for t in range(q.T))
    assert_close(via_theta, q.J_theta - q.J_roll, "Σ_t E_(d_t^θ)[g_t]")
    assert_close(dec.d_theta[q.T] @ dec.pair.reward, q.J_theta, "a(T+1) = J(π_θ)")
    assert_close(dec.d_theta[0] @ dec.V_roll[0], q.J_roll, "a(1) = J(π_roll)")


def test_long_horizon_identities_through_the_dynamic_programme():
    pair = random_automaton(np.random.default_rng(7), states=6, vocab=4, T=2048, mismatch=MismatchModel("dense", 0.05))
    q = exact_quantities(pair)
    assert_close(q.error, -q.delta_identity, scale=abs(q.surrogate) + 1)
    assert q.tv_seq is None and 0 < q.tv_seq_upper <= 1
    assert_close(q.kl_pos_mean.sum(), q.kl_seq)
