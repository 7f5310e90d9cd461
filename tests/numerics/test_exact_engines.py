"""The exact engines (block operators, sequential sweep) against enumeration, against the per-step
dynamic programme, against an extended-precision reference, and their size guards and memory."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from numerics import exact
from numerics.benchmarks import numpy_loop, per_step_dp, time_dependent_pair, traced_peak
from numerics.enumeration import exact_by_enumeration
from numerics.errors import TRMInputError
from numerics.exact import exact_quantities, plan_exact
from numerics.generators import MismatchModel, random_automaton
from numerics.pair import AutomatonPair
from numerics.transition import position_expectations
from tests.numerics.test_exact_vs_enumeration import _agree
from tests.strategies import automaton_pairs, tabular_pairs
from tests.tolerances import assert_close

SCALARS = ("J_roll", "J_theta", "surrogate", "error", "delta_identity", "kl_tok_max", "tv_tok_max", "kl_seq",
           "theta_mass_off_roll_support")


def _same(a, b, rtol=1e-12):
    """Every field equal to float precision (contexts exactly); a scale of 1 for quantities near 0."""
    for key in SCALARS:
        x, y = getattr(a, key), getattr(b, key)
        if math.isinf(y):
            assert x == y, key
        else:
            assert abs(x - y) <= rtol * max(1.0, abs(y)), (key, x, y)
    assert a.kl_tok_max_context == b.kl_tok_max_context
    assert a.tv_tok_max_context == b.tv_tok_max_context
    for key in ("kl_pos_mean", "tv_pos_mean"):
        x, y = getattr(a, key), getattr(b, key)
        assert x.shape == y.shape == (a.T,)
        assert np.array_equal(np.isinf(x), np.isinf(y)), key
        finite = np.isfinite(y)
        assert np.allclose(x[finite], y[finite], rtol=rtol, atol=1e-15), key


@given(automaton_pairs(time_dependent=False) | tabular_pairs(), st.sampled_from(["block", "sequential"]))
def test_both_engines_agree_with_enumeration(pair, engine):
    _agree(exact_quantities(pair, engine=engine), exact_by_enumeration(pair))


@given(automaton_pairs(max_states=5, max_vocab=3, max_T=12) | tabular_pairs())
def test_engines_match_the_per_step_dp_with_contexts(pair):
    """Same numbers and the same named argmax contexts as the [T, S] reachability table."""
    reference = per_step_dp(pair)
    _same(exact_quantities(pair, engine="sequential"), reference, rtol=1e-9)
    if not getattr(pair, "time_dependent", False):
        _same(exact_quantities(pair, engine="block"), reference, rtol=1e-9)


def _supports_broken(seed: int, T: int) -> AutomatonPair:
    """Zeros in both policies: π_θ = 0 < π_roll (infinite KL) at a state entered late, and π_roll = 0 < π_θ."""
    rng = np.random.default_rng(seed)
    S, V = 6, 3
    next_state = (np.arange(S)[:, None] + np.array([0, 1, 1])[None, :]) % S       # a ring: state k first at t = k
    roll = rng.dirichlet(np.ones(V), size=S)
    theta = rng.dirichlet(np.ones(V), size=S)
    theta[4] = [roll[4, 0] + roll[4, 1], 0.0, roll[4, 2]]                        # π_θ = 0 < π_roll at state 4
    roll[2] = [0.0, 0.5, 0.5]                                                     # π_roll = 0 < π_θ at state 2
    init = np.zeros(S)
    init[0] = 1.0
    return AutomatonPair(init, next_state, roll, theta, rng.random(S), T)


@pytest.mark.parametrize("T", [1, 2, 3, 5, 6, 64, 1000, 4099])
def test_block_and_sequential_agree_at_long_T(T):
    for pair in (random_automaton(np.random.default_rng(T), states=9, vocab=4, T=T, prompts=2),
                 _supports_broken(T, T)):
        a = exact_quantities(pair, engine="block", tv_seq_budget=0)
        b = exact_quantities(pair, engine="sequential", tv_seq_budget=0)
        _same(a, b)
        if T <= 1000:
            _same(a, per_step_dp(pair), rtol=1e-9)


def test_sparse_operators_give_the_same_numbers(monkeypatch):
    """Automata too large for dense S×S operators are swept with CSR operators (forced here on small pairs)."""
    homogeneous = _supports_broken(1, 40)
    dependent = time_dependent_pair(5, 3, 40, seed=2)
    dense = [exact_quantities(p, tv_seq_budget=0) for p in (homogeneous, dependent)]
    monkeypatch.setattr(exact, "DENSE_STATE_LIMIT", 2)
    monkeypatch.setattr(exact, "TIME_DEPENDENT_DENSE_LIMIT", 2)
    assert plan_exact(homogeneous).method == "sequential"
    for pair, reference in zip((homogeneous, dependent), dense):
        _same(exact_quantities(pair, tv_seq_budget=0), reference, rtol=1e-13)


def test_infinite_kl_is_positioned_and_named():
    pair = _supports_broken(0, 10)
    q = exact_quantities(pair, engine="block", tv_seq_budget=0)
    assert math.isinf(q.kl_tok_max) and q.kl_tok_max_context == "position t=5, state 4"
    assert np.all(np.isfinite(q.kl_pos_mean[:4])) and np.all(np.isinf(q.kl_pos_mean[4:]))
    assert q.theta_mass_off_roll_support > 0


@pytest.mark.parametrize("T", [1, 2, 3, 17, 100])
@pytest.mark.parametrize("B", [None, 1, 4, 256])
def test_position_expectations_match_a_direct_loop(T, B):
    rng = np.random.default_rng(T)
    F = rng.dirichlet(np.ones(5), size=5)
    init, columns = rng.dirichlet(np.ones(5)), [rng.random(5), rng.random(5)]
    got = position_expectations(init, F, columns, T, B)
    d, expected = init.copy(), []
    for _ in range(T):
        expected.append([d @ c for c in columns])
        d = d @ F
    assert all(g.shape == (T,) for g in got)
    assert np.allclose(np.stack(got, axis=1), np.array(expected), rtol=1e-13, atol=0)
    with pytest.raises(ValueError, match="power of two"):
        position_expectations(init, F, columns, T, 3)


def test_time_dependent_sweep_in_small_chunks_is_unchanged(monkeypatch):
    pair = time_dependent_pair(5, 4, 300, seed=3)
    whole = exact_quantities(pair, tv_seq_budget=0)
    monkeypatch.setattr(exact, "CHUNK_BYTES", 1)            # one position per chunk
    assert plan_exact(pair).block == 1
    _same(exact_quantities(pair, tv_seq_budget=0), whole, rtol=1e-14)


# ---------------------------------------------------------------------- extended-precision reference

LONG = np.longdouble
needs_extended = pytest.mark.skipif(np.finfo(LONG).eps >= np.finfo(np.float64).eps / 100,
                                    reason="np.longdouble is no wider than float64 on this platform")


def _extended_reference(pair: AutomatonPair) -> dict:
    """The forward sweep one position at a time in extended precision (80-bit on x86):
    d ← d F, e ← e F + d D, f ← f F^θ − e D with D = F^θ − F assembled in extended precision, and
    the per-position expectations d_t · kl, d_t · tv."""
    S, T = pair.S, pair.T
    rows, cols = np.repeat(np.arange(S), pair.V), pair.next_state.ravel()
    F, Ft = np.zeros((S, S), LONG), np.zeros((S, S), LONG)
    np.add.at(F, (rows, cols), pair.roll.ravel().astype(LONG))
    np.add.at(Ft, (rows, cols), pair.theta.ravel().astype(LONG))
    D = Ft - F
    kl, tv = exact.token_kl(pair.roll, pair.theta).astype(LONG), exact.token_tv(pair.roll, pair.theta).astype(LONG)
    d = pair.init.astype(LONG)
    e, f = np.zeros(S, LONG), np.zeros(S, LONG)
    kl_pos, tv_pos = np.empty(T, LONG), np.empty(T, LONG)
    for t in range(T):
        kl_pos[t], tv_pos[t] = d @ kl, d @ tv
        d, e, f = d @ F, e @ F + d @ D, f @ Ft - e @ D
    R = pair.reward.astype(LONG)
    return {"J_roll": d @ R, "surrogate": e @ R, "delta_identity": f @ R, "kl_pos_mean": kl_pos, "tv_pos_mean": tv_pos}


@needs_extended
@pytest.mark.parametrize("sigma", [1e-1, 1e-3, 1e-5])
def test_accuracy_against_extended_precision(sigma):
    """Relative error ≤ 1e-12 on L', Δ and J, 1e-13 per position, for mismatch down to σ = 1e-5
    (Δ ~ 1e-11), where Δ formed as a difference of O(1) value functions loses up to 1e-3."""
    pair = random_automaton(np.random.default_rng(2), states=16, vocab=8, T=600,
                            mismatch=MismatchModel("dense", sigma=sigma))
    reference = _extended_reference(pair)
    for engine in ("block", "sequential"):
        q = exact_quantities(pair, engine=engine, tv_seq_budget=0)
        for key in ("J_roll", "surrogate", "delta_identity"):
            rel = abs(float((LONG(getattr(q, key)) - reference[key]) / reference[key]))
            assert rel <= 1e-12, (engine, key, rel)
        for key in ("kl_pos_mean", "tv_pos_mean"):
            rel = np.abs((getattr(q, key).astype(LONG) - reference[key]) / reference[key]).max()
            assert rel <= 1e-13, (engine, key, rel)


def test_numpy_loop_baseline_computes_the_same_quantities():
    pair = random_automaton(np.random.default_rng(4), states=8, vocab=5, T=300)
    loop, q = numpy_loop(pair), exact_quantities(pair, tv_seq_budget=0)
    for key in ("J_roll", "J_theta", "surrogate", "delta_identity", "kl_pos_mean", "tv_pos_mean"):
        assert_close(loop[key], getattr(q, key), key)


# ---------------------------------------------------------------------- memory and size guards

def test_block_engine_holds_no_T_by_S_array():
    T, S = 2**20, 32
    pair = random_automaton(np.random.default_rng(0), states=S, vocab=8, T=T, prompts=1)
    peak = traced_peak(lambda: exact_quantities(pair, tv_seq_budget=0, second_moments=False))
    assert peak < 3 * 8 * T < 8 * T * S / 10, peak       # two [T] outputs, a third transiently; [T, S] = 256 MiB
    # the second-moment pass keeps four [T] outputs and a bounded chunk of forward states, no [T, S] array
    peak = traced_peak(lambda: exact_quantities(pair, tv_seq_budget=0))
    assert peak < 8 * T * S / 3, peak


def test_time_dependent_memory_is_bounded_by_the_chunk(monkeypatch):
    T, S, V = 2048, 8, 16
    pair = time_dependent_pair(S, V, T, seed=1)
    monkeypatch.setattr(exact, "CHUNK_BYTES", 2**18)
    plan = plan_exact(pair)
    peak = traced_peak(lambda: exact_quantities(pair, tv_seq_budget=0, second_moments=False))
    assert peak <= plan.bytes + 2**16, (peak, plan.bytes)
    assert peak < pair.roll.nbytes, (peak, pair.roll.nbytes)   # less than one [T, S, V] array
    # with the second-moment pass (tilted weights a position at a time): still less than one [T, S, V] array
    peak = traced_peak(lambda: exact_quantities(pair, tv_seq_budget=0))
    assert peak < pair.roll.nbytes, (peak, pair.roll.nbytes)


def test_size_guard_refuses_before_allocating_and_names_the_flags():
    pair = random_automaton(np.random.default_rng(0), states=4, vocab=2, T=10**12, prompts=1)
    with pytest.raises(TRMInputError, match="--memory-limit") as info:
        exact_quantities(pair)
    assert "estimated" in str(info.value) and "T = 1,000,000,000,000" in str(info.value)
    with pytest.raises(TRMInputError, match="--time-limit"):
        exact_quantities(random_automaton(np.random.default_rng(0), states=4, vocab=2, T=1000), max_seconds=1e-9)
    small = random_automaton(np.random.default_rng(0), states=4, vocab=2, T=1000)
    assert exact_quantities(small, max_memory=None, max_seconds=None).T == 1000


def test_engine_choice_is_checked():
    pair = time_dependent_pair(3, 2, 5)
    with pytest.raises(TRMInputError, match="engine = 'block'"):
        exact_quantities(pair, engine="block")
    with pytest.raises(TRMInputError, match="engine = 'fast'"):
        exact_quantities(pair, engine="fast")
