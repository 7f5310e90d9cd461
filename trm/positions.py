"""Per-position arrays in command output: summaries in the JSON, the arrays themselves to a file on request.

`trm exact`, `trm simulate` and `trm audit` compute arrays with one number per position (D̄_t, the
per-position KL, χ²): T numbers, ten million at T = 10⁷, which as JSON text are hundreds of megabytes and
take longer to print than the engine takes to compute them. So ``--json`` carries, for each array, a
summary under ``positions.summary.<name>``:

    n          the number of positions (T)
    mean, sum  over t = 1..T (+inf when some position is +inf)
    max, argmax_t, min, argmin_t     the extreme values and their positions (1-based, the first one)
    first, last                      the values at t = 1 and t = T

and the arrays go

    --positions-out FILE   to FILE: .npz (arrays ``t`` = 1..T and one per name, float64), or .parquet
                           (one column each; needs pyarrow, refused with a one-line error otherwise);
                           with several audit steps, one row per (step, t) and a ``step`` column/array
    --json-positions       into the JSON as well, under their own names (the keys of earlier versions)

``positions.file`` names the file written (null when none) and ``positions.in_json`` says whether the arrays
are in the JSON. Nothing here prints.
"""
from __future__ import annotations

import argparse
import importlib.util
import math
from pathlib import Path

import numpy as np

from numerics.errors import TRMInputError
from numerics.validation import atomic_output, check_output_path, quote_path

#: file formats --positions-out writes, by suffix
FORMATS = (".npz", ".parquet")


def positions_file(text: str) -> str:
    """An argparse type: a writable path ending in .npz or .parquet (.parquet only where pyarrow is installed)."""
    try:
        path = check_output_path(text, "")
    except TRMInputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise argparse.ArgumentTypeError(f"{text!r}: give a file ending in .npz or .parquet")
    if suffix == ".parquet" and importlib.util.find_spec("pyarrow") is None:
        raise argparse.ArgumentTypeError(f"{text!r}: writing .parquet needs pyarrow (pip install pyarrow); "
                                         "write .npz instead")
    return path


positions_file.__name__ = "path"


def add_position_args(p, what: str) -> None:
    """--positions-out and --json-positions for a command whose per-position arrays are ``what``."""
    p.add_argument("--positions-out", metavar="FILE", type=positions_file,
                   help=f"write the per-position arrays ({what}) to FILE: .npz, or .parquet with pyarrow")
    p.add_argument("--json-positions", action="store_true",
                   help=f"put the per-position arrays ({what}) into the --json output too (T numbers each; "
                        "by default --json carries their summaries)")


def summary(values) -> dict:
    """{n, mean, sum, max, argmax_t, min, argmin_t, first, last} of one per-position array (t is 1-based)."""
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        return {"n": 0, "mean": None, "sum": None, "max": None, "argmax_t": None, "min": None, "argmin_t": None,
                "first": None, "last": None}
    with np.errstate(invalid="ignore", over="ignore"):
        total = float(x.sum())
    imax, imin = int(np.argmax(x)), int(np.argmin(x))
    return {"n": int(x.size), "mean": total / x.size if math.isfinite(total) else total, "sum": total,
            "max": float(x[imax]), "argmax_t": imax + 1, "min": float(x[imin]), "argmin_t": imin + 1,
            "first": float(x[0]), "last": float(x[-1])}


def route(payload: dict, arrays: dict, args, steps: list | None = None) -> None:
    """Put the per-position ``arrays`` ({name: [T] array or None}) where the flags say: ``payload["positions"]``
    gets their summaries, the file written (--positions-out) and ``in_json``; with --json-positions
    ``payload[name]`` holds each array too (absent otherwise).

    With ``steps`` (audit: one dict per step, each holding its own arrays under the names of ``arrays``) every
    step gets its own "positions" block and loses its arrays unless --json-positions, and the file holds every
    step (a ``step`` column, 0-based in file order); ``payload`` and the values of ``arrays`` are then unused."""
    path, keep = getattr(args, "positions_out", None), bool(getattr(args, "json_positions", False))
    if steps is None:
        holders = [(payload, arrays)]
    else:
        holders = [(step, {name: step.get(name) for name in arrays}) for step in steps]
    tables = []
    for holder, named in holders:
        present = {n: np.asarray(v, dtype=np.float64) for n, v in named.items() if v is not None}
        holder["positions"] = {"summary": {n: summary(v) for n, v in present.items()}, "file": path, "in_json": keep}
        for name, value in named.items():
            if keep:
                holder[name] = value
            else:
                holder.pop(name, None)
        tables.append(present)
    if path:
        _write(path, tables, several=steps is not None)


def _write(path: str, tables: list[dict], several: bool) -> None:
    """One file of every array (long format with a ``step`` column when ``several``), written atomically."""
    columns: dict[str, list] = {}
    names = list(dict.fromkeys(n for table in tables for n in table))
    for k, table in enumerate(tables):
        length = max((len(v) for v in table.values()), default=0)
        if several:
            columns.setdefault("step", []).append(np.full(length, k, dtype=np.int64))
        columns.setdefault("t", []).append(np.arange(1, length + 1, dtype=np.int64))
        for name in names:
            v = table.get(name)
            columns.setdefault(name, []).append(v if v is not None and len(v) == length else np.full(length, np.nan))
    data = {name: np.concatenate(parts) for name, parts in columns.items()}
    try:
        with atomic_output(path) as handle:
            if Path(path).suffix.lower() == ".parquet":
                import pyarrow as pa
                import pyarrow.parquet as pq

                pq.write_table(pa.table(data), handle)
            else:
                np.savez(handle, **data)
    except OSError as exc:
        raise TRMInputError(f"--positions-out {quote_path(path)}: cannot write ({exc.strerror or exc})") from None
