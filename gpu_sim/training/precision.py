"""Reduced-precision arithmetic, emulated in float32 so that it runs identically on any device.

An inference engine that runs a matrix product in a low precision rounds its two inputs to that
format, accumulates in float32 and writes the result in bfloat16. ``Arithmetic`` reproduces that
per product: ``matmul(a, w) = out(act(a) @ w')`` with w' = ``weight(w)`` rounded once per rollout
(``prepare``), so only the rounding differs from the float32 trainer, never the kernels.

    float32   no rounding (the trainer)
    bfloat16  inputs and output rounded to bfloat16 (8 significant bits; relative error ≤ 2⁻⁹)
    fp8       inputs rounded to float8 e4m3 (4 significant bits; relative error ≤ 2⁻⁴) after scaling
              to its range, activations per row (per token) and weights per run, as fp8 serving
              stacks scale them; output rounded to bfloat16

On CUDA the trainer's float32 products assume TF32 is off for matrix products (PyTorch's default;
``torch.backends.cuda.matmul.allow_tf32``), or the trainer would itself round to 10-bit mantissas.

The absolute rounding error of a value x is about |x|·2⁻⁹ (bfloat16) or |x|·2⁻⁴ (fp8): it grows with
the size of the weights and activations, so the mismatch of a low-precision engine depends on θ.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from numerics.errors import TRMInputError

PRECISIONS = ("float32", "bfloat16", "fp8")
FP8 = torch.float8_e4m3fn
FP8_MAX = 448.0                       # largest finite float8 e4m3fn


def round_bf16(x: torch.Tensor) -> torch.Tensor:
    """x rounded to the nearest bfloat16 (ties to even), returned in x's dtype."""
    return x.to(torch.bfloat16).to(x.dtype)


def _round_fp8(x: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    scale = x.abs().amax(dim=dims, keepdim=True).clamp_min(torch.finfo(x.dtype).tiny) / FP8_MAX
    return (x / scale).to(FP8).to(x.dtype) * scale


def round_fp8_rows(x: torch.Tensor) -> torch.Tensor:
    """x rounded to float8 e4m3 with one scale per row (amax over the last axis mapped to 448)."""
    return _round_fp8(x, (-1,))


def round_fp8_per_run(w: torch.Tensor) -> torch.Tensor:
    """[R, ...] weights rounded to float8 e4m3 with one scale per run (leading axis)."""
    return _round_fp8(w, tuple(range(1, w.ndim)))


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


@dataclass(frozen=True)
class Arithmetic:
    """How one engine computes its matrix products: a precision name from PRECISIONS."""

    precision: str = "float32"

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise TRMInputError(f"precision = {self.precision!r}: choose one of {', '.join(PRECISIONS)}")

    @property
    def exact(self) -> bool:
        return self.precision == "float32"

    def act(self, x: torch.Tensor) -> torch.Tensor:
        return {"float32": _identity, "bfloat16": round_bf16, "fp8": round_fp8_rows}[self.precision](x)

    def weight(self, w: torch.Tensor) -> torch.Tensor:
        return {"float32": _identity, "bfloat16": round_bf16, "fp8": round_fp8_per_run}[self.precision](w)

    def out(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.exact else round_bf16(x)

    def matmul(self, a: torch.Tensor, w_prepared: torch.Tensor) -> torch.Tensor:
        """[R, N, i] @ [R, i, o] with ``w_prepared`` already passed through ``weight``."""
        return self.out(torch.bmm(self.act(a), w_prepared))
