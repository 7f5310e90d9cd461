"""The .npz interchange format; the format is recognised from the keys present.

Tabular (prefix tree):   keys roll, theta [X, N, V]; reward [X, V^T]; prompt [X].
Automaton (finite-state): keys init [S]; next_state [S, V] (integers); roll, theta [S, V] or
                          [T, S, V]; reward [S]; optional scalar T.
See :mod:`numerics.pair` for the meaning of each array and the prefix ordering.
"""
from __future__ import annotations

import math
import os

import numpy as np

from numerics.errors import TRMInputError
from numerics.pair import AutomatonPair, TabularPair
from numerics.validation import ArrayHeader, load_npz_checked, quote_path, write_npz_atomic

TABULAR_KEYS = frozenset({"roll", "theta", "reward", "prompt"})
AUTOMATON_KEYS = frozenset({"init", "next_state", "roll", "theta", "reward"})
AUTOMATON_OPTIONAL = frozenset({"T"})


def pair_from_arrays(arrays: dict, source: str = "input") -> AutomatonPair | TabularPair:
    keys = set(arrays)
    if AUTOMATON_KEYS <= keys:
        extra = keys - AUTOMATON_KEYS - AUTOMATON_OPTIONAL
        if extra:
            raise TRMInputError(f"{source}: automaton file has unexpected keys {sorted(extra)}")
        T = None if arrays.get("T") is None else check_horizon_value(arrays["T"], f"{source}: T")
        return AutomatonPair(arrays["init"], arrays["next_state"], arrays["roll"], arrays["theta"],
                             arrays["reward"], T)
    if TABULAR_KEYS <= keys:
        extra = keys - TABULAR_KEYS
        if extra:
            raise TRMInputError(f"{source}: tabular file has unexpected keys {sorted(extra)}")
        return TabularPair(arrays["roll"], arrays["theta"], arrays["reward"], arrays["prompt"])
    missing_tab = sorted(TABULAR_KEYS - keys)
    missing_auto = sorted(AUTOMATON_KEYS - keys)
    raise TRMInputError(
        f"{source}: keys {sorted(keys)} match neither format; a tabular pair is missing {missing_tab}, "
        f"an automaton pair is missing {missing_auto}"
    )


def load_pair(path: str | os.PathLike, memory_limit: int | None = None) -> AutomatonPair | TabularPair:
    """Read and validate a pair from an .npz file.

    Before any data is read: the path must be a regular file (not a FIFO or directory), an .npz
    archive (not a renamed .npy), whose members' headers (numpy.lib.format) show real dtypes and the
    shapes one of the formats needs; and the arrays must fit ``memory_limit`` bytes
    (:data:`numerics.validation.DEFAULT_MEMORY_LIMIT` by default). Then every value is checked.
    """
    path = os.fspath(path)
    arrays = load_npz_checked(path, memory_limit, "policy-pair", precheck=lambda h: check_pair_headers(h, path))
    return pair_from_arrays(arrays, source=quote_path(path))


def check_pair_headers(headers: dict[str, ArrayHeader], source: str = "input") -> None:
    """The shape relations of either format, from the .npy headers alone (nothing loaded yet)."""
    shapes = {k: h.shape for k, h in headers.items()}
    where = quote_path(source)
    keys = set(shapes)
    if AUTOMATON_KEYS <= keys:
        S = shapes["init"][0] if len(shapes["init"]) == 1 else None
        if S is None or S < 1:
            raise TRMInputError(f"{where}: init: expected shape (S,), got {shapes['init']}")
        ns = shapes["next_state"]
        if len(ns) != 2 or ns[0] != S:
            raise TRMInputError(f"{where}: next_state: expected shape ({S}, V) to match init's S = {S}, got {ns}")
        V = ns[1]
        roll = shapes["roll"]
        if roll != (S, V) and not (len(roll) == 3 and roll[1:] == (S, V)):
            raise TRMInputError(f"{where}: roll: expected shape ({S}, {V}) or (T, {S}, {V}), got {roll}")
        if shapes["theta"] != roll:
            raise TRMInputError(f"{where}: theta: shape {shapes['theta']} differs from roll's {roll}")
        if shapes["reward"] != (S,):
            raise TRMInputError(f"{where}: reward: expected shape ({S},) to match init's S, got {shapes['reward']}")
        if "T" in shapes and shapes["T"] not in ((), (1,)):
            raise TRMInputError(f"{where}: T: expected a scalar, got shape {shapes['T']}")
        return
    if TABULAR_KEYS <= keys:
        roll = shapes["roll"]
        if len(roll) != 3 or min(roll) < 1:
            raise TRMInputError(f"{where}: roll: expected shape (X, N, V) with non-empty axes, got {roll}")
        X, N, V = roll
        if shapes["theta"] != roll:
            raise TRMInputError(f"{where}: theta: shape {shapes['theta']} differs from roll's {roll}")
        if shapes["prompt"] != (X,):
            raise TRMInputError(f"{where}: prompt: expected shape ({X},) to match roll's X, got {shapes['prompt']}")
        reward = shapes["reward"]
        leaves = N * (V - 1) + 1 if V > 1 else 1   # Σ_(k<T) V^k = N  ⇒  V^T = N(V − 1) + 1
        if len(reward) != 2 or reward[0] != X or (V > 1 and reward[1] != leaves):
            raise TRMInputError(f"{where}: reward: expected shape ({X}, {leaves}) = (X, V^T) for the {N} prefixes "
                                f"of roll, got {reward}")


def check_horizon_value(value, source: str = "T") -> int:
    """A stored or given horizon: a finite integer ≥ 1 (refuses inf, NaN, fractions, non-real dtypes)."""
    arr = np.asarray(value)
    if arr.shape == (1,):
        arr = arr.reshape(())
    if arr.ndim != 0 or arr.dtype.kind not in "iuf":
        raise TRMInputError(f"{source} = {value!r}: must be a scalar integer")
    v = arr.item()
    if isinstance(v, float) and (not math.isfinite(v) or v != math.floor(v)):
        raise TRMInputError(f"{source} = {v!r}: the horizon must be a finite integer")
    if int(v) < 1:
        raise TRMInputError(f"{source} = {int(v)}: the horizon must be at least 1")
    return int(v)


def save_pair(path: str | os.PathLike, pair: AutomatonPair | TabularPair) -> str:
    """Write a pair in its own format (uncompressed .npz, readable by numpy.load) to exactly
    ``path`` (no '.npz' appended), atomically: a temporary file in the same directory renamed over
    the target, so a failed write leaves no partial file. Returns the path written."""
    if isinstance(pair, TabularPair):
        arrays = dict(roll=pair.roll, theta=pair.theta, reward=pair.reward, prompt=pair.prompt)
    else:
        arrays = dict(init=pair.init, next_state=pair.next_state, roll=pair.roll, theta=pair.theta,
                      reward=pair.reward)
        if pair.T is not None:
            arrays["T"] = np.int64(pair.T)
    return write_npz_atomic(path, arrays, "--out")
