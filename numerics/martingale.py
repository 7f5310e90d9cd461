"""The worst-case bracket W of a sampled sequence through its martingale transform (THEORY §10; this
suite's own mathematics, not the paper's): the one definition the simulator, the audit and the training
miniature all use.

With ℓ_t = log π_θ(y_t|c_t) − log π_roll(y_t|c_t) at the sampled tokens, u_t = ρ_t − 1 = expm1(ℓ_t) and
M_t = Π_{s≤t} ρ_s (M_0 = 1),
    W = M_T − 1 − Σ_t u_t = Σ_t (M_{t−1} − 1)·u_t,
accumulated term by term with M_{t−1} − 1 = expm1(Σ_{s<t} ℓ_s) (unclamped), so that no term of order 1
cancels: W is second order in the mismatch. sup_{R∈[0,1]} |Error| = E_roll[W⁻] when π_θ has no mass
off π_roll's support (THEORY §10).

Positions are on axis 0 ([τ, B]: a block of τ positions of B sequences). A padded position must carry
ℓ = 0: it adds u = 0 (nothing to W or Σu) and leaves M unchanged. ℓ = −inf (π_θ = 0 at the sampled
token) gives u = −1 and M = 0 from there on, with no NaN.

The functions take numpy arrays or torch tensors (any device) and return the same kind: numerics stays
free of torch (the namespace is read from the argument's type, never imported here), and the torch path
never syncs with the host.
"""
from __future__ import annotations

import sys

import numpy as np


def _namespace(x):
    """numpy for numpy arrays; otherwise the top-level module of the argument's type (torch for a tensor)."""
    if isinstance(x, np.ndarray):
        return np
    return sys.modules[type(x).__module__.split(".")[0]]


def transform_increment(log_ratio, log_sum_before):
    """W_end − W_start over a block: Σ_t (M_{t−1} − 1)·u_t for t in the block.

    log_ratio [τ, B] (float64; 0 at padded positions), log_sum_before [B] = log M at the block's start
    (Σ of ℓ over the positions before it). Returns [B]. Terms with u_t = 0 are exactly 0 even where
    M_{t−1} − 1 is infinite."""
    xp = _namespace(log_ratio)
    before = xp.concat([xp.zeros_like(log_ratio[:1]), xp.cumsum(log_ratio[:-1], 0)], 0) + log_sum_before
    u = xp.expm1(log_ratio)
    step = xp.expm1(before) * u
    return xp.where(u == 0, xp.zeros_like(step), step).sum(0)


def sequence_brackets(log_ratio):
    """Per sequence, from ℓ [T, B] (0 at padded positions): (W [B], Σ_t u_t [B]), W accumulated through
    :func:`transform_increment` from M_0 = 1."""
    xp = _namespace(log_ratio)
    W = transform_increment(log_ratio, xp.zeros_like(log_ratio[0]))
    return W, xp.expm1(log_ratio).sum(0)
