"""The .npz interchange format; the format is recognised from the keys present.

Tabular (prefix tree):   keys roll, theta [X, N, V]; reward [X, V^T]; prompt [X].
Automaton (finite-state): keys init [S]; next_state [S, V] (integers); roll, theta [S, V] or
                          [T, S, V]; reward [S]; optional scalar T.
See :mod:`numerics.pair` for the meaning of each array and the prefix ordering.
"""
from __future__ import annotations

import os
import zipfile

import numpy as np

from numerics.errors import TRMInputError
from numerics.pair import AutomatonPair, TabularPair

TABULAR_KEYS = frozenset({"roll", "theta", "reward", "prompt"})
AUTOMATON_KEYS = frozenset({"init", "next_state", "roll", "theta", "reward"})
AUTOMATON_OPTIONAL = frozenset({"T"})


def pair_from_arrays(arrays: dict, source: str = "input") -> AutomatonPair | TabularPair:
    keys = set(arrays)
    if AUTOMATON_KEYS <= keys:
        extra = keys - AUTOMATON_KEYS - AUTOMATON_OPTIONAL
        if extra:
            raise TRMInputError(f"{source}: automaton file has unexpected keys {sorted(extra)}")
        return AutomatonPair(arrays["init"], arrays["next_state"], arrays["roll"], arrays["theta"],
                             arrays["reward"], arrays.get("T"))
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


def load_pair(path: str | os.PathLike) -> AutomatonPair | TabularPair:
    """Read and validate a pair from an .npz file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise TRMInputError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise TRMInputError(f"{path}: not a readable .npz archive ({exc})") from None
    return pair_from_arrays(arrays, source=path)


def save_pair(path: str | os.PathLike, pair: AutomatonPair | TabularPair) -> None:
    """Write a pair in its own format (uncompressed .npz, readable by numpy.load)."""
    if isinstance(pair, TabularPair):
        np.savez(path, roll=pair.roll, theta=pair.theta, reward=pair.reward, prompt=pair.prompt)
        return
    arrays = dict(init=pair.init, next_state=pair.next_state, roll=pair.roll, theta=pair.theta, reward=pair.reward)
    if pair.T is not None:
        arrays["T"] = np.int64(pair.T)
    np.savez(path, **arrays)
