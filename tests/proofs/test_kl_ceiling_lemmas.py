"""The cited lemmas of the ceiling on the worst case given D_KL^seq (proofs.kl_ceiling), each checked by enumerating
every sequence of small random pairs, with the per-context truncation at u = 1 replayed along each sequence, and
Hypothesis target() pushing toward the lemma's boundary; the pointwise inequalities on φ(u) = u − log(1 + u) behind
the truncated parts are checked on a dense grid with their boundary points."""
from dataclasses import dataclass

import numpy as np
from hypothesis import given, target

from numerics.enumeration import enumerate_sequences, total_variation_seq, worst_case_error
from numerics.exact import as_automaton
from proofs.kl_ceiling import derivations as _register_kl_ceiling_lemmas
from tests.proofs.lemma_checks import LEMMA_SETTINGS, assert_lemma
from tests.strategies import automaton_pairs, tabular_pairs

_register_kl_ceiling_lemmas()
pairs = automaton_pairs(max_states=3, max_vocab=3, max_T=4) | tabular_pairs()


def _phi(u):
    with np.errstate(divide="ignore"):
        return u - np.log1p(u)


@dataclass
class Truncation:
    P: np.ndarray      # [X·M] P(x) P^roll(y|x)
    u: np.ndarray      # [T, X·M] ρ_t − 1
    m: np.ndarray      # [T, X·M] a_t + β_t(c_t)
    j: np.ndarray      # [T, X·M] b_t − β_t(c_t)
    A: float           # Σ_t E[φ(u_t) 1[u_t ≤ 1]]
    B: float           # Σ_t E[φ(u_t) 1[u_t > 1]]

    def E(self, values) -> float:
        return float(self.P @ values)


def truncation(pair) -> Truncation:
    auto = as_automaton(pair)
    table = enumerate_sequences(auto)
    T, V = auto.T, auto.V
    X, Mn = table.log_p_roll.shape
    seq = np.arange(Mn)
    states = np.repeat(table.prompt_states[:, None], Mn, axis=1)
    beta, a_part, b_part = (np.empty((T, X, Mn)) for _ in range(3))
    for t in range(T):
        roll, theta = auto.policies_at(t)
        x = np.where(roll > 0, theta / np.where(roll > 0, roll, 1.0) - 1.0, 0.0)      # [S, V]
        big = x > 1
        beta[t] = np.sum(roll * np.where(big, x, 0.0), axis=-1)[states]
        a_part[t] = np.sum(roll * np.where(big, 0.0, _phi(x)), axis=-1)[states]
        b_part[t] = np.sum(roll * np.where(big, _phi(x), 0.0), axis=-1)[states]
        states = auto.next_state[states, (seq // V ** (T - 1 - t)) % V]
    P = (table.prompt_prob[:, None] * np.exp(table.log_p_roll)).ravel()
    u = table.rho_minus_one.reshape(T, -1)
    beta, a_part, b_part = (z.reshape(T, -1) for z in (beta, a_part, b_part))
    big = u > 1
    m = np.where(big, 0.0, u) + beta
    j = np.where(big, u, 0.0) - beta
    return Truncation(P, u, m, j, float(P @ a_part.sum(axis=0)), float(P @ b_part.sum(axis=0)))


@LEMMA_SETTINGS
@given(pairs)
def test_truncated_sum_split(pair):
    w = truncation(pair)
    ratio = assert_lemma("truncated_sum_split", E_abs_sum_u=w.E(np.abs(w.u.sum(axis=0))),
                         E_abs_m=w.E(np.abs(w.m.sum(axis=0))), E_abs_j=w.E(np.abs(w.j.sum(axis=0))))
    target(ratio, label="E|Σu| / (E|Σm| + E|Σj|)")


@LEMMA_SETTINGS
@given(pairs)
def test_truncated_martingale_part(pair):
    w = truncation(pair)
    ratio = assert_lemma("truncated_martingale_part", E_abs_m=w.E(np.abs(w.m.sum(axis=0))), A_trunc=w.A)
    target(ratio, label="E|Σm| / (2 sqrt(A))")


@LEMMA_SETTINGS
@given(pairs)
def test_truncated_jump_part(pair):
    w = truncation(pair)
    ratio = assert_lemma("truncated_jump_part", E_abs_j=w.E(np.abs(w.j.sum(axis=0))), B_trunc=w.B)
    target(ratio, label="E|Σj| / (8B)")


@LEMMA_SETTINGS
@given(pairs)
def test_kl_truncation_split(pair):
    from numerics.exact import exact_quantities

    w = truncation(pair)
    size = assert_lemma("kl_truncation_split", A_trunc=w.A, B_trunc=w.B, D_KL_seq=exact_quantities(pair).kl_seq)
    target(size, label="D_KL^seq")


def test_pointwise_inequalities_behind_the_truncation():
    """u² ≤ 4φ(u) on [−1, 1] and u ≤ 4φ(u) on [1, ∞) (the constants the ceiling uses), boundaries included."""
    inner = np.concatenate([np.linspace(-1 + 1e-12, 1, 200001), [-1 + 1e-15, 0.0, 1.0]])
    assert np.all(inner ** 2 <= 4 * _phi(inner) * (1 + 1e-12) + 1e-300)
    outer = np.concatenate([np.linspace(1, 1e3, 200001), np.geomspace(1e3, 1e15, 1000)])
    assert np.all(outer <= 4 * _phi(outer))
