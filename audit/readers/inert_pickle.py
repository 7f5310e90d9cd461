"""Reading a .pt file that ``torch.load(weights_only=True)`` refuses, without unpickling what it refuses.

torch.load runs its own archive and storage handling (so tensors are memory-mapped as usual) with
the unpickler given here: a global in torch's weights-only allowlist (tensor rebuilds, dtypes,
torch.Size, OrderedDict, ...) resolves as torch would resolve it; every other global becomes an
:class:`Opaque` placeholder class that records its name, arguments and state and runs nothing (its
module is never imported). So a dump that also holds, say, numpy rewards or a framework's metadata
objects is read for its tensors, and nothing in it executes.

Numeric numpy scalars and arrays (``numpy.core.multiarray.scalar`` / ``_reconstruct`` with a
``numpy.dtype`` of kind b, i, u, f) are then decoded from their raw bytes by :func:`decode`
(numbers and tensors); everything else stays an :class:`Opaque` that the reader names if a role
needs it.
"""
from __future__ import annotations

import pickle
import types

import numpy as np

_NUMPY_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")
_NUMERIC_KINDS = "biuf"


class Opaque:
    """A global of the file that was not unpickled: ``qualname`` ("module.name"), the arguments it
    was called with, its state, the items and elements the file added to it."""

    qualname = "?"

    def __new__(cls, *args, **kwargs):
        obj = object.__new__(cls)
        obj.args, obj.kwargs, obj.state, obj.items, obj.elements = args, kwargs, None, {}, []
        return obj

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return type(self)(*args, **kwargs)

    def __setstate__(self, state):
        self.state = state

    def __setitem__(self, key, value):
        self.items[key] = value

    def append(self, value):
        self.elements.append(value)

    def extend(self, values):
        self.elements.extend(values)

    def __repr__(self):
        return f"<{self.qualname}, not unpickled>"


def _allowed() -> dict:
    try:
        from torch._weights_only_unpickler import _get_allowed_globals
    except ImportError:                                              # pragma: no cover - older or newer torch
        import collections

        import torch
        import torch._utils

        return {"torch._utils._rebuild_tensor_v2": torch._utils._rebuild_tensor_v2,
                "torch._utils._rebuild_parameter": torch._utils._rebuild_parameter,
                "collections.OrderedDict": collections.OrderedDict, "torch.Size": torch.Size,
                **{f"torch.{n}": getattr(torch, n) for n in dir(torch) if isinstance(getattr(torch, n), torch.dtype)}}
    return dict(_get_allowed_globals())


class _Unpickler(pickle.Unpickler):
    allowed: dict = {}
    placeholders: dict = {}
    refused: set

    def find_class(self, module, name):
        key = f"{module}.{name}"
        if key in self.allowed:
            return self.allowed[key]
        self.refused.add(key)
        if key not in self.placeholders:
            self.placeholders[key] = type(name, (Opaque,), {"qualname": key})
        return self.placeholders[key]


def inert_load(path: str, mmap: bool = True) -> tuple[object, list[str]]:
    """(the file's object with placeholders, the sorted names of the globals replaced)."""
    import torch

    refused: set = set()
    unpickler = type("InertUnpickler", (_Unpickler,), {"allowed": _allowed(), "placeholders": {}, "refused": refused})
    module = types.SimpleNamespace(__name__="audit_inert_pickle", Unpickler=unpickler, load=pickle.load)
    obj = torch.load(path, map_location="cpu", pickle_module=module, weights_only=False, mmap=mmap)
    return obj, sorted(refused)


def _dtype(obj) -> np.dtype | None:
    """A placeholder numpy.dtype('f8', False, True) with its byte-order state, as a numeric dtype."""
    if not isinstance(obj, Opaque) or obj.qualname != "numpy.dtype" or not obj.args or not isinstance(obj.args[0], str):
        return None
    order = obj.state[1] if isinstance(obj.state, tuple) and len(obj.state) > 1 and obj.state[1] in "<>=|" else "="
    try:
        dt = np.dtype(obj.args[0]).newbyteorder(order) if order in "<>" else np.dtype(obj.args[0])
    except (TypeError, ValueError):
        return None
    return dt if dt.kind in _NUMERIC_KINDS else None


def _numpy_value(obj: Opaque):
    """A numeric numpy scalar as a Python number, a numeric array as a tensor, else None."""
    module, _, name = obj.qualname.rpartition(".")
    if module not in _NUMPY_MODULES:
        return None
    if name == "scalar" and len(obj.args) == 2 and isinstance(obj.args[1], (bytes, bytearray)):
        dt = _dtype(obj.args[0])
        if dt is not None and len(obj.args[1]) == dt.itemsize:
            return np.frombuffer(bytes(obj.args[1]), dtype=dt)[0].item()
    if name == "_reconstruct" and isinstance(obj.state, tuple) and len(obj.state) == 5:
        _, shape, dtype, fortran, raw = obj.state
        dt = _dtype(dtype)
        if dt is not None and isinstance(raw, (bytes, bytearray)) and all(isinstance(n, int) for n in shape):
            if len(raw) == int(np.prod(shape, dtype=np.int64)) * dt.itemsize:
                import torch

                arr = np.frombuffer(bytes(raw), dtype=dt).reshape(shape, order="F" if fortran else "C")
                return torch.from_numpy(np.array(arr, dtype=dt.newbyteorder("="), order="C"))
    return None


def decode(obj):
    """``obj`` with numeric numpy placeholders replaced by numbers and tensors, through dicts, lists and
    tuples; other placeholders are left as they are."""
    if isinstance(obj, Opaque):
        value = _numpy_value(obj)
        return obj if value is None else value
    if isinstance(obj, dict):
        return {k: decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(decode(v) for v in obj)
    return obj
