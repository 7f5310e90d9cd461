"""The cited lemmas of the one-rare-token construction (proofs.lower_bounds), each checked by enumerating every
sequence of the i.i.d. two-token pair (numerics.enumeration), with Hypothesis target() pushing toward the
lemma's boundary. R₁ = 1[exactly one rare token (token 0)]."""
import numpy as np
from hypothesis import given, target
from hypothesis import strategies as st

from numerics.enumeration import enumerate_sequences, exact_by_enumeration, worst_case_error
from numerics.iid import iid_pair
from proofs.lower_bounds import derivations as _register_lower_bound_lemmas
from tests.proofs.lemma_checks import LEMMA_SETTINGS, assert_lemma

_register_lower_bound_lemmas()

probability = st.floats(0.005, 0.95)
lengths = st.integers(1, 8)


@st.composite
def rare_pairs(draw):
    """(p, q, T) with 0 < p < q < 1: the rare token is more likely under π_θ."""
    p = draw(probability)
    q = p + (1 - p) * draw(st.floats(0.01, 0.99))
    return p, q, draw(lengths)


def _one_rare_reward(T: int) -> np.ndarray:
    """[1, 2^T] the reward 1[exactly one token 0] over the sequences in base-2 order."""
    seq = np.arange(2**T)
    zeros = sum(((seq >> k) & 1) == 0 for k in range(T))
    return (zeros == 1).astype(np.float64)[None, :]


def _probability_of_one(r: float, T: int) -> float:
    table = enumerate_sequences(iid_pair(r, 0.5, T))
    return float((np.exp(table.log_p_roll) * _one_rare_reward(T)).sum())


@LEMMA_SETTINGS
@given(probability, lengths)
def test_single_rare_probability(r, T):
    size = assert_lemma("single_rare_probability", T=T, r=r, P_one=lambda x: _probability_of_one(float(x), T))
    target(size, label="P(N = 1)")


@LEMMA_SETTINGS
@given(rare_pairs())
def test_single_rare_surrogate(draw):
    p, q, T = draw
    surrogate = exact_by_enumeration(iid_pair(p, q, T), reward=_one_rare_reward(T)).surrogate
    size = assert_lemma("single_rare_surrogate", T=T, p=p, q=q, L_one=surrogate,
                        P_one=lambda x: _probability_of_one(float(x), T))
    target(size, label="|L'(R₁)|")


@LEMMA_SETTINGS
@given(rare_pairs())
def test_worst_case_at_least_one_reward(draw):
    p, q, T = draw
    pair = iid_pair(p, q, T)
    error = exact_by_enumeration(pair, reward=_one_rare_reward(T)).error
    ratio = assert_lemma("worst_case_at_least_one_reward", Error_one=error, sup_R_Error=worst_case_error(pair).value)
    target(ratio, label="|Error(R₁)| / sup_R |Error|")
