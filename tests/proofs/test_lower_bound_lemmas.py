"""The cited lemmas of the one-rare-token construction (proofs.lower_bounds), each checked by enumerating every
sequence of the i.i.d. two-token pair (numerics.enumeration), with Hypothesis target() pushing toward the
lemma's boundary. R₁ = 1[exactly one rare token (token 0)].

Each test's @example cases reach the lemma's equality or extremal configuration by construction, so that a lemma
weakened by 10⁻⁶ fails on them (tests/proofs/test_lemma_falsifications.py): the two identities at T = 1 (the
binomial probability is r; L'(R₁) = q − p) and at interior T with every term non-zero, down to the smallest
rare probability the strategy draws; the supremum over rewards with equality at T = 2 (see its test)."""
import numpy as np
from hypothesis import example, given, target
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
@example(0.5, 1)                   # T = 1: P(N = 1) = r
@example(0.25, 4)                  # r = 1/T, the mode of P(N = 1) in r: T r (1 − r)^(T−1) = (3/4)³
@example(0.005, 8)                 # a rare token over the longest horizon drawn
def test_single_rare_probability(r, T):
    size = assert_lemma("single_rare_probability", T=T, r=r, P_one=lambda x: _probability_of_one(float(x), T))
    target(size, label="P(N = 1)")


@LEMMA_SETTINGS
@given(rare_pairs())
@example((0.2, 0.5, 1))            # T = 1: L'(R₁) = p·x₀ = q − p
@example((0.2, 0.5, 3))            # x₀ + 2x₁ = 1.5 − 0.75 = 0.75
@example((0.005, 0.9, 8))          # a rare token, large x₀ = 179
def test_single_rare_surrogate(draw):
    p, q, T = draw
    surrogate = exact_by_enumeration(iid_pair(p, q, T), reward=_one_rare_reward(T)).surrogate
    size = assert_lemma("single_rare_surrogate", T=T, p=p, q=q, L_one=surrogate,
                        P_one=lambda x: _probability_of_one(float(x), T))
    target(size, label="|L'(R₁)|")


@LEMMA_SETTINGS
@given(rare_pairs())
@example((0.2, 0.5, 2))            # equality: |Error(R₁)| = sup_R |Error| = 0.18
@example((0.005, 0.9, 2))          # equality far from p = q: 1.60205 on both sides
@example((0.2, 0.5, 1))            # T = 1: Error ≡ 0, both sides 0
def test_worst_case_at_least_one_reward(draw):
    """Equality at T = 2 for every p < q: Error(R) = E_roll[R u₁u₂] (the bracket Π(1 + u_t) − 1 − Σu_t is u₁u₂),
    and u₁u₂ < 0 exactly on {N = 1} (x₀ > 0 > x₁), so R₁ = 1[N = 1] = 1[u₁u₂ < 0] attains sup_R |Error| =
    E_roll[(u₁u₂)⁻] (= E_roll[(u₁u₂)⁺], as E_roll[u₁u₂] = 0)."""
    p, q, T = draw
    pair = iid_pair(p, q, T)
    error = exact_by_enumeration(pair, reward=_one_rare_reward(T)).error
    ratio = assert_lemma("worst_case_at_least_one_reward", Error_one=error, sup_R_Error=worst_case_error(pair).value)
    target(ratio, label="|Error(R₁)| / sup_R |Error|")
