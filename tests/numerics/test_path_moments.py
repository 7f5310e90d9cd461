"""Path moments (THEORY §11, this suite's own quantities): the dynamic programme of numerics.path_moments
against enumeration of every sequence, its engines against each other, and the support cases."""
import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from numerics import formulas
from numerics.enumeration import enumerate_sequences
from numerics.exact import as_automaton, exact_quantities
from numerics.generators import MismatchModel, random_automaton
from numerics.iid import symmetric_pair
from numerics.pair import AutomatonPair
from numerics.path_moments import path_moments, theta_vanishes_where_roll_reaches, weighted_second_moment
from numerics.path_recursion import block_triangular_product, monomial_moments, token_u_h
from tests.strategies import any_pair, heavy_tail_pairs, sparse_flip_pairs
from tests.tolerances import assert_close

pairs = any_pair | sparse_flip_pairs() | heavy_tail_pairs()


def _paths(pair):
    """(P [sequences], u [T, sequences]) by enumeration."""
    auto = as_automaton(pair)
    table = enumerate_sequences(auto)
    P = (table.prompt_prob[:, None] * np.exp(table.log_p_roll)).ravel()
    return P, table.rho_minus_one.reshape(auto.T, -1)


def _time_dependent_copy(pair: AutomatonPair) -> AutomatonPair:
    """The same laws at every position, stored per position (the engines take one step per position)."""
    return AutomatonPair(pair.init, pair.next_state, np.broadcast_to(pair.roll, (pair.T,) + pair.roll.shape).copy(),
                         np.broadcast_to(pair.theta, (pair.T,) + pair.theta.shape).copy(), pair.reward, pair.T)


def theta_zero_pair(T: int = 3) -> AutomatonPair:
    """π_θ = 0 < π_roll at a context π_roll reaches with probability ½ (D_KL^seq = +inf)."""
    next_state = np.array([[1, 2], [1, 1], [2, 2]])
    roll = np.array([[0.5, 0.5], [0.4, 0.6], [0.5, 0.5]])
    theta = np.array([[0.5, 0.5], [0.0, 1.0], [0.3, 0.7]])
    return AutomatonPair(np.array([1.0, 0.0, 0.0]), next_state, roll, theta, np.array([0.0, 1.0, 0.5]), T)


@given(pairs)
@example(symmetric_pair(0.3, 4))
def test_path_moments_agree_with_enumeration(pair):
    P, u = _paths(pair)
    S = u.sum(axis=0)
    with np.errstate(divide="ignore"):
        L = np.log1p(u).sum(axis=0)
    H = S - L
    pm = path_moments(pair)
    scale = 1.0 + P @ (S * S) + P @ (H * H)
    assert_close(pm.q_sum, P @ (S * S), "Q = E[S²]", scale=scale)
    assert_close(pm.kl_seq, P @ H, "E[H]", scale=scale)
    assert_close(pm.kl_seq, exact_quantities(pair, tv_seq_budget=0, second_moments=False).kl_seq, "E[H] = D_KL^seq",
                 scale=scale)
    assert_close(pm.sh_moment, P @ (S * H), "E[SH]", scale=scale)
    assert_close(pm.h2_moment, P @ (H * H), "E[H²]", scale=scale)
    assert_close(pm.bhattacharyya, P @ np.exp(0.5 * L), "BC = E[√M]")


@given(pairs, st.sampled_from([0.0, 0.125, 0.5, 1.0]), st.sampled_from([0.0, 0.3, 5.0, 100.0]))
def test_weighted_second_moment_agrees_with_enumeration(pair, alpha, lam):
    P, u = _paths(pair)
    M = np.prod(1.0 + u, axis=0)
    W = M - 1.0 - u.sum(axis=0)
    omega = np.prod((1.0 + u) ** alpha * (1.0 + lam * np.abs(u)), axis=0)
    w2, mass = weighted_second_moment(pair, alpha, lam)
    assert_close(mass, P @ omega, "E[Πω]", scale=1.0 + P @ omega)
    assert_close(w2, P @ (W * W / omega), "E[W²/Πω]", scale=1.0 + P @ (W * W))


@given(pairs)
def test_unweighted_second_moment_is_chi2_exact_input(pair):
    """At ω ≡ 1 the transform recursion's W² moment is E_roll[W²] of the χ² family's own DP."""
    w2, mass = weighted_second_moment(pair, 0.0, 0.0)
    q = exact_quantities(pair, tv_seq_budget=0)
    assert_close(w2, q.second_moment, "E[W²]", scale=1.0 + q.chi2_seq)
    assert_close(mass, 1.0, "E[1]")


@given(sparse_flip_pairs(max_states=4, max_T=6))
def test_engines_agree(pair):
    """Block powering (homogeneous) against one step per position (the same laws as a time-dependent pair)."""
    tiled = _time_dependent_copy(pair)
    for name in ("path", "transform", "sum", "mass"):
        a, b = monomial_moments(pair, name), monomial_moments(tiled, name)
        assert_close(a, b, name, scale=1.0 + np.abs(a).max())


