"""Masking criteria of the simulator: the grammar of :mod:`numerics.criteria` (TRM with exact KL or
χ², LN-TRM, SER and the sampled-token criteria frameworks ship), plus the simulator's rule that a
criterion is either a token mask or a sequence mask. RunningStats (:mod:`gpu_sim.running`) decides them.
"""
from __future__ import annotations

from numerics.criteria import (BAND, DEFAULT_LN_DELTA, EXACT, LOG_RATIO_CLAMP, NAMES, SCALAR, Clause, Criterion,
                               parse_clause, parse_criterion)
from numerics.errors import TRMInputError

__all__ = ["BAND", "DEFAULT_LN_DELTA", "EXACT", "LOG_RATIO_CLAMP", "NAMES", "SCALAR", "Clause", "Criterion",
           "parse_clause", "parse_criterion", "check_not_mixed"]


def check_not_mixed(criterion: Criterion) -> None:
    kinds = {c.token_level for c in criterion.clauses}
    if len(kinds) > 1:
        raise TRMInputError(f"criterion {criterion.text!r}: mixes token clauses with sequence clauses; "
                            "give them as separate criteria")
