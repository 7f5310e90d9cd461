"""The .safetensors back-end: the header is parsed here and every tensor memory-mapped (BF16
included)."""
from __future__ import annotations

import json
import os
import struct

import numpy as np

from audit.readers.common import Column
from numerics.errors import TRMInputError

ST_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.uint16, "I64": np.int64,
              "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


class SafetensorsSource:
    def __init__(self, path: str):
        self.path = path
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise TRMInputError(f"{path}: too short for a .safetensors file")
            n = struct.unpack("<Q", head)[0]
            if n > min(size - 8, 100 * 2**20):
                raise TRMInputError(f"{path}: corrupt .safetensors header (length {n})")
            try:
                header = json.loads(fh.read(n))
            except json.JSONDecodeError as exc:
                raise TRMInputError(f"{path}: corrupt .safetensors header ({exc})") from None
        self.meta = header.pop("__metadata__", None) or {}
        self.arrays = {}
        self.kinds = {}
        for name, spec in header.items():
            code = spec.get("dtype")
            if code not in ST_DTYPES:
                raise TRMInputError(f"{path}: tensor {name!r} has dtype {code}, which the audit does not read")
            begin, end = spec["data_offsets"]
            shape = tuple(spec["shape"])
            dtype = np.dtype(ST_DTYPES[code])
            if end - begin != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize or 8 + n + end > size:
                raise TRMInputError(f"{path}: tensor {name!r} has inconsistent offsets in the header")
            self.arrays[name] = (shape, dtype, 8 + n + begin)
            self.kinds[name] = code

    def columns(self):
        return {n: Column(n, shape, "bfloat16" if self.kinds[n] == "BF16" else str(dtype))
                for n, (shape, dtype, _) in self.arrays.items()}

    def scalar(self, name):
        shape, dtype, offset = self.arrays[name]
        return self._convert(name, self._map(name, offset, shape, dtype))

    def rows(self, name, a, b):
        """Rows [a, b), mapped for this read only (the resident set stays one chunk)."""
        shape, dtype, offset = self.arrays[name]
        b = min(b, shape[0])
        row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        return self._convert(name, self._map(name, offset + a * row_bytes, (b - a,) + tuple(shape[1:]), dtype))

    def _map(self, name, offset, shape, dtype):
        if int(np.prod(shape, dtype=np.int64)) == 0:
            return np.zeros(shape, dtype)
        m = np.memmap(self.path, dtype=dtype, mode="r", offset=offset, shape=shape)
        out = np.array(m)
        del m
        return out

    def _convert(self, name, x):
        if self.kinds[name] == "BF16":
            return (x.astype(np.uint32) << 16).view(np.float32)
        return x

    def close(self):
        self.arrays.clear()
