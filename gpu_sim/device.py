"""Device and dtype resolution with clear errors."""
from __future__ import annotations

import torch

from numerics.errors import TRMInputError

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float64": torch.float64}


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' → cuda when available, else cpu; 'cpu'; 'cuda' or 'cuda:N' (refused when absent)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise TRMInputError(f"device = {name!r}: not a device name; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise TRMInputError(f"device = {name!r}: CUDA is not available on this machine")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise TRMInputError(f"device = {name!r}: only {torch.cuda.device_count()} CUDA device(s) present")
    elif device.type != "cpu":
        raise TRMInputError(f"device = {name!r}: only cpu and cuda are supported")
    return device


def resolve_dtype(name: str) -> torch.dtype:
    if name not in DTYPES:
        raise TRMInputError(f"dtype = {name!r}: choose one of {', '.join(DTYPES)}")
    return DTYPES[name]


def peak_memory_bytes(device: torch.device) -> int | None:
    """Peak allocated bytes on a CUDA device since the last reset; None on CPU (not tracked)."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    return None
