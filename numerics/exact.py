"""Exact quantities of a policy pair in one forward sweep over positions (THEORY §2–§3).

Row vectors, one step d_(t+1) = d_t F_t with F_t[s, s'] = Σ_(v : n(s,v) = s') π_t(v|s) (see
:func:`numerics.transition.forward_matrix`): F^roll, F^θ, F^seen (π_θ restricted to tokens π_roll can
emit, what importance sampling sees) and the difference operator D_t = F_t^seen − F_t^roll, built from
the differences of the probabilities. Three accumulators are pushed forward together,
    d_(t+1) = d_t F_t^roll                       (d_0 = init; the roll state distribution d_t^roll)
    e_(t+1) = e_t F_t^roll + d_t D_t             (e_0 = 0)
    f_(t+1) = f_t F_t^seen − e_t D_t             (f_0 = 0)
which is the block operator A_t = [[F^roll, D, 0], [0, F^roll, −D], [0, 0, F^seen]] acting on
[d, e, f]. Unrolled, e_T R = Σ_t d_t D_t V_(t+1)^roll, the per-token form Σ_t E_(d_t^roll)[g_t] of
L' = E_roll[R Σ_t (ρ_t − 1)], and f_T R = Σ_t d_t D_t (V_(t+1)^roll − W_(t+1)) with
W_t = E_roll[R Π_(j≥t) ρ_j | s_t], the tower-property form of Δ = E_roll[R Σ_t (ρ_t − 1)(1 − Π_(j>t) ρ_j)].
Δ is accumulated from the first-order vector e_t, never as a difference of two O(1) value
functions, so a second-order Δ keeps its relative accuracy. Also
    J(π_roll) = d_T R,   J(π_θ) = init (Π_t F_t^θ) R,   P^θ-mass seen by π_roll = init (Π_t F_t^seen) 1,
    E_(d_t^roll)[D_KL(c)] = d_t · kl_t,   D̄_t = E_(d_t^roll)[D_TV(c)] = d_t · tv_t   (KL is roll ‖ θ).

Two engines evaluate these, both O(T) in output and with no [T, S] or [T, S, V] array:
- block operators (time-homogeneous pairs with a dense S×S operator): the scalars from
  [init, 0, 0]·A^T by binary powering of the block-triangular A (9 S×S GEMMs per squaring), and the
  per-position quantities with blocks of B ≈ √T positions (B a power of two): the block starts
  d_(kB) = init (F^roll)^(kB) and the columns (F^roll)^j f, j < B, by doubling, then one GEMM
  [T/B, S] × [S, B] per quantity gives d_(kB+j)·f for every position. Work O(S³ log T + T·S).
- a sequential sweep (time-dependent pairs, and automata too large for dense powers): one step per
  position on a few stacked vectors; time-dependent operators and per-context divergences are built
  a chunk of positions at a time, so memory is O(chunk·S·V) beyond the [T] outputs.
A plan (method, estimated memory and time) is made before anything is allocated and refused past
``max_memory`` / ``max_seconds``. D_TV^seq is not a per-context quantity: it is exact only by
enumeration (:mod:`numerics.enumeration`) and filled in from there when X·V^T·T fits its budget.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from numerics.bounds import pinsker_cap
from numerics.divergence import expectation_with_inf, token_kl, token_tv
from numerics.enumeration import DEFAULT_BUDGET, enumeration_size, total_variation_seq
from numerics.errors import TRMInputError
from numerics.pair import AutomatonPair, TabularPair, as_automaton
from numerics.reachable import first_reach, homogeneous_argmax
from numerics.result import ExactQuantities
from numerics.second_moment import second_moment_dp
from numerics.transition import (DENSE_STATE_LIMIT, forward_matrices, forward_matrix, position_expectations,
                                 sparse_forward_matrix, stacked_index)

__all__ = ["as_automaton", "exact_quantities", "plan_exact", "ExactPlan", "DEFAULT_MAX_MEMORY",
           "DEFAULT_MAX_SECONDS"]

#: Default refusal thresholds of :func:`exact_quantities` (the `trm exact` flags --max-memory, --max-seconds).
DEFAULT_MAX_MEMORY = 4 * 2**30
DEFAULT_MAX_SECONDS = 600.0
#: Working memory of one chunk of positions in the sequential sweep.
CHUNK_BYTES = 64 * 2**20
#: Largest S for dense per-chunk stacks of time-dependent S×S operators (DENSE_STATE_LIMIT, from
#: numerics.transition, bounds the dense operators of time-homogeneous pairs and their block powers).
TIME_DEPENDENT_DENSE_LIMIT = 512

# Cost model (deliberately conservative, 1 BLAS thread): seconds per numpy call, flop rate of the
# small GEMMs the engines issue, and the peak bytes a token_kl evaluation allocates per (context,
# token) (measured: 6.25 float64 temporaries), and its cost per element.
_CALL_SECONDS = 4e-6
_FLOPS_PER_SECOND = 4e9
_KL_TEMP_BYTES = 7 * 8
_KL_SECONDS_PER_ELEMENT = 1e-7


@dataclass(frozen=True)
class ExactPlan:
    """How :func:`exact_quantities` will run, estimated before any allocation.

    method   "block" (time-homogeneous, dense block operators) or "sequential" (one step per position)
    block    B, positions per block (block) or per chunk (sequential)
    bytes    estimated peak working memory beyond the pair itself (outputs included)
    seconds  estimated wall time on one core (a conservative model, not a measurement)
    """

    method: str
    T: int
    S: int
    V: int
    block: int
    bytes: int
    seconds: float

    def describe(self) -> str:
        return (f"{self.method} engine for T = {self.T:,}, S = {self.S:,}, V = {self.V:,}: an estimated "
                f"{self.bytes / 2**20:,.0f} MiB and {self.seconds:,.1f} s")


def _log2(n: int) -> int:
    return max(1, math.ceil(math.log2(max(n, 2))))


def _block_length(T: int) -> int:
    """B = 2^⌈log2(T)/2⌉ ≈ √T (a power of two, so F^B comes out of the doubling of the columns)."""
    return 1 << math.ceil(math.log2(T) / 2) if T > 1 else 1


def plan_exact(auto: AutomatonPair, engine: str = "auto") -> ExactPlan:
    """Choose the engine for ``auto`` and estimate its memory and time (nothing is allocated)."""
    if engine not in ("auto", "block", "sequential"):
        raise TRMInputError(f"engine = {engine!r}: choose auto, block or sequential")
    T, S, V = auto.T, auto.S, auto.V
    if engine == "block" and (auto.time_dependent or S > DENSE_STATE_LIMIT):
        raise TRMInputError(f"engine = 'block': needs a time-homogeneous pair with at most {DENSE_STATE_LIMIT} "
                            f"states (this one: S = {S}, {'time-dependent' if auto.time_dependent else 'homogeneous'})")
    outputs = 2 * 8 * T
    kl_temps = _KL_TEMP_BYTES * S * V
    if auto.time_dependent:
        dense = S <= TIME_DEPENDENT_DENSE_LIMIT
        # alive at the peak (token_kl of a chunk, or building the next chunk's operators): two sets of
        # four dense S×S operators per position, the scatter index, and the KL temporaries
        per_position = (2 * 4 * 8 * S * S + 8 * S * V if dense else 0) + kl_temps + 9 * S
        chunk = int(max(1, min(T, CHUNK_BYTES // per_position)))
        step_flops = 2 * 8 * S * S if dense else 8 * 4 * S * V
        step_calls = 16 if dense else 4 * 12 + 12
        seconds = T * (step_calls * _CALL_SECONDS + step_flops / _FLOPS_PER_SECOND
                       + S * V * (_KL_SECONDS_PER_ELEMENT + 40 / _FLOPS_PER_SECOND))
        working = max(chunk * per_position, CHUNK_BYTES)     # the support scan uses up to CHUNK_BYTES
        return ExactPlan("sequential", T, S, V, chunk, outputs + working + 12 * S * 8, seconds)
    B = _block_length(T)
    nb = -(-T // B)
    m = 3  # kl (finite part), tv, and the indicator of infinite KL when there is one
    block_bytes = (3 * 8 * nb * B + m * 8 * S * B + 8 * nb * S + 24 * 8 * S * S + kl_temps)
    block_flops = 2 * S**3 * (10 * _log2(T) + _log2(B) + _log2(nb)) + 2 * T * S * m + 2 * m * S * S * B
    block_seconds = block_flops / _FLOPS_PER_SECOND + 60 * (_log2(T) + _log2(B) + _log2(nb)) * _CALL_SECONDS
    chunk = int(max(1, min(T, CHUNK_BYTES // (8 * S))))
    nnz = min(S * V, S * S)
    step_flops = 2 * 8 * (S * S if S <= DENSE_STATE_LIMIT else nnz)
    seq_seconds = T * (12 * _CALL_SECONDS + step_flops / _FLOPS_PER_SECOND)
    op_bytes = 8 * 8 * S * S if S <= DENSE_STATE_LIMIT else 8 * 24 * S * V
    seq_bytes = outputs + chunk * 8 * S + op_bytes + kl_temps
    if engine == "block" or (engine == "auto" and S <= DENSE_STATE_LIMIT and block_seconds <= seq_seconds):
        return ExactPlan("block", T, S, V, B, block_bytes, block_seconds)
    return ExactPlan("sequential", T, S, V, chunk, seq_bytes, seq_seconds)


def _with_second_moments(plan: ExactPlan, auto: AutomatonPair) -> ExactPlan:
    """The plan plus the second-moment pass of :mod:`numerics.second_moment` as :func:`exact_quantities`
    runs it (scalars only): binary powers of the 3S×3S block operator for small homogeneous pairs
    (:func:`numerics.transition.power_series`, two n×n products per bit of T); one step per position
    otherwise (six scattered pushes; a chunk of 2^20 floats and four [T] outputs)."""
    T, S, V = auto.T, auto.S, auto.V
    if not auto.time_dependent and 3 * S <= DENSE_STATE_LIMIT:
        n, bits = 3 * S, _log2(T + 1)
        seconds = 2 * 2 * n**3 * bits / _FLOPS_PER_SECOND + 10 * bits * _CALL_SECONDS
        working = 4 * 8 * n * n
    else:
        seconds = T * (6 * 12 * _CALL_SECONDS + 6 * 8 * S * V / _FLOPS_PER_SECOND)
        working = 4 * 8 * (T + 1) + 8 * 2**20 + 6 * 8 * S * V
    return dataclasses.replace(plan, bytes=plan.bytes + working + 4 * 8 * (T + 1), seconds=plan.seconds + seconds)


def check_plan(plan: ExactPlan, max_memory: float | None, max_seconds: float | None) -> None:
    """Refuse a plan beyond the limits, naming the flag that raises each."""
    if max_memory is not None and plan.bytes > max_memory:
        raise TRMInputError(
            f"the {plan.describe()}, beyond the memory limit of {max_memory / 2**20:,.0f} MiB; "
            f"raise it with --memory-limit (max_memory=) if the machine has the room"
        )
    if max_seconds is not None and plan.seconds > max_seconds:
        raise TRMInputError(
            f"the {plan.describe()}, beyond the time limit of {max_seconds:,.0f} s; "
            f"raise it with --time-limit (max_seconds=)"
        )


@dataclass(frozen=True)
class _Sweep:
    J_roll: float
    J_theta: float
    surrogate: float
    delta: float
    off_support: float
    kl_pos: np.ndarray
    tv_pos: np.ndarray
    kl_max: float
    kl_context: str
    tv_max: float
    tv_context: str


def exact_quantities(pair: AutomatonPair | TabularPair, T: int | None = None,
                     tv_seq_budget: int | None = None, *, max_memory: float | None = DEFAULT_MAX_MEMORY,
                     max_seconds: float | None = DEFAULT_MAX_SECONDS, engine: str = "auto",
                     second_moments: bool = True) -> ExactQuantities:
    """Every exact quantity of THEORY §2–§3 for the pair at horizon T (float64).

    With ``second_moments`` the χ² quantities of THEORY §10 (χ²_max, χ²_seq, E[W²]) are added by
    :func:`numerics.second_moment.second_moment_dp` (scalars only: O(S³ log T) for small time-homogeneous
    pairs, another pass linear in T otherwise).

    D_TV^seq is computed by enumeration when X·V^T·T is within ``tv_seq_budget`` elements
    (default :data:`numerics.enumeration.DEFAULT_BUDGET`), else reported as None with the Pinsker
    upper bound min(1, sqrt(D_KL^seq/2)) alongside. The engine's estimated memory and time
    (:func:`plan_exact`) are checked against ``max_memory`` (bytes) and ``max_seconds`` before any
    allocation; None disables a limit. ``engine`` forces "block" or "sequential" (default "auto":
    the cheaper by the plan's estimate).
    """
    auto = as_automaton(pair, T)
    plan = plan_exact(auto, engine)
    if second_moments:
        plan = _with_second_moments(plan, auto)
    check_plan(plan, max_memory, max_seconds)
    sweep = _block_sweep(auto, plan.block) if plan.method == "block" else _sequential_sweep(auto, plan.block)

    kl_seq = float(sweep.kl_pos.sum())
    budget = DEFAULT_BUDGET if tv_seq_budget is None else tv_seq_budget
    tv_seq = total_variation_seq(auto) if enumeration_size(auto) <= budget else None

    chi2 = {}
    if second_moments:
        sm = second_moment_dp(auto, positions=False)
        chi2 = dict(chi2_tok_max=sm.chi2_tok_max, chi2_tok_max_context=sm.chi2_tok_max_context,
                    chi2_seq=sm.chi2_seq, second_moment=sm.second_moment)
    return ExactQuantities(
        T=auto.T, J_roll=sweep.J_roll, J_theta=sweep.J_theta, surrogate=sweep.surrogate,
        error=sweep.J_theta - sweep.J_roll - sweep.surrogate, delta_identity=sweep.delta,
        kl_tok_max=sweep.kl_max, kl_tok_max_context=sweep.kl_context,
        tv_tok_max=sweep.tv_max, tv_tok_max_context=sweep.tv_context,
        kl_seq=kl_seq, tv_seq=tv_seq, tv_seq_upper=pinsker_cap(kl_seq),
        tv_pos_mean=sweep.tv_pos, kl_pos_mean=sweep.kl_pos,
        theta_mass_off_roll_support=sweep.off_support, method="dynamic programming", **chi2,
    )


def _has_off_support(auto: AutomatonPair) -> bool:
    """Whether π_θ > 0 = π_roll anywhere (checked a chunk of positions at a time for time-dependent pairs)."""
    if not auto.time_dependent:
        return bool(np.any((auto.roll == 0) & (auto.theta > 0)))
    step = max(1, CHUNK_BYTES // (3 * auto.S * auto.V))   # three boolean temporaries per element
    return any(bool(np.any((auto.roll[t:t + step] == 0) & (auto.theta[t:t + step] > 0)))
               for t in range(0, auto.T, step))


def _off_mass(seen: np.ndarray) -> float:
    """P^θ mass of sequences π_roll cannot produce, 1 − init (Π_t F_t^seen) 1, from the pushed row."""
    return max(0.0, 1.0 - float(seen.sum()))


# ----------------------------------------------------------------------------- block operators

@dataclass(frozen=True)
class _Triangular:
    """X = [[a, b, c], [0, a, h], [0, 0, k]] (S×S blocks), the shape of every power of A."""

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    h: np.ndarray
    k: np.ndarray

    def compose(self, o: "_Triangular") -> "_Triangular":
        """self · o."""
        return _Triangular(self.a @ o.a, self.a @ o.b + self.b @ o.a, self.a @ o.c + self.b @ o.h + self.c @ o.k,
                           self.a @ o.h + self.h @ o.k, self.k @ o.k)

    def apply(self, d, e, f):
        """[d, e, f] · X."""
        return d @ self.a, d @ self.b + e @ self.a, d @ self.c + e @ self.h + f @ self.k


def _block_sweep(auto: AutomatonPair, B: int) -> _Sweep:
    T, S = auto.T, auto.S
    roll, theta = auto.roll, auto.theta
    seen = np.where(roll > 0, theta, 0.0)
    off = _has_off_support(auto)
    F_roll = forward_matrix(auto.next_state, roll)
    F_theta = forward_matrix(auto.next_state, theta)
    F_seen = forward_matrix(auto.next_state, seen) if off else F_theta
    D = forward_matrix(auto.next_state, seen - roll)

    # scalars: [init, 0, 0] A^T, init (F^θ)^T, init (F^seen)^T by binary powering
    zero = np.zeros(S)
    d, e, f = auto.init.copy(), zero, zero
    d_theta, g = auto.init.copy(), auto.init.copy()
    power = _Triangular(F_roll, D, np.zeros((S, S)), -D, F_seen)
    power_theta = F_theta
    n = T
    while True:
        if n & 1:
            d, e, f = power.apply(d, e, f)
            d_theta = d_theta @ power_theta
            if off:
                g = g @ power.k
        n >>= 1
        if not n:
            break
        power = power.compose(power)
        power_theta = power_theta @ power_theta

    kl = token_kl(roll, theta)
    tv = token_tv(roll, theta)
    infinite = np.isinf(kl)
    columns = [np.where(infinite, 0.0, kl), tv] + ([infinite.astype(np.float64)] if infinite.any() else [])
    kl_pos, tv_pos, *hit = position_expectations(auto.init, F_roll, columns, T, B)
    if hit:
        kl_pos[hit[0] > 0] = np.inf

    first = np.minimum(first_reach(auto.init, auto.next_state, roll > 0, T),
                       first_reach(auto.init, auto.next_state, theta > 0, T))
    kl_max, kl_ctx = homogeneous_argmax(auto, kl, first)
    tv_max, tv_ctx = homogeneous_argmax(auto, tv, first)
    R = auto.reward
    return _Sweep(float(d @ R), float(d_theta @ R), float(e @ R), float(f @ R), _off_mass(g) if off else 0.0,
                  kl_pos, tv_pos, kl_max, kl_ctx, tv_max, tv_ctx)


# ----------------------------------------------------------------------------- sequential sweep

class _Operators:
    """Per-position operators (F^roll, F^θ, F^seen, D) for positions of one chunk, applied to stacked rows."""

    def __init__(self, auto: AutomatonPair, off: bool, t0: int, t1: int, index: np.ndarray | None = None):
        self.homogeneous = not auto.time_dependent
        roll = auto.roll if self.homogeneous else auto.roll[t0:t1]
        theta = auto.theta if self.homogeneous else auto.theta[t0:t1]
        seen = np.where(roll > 0, theta, 0.0)
        ns = auto.next_state
        weights = {"roll": roll, "theta": theta, "diff": seen - roll}
        if off:
            weights["seen"] = seen
        if self.homogeneous:
            if auto.S <= DENSE_STATE_LIMIT:
                self.ops = {k: forward_matrix(ns, w) for k, w in weights.items()}
            else:
                self.ops = {k: sparse_forward_matrix(ns, w).T.tocsr() for k, w in weights.items()}
        elif auto.S <= TIME_DEPENDENT_DENSE_LIMIT:
            self.ops = {k: forward_matrices(ns, w, index) for k, w in weights.items()}
        else:
            self.ops = {k: [sparse_forward_matrix(ns, wi).T.tocsr() for wi in w] for k, w in weights.items()}
        self.sparse = auto.S > (DENSE_STATE_LIMIT if self.homogeneous else TIME_DEPENDENT_DENSE_LIMIT)
        if not off:
            self.ops["seen"] = self.ops["theta"]

    def apply(self, name: str, rows: np.ndarray, i: int) -> np.ndarray:
        op = self.ops[name] if self.homogeneous else self.ops[name][i]
        return (op @ rows.T).T if self.sparse else rows @ op


def _sequential_sweep(auto: AutomatonPair, chunk: int) -> _Sweep:
    T, S = auto.T, auto.S
    td = auto.time_dependent
    off = _has_off_support(auto)
    init = auto.init
    # roll-side rows: d, e (and the roll reachability indicator); θ-side rows: d_θ (and its reachability);
    # seen-side rows: f (and g, the P^θ mass π_roll can see, when π_θ has mass off π_roll's support)
    roll_rows = np.stack([init, np.zeros(S)] + ([(init > 0).astype(np.float64)] if td else []))
    theta_rows = np.stack([init] + ([(init > 0).astype(np.float64)] if td else []))
    seen_rows = np.stack([np.zeros(S)] + ([init] if off else []))
    kl_pos = np.empty(T)
    tv_pos = np.empty(T)
    best = {"kl": (-np.inf, ""), "tv": (-np.inf, "")}
    index = stacked_index(auto.next_state, chunk) if td and S <= TIME_DEPENDENT_DENSE_LIMIT else None
    if not td:
        ops = _Operators(auto, off, 0, T)
        kl, tv = token_kl(auto.roll, auto.theta), token_tv(auto.roll, auto.theta)
        infinite = np.isinf(kl)
        kl_finite = np.where(infinite, 0.0, kl)
    for t0 in range(0, T, chunk):
        t1 = min(T, t0 + chunk)
        if td:
            ops = _Operators(auto, off, t0, t1, index)
        d_rows = np.empty((t1 - t0, S))
        reach = np.empty((t1 - t0, S), dtype=bool) if td else None
        for i in range(t1 - t0):
            d_rows[i] = roll_rows[0]
            if td:
                reach[i] = (roll_rows[2] > 0) | (theta_rows[1] > 0)
            new_roll = ops.apply("roll", roll_rows, i)
            new_diff = ops.apply("diff", roll_rows[:2], i)
            new_seen = ops.apply("seen", seen_rows, i)
            new_theta = ops.apply("theta", theta_rows, i)
            new_roll[1] += new_diff[0]
            new_seen[0] -= new_diff[1]
            if td:
                new_roll[2] = new_roll[2] > 0
                new_theta[1] = new_theta[1] > 0
            roll_rows, seen_rows, theta_rows = new_roll, new_seen, new_theta
        if td:
            kl_c = token_kl(auto.roll[t0:t1], auto.theta[t0:t1])
            tv_c = token_tv(auto.roll[t0:t1], auto.theta[t0:t1])
            kl_pos[t0:t1] = expectation_with_inf(d_rows, kl_c, axis=1)
            tv_pos[t0:t1] = np.einsum("ts,ts->t", d_rows, tv_c)
            for name, values in (("kl", kl_c), ("tv", tv_c)):
                masked = np.where(reach, values, -np.inf)
                flat = int(np.argmax(masked))
                i, s = divmod(flat, S)
                if masked[i, s] > best[name][0]:
                    best[name] = (float(masked[i, s]), auto.describe_context(t0 + i + 1, s))
        else:
            kl_pos[t0:t1] = d_rows @ kl_finite
            if infinite.any():
                kl_pos[t0:t1][(d_rows @ infinite.astype(np.float64)) > 0] = np.inf
            tv_pos[t0:t1] = d_rows @ tv
    if not td:
        first = np.minimum(first_reach(init, auto.next_state, auto.roll > 0, T),
                           first_reach(init, auto.next_state, auto.theta > 0, T))
        best["kl"] = homogeneous_argmax(auto, kl, first)
        best["tv"] = homogeneous_argmax(auto, tv, first)
    R = auto.reward
    return _Sweep(float(roll_rows[0] @ R), float(theta_rows[0] @ R), float(roll_rows[1] @ R),
                  float(seen_rows[0] @ R), _off_mass(seen_rows[1]) if off else 0.0, kl_pos, tv_pos,
                  *best["kl"], *best["tv"])
