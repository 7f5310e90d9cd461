"""The .pt back-end: torch.save of a dict of tensors, loaded with torch.load(weights_only=True,
mmap=True) so tensors stay on disk until their rows are read; torch is imported only here."""
from __future__ import annotations

import ctypes
import os
import pickle
import sys

import numpy as np

from audit.dialects import layouts
from audit.readers.common import Column, check_fits
from audit.readers.inert_pickle import Opaque, decode, inert_load
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
    """A .pt file: a dict of tensors (nested ``batch`` / ``meta_info`` / ``tensors`` dicts flattened), or a
    framework's own layout that a dialect reads (audit.dialects: ``layout``). Objects that
    torch.load(weights_only=True) refuses are left unpickled (:mod:`audit.readers.inert_pickle`)."""

    def __init__(self, path: str):
        import torch

        self.path = path
        self.mmapped = True
        self.notes = []
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:
            if "mmap" not in str(exc):
                raise TRMInputError(f"{path}: torch.load(weights_only=True) failed: {exc}") from None
            check_fits(path, os.path.getsize(path), "a file in torch's legacy (non-zip) format")
            self.mmapped = False
            obj = self._load_plain(torch, path)
        except pickle.UnpicklingError as exc:        # a global outside the weights-only allowlist
            obj = self._load_inert(path, exc)
        except Exception as exc:
            raise TRMInputError(f"{path}: torch.load(weights_only=True) refused the file ({type(exc).__name__}: "
                                f"{str(exc).splitlines()[0]}); save a dict of tensors") from None
        self.file_storages = _storages(obj, torch) if self.mmapped else set()
        obj = decode(obj)
        for name, layout in layouts():
            read = layout(obj, path)
            if read is not None:
                obj, notes = read
                self.notes.extend(notes)
                break
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

    def _load_plain(self, torch, path):
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            return self._load_inert(path, exc)
        except Exception as exc:
            raise TRMInputError(f"{path}: torch.load(weights_only=True) failed: {exc}") from None

    def _load_inert(self, path, refusal):
        try:
            obj, refused = inert_load(path, mmap=self.mmapped)
        except Exception as exc:
            raise TRMInputError(f"{path}: torch.load(weights_only=True) refused the file ({str(refusal).splitlines()[0]}) "
                                f"and reading it with those objects left unpickled failed too ({type(exc).__name__}: "
                                f"{str(exc).splitlines()[0] if str(exc) else ''}); save a dict of tensors") from None
        self.notes.append(f"torch.load(weights_only=True) refuses {', '.join(refused)}: read with those objects left "
                          "unpickled (nothing in the file was run; numeric numpy values decoded from their bytes)")
        return obj

    def unreadable(self, name: str) -> str | None:
        """The class of the objects held under ``name`` that were left unpickled, if any."""
        v = self.items.get(name)
        for x in (v if isinstance(v, (list, tuple)) else [v]):
            if isinstance(x, Opaque):
                return x.qualname
        return None

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
        if t.untyped_storage().data_ptr() not in self.file_storages:
            return                  # made here (a decoded numpy array, a dialect's column), not a page of the file
        start = t.data_ptr()
        end = start + t.numel() * t.element_size()
        page = os.sysconf("SC_PAGE_SIZE")
        aligned = start - start % page
        _MADVISE(ctypes.c_void_p(aligned), ctypes.c_size_t(end - aligned), 4)     # MADV_DONTNEED

    def close(self):
        self.items.clear()


def _storages(obj, torch) -> set:
    """data_ptr of the storage of every tensor in ``obj`` as torch.load returned it (memory-mapped pages
    of the file), through dicts, lists and tuples."""
    out, stack = set(), [obj]
    while stack:
        x = stack.pop()
        if isinstance(x, torch.Tensor):
            out.add(x.untyped_storage().data_ptr())
        elif isinstance(x, dict):
            stack.extend(x.values())
        elif isinstance(x, (list, tuple)):
            stack.extend(x)
    return out
