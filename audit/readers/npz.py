"""The .npz back-end: each member's .npy header is parsed and its rows are streamed from the zip
(compressed or not); nothing is loaded whole."""
from __future__ import annotations

import zipfile

import numpy as np

from audit.readers.common import Column, check_fits
from numerics.errors import TRMInputError


class NpzSource:
    def __init__(self, path: str):
        self.path = path
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise TRMInputError(f"{path}: not a readable .npz archive ({exc})") from None
        self.members = {}
        for info in self.zip.infolist():
            if info.filename.endswith(".npy"):
                self.members[info.filename[:-4]] = info
        self.headers = {}
        for name, info in self.members.items():
            with self.zip.open(info) as fh:
                self.headers[name] = self._header(fh, name)
        self.streams = {}
        self.loaded = {}

    def _header(self, fh, name):
        try:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            else:
                shape, fortran, dtype = np.lib.format._read_array_header(fh, version)
        except ValueError as exc:
            raise TRMInputError(f"{self.path}: member {name!r} is not a .npy array ({exc})") from None
        if dtype.hasobject:
            raise TRMInputError(f"{self.path}: {name!r} is an object array (ragged rows?); pad it to [B, L] and give "
                                "a response_mask, or use .pt / .parquet for ragged rows")
        return shape, fortran, dtype, fh.tell()

    def columns(self):
        return {n: Column(n, tuple(h[0]), str(h[2])) for n, h in self.headers.items()}

    def scalar(self, name):
        return self.rows(name, 0, None)

    def rows(self, name, a, b):
        shape, fortran, dtype, offset = self.headers[name]
        if len(shape) == 0 or b is None:
            return self._whole(name)
        if fortran:
            return self._whole(name)[a:b]
        row_items = int(np.prod(shape[1:], dtype=np.int64))
        stream = self.streams.get(name)
        if stream is None or stream[1] > a:
            if stream is not None:
                stream[0].close()
            fh = self.zip.open(self.members[name])
            fh.read(offset)
            stream = [fh, 0]
            self.streams[name] = stream
        fh = stream[0]
        if stream[1] < a:
            _skip(fh, (a - stream[1]) * row_items * dtype.itemsize)
        data = fh.read((b - a) * row_items * dtype.itemsize)
        stream[1] = b
        return np.frombuffer(data, dtype=dtype).reshape((b - a,) + tuple(shape[1:]))

    def _whole(self, name):
        if name not in self.loaded:
            shape, _, dtype, _ = self.headers[name]
            check_fits(self.path, int(np.prod(shape, dtype=np.int64)) * dtype.itemsize,
                        f"{name!r} (Fortran-ordered)" if len(shape) else name)
            with self.zip.open(self.members[name]) as fh:
                self.loaded[name] = np.lib.format.read_array(fh, allow_pickle=False)
        return self.loaded[name]

    def close(self):
        for fh, _ in self.streams.values():
            fh.close()
        self.zip.close()


def _skip(fh, nbytes):
    while nbytes > 0:
        got = fh.read(min(nbytes, 1 << 24))
        if not got:
            break
        nbytes -= len(got)

