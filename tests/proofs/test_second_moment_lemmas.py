"""The cited lemmas of the χ² family (THEORY §10, proofs.second_moment_proofs), each checked by
enumerating every sequence of small random pairs (numerics.enumeration.enumerate_sequences) with the
per-context χ²(θ ‖ roll) of numerics.divergence.token_chi2, and Hypothesis target() pushing toward the
lemma's boundary; @example cases put each at its equality case in every profile (a constant χ² for the
recursion and the increment bound, constant |W| at T = 2 for Cauchy–Schwarz, t = T for data processing).

Along a sequence: u_t = ρ_t − 1, M_t = Π_(s≤t) ρ_s (M_0 = 1), W = M_T − 1 − Σ_t u_t.
"""
from dataclasses import dataclass

import numpy as np
from hypothesis import example, given, target

from numerics.divergence import token_chi2
from numerics.enumeration import enumerate_sequences, worst_case_error
from numerics.exact import as_automaton
from proofs.second_moment_proofs import derivations as _register_chi2_lemmas
from tests.proofs.extremal_pairs import equal_pair, symmetric_pair, two_state_pair
from tests.proofs.lemma_checks import (LEMMA_SETTINGS, assert_lemma, contexts_along_sequences,
                                      sequence_probabilities)
from tests.strategies import automaton_pairs, tabular_pairs

_register_chi2_lemmas()
pairs = automaton_pairs(max_states=3, max_vocab=3, max_T=4) | tabular_pairs()


@dataclass
class Walk:
    P: np.ndarray        # [X·M] P(x) P^roll(y|x)
    u: np.ndarray        # [T, X·M] ρ_t − 1
    M: np.ndarray        # [T+1, X·M] M_0 … M_T
    chi2: np.ndarray     # [T, X·M] χ²(c_t) along each sequence
    chi2_max: float      # over contexts reachable under either policy
    T: int

    def E(self, values) -> float:
        return float(self.P @ values)


def walk(pair) -> Walk:
    auto = as_automaton(pair)
    table = enumerate_sequences(auto)
    T = auto.T
    chi2 = np.empty((T,) + table.log_p_roll.shape)
    best = 0.0
    for t, states in contexts_along_sequences(auto, table):
        roll_t, theta_t = auto.policies_at(t)
        chi2[t] = token_chi2(roll_t, theta_t)[states]
        best = max(best, float(np.where(table.reachable[t], chi2[t], 0.0).max()))
    P = sequence_probabilities(table)
    u = table.rho_minus_one.reshape(T, -1)
    M = np.vstack([np.ones((1, u.shape[1])), np.cumprod(1.0 + u, axis=0)])
    return Walk(P, u, M, chi2.reshape(T, -1), best, T)


def _W(w: Walk) -> np.ndarray:
    return w.M[-1] - 1.0 - w.u.sum(axis=0)


@LEMMA_SETTINGS
@given(pairs)
@example(two_state_pair())
def test_orthogonal_increments(pair):
    w = walk(pair)
    increments = [w.E((w.M[t - 1] - 1.0) ** 2 * w.chi2[t - 1]) for t in range(1, w.T + 1)]
    size = assert_lemma("orthogonal_increments", E_W2=w.E(_W(w) ** 2), T=w.T, incr=lambda t: increments[int(t) - 1])
    target(size, label="E[W²]")


@LEMMA_SETTINGS
@given(pairs)
@example(symmetric_pair(0.2, 3))
def test_second_moment_recursion(pair):
    w = walk(pair)
    m2 = [w.E(w.M[t] ** 2) for t in range(w.T + 1)]
    ratios = [assert_lemma("second_moment_recursion", t=t, chi2_max=w.chi2_max, m2=lambda i: m2[int(i)])
              for t in range(1, w.T + 1)]
    target(max(ratios), label="E[M_t²] / ((1 + χ²_max) E[M_(t−1)²])")


@LEMMA_SETTINGS
@given(pairs)
@example(two_state_pair())
def test_weight_starts_at_one(pair):
    w = walk(pair)
    target(assert_lemma("weight_starts_at_one", m2=lambda i: w.E(w.M[int(i)] ** 2)), label="E[M_0²]")


@LEMMA_SETTINGS
@given(pairs)
@example(two_state_pair())
def test_weight_variance(pair):
    w = walk(pair)
    sizes = [assert_lemma("weight_variance", n=t, var_M=lambda i: w.E((w.M[int(i)] - 1.0) ** 2),
                          m2=lambda i: w.E(w.M[int(i)] ** 2)) for t in range(w.T + 1)]
    target(max(sizes), label="E[(M_t − 1)²]")


@LEMMA_SETTINGS
@given(pairs)
@example(two_state_pair())
@example(equal_pair())
def test_chi2_data_processing(pair):
    w = walk(pair)
    chi2_seq = w.E(w.M[-1] ** 2) - 1.0
    ratios = [assert_lemma("chi2_data_processing", n=t, T=w.T, chi2_seq=chi2_seq,
                           var_M=lambda i: w.E((w.M[int(i)] - 1.0) ** 2)) for t in range(w.T + 1)]
    target(max(ratios), label="E[(M_t − 1)²] / χ²_seq")


@LEMMA_SETTINGS
@given(pairs)
@example(symmetric_pair(0.2, 2))
@example(equal_pair())
def test_cauchy_schwarz(pair):
    w = walk(pair)
    W = _W(w)
    target(assert_lemma("cauchy_schwarz", E_absW=w.E(np.abs(W)), E_W2=w.E(W ** 2)), label="E|W| / sqrt(E[W²])")


@LEMMA_SETTINGS
@given(pairs)
@example(two_state_pair())
def test_worst_reward(pair):
    w = walk(pair)
    W = _W(w)
    size = assert_lemma("worst_reward", sup_R_Error=worst_case_error(pair).value, E_absW=w.E(np.abs(W)))
    target(size, label="sup_R |Error|")


@LEMMA_SETTINGS
@given(pairs)
@example(symmetric_pair(0.2, 3))
@example(equal_pair())
def test_increment_bound(pair):
    w = walk(pair)
    ratios = [assert_lemma("increment_bound", t=t, chi2_max=w.chi2_max,
                           incr=lambda i: w.E((w.M[int(i) - 1] - 1.0) ** 2 * w.chi2[int(i) - 1]),
                           var_M=lambda i: w.E((w.M[int(i)] - 1.0) ** 2)) for t in range(1, w.T + 1)]
    target(max(ratios), label="increment / (χ²_max E[(M_(t−1) − 1)²])")
