"""The .pt back-end: torch.save of a dict of tensors, loaded with torch.load(weights_only=True,
mmap=True) so tensors stay on disk until their rows are read; torch is imported only here."""
from __future__ import annotations

import ctypes
import os
import sys

import numpy as np

from audit.readers.common import Column, check_fits
from numerics.errors import TRMInputError


def _madvise():
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return fn


_MADVISE = _madvise()


class PtSource:
    def __init__(self, path: str):
        import torch

        self.path = path
        self.mmapped = True
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:
            if "mmap" not in str(exc):
                raise TRMInputError(f"{path}: torch.load(weights_only=True) failed: {exc}") from None
            check_fits(path, os.path.getsize(path), "a file in torch's legacy (non-zip) format")
            obj = self._load_plain(torch, path)
            self.mmapped = False
        except Exception as exc:  # pickle.UnpicklingError and friends: an unsafe or foreign object
            raise TRMInputError(f"{path}: torch.load(weights_only=True) refused the file ({type(exc).__name__}: "
                                f"{str(exc).splitlines()[0]}); save a dict of tensors") from None
        if not isinstance(obj, dict):
            raise TRMInputError(f"{path}: expected a dict of tensors, got {type(obj).__name__}")
        self.items = {}
        for key, value in obj.items():
            if isinstance(value, dict) and key in ("batch", "meta_info", "tensors"):
                for k2, v2 in value.items():
                    if k2 in obj or k2 in self.items:
                        raise TRMInputError(f"{path}: key {k2!r} appears both at the top and in {key!r}")
                    self.items[k2] = v2
            else:
                self.items[key] = value
        self.torch = torch

    @staticmethod
    def _load_plain(torch, path):
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise TRMInputError(f"{path}: torch.load(weights_only=True) failed: {exc}") from None

    def columns(self):
        cols = {}
        for name, v in self.items.items():
            if isinstance(v, self.torch.Tensor):
                cols[name] = Column(name, tuple(v.shape), str(v.dtype).replace("torch.", ""))
            elif isinstance(v, (list, tuple)) and v and all(isinstance(t, self.torch.Tensor) and t.ndim == 1 for t in v):
                cols[name] = Column(name, (len(v),), str(v[0].dtype).replace("torch.", ""), ragged=True)
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                cols[name] = Column(name, (), "int64" if isinstance(v, int) else "float64")
        return cols

    def lengths(self, name):
        return np.array([len(t) for t in self.items[name]], dtype=np.int64)

    def scalar(self, name):
        v = self.items[name]
        return np.asarray(v.numpy() if isinstance(v, self.torch.Tensor) else v)

    def rows(self, name, a, b):
        v = self.items[name]
        if isinstance(v, self.torch.Tensor):
            part = v[a:b]
            out = (part.float() if part.dtype in (self.torch.bfloat16, self.torch.float16) else part).numpy().copy()
            self._release(part)
            return out
        rows = [self._np(t) for t in v[a:b]]
        for t in v[a:b]:
            self._release(t)
        return rows

    def _np(self, t):
        return (t.float() if t.dtype in (self.torch.bfloat16, self.torch.float16) else t).numpy().copy()

    def _release(self, t):
        """Drop the memory-mapped file pages of rows already read (clean, read-only pages: a later
        access would read them from the file again), so the resident set stays one chunk."""
        if not (self.mmapped and _MADVISE is not None and t.is_contiguous() and t.numel()):
            return
        start = t.data_ptr()
        end = start + t.numel() * t.element_size()
        page = os.sysconf("SC_PAGE_SIZE")
        aligned = start - start % page
        _MADVISE(ctypes.c_void_p(aligned), ctypes.c_size_t(end - aligned), 4)     # MADV_DONTNEED

    def close(self):
        self.items.clear()
