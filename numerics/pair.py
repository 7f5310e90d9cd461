"""The two representations of a policy pair (π_roll, π_θ) and the conversion between them.

Tabular ("prefix tree") pair, Li et al. §2 setting with explicit contexts:
    roll, theta : [X, N, V]   next-token probabilities at every prefix of length 0..T-1,
                              N = Σ_{k<T} V^k; prefixes ordered by length, then as base-V numbers
                              with the first token most significant.
    reward      : [X, V^T]    R(x, y) ∈ [0, 1], complete sequences in the same base-V order.
    prompt      : [X]         P(x).

Automaton ("finite-state") pair: contexts are (position, state) pairs.
    init        : [S]         initial-state distribution (plays the role of the prompt P(x)).
    next_state  : [S, V]      integer transition table, state after emitting token v.
    roll, theta : [S, V] or [T, S, V]  next-token probabilities (time-homogeneous or not).
    reward      : [S]         R paid on the state reached after the T-th token, in [0, 1].
    T           : horizon (optional in files for time-homogeneous pairs).

The exact engine works on automata; :func:`tabular_to_automaton` makes one exact engine serve both.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from numerics.errors import TRMInputError
from numerics.validation import check_real_numeric

#: Absolute tolerance on Σ_v π(v|c) = 1 for float64 input.
SUM_TOLERANCE = 1e-9


def _first_bad_index(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _where(name: str, idx: tuple[int, ...]) -> str:
    """'roll[1, 0]' (or just 'init' for a whole 1-D distribution)."""
    return f"{name}[{', '.join(map(str, idx))}]" if idx else name


def _show(value) -> str:
    value = np.asarray(value).item()
    return repr(value) if isinstance(value, (int, float)) else str(value)


def check_finite(name: str, array: np.ndarray) -> None:
    bad = ~np.isfinite(array)
    if bad.any():
        idx = _first_bad_index(bad)
        raise TRMInputError(f"{_where(name, idx)} = {_show(array[idx])}: values must be finite (no NaN or inf)")


def check_probabilities(name: str, probs: np.ndarray, axis: int = -1) -> None:
    """Refuse negative entries and rows that do not sum to 1, naming the first offending row."""
    check_finite(name, probs)
    negative = probs < 0
    if negative.any():
        idx = _first_bad_index(negative)
        raise TRMInputError(f"{_where(name, idx)} = {_show(probs[idx])}: probabilities must be non-negative")
    sums = probs.sum(axis=axis)
    off = np.abs(sums - 1.0) > SUM_TOLERANCE
    if off.any():
        idx = _first_bad_index(off)
        raise TRMInputError(
            f"{_where(name, idx)} sums to {_show(sums[idx])}: each distribution must sum to 1 "
            f"(tolerance {SUM_TOLERANCE:g})"
        )


def check_unit_interval(name: str, values: np.ndarray) -> None:
    check_finite(name, values)
    bad = (values < 0) | (values > 1)
    if bad.any():
        idx = _first_bad_index(bad)
        raise TRMInputError(f"{_where(name, idx)} = {_show(values[idx])}: rewards must lie in [0, 1]")


def _as_float_array(name: str, value) -> np.ndarray:

    try:
        array = np.asarray(check_real_numeric(name, value), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TRMInputError(f"{name}: cannot be read as a float64 array ({exc})") from None
    return array


def num_prefixes(V: int, T: int) -> int:
    """N = Σ_{k<T} V^k, the number of prefixes of length 0..T-1."""
    return sum(V**k for k in range(T))


def prefix_offsets(V: int, T: int) -> np.ndarray:
    """offsets[k] = index of the first prefix of length k (k = 0..T)."""
    return np.cumsum([0] + [V**k for k in range(T)])


def horizon_from_prefix_count(N: int, V: int) -> int | None:
    """The T with Σ_{k<T} V^k = N, or None when no T fits."""
    total, T = 0, 0
    while total < N:
        total += V**T
        T += 1
        if V == 1 and T > N:
            break
    return T if total == N else None


@dataclass(frozen=True)
class TabularPair:
    """Prefix-tree pair; see the module docstring for shapes and ordering."""

    roll: np.ndarray
    theta: np.ndarray
    reward: np.ndarray
    prompt: np.ndarray

    def __post_init__(self):
        roll = _as_float_array("roll", self.roll)
        theta = _as_float_array("theta", self.theta)
        reward = _as_float_array("reward", self.reward)
        prompt = _as_float_array("prompt", self.prompt)
        if roll.ndim != 3:
            raise TRMInputError(f"roll: expected shape (X, N, V), got {roll.shape}")
        if theta.shape != roll.shape:
            raise TRMInputError(f"theta: shape {theta.shape} differs from roll's {roll.shape}")
        X, N, V = roll.shape
        if V < 1 or N < 1 or X < 1:
            raise TRMInputError(f"roll: every axis of (X, N, V) = {roll.shape} must be non-empty")
        T = horizon_from_prefix_count(N, V)
        if T is None:
            raise TRMInputError(
                f"roll: N = {N} prefixes is not Σ_(k<T) V^k for any T with V = {V}; inconsistent shape"
            )
        if prompt.shape != (X,):
            raise TRMInputError(f"prompt: expected shape ({X},) to match roll's X, got {prompt.shape}")
        if reward.shape != (X, V**T):
            raise TRMInputError(
                f"reward: expected shape ({X}, {V**T}) = (X, V^T) for T = {T} implied by roll, got {reward.shape}"
            )
        check_probabilities("roll", roll)
        check_probabilities("theta", theta)
        check_probabilities("prompt", prompt, axis=0)
        check_unit_interval("reward", reward)
        for name, value in (("roll", roll), ("theta", theta), ("reward", reward), ("prompt", prompt)):
            object.__setattr__(self, name, value)

    @property
    def X(self) -> int:
        return self.roll.shape[0]

    @property
    def V(self) -> int:
        return self.roll.shape[2]

    @property
    def T(self) -> int:
        return horizon_from_prefix_count(self.roll.shape[1], self.V)


@dataclass(frozen=True)
class AutomatonPair:
    """Finite-state pair; contexts are (position t, state s). See the module docstring."""

    init: np.ndarray
    next_state: np.ndarray
    roll: np.ndarray
    theta: np.ndarray
    reward: np.ndarray
    T: int | None = None
    describe_state: Callable[[int], str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        init = _as_float_array("init", self.init)
        roll = _as_float_array("roll", self.roll)
        theta = _as_float_array("theta", self.theta)
        reward = _as_float_array("reward", self.reward)
        if init.ndim != 1 or init.size < 1:
            raise TRMInputError(f"init: expected shape (S,), got {init.shape}")
        S = init.shape[0]
    
        raw_next = check_real_numeric("next_state", np.asarray(self.next_state))
        if raw_next.ndim != 2 or raw_next.shape[0] != S:
            raise TRMInputError(f"next_state: expected shape ({S}, V) to match init's S = {S}, got {raw_next.shape}")
        if raw_next.size and not np.issubdtype(raw_next.dtype, np.integer):
            as_float = raw_next.astype(np.float64)
            if not (np.isfinite(as_float).all() and (as_float == np.round(as_float)).all()):
                idx = _first_bad_index(~np.isfinite(as_float) | (as_float != np.round(as_float)))
                raise TRMInputError(f"{_where('next_state', idx)} = {_show(raw_next[idx])}: state indices must be integers")
        V = raw_next.shape[1]
        if V < 1:
            raise TRMInputError("next_state: the vocabulary axis V is empty")
        # the range is checked on the values as stored, before the cast: a float like 1e300 or an unsigned
        # 2**63 would otherwise wrap (with a numpy warning) and be reported as the wrapped number
        out = (raw_next < 0) | (raw_next >= S)
        if out.any():
            idx = _first_bad_index(out)
            raise TRMInputError(f"{_where('next_state', idx)} = {_show(raw_next[idx])}: out of range, states are 0..{S - 1}")
        next_state = raw_next.astype(np.int64)
        if roll.shape not in ((S, V),) and not (roll.ndim == 3 and roll.shape[1:] == (S, V)):
            raise TRMInputError(f"roll: expected shape ({S}, {V}) or (T, {S}, {V}), got {roll.shape}")
        if theta.shape != roll.shape:
            raise TRMInputError(f"theta: shape {theta.shape} differs from roll's {roll.shape}")
        if reward.shape != (S,):
            raise TRMInputError(f"reward: expected shape ({S},) to match init's S, got {reward.shape}")
        T = self.T
        if T is not None:
            T_arr = np.asarray(T)
            if (T_arr.ndim != 0 or T_arr.dtype.kind not in "iuf" or not np.isfinite(T_arr)
                    or T_arr != np.round(T_arr)):
                raise TRMInputError(f"T = {T!r}: must be a scalar integer")
            T = int(T_arr)
            if T < 1:
                raise TRMInputError(f"T = {T}: the horizon must be at least 1")
        if roll.ndim == 3:
            if roll.shape[0] < 1:
                raise TRMInputError("roll: a time-dependent policy needs at least one position")
            if T is not None and T != roll.shape[0]:
                raise TRMInputError(
                    f"T = {T} is inconsistent with time-dependent roll of length {roll.shape[0]} (shape {roll.shape})"
                )
            T = roll.shape[0]
        check_probabilities("init", init, axis=0)
        check_probabilities("roll", roll)
        check_probabilities("theta", theta)
        check_unit_interval("reward", reward)
        for name, value in (("init", init), ("next_state", next_state), ("roll", roll), ("theta", theta),
                            ("reward", reward), ("T", T)):
            object.__setattr__(self, name, value)

    @property
    def S(self) -> int:
        return self.init.shape[0]

    @property
    def V(self) -> int:
        return self.next_state.shape[1]

    @property
    def time_dependent(self) -> bool:
        return self.roll.ndim == 3

    def with_horizon(self, T: int | None) -> "AutomatonPair":
        """The same pair with horizon T (checked against a time-dependent policy's length)."""
        if T is None:
            if self.T is None:
                raise TRMInputError("T: the file stores no horizon; give one (--T N)")
            return self
        if self.time_dependent and T != self.roll.shape[0]:
            raise TRMInputError(
                f"--T {T} is inconsistent with the time-dependent policies of length {self.roll.shape[0]}"
            )
        return AutomatonPair(self.init, self.next_state, self.roll, self.theta, self.reward, T, self.describe_state)

    def policies_at(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """(π_roll, π_θ) as [S, V] at 0-based position t."""
        if self.time_dependent:
            return self.roll[t], self.theta[t]
        return self.roll, self.theta

    def describe_context(self, t: int, s: int) -> str:
        """Human name of context (position t, 1-based; state s)."""
        label = f" ({self.describe_state(s)})" if self.describe_state is not None else ""
        return f"position t={t}, state {s}{label}"


def tabular_to_automaton(pair: TabularPair) -> AutomatonPair:
    """Prefix tree → automaton with one state per (prompt, prefix) node and per complete sequence.

    State of prompt x and prefix node n is x·(N + V^T) + n, where n < N indexes prefixes
    (length k, base-V number m → offsets[k] + m) and N + j indexes complete sequence j.
    Leaves are only reached after the T-th token; their policies (uniform) are never used.
    """
    X, N, V = pair.roll.shape
    T = pair.T
    leaves = V**T
    block = N + leaves
    offsets = prefix_offsets(V, T)
    next_local = np.empty((block, V), dtype=np.int64)
    for k in range(T):
        m = np.arange(V**k)
        child = m[:, None] * V + np.arange(V)[None, :]
        base = N if k + 1 == T else offsets[k + 1]
        next_local[offsets[k] + m] = base + child
    next_local[N:] = np.arange(N, block)[:, None]
    S = X * block
    next_state = (np.arange(X)[:, None, None] * block + next_local[None]).reshape(S, V)
    uniform = np.full((leaves, V), 1.0 / V)
    roll = np.concatenate([np.concatenate([pair.roll[x], uniform]) for x in range(X)])
    theta = np.concatenate([np.concatenate([pair.theta[x], uniform]) for x in range(X)])
    init = np.zeros(S)
    init[np.arange(X) * block] = pair.prompt
    reward = np.zeros(S)
    for x in range(X):
        reward[x * block + N: (x + 1) * block] = pair.reward[x]

    def describe_state(s: int) -> str:
        x, node = divmod(int(s), block)
        if node >= N:
            return f"prompt {x}, complete sequence {sequence_digits(node - N, V, T)}"
        k = int(np.searchsorted(offsets, node, side="right")) - 1
        return f"prompt {x}, prefix {sequence_digits(node - int(offsets[k]), V, k)}"

    return AutomatonPair(init, next_state, roll, theta, reward, T, describe_state)


def as_automaton(pair: "AutomatonPair | TabularPair", T: int | None = None) -> AutomatonPair:
    """Either representation as an automaton with a definite horizon T (both exact engines start here)."""
    if isinstance(pair, TabularPair):
        if T is not None and T != pair.T:
            raise TRMInputError(f"--T {T} is inconsistent with the tabular pair, whose shapes imply T = {pair.T}")
        return tabular_to_automaton(pair)
    return pair.with_horizon(T)


def sequence_digits(index: int, V: int, length: int) -> tuple[int, ...]:
    """Tokens of the sequence with base-V number ``index`` (first token most significant)."""
    digits = []
    for _ in range(length):
        index, d = divmod(index, V)
        digits.append(d)
    return tuple(reversed(digits))
