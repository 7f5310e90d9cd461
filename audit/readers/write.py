"""Writing dumps (the example dumps, the tests) in every format the reader reads."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from audit.readers.common import FORMATS
from audit.readers.safetensors_file import ST_DTYPES
from numerics.errors import TRMInputError


def write_dump(path, arrays: dict, mask_key: str = "response_mask") -> None:
    """Write {name: array} in the format of ``path``'s suffix. Parquet stores one row per sequence:
    [B, L] arrays become lists cut to the row's valid length (from ``arrays[mask_key]``, which is then
    not written), [B, L, K] arrays are refused, [B] and scalars stay columns (scalars repeated)."""
    path = str(path)
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise TRMInputError(f"{path}: unknown format; give one of {', '.join(FORMATS)}")
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    if suffix == ".npz":
        np.savez(path, **arrays)
    elif suffix == ".pt":
        import torch

        torch.save({k: (torch.from_numpy(np.ascontiguousarray(v)) if v.ndim else v.item()) for k, v in arrays.items()},
                   path)
    elif suffix == ".safetensors":
        _write_safetensors(path, arrays)
    else:
        _write_parquet(path, arrays, mask_key)


def _write_safetensors(path, arrays):
    codes = {np.dtype(v): k for k, v in ST_DTYPES.items() if k != "BF16"}
    header, offset, blobs = {}, 0, []
    for name, a in arrays.items():
        a = np.ascontiguousarray(a)
        if a.dtype not in codes:
            raise TRMInputError(f"{path}: {name} has dtype {a.dtype}, not writable to .safetensors")
        data = a.tobytes()
        header[name] = {"dtype": codes[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(text)))
        fh.write(text)
        for blob in blobs:
            fh.write(blob)


def _write_parquet(path, arrays, mask_key):
    import pyarrow as pa
    import pyarrow.parquet as pq

    mask = arrays.pop(mask_key, None)
    B = next(len(v) for v in arrays.values() if v.ndim)
    lengths = mask.astype(bool).sum(-1) if mask is not None else None
    columns = {}
    for name, a in arrays.items():
        if a.ndim == 0:
            columns[name] = pa.array(np.full(B, a.item()))
        elif a.ndim == 1:
            columns[name] = pa.array(a)
        elif a.ndim == 2:
            n = lengths if lengths is not None else np.full(B, a.shape[1])
            columns[name] = pa.array([row[:k].tolist() for row, k in zip(a, n)], type=pa.list_(pa.from_numpy_dtype(a.dtype)))
        else:
            raise TRMInputError(f"{path}: {name} has {a.ndim} dimensions; .parquet dumps hold [B] and [B, L] columns")
    pq.write_table(pa.table(columns), path)