@pytest.mark.parametrize("S, n", [(1, 3), (5, 6), (16, 4)])
def test_block_triangular_product_is_the_dense_product(S, n):
    rng = np.random.default_rng(S * 10 + n)
    P, Q = (rng.standard_normal((n * S, n * S)) for _ in range(2))
    for a in range(n):                      # zero below the block diagonal
        P[a * S:(a + 1) * S, :a * S] = 0
        Q[a * S:(a + 1) * S, :a * S] = 0
    np.testing.assert_allclose(block_triangular_product(P, Q, S), P @ Q, rtol=1e-13, atol=1e-13)


def test_every_recursion_is_block_triangular():
    """A monomial's update reads monomials of its own or lower index only, so the block operator's powers may be
    formed by block_triangular_product (the powering falls back to the dense product otherwise)."""
    for name, rows in formulas.active().RECURSION_COEFFICIENTS.items():
        for i, row in enumerate(rows):
            assert all(fn is None for fn in row[i + 1:]), f"{name}: monomial {i} reads a later one"


def test_binary_powering_agrees_with_one_step_per_position():
    """At T = 4,096 the homogeneous engine powers the block operator (log T squarings); the time-dependent engine
    takes 4,096 steps with the same laws."""
    rng = np.random.default_rng(11)
    pair = random_automaton(rng, states=8, vocab=4, T=4096, mismatch=MismatchModel(sigma=0.01))
    tiled = _time_dependent_copy(pair)
    for name in ("path", "transform", "sum", "mass"):
        a, b = monomial_moments(pair, name), monomial_moments(tiled, name)
        assert np.all(np.isfinite(a)) and (len(a) == 1 or np.abs(a[1:]).max() > 0), name
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg=name)


def test_sparse_engine_agrees_with_dense(monkeypatch):
    pair = symmetric_pair(0.2, 7)
    dense = monomial_moments(pair, "transform")
    import numerics.path_recursion as engine

    monkeypatch.setattr(engine, "DENSE_STATE_LIMIT", 0)
    sparse = monomial_moments(pair, "transform")
    assert_close(dense, sparse, "dense vs sparse block operator", scale=1.0 + np.abs(dense).max())


def test_theta_zero_where_roll_reaches_gives_infinite_k3_moments():
    pair = theta_zero_pair()
    assert theta_vanishes_where_roll_reaches(pair)
    pm = path_moments(pair)
    assert math.isinf(pm.kl_seq) and math.isinf(pm.h2_moment) and math.isinf(pm.sh_moment)
    P, u = _paths(pair)
    assert_close(pm.q_sum, P @ u.sum(axis=0) ** 2, "Q stays finite")
    assert math.isinf(exact_quantities(pair, tv_seq_budget=0, second_moments=False).kl_seq)


def test_theta_zero_only_where_roll_never_goes_is_harmless():
    pair = theta_zero_pair()
    roll = pair.roll.copy()
    roll[0] = [0.0, 1.0]                    # π_roll never leaves state 0 for state 1, where π_θ vanishes
    pair = AutomatonPair(pair.init, pair.next_state, roll, pair.theta, pair.reward, pair.T)
    assert not theta_vanishes_where_roll_reaches(pair)
    pm = path_moments(pair)
    assert math.isfinite(pm.kl_seq) and math.isfinite(pm.h2_moment)


def test_k3_series_matches_direct_form():
    roll = np.full(7, 1 / 7)
    for x in (1e-9, 1e-6, 9.9e-4, 1.1e-3, 0.3, -0.5, 4.0):
        theta = roll * (1 + x)
        u, h = token_u_h(roll, theta)
        assert_close(h[0], x - math.log1p(x), f"k3 at u = {x}", scale=x * x)
    u, h = token_u_h(np.array([0.5, 0.5]), np.array([0.0, 1.0]))
    assert math.isinf(h[0]) and u[0] == -1.0


def test_equal_policies_give_zero_moments():
    pair = symmetric_pair(0.0, 5)
    pm = path_moments(pair)
    assert pm.q_sum == 0 and pm.kl_seq == 0 and pm.h2_moment == 0 and pm.sh_moment == 0
    assert_close(pm.bhattacharyya, 1.0, "BC of equal laws")
    assert weighted_second_moment(pair, 0.25, 3.0)[0] == 0


@pytest.mark.parametrize("T", [1, 2, 64, 4096])
def test_horizons_of_an_iid_pair(T):
    """i.i.d. two-token pair: Q = T χ², E[H] = T·kl, BC = bc^T in closed form."""
    a = 0.1
    pair = symmetric_pair(a, T)
    p, q = np.array([0.5, 0.5]), np.array([0.5 + a, 0.5 - a])
    chi2 = float(((q - p) ** 2 / p).sum())
    kl = float((p * np.log(p / q)).sum())
    pm = path_moments(pair)
    assert_close(pm.q_sum, T * chi2, "Q", scale=T * chi2)
    assert_close(pm.kl_seq, T * kl, "D_KL^seq", scale=T * kl)
    assert_close(pm.bhattacharyya, float(np.sqrt(p * q).sum()) ** T, "BC")
