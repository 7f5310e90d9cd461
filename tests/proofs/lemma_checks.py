"""Evaluate a registered lemma's own statement on measured values, for the tests that target it.

A cited lemma's test calls :func:`assert_lemma` with the lemma's name and numeric values for every
symbol and opaque function of its statement; the lemma's relation is asserted with the suite's
tolerances, and the return value (lhs/rhs for an inequality, the size of the sides for an identity)
is what the test hands to Hypothesis ``target()``. The lemma is looked up when called, so a
falsified lemma in the registry must make its test fail (tests/proofs/test_derivations.py checks it).
"""
import numpy as np
from hypothesis import settings

from proofs import lemmas
from tests.tolerances import assert_close, assert_le


def assert_lemma(name: str, **values) -> float:
    lemma = lemmas.LEMMAS[name]
    lhs, rhs = lemma.evaluate(**values)
    lhs, rhs = np.asarray(lhs, dtype=float), np.asarray(rhs, dtype=float)
    if lemma.relation == "=":
        assert_close(lhs, rhs, f"{name}: {lemma.statement}", scale=np.maximum(np.abs(lhs), np.abs(rhs)))
        return float(np.max(np.abs(lhs)))
    assert_le(lhs, rhs, f"{name}: {lemma.statement}")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(rhs > 0, lhs / np.where(rhs > 0, rhs, 1.0), 0.0)
    return float(np.max(ratio))


#: The examples per cited-lemma test: a quarter of the active profile's (at least 15), so that the
#: thorough profile scales them too.
LEMMA_SETTINGS = settings(max_examples=max(15, settings().max_examples // 4))


def contexts_along_sequences(auto, table):
    """Yield (t, states) for t < T, states [X, M]: the context state of every sequence that
    numerics.enumeration.enumerate_sequences(auto) enumerated, at position t (sequence index = its tokens in base
    V, first token most significant); for replaying a per-context quantity along each sequence."""
    T, V = auto.T, auto.V
    seq = np.arange(table.log_p_roll.shape[1])
    states = np.repeat(table.prompt_states[:, None], seq.size, axis=1)
    for t in range(T):
        yield t, states
        states = auto.next_state[states, (seq // V ** (T - 1 - t)) % V]


def sequence_probabilities(table) -> np.ndarray:
    """[X·M] P(x) P^roll(y | x) of every enumerated sequence, in the order of table.rho_minus_one's columns."""
    return (table.prompt_prob[:, None] * np.exp(table.log_p_roll)).ravel()
