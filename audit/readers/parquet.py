"""The .parquet back-end: one row per sequence with list columns (pyarrow), read by batches of rows."""
from __future__ import annotations

import numpy as np

from audit.readers.common import Column
from numerics.errors import TRMInputError


class ParquetSource:
    def __init__(self, path: str):
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise TRMInputError(f"{path}: reading .parquet needs pyarrow (pip install pyarrow)") from None
        self.path = path
        try:
            self.file = pq.ParquetFile(path)
        except Exception as exc:
            raise TRMInputError(f"{path}: not a readable parquet file ({exc})") from None
        self.schema = self.file.schema_arrow
        self.B = self.file.metadata.num_rows
        self._iter = None
        self._buffer = None

    def columns(self):
        import pyarrow as pa

        cols = {}
        for f in self.schema:
            t = f.type
            if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
                if pa.types.is_list(t.value_type) or pa.types.is_large_list(t.value_type):
                    cols[f.name] = Column(f.name, (self.B, None, None), str(t.value_type), ragged=True)
                else:
                    cols[f.name] = Column(f.name, (self.B,), str(t.value_type), ragged=True)
            else:
                cols[f.name] = Column(f.name, (self.B,), str(t))
        return cols

    def lengths(self, name):
        import pyarrow.compute as pc

        out = []
        for batch in self.file.iter_batches(batch_size=65536, columns=[name]):
            col = batch.column(0)
            if col.null_count:
                raise TRMInputError(f"{self.path}: column {name!r} has null rows")
            out.append(pc.list_value_length(col).to_numpy(zero_copy_only=False))
        return np.concatenate(out).astype(np.int64) if out else np.zeros(0, np.int64)

    def scalar(self, name):
        for batch in self.file.iter_batches(batch_size=1, columns=[name]):
            return np.asarray(batch.column(0).to_numpy(zero_copy_only=False)[0])
        return np.asarray(0)

    def start(self, names, rows):
        self._names = list(names)
        self._iter = self.file.iter_batches(batch_size=rows, columns=self._names)

    def next_rows(self):
        import pyarrow.compute as pc

        batch = next(self._iter)
        cols = self.columns()
        out = {}
        for i, name in enumerate(self._names):
            col = batch.column(i)
            if col.null_count:
                raise TRMInputError(f"{self.path}: column {name!r} has null rows")
            if cols[name].ragged:
                lens = pc.list_value_length(col).to_numpy(zero_copy_only=False).astype(np.int64)
                flat = pc.list_flatten(col).to_numpy(zero_copy_only=False)
                starts = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
                out[name] = [flat[s:s + n] for s, n in zip(starts, lens)]
            else:
                out[name] = col.to_numpy(zero_copy_only=False)
        return out

    def close(self):
        self._iter = None
