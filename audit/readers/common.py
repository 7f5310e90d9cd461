"""What every format back-end shares: the column description, the constants of the reader and the
memory check for arrays that must be loaded whole."""
from __future__ import annotations

from dataclasses import dataclass

from numerics.errors import TRMInputError

FORMATS = (".pt", ".safetensors", ".npz", ".parquet")
#: Log-probs up to this positive value are rounding of log_softmax and accepted as they are.
LOGPROB_SLACK = 1e-6
#: Full distributions must sum to 1 within this (in probability) before renormalisation.
NORMALISATION_TOL = 1e-3
#: Default working-memory budget of one chunk (bytes).
DEFAULT_MEMORY = 256 * 2**20
#: Float64 working arrays held per token of a chunk while it is audited.
WORK_ARRAYS_PER_TOKEN = 48


@dataclass(frozen=True)
class Column:
    name: str
    shape: tuple            # (B, ...) for dense; (B,) plus ragged=True for per-row lists
    dtype: str
    ragged: bool = False


def available_memory() -> int:
    """MemAvailable from /proc/meminfo (bytes), or a conservative 2 GiB where it cannot be read."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 2 * 2**30


def check_fits(path: str, nbytes: int, why: str) -> None:
    budget = available_memory() // 2
    if nbytes > budget:
        raise TRMInputError(f"{path}: {why} must be loaded whole ({nbytes / 2**20:.0f} MiB), more than half the "
                            f"available memory ({budget / 2**20:.0f} MiB); re-save it as described in the README "
                            "(plain C-ordered tensors) so it can be streamed")
