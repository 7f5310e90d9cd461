"""The dynamic programme against the enumeration oracle, on both representations."""
import math

import numpy as np
from hypothesis import example, given

from numerics.enumeration import enumerate_sequences, exact_by_enumeration
from numerics.exact import as_automaton, exact_quantities
from numerics.generators import random_tabular
from numerics.pair import sequence_digits
from tests.strategies import any_pair, tabular_pairs
from tests.tolerances import assert_close

SCALARS = ("J_roll", "J_theta", "surrogate", "error", "delta_identity", "kl_tok_max", "tv_tok_max", "kl_seq", "tv_seq",
           "theta_mass_off_roll_support")


def _agree(dp, en):
    for key in SCALARS:
        a, b = getattr(dp, key), getattr(en, key)
        if isinstance(a, float) and math.isinf(a):
            assert a == b, key
        else:
            assert_close(a, b, key)
    assert_close(dp.tv_pos_mean, en.tv_pos_mean, "tv_pos_mean")
    assert_close(dp.kl_pos_mean, en.kl_pos_mean, "kl_pos_mean")


@given(any_pair)
def test_dynamic_programme_agrees_with_enumeration(pair):
    _agree(exact_quantities(pair), exact_by_enumeration(pair))


def test_support_mismatch_gives_infinite_kl_named_not_nan():
    pair = random_tabular(np.random.default_rng(3), vocab=2, T=3, prompts=1)
    theta = pair.theta.copy()
    theta[0, 1] = [1.0, 0.0]            # π_θ = 0 where π_roll > 0 at prefix (0,)
    broken = type(pair)(pair.roll, theta, pair.reward, pair.prompt)
    dp, en = exact_quantities(broken), exact_by_enumeration(broken)
    assert math.isinf(dp.kl_tok_max) and math.isinf(en.kl_tok_max)
    assert "prefix (0,)" in dp.kl_tok_max_context
    assert math.isinf(dp.kl_seq) and not np.isnan(dp.kl_pos_mean).any()
    _agree(dp, en)


def test_theta_outside_roll_support_is_measured():
    pair = random_tabular(np.random.default_rng(4), vocab=2, T=2, prompts=1)
    roll = pair.roll.copy()
    roll[0, 0] = [1.0, 0.0]             # top-p at rollout: π_roll = 0 where π_θ > 0
    clipped = type(pair)(roll, pair.theta, pair.reward, pair.prompt)
    dp, en = exact_quantities(clipped), exact_by_enumeration(clipped)
    assert dp.theta_mass_off_roll_support > 0
    assert_close(dp.theta_mass_off_roll_support, pair.theta[0, 0, 1])
    _agree(dp, en)


@given(tabular_pairs())
@example(random_tabular(np.random.default_rng(0), vocab=3, T=3, prompts=2))
def test_conversion_preserves_sequence_probabilities(pair):
    """Sequence probabilities read directly from the prefix tree equal the converted automaton's."""
    table = enumerate_sequences(as_automaton(pair))
    X, N, V = pair.roll.shape
    offsets = np.cumsum([0] + [V**k for k in range(pair.T)])
    for x in range(X):
        for j in range(V**pair.T):
            tokens = sequence_digits(j, V, pair.T)
            p = q = 1.0
            for k, token in enumerate(tokens):
                m = sum(d * V ** (k - 1 - i) for i, d in enumerate(tokens[:k]))
                p *= pair.roll[x, offsets[k] + m, token]
                q *= pair.theta[x, offsets[k] + m, token]
            assert_close(np.exp(table.log_p_roll[x, j]), p)
            assert_close(np.exp(table.log_p_theta[x, j]), q)
            assert table.reward[x, j] == pair.reward[x, j]


def test_time_dependent_pair_of_length_T_uses_each_step():
    from numerics.generators import random_automaton
    pair = random_automaton(np.random.default_rng(5), states=3, vocab=2, T=4, time_dependent=True)
    _agree(exact_quantities(pair), exact_by_enumeration(pair))
