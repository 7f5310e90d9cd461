"""The configuration every figure's compute step receives."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class FigureConfig:
    fast: bool = False
    seed: int = 0
    device: str = "cpu"

    def key(self, extra: str = "") -> str:
        """A hash of the configuration and ``extra`` (the figure module's source): the cache key."""
        text = json.dumps(asdict(self), sort_keys=True) + extra
        return hashlib.sha256(text.encode()).hexdigest()[:16]
