"""Exact per-token divergences from full or top-k log-probability distributions."""
from __future__ import annotations

import numpy as np

from audit.readers.common import LOGPROB_SLACK, NORMALISATION_TOL
from numerics.errors import TRMInputError


def exact_divergences(roll_lp, old_lp, mask, kind, path="", keys=("rollout", "old"), start=0) -> dict:
    """Per-token KL(π_roll ‖ π_old), TV and χ²(π_old ‖ π_roll) from log-probs [b, L, K] (THEORY §3, §10).

    kind "full": K is the whole vocabulary; each row is renormalised after checking it sums to 1
    within 1e-3; the values are exact. kind "topk": the K entries are the same K tokens under both
    policies; the rest of the vocabulary is merged into one cell (masses 1 − Σ_K). Every divergence
    of the merged pair is a LOWER bound of the full one (data processing for f-divergences).
    """
    from numerics.divergence import token_chi2, token_kl, token_tv

    for key, lp in zip(keys, (roll_lp, old_lp)):
        with np.errstate(invalid="ignore"):
            bad = mask[..., None] & (np.isnan(lp) | (lp > LOGPROB_SLACK))
        if bad.any():
            i, j, k = np.argwhere(bad)[0]
            raise TRMInputError(f"{path}: {key}[{start + i}, {j}, {k}] = {float(lp[i, j, k])!r}: not a log-probability")
    lp_r = np.where(mask[..., None], roll_lp, 0.0)
    lp_o = np.where(mask[..., None], old_lp, 0.0)
    with np.errstate(under="ignore"):
        p, q = np.exp(lp_r), np.exp(lp_o)
    if kind == "full":
        for key, probs in zip(keys, (p, q)):
            total = probs.sum(-1)
            bad = mask & (np.abs(total - 1.0) > NORMALISATION_TOL)
            if bad.any():
                i, j = np.argwhere(bad)[0]
                raise TRMInputError(f"{path}: {key}[{start + i}, {j}, :] sums to {total[i, j]:.6g}, not 1 "
                                    f"(tolerance {NORMALISATION_TOL})")
        p = p / p.sum(-1, keepdims=True)
        q = q / q.sum(-1, keepdims=True)
    else:
        for key, probs in zip(keys, (p, q)):
            total = probs.sum(-1)
            bad = mask & (total > 1.0 + NORMALISATION_TOL)
            if bad.any():
                i, j = np.argwhere(bad)[0]
                raise TRMInputError(f"{path}: {key}[{start + i}, {j}, :] has top-k mass {total[i, j]:.6g} > 1")
        p = np.concatenate([p, np.clip(1.0 - p.sum(-1, keepdims=True), 0.0, None)], -1)
        q = np.concatenate([q, np.clip(1.0 - q.sum(-1, keepdims=True), 0.0, None)], -1)
    out = {"kl": token_kl(p, q), "tv": token_tv(p, q), "chi2": token_chi2(p, q), "kind": kind}
    for k in ("kl", "tv", "chi2"):
        out[k] = np.where(mask, out[k], 0.0)
    return out
