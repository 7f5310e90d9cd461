"""Second moments of the surrogate bracket W by dynamic programming, linear in T (THEORY §10).

This module computes quantities of the suite's own second-moment (χ²) bound family, not the paper's.
With u_t = ρ_t − 1, M_t = Π_{s≤t} ρ_s (M_0 = 1) and W = M_T − 1 − Σ_t u_t, Error = E_roll[R·W]. W is
the martingale transform W = Σ_t (M_{t−1} − 1)·u_t, whose increments are orthogonal when π_θ puts
no mass where π_roll is 0, so
    E_roll[W²] = Σ_t E_roll[(M_{t−1} − 1)² χ²(c_t)],   χ²(c) = Σ_v π_θ(v|c)²/π_roll(v|c) − 1 (θ against roll).

Dynamic programme. Over the automaton's states s, with d_t the roll state law after t tokens, carry
three forward measures (each [S]):
    c_t(s) = P_roll(s_t = s),  f_t(s) = E_roll[(M_t − 1); s_t = s],  e_t(s) = E_roll[(M_t − 1)²; s_t = s].
From M_t − 1 = (M_{t−1} − 1)ρ_t + u_t, pushing through token v from state s (weight π_roll(v|s)):
    e_t = push[π_θ²/π_roll] e_{t−1} + 2 push[π_θ(π_θ − π_roll)/π_roll] f_{t−1} + push[(π_θ − π_roll)²/π_roll] c_{t−1}
    f_t = push[π_θ on roll's support] f_{t−1} + push[π_θ − π_roll on roll's support] c_{t−1}
    c_t = push[π_roll] c_{t−1}
(tilted transition operators; every weight is evaluated from the difference π_θ − π_roll, so nothing
of order 1 cancels for nearly equal laws). Then E[(M_t − 1)²] = Σ_s e_t(s), χ²_seq = E[M_T²] − 1 =
Σ_s e_T(s) when E_roll[M_T] = 1, and E[W²] = Σ_t ⟨e_{t−1}, χ²_t⟩. Cost: O(T·S·V) (or one 3S×3S
matrix-vector product per position for time-homogeneous pairs).

Where π_θ puts mass on tokens π_roll cannot emit, on a context both policies reach, χ²(c) = +inf
there and χ²_seq = +inf; the sum Σ_t E[(M_{t−1} − 1)² χ²(c_t)] is then +inf as well (it no longer
equals E[W²], and no bound of the family applies).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from numerics.divergence import expectation_with_inf, token_chi2
from numerics.pair import AutomatonPair, TabularPair, as_automaton
from numerics.reachable import reachable_max
from numerics.transition import DENSE_STATE_LIMIT, TransitionOperator, position_expectations, power_series

#: Elements of the chunk of forward states held at once (positions × 3S).
_CHUNK_ELEMENTS = 2**20


@dataclass(frozen=True)
class SecondMoment:
    """Exact second-moment quantities of a pair at horizon T (THEORY §10; this suite's result).

    chi2_tok_max          χ²_max = max over contexts reachable under either policy of χ²(θ ‖ roll)(c)
    chi2_tok_max_context  the context attaining it
    chi2_seq              χ²_seq = E_roll[(Π_t ρ_t)²] − 1 = χ²(P^θ ‖ P^roll); +inf off π_roll's support
    second_moment         E_roll[W²] = Σ_t E_roll[(M_{t−1} − 1)² χ²(c_t)] (+inf off π_roll's support)
    mean_W                E_roll[W] (0 up to rounding when π_θ stays on π_roll's support)
    prefix_chi2           [T+1] E_roll[(M_t − 1)²], t = 0..T (= χ²(P^θ_{≤t} ‖ P^roll_{≤t}) on support)
    second_moment_terms   [T] E_roll[(M_{t−1} − 1)² χ²(c_t)], t = 1..T
    chi2_pos_mean         [T] E_roll[χ²(c_t)] (drives the variance of the worst-case estimator)
    theta_off_support     whether π_θ puts mass where π_roll is 0 on a context both reach
    The three arrays are None when :func:`second_moment_dp` was asked for the scalars only.
    """

    chi2_tok_max: float
    chi2_tok_max_context: str
    chi2_seq: float
    second_moment: float
    mean_W: float
    prefix_chi2: np.ndarray | None
    second_moment_terms: np.ndarray | None
    chi2_pos_mean: np.ndarray | None
    theta_off_support: bool


def token_chi2_table(pair: AutomatonPair) -> np.ndarray:
    """χ²(c) at every context: [S] (time-homogeneous) or [T, S] (computed a position at a time, so no
    [T, S, V] temporary); +inf where π_roll = 0 < π_θ."""
    if not pair.time_dependent:
        return token_chi2(pair.roll, pair.theta)
    return np.stack([token_chi2(pair.roll[t], pair.theta[t]) for t in range(pair.roll.shape[0])])


def tilted_weights(roll: np.ndarray, theta: np.ndarray) -> dict[str, np.ndarray]:
    """The transition weights of the second-moment recursion, each of roll's shape ([..., V]).

    rho2 = π_θ²/π_roll, rho_u = π_θ(π_θ − π_roll)/π_roll, u2 = (π_θ − π_roll)²/π_roll,
    rho = π_θ, u = π_θ − π_roll, roll = π_roll, all restricted to π_roll's support.
    """
    on = roll > 0
    safe = np.where(on, roll, 1.0)
    diff = np.where(on, theta - roll, 0.0)
    theta_on = np.where(on, theta, 0.0)
    return {"rho2": theta_on * theta_on / safe, "rho_u": theta_on * diff / safe, "u2": diff * diff / safe,
            "rho": theta_on, "u": diff, "roll": roll}


def _off_support_reachable(auto: AutomatonPair) -> bool:
    """Whether π_θ puts mass on a token π_roll cannot emit, at a context reachable under both
    policies along one path (so that P^θ has mass outside P^roll's support)."""
    off = (auto.roll <= 0) & (auto.theta > 0)
    if not off.any():
        return False
    both = (auto.roll > 0) & (auto.theta > 0)
    hit, _ = reachable_max(auto, off.any(axis=-1).astype(np.float64), [both])
    return hit > 0


def chi2_tok_max(auto: AutomatonPair) -> tuple[float, str]:
    """(χ²_max, its context) over contexts reachable under either policy (THEORY §3's "reachable")."""
    return reachable_max(auto, token_chi2_table(auto), [auto.roll > 0, auto.theta > 0])


def second_moment_dp(pair: AutomatonPair | TabularPair, T: int | None = None, positions: bool = True) -> SecondMoment:
    """Every quantity of :class:`SecondMoment` by the forward recursion of the module docstring.

    Memory: O(T) outputs plus a chunk of forward states; time-dependent laws are turned into tilted
    weights one position at a time, so nothing of shape [T, S, V] is allocated beyond the pair. Without
    ``positions`` only the scalars are computed (the arrays are None): for a small time-homogeneous pair
    the sums over t come from powers of the 3S×3S block operator (:func:`numerics.transition.power_series`,
    O(S³ log T) work and nothing of length T)."""
    auto = as_automaton(pair, T)
    T, S = auto.T, auto.S
    homogeneous = not auto.time_dependent
    chi2_t = token_chi2_table(auto) if homogeneous else None           # [S]; per position otherwise
    ops, row_u, block = None, None, None
    if homogeneous:
        w = tilted_weights(auto.roll, auto.theta)
        ops = {name: TransitionOperator(auto.next_state, weight) for name, weight in w.items()}
        row_u = w["u"].sum(axis=-1)   # Σ_v (π_θ − π_roll) on π_roll's support, per context (0 up to rounding)
        if 3 * S <= DENSE_STATE_LIMIT:
            block = np.zeros((3 * S, 3 * S))
            block[:S, :S] = ops["rho2"].matrix_T
            block[:S, S:2 * S] = 2.0 * ops["rho_u"].matrix_T
            block[:S, 2 * S:] = ops["u2"].matrix_T
            block[S:2 * S, S:2 * S] = ops["rho"].matrix_T
            block[S:2 * S, 2 * S:] = ops["u"].matrix_T
            block[2 * S:, 2 * S:] = ops["roll"].matrix_T
    flat_next = auto.next_state.ravel()

    def push(weights: np.ndarray, d: np.ndarray) -> np.ndarray:
        return np.bincount(flat_next, weights=(d[:, None] * weights).ravel(), minlength=S)

    if block is not None and np.all(np.isfinite(chi2_t)):
        if not positions:
            return _second_moment_by_powers(auto, block, chi2_t, row_u)
        return _second_moment_by_blocks(auto, block, chi2_t, row_u)
    # the states (e_t, f_t, c_t) for t = 0..T are kept a chunk of positions at a time, and the
    # per-position sums are taken over each chunk at once
    chunk = max(1, min(T + 1, _CHUNK_ELEMENTS // (3 * S)))
    hist = np.empty((chunk, 3 * S))
    chi2_hist = np.empty((chunk, S)) if not homogeneous else None
    u_hist = np.empty((chunk, S)) if not homogeneous else None
    prefix, terms, chi2_pos, u_mass = np.empty(T + 1), np.empty(T), np.empty(T), np.empty(T)
    state = np.concatenate([np.zeros(S), np.zeros(S), auto.init.astype(np.float64)])
    with np.errstate(over="ignore", invalid="ignore"):
        for t0 in range(0, T + 1, chunk):
            n = min(chunk, T + 1 - t0)
            for i in range(n):
                t = t0 + i
                hist[i] = state
                if t == T:
                    break
                e, f, c = state[:S], state[S:2 * S], state[2 * S:]
                if block is not None:
                    state = block @ state
                elif homogeneous:
                    state = np.concatenate([
                        ops["rho2"].push(e, t) + 2.0 * ops["rho_u"].push(f, t) + ops["u2"].push(c, t),
                        ops["rho"].push(f, t) + ops["u"].push(c, t), ops["roll"].push(c, t)])
                else:
                    wt = tilted_weights(auto.roll[t], auto.theta[t])
                    chi2_hist[i] = token_chi2(auto.roll[t], auto.theta[t])
                    u_hist[i] = wt["u"].sum(axis=-1)
                    state = np.concatenate([
                        push(wt["rho2"], e) + 2.0 * push(wt["rho_u"], f) + push(wt["u2"], c),
                        push(wt["rho"], f) + push(wt["u"], c), push(wt["roll"], c)])
            E, C = hist[:n, :S], hist[:n, 2 * S:]
            prefix[t0:t0 + n] = E.sum(axis=1)
            m = min(n, T - t0)                       # positions t0..t0+m−1 have a next context
            if m > 0:
                chi2_rows = np.broadcast_to(chi2_t, (m, S)) if homogeneous else chi2_hist[:m]
                u_rows = np.broadcast_to(row_u, (m, S)) if homogeneous else u_hist[:m]
                terms[t0:t0 + m] = expectation_with_inf(E[:m], chi2_rows, axis=1)
                chi2_pos[t0:t0 + m] = expectation_with_inf(C[:m], chi2_rows, axis=1)
                u_mass[t0:t0 + m] = np.einsum("ts,ts->t", C[:m], u_rows)
    result = _second_moment_result(auto, prefix, terms, chi2_pos, float(state[S:2 * S].sum()), float(u_mass.sum()))
    if not positions:
        result = dataclasses.replace(result, prefix_chi2=None, second_moment_terms=None, chi2_pos_mean=None)
    return result


def _second_moment_by_powers(auto: AutomatonPair, block: np.ndarray, chi2: np.ndarray, row_u: np.ndarray):
    """The scalars of the recursion for a time-homogeneous pair from x_T = A^T x_0 and Σ_(t<T) x_t (binary
    powering of the 3S×3S block operator A): χ²_seq = Σ_s e_T(s), E[W²] = Σ_(t<T) ⟨e_t, χ²⟩,
    E[W] = Σ_s f_T(s) − Σ_(t<T) ⟨c_t, Σ_v (π_θ − π_roll)⟩. No per-position array."""
    T, S = auto.T, auto.S
    x0 = np.concatenate([np.zeros(S), np.zeros(S), auto.init.astype(np.float64)])
    with np.errstate(over="ignore", invalid="ignore"):
        x_T, total = power_series(block, x0, T)
        chi2_seq = float(x_T[:S].sum())
        second = float(total[:S] @ chi2)
        f_T, u_total = float(x_T[S:2 * S].sum()), float(total[2 * S:] @ row_u)
    # overflow (a huge second moment) can turn 0·inf into NaN inside the products: report +inf
    chi2_seq, second = (math.inf if math.isnan(v) else v for v in (chi2_seq, second))
    off = _off_support_reachable(auto)
    chi2_max, where = chi2_tok_max(auto)
    return SecondMoment(
        chi2_tok_max=chi2_max, chi2_tok_max_context=where,
        chi2_seq=math.inf if off else chi2_seq, second_moment=math.inf if off else second,
        mean_W=f_T - u_total if math.isfinite(f_T) else float("nan"),
        prefix_chi2=None, second_moment_terms=None, chi2_pos_mean=None, theta_off_support=off)


def _second_moment_by_blocks(auto: AutomatonPair, block: np.ndarray, chi2: np.ndarray, row_u: np.ndarray):
    """The same recursion for a time-homogeneous pair, without a Python step per position: every
    per-position sum is a linear functional of x_t = A^t x_0 (A the 3S×3S block operator), evaluated
    for all t by √T-blocks (:func:`numerics.transition.position_expectations`, O(S³ log T + T·S))."""
    T, S = auto.T, auto.S
    zero, one = np.zeros(S), np.ones(S)
    columns = [np.concatenate(c) for c in ((one, zero, zero), (chi2, zero, zero), (zero, zero, chi2),
                                          (zero, zero, row_u), (zero, one, zero))]
    x0 = np.concatenate([zero, zero, auto.init.astype(np.float64)])
    with np.errstate(over="ignore", invalid="ignore"):
        prefix, terms, chi2_pos, u_pos, f_sum = position_expectations(x0, np.ascontiguousarray(block.T), columns,
                                                                      T + 1)
    return _second_moment_result(auto, prefix, terms[:T], chi2_pos[:T], float(f_sum[T]), float(u_pos[:T].sum()))


def _second_moment_result(auto: AutomatonPair, prefix, terms, chi2_pos, f_total: float, u_total: float):
    T = auto.T
    # overflow of e (a huge second moment) can turn 0·inf into NaN inside the products: report +inf
    prefix = np.where(np.isnan(prefix), np.inf, prefix)
    terms = np.where(np.isnan(terms), np.inf, terms)
    off = _off_support_reachable(auto)
    with np.errstate(over="ignore"):
        second = float(terms.sum())           # +inf when the second moment overflows float64
    chi2_max, where = chi2_tok_max(auto)
    mean_W = f_total - u_total if math.isfinite(f_total) else float("nan")
    return SecondMoment(
        chi2_tok_max=chi2_max, chi2_tok_max_context=where,
        chi2_seq=float("inf") if off else float(prefix[T]),
        second_moment=float("inf") if off else second, mean_W=mean_W,
        prefix_chi2=prefix, second_moment_terms=terms, chi2_pos_mean=chi2_pos, theta_off_support=off,
    )
