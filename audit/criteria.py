"""The suite's own criterion syntax (the grammar of ``trm simulate --criterion``), decided on
masked batches of real log-probs: every sequence has its own length n_i and padded positions never
count.

    trm_max:δ      max_t D_KL(c_t) ≤ δ            (exact KL: needs full or top-k distributions)
    trm_avg:δ      (1/n_i) Σ_t D_KL(c_t) ≤ δ      (idem)
    ln_trm:δ_W[@δ] Σ_t |ρ_t − 1| w_t ≤ δ_W Σ_t w_t, w_t = min(1, (n_i−t)ε, sqrt((n_i−t)δ/2)), ε = sqrt(δ/2)
    ser:δ          (1/n_i) Σ_t |ρ_t − 1| ≤ δ
    token_k1:lo_hi  per token e^ℓ̃ ∈ [lo, hi];  token_k2:x, token_k3:x   per token k ≤ x
    seq_sum_k1:lo_hi  e^(Σℓ̃) ∈ [lo, hi];  seq_sum_k2:x, seq_sum_k3:x  Σ k ≤ x
    seq_mean_k1:lo_hi e^(mean ℓ̃) ∈ [lo, hi];  seq_mean_k2:x, seq_mean_k3:x  (1/n_i) Σ k ≤ x
    seq_max_k2:x, seq_max_k3:x  max_t k ≤ x
ℓ̃ = clamp(ℓ, ±20), ℓ = log π_θ(y_t) − log π_roll(y_t); k1 = −ℓ̃, k2 = ½ℓ̃², k3 = e^ℓ̃ − 1 − ℓ̃; ρ_t − 1 = expm1(ℓ)
unclamped. Ratio bands are on r = π_θ/π_roll as written. Clauses joined by commas are AND-ed; token
and sequence clauses may be mixed (the result is a token mask, as in verl). The grammar is the one
:mod:`gpu_sim.criteria` parses; a test keeps the two parsers in agreement.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from numerics.criteria import LOG_RATIO_CLAMP, Clause, Criterion
from numerics.criteria import parse_clause as _parse_clause
from numerics.criteria import parse_criterion as _parse_criterion
from numerics.errors import TRMInputError

NEEDS_DISTRIBUTIONS = ("trm_max", "trm_avg")


def parse_clause(spec: str) -> Clause:
    return _parse_clause(spec, "--criterion")


def parse_criterion(text: str) -> Criterion:
    criterion = _parse_criterion(text, "--criterion")
    for clause in criterion.clauses:
        if clause.name == "trm_chi2":
            raise TRMInputError(f"--criterion {clause.text!r}: trm_chi2 is decided by `trm simulate` (exact χ² from "
                                "the simulator's distributions); the audit estimates χ² from the dump instead "
                                "(suite.chi2 in the output)")
    return criterion


@lru_cache(maxsize=4096)
def _ln_weights(n: int, delta: float) -> np.ndarray:
    from numerics.bounds import length_neutral_weights

    return length_neutral_weights(n, delta, math.sqrt(delta / 2))


def clause_decision(clause: Clause, log_ratio: np.ndarray, mask: np.ndarray, exact: dict | None):
    """(keep [b, L] bool, token_violation [b, L] bool or None) of one clause on a chunk.

    ``token_violation`` marks the valid tokens that fail a token-wise clause's own test (for the
    (1 − p)^n length model); it is None for clauses that aggregate over the sequence.
    """
    name = clause.name
    n = mask.sum(-1)
    lr = np.where(mask, log_ratio, 0.0)
    safe = np.clip(lr, -LOG_RATIO_CLAMP, LOG_RATIO_CLAMP)
    if name in NEEDS_DISTRIBUTIONS and exact is None:
        raise TRMInputError(f"--criterion {clause.text!r}: {name} needs the exact per-token KL, i.e. full or top-k "
                            "distributions in the dump (old_log_probs_full / rollout_log_probs_full)")
    est = name[-2:]
    tok = None
    if est in ("k1", "k2", "k3"):
        tok = {"k1": -safe, "k2": 0.5 * safe * safe, "k3": np.exp(safe) - 1.0 - safe}[est]
    if name == "token_k1":
        keep = (safe >= math.log(clause.lower)) & (safe <= math.log(clause.upper))
        return keep | ~mask, mask & ~keep
    if name in ("token_k2", "token_k3"):
        keep = tok <= clause.threshold
        return keep | ~mask, mask & ~keep
    if name == "trm_max":
        viol = mask & (exact["kl"] > clause.threshold)
        return np.broadcast_to(~viol.any(-1)[:, None], mask.shape), viol
    if name.startswith("seq_max"):
        viol = mask & (tok > clause.threshold)
        return np.broadcast_to(~viol.any(-1)[:, None], mask.shape), viol
    with np.errstate(invalid="ignore", divide="ignore"):
        if name == "trm_avg":
            accept = np.where(n > 0, np.where(mask, exact["kl"], 0.0).sum(-1) / np.maximum(n, 1), 0.0) <= clause.threshold
        elif name == "ser":
            x = np.abs(np.expm1(lr))
            accept = np.where(mask, x, 0.0).sum(-1) / np.maximum(n, 1) <= clause.threshold
        elif name == "ln_trm":
            x = np.abs(np.expm1(lr))
            accept = np.ones(mask.shape[0], dtype=bool)
            for i in range(mask.shape[0]):
                ni = int(n[i])
                if ni == 0:
                    continue
                w = _ln_weights(ni, clause.ln_delta)
                xi = x[i][mask[i]]
                Z = float(w.sum())
                accept[i] = (float((xi * w).sum()) <= clause.threshold * Z) if Z > 0 else True
        elif name in ("seq_sum_k1", "seq_mean_k1"):
            s = safe.sum(-1)
            value = s / np.maximum(n, 1) if name == "seq_mean_k1" else s
            accept = (value >= math.log(clause.lower)) & (value <= math.log(clause.upper))
        else:
            total = np.where(mask, tok, 0.0).sum(-1)
            value = total / np.maximum(n, 1) if name.startswith("seq_mean") else total
            accept = value <= clause.threshold
    return np.broadcast_to(accept[:, None], mask.shape), None
