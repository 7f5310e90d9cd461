"""Rollout engines whose divergence from the float32 trainer is a function of the weights
(THEORY §9; FIELD.md §3 names these sources of mismatch in real stacks).

    moe_router  the router's product h W_r in ``precision`` (bfloat16 or fp8), everything else in
                float32: where two router logits nearly tie, the engine and the trainer pick different
                experts, a discontinuous jump whose size is g_e·(expert e − expert e′)(h), set by the
                weights (how often ties occur, how far the experts have drifted apart)
    precision   the whole forward in ``precision``: absolute rounding errors scale with the weights
                and activations, so they grow as training sharpens the policy (larger logits)
    stale       float32, but the weights of ``staleness`` optimiser updates earlier, as asynchronous
                trainers roll out: the divergence is the policy's own movement over k updates
    none        the trainer itself (no mismatch; the control)
"""
from __future__ import annotations

from dataclasses import dataclass

from gpu_sim.training.precision import PRECISIONS, Arithmetic
from numerics.errors import TRMInputError

SOURCES = ("moe_router", "precision", "stale", "none")


@dataclass(frozen=True)
class RolloutEngine:
    source: str = "moe_router"
    precision: str = "bfloat16"
    staleness: int = 4

    def __post_init__(self):
        if self.source not in SOURCES:
            raise TRMInputError(f"source = {self.source!r}: choose one of {', '.join(SOURCES)}")
        if self.precision not in PRECISIONS:
            raise TRMInputError(f"precision = {self.precision!r}: choose one of {', '.join(PRECISIONS)}")
        if self.staleness < 0:
            raise TRMInputError(f"staleness = {self.staleness}: must be a non-negative number of updates")

    @property
    def main(self) -> Arithmetic:
        return Arithmetic(self.precision if self.source == "precision" else "float32")

    @property
    def router(self) -> Arithmetic:
        return Arithmetic(self.precision if self.source in ("precision", "moe_router") else "float32")

    @property
    def lag(self) -> int:
        """How many optimiser updates old the rollout weights are."""
        return self.staleness if self.source == "stale" else 0

    def describe(self) -> str:
        if self.source == "moe_router":
            return f"router in {self.precision}, rest float32"
        if self.source == "precision":
            return f"whole forward in {self.precision}"
        if self.source == "stale":
            return f"float32 weights {self.staleness} updates old"
        return "float32, current weights"
