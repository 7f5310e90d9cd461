"""The finite-state step fused into one compiled loop (numba, CPU; optional: ``pip install '.[fast]'``).

It executes exactly the step that :meth:`gpu_sim.finite_state.FiniteStateFamily._torch_block` executes
with torch ops, on the same tables (:class:`gpu_sim.finite_state.StepTables`) and the same block of
uniforms U [τ, 2, B], so both paths give identical samples. For position t = t0 + i, sequence b,
with u = U[i, :, b], table row r = state (+ t·S when time-dependent):
    y      = draw(roll, r, u0)                      alias draw: k = min(⌊u·V⌋, V − 1), keep k when
                                                    u·V − k < prob[r, k], else alias[r, k]
                                                    (inverse CDF when no alias tables were built)
    θ-chain: if it sits in the roll-chain's state, keep y when u1 < a = min(1, π_θ(y)/π_roll(y)),
             else draw(residual, r, (u1 − a)/(1 − a)) (maximal coupling; given a rejection the
             rescaled uniform is again uniform and independent of y); otherwise draw(θ, r_θ, u1)
    outputs  ℓ_t = log π_θ(y) − log π_roll(y), D_KL(r), D_TV(r); states follow next_state.
The loop runs position by position over the batch: consecutive sequences are independent, so their
table look-ups overlap in the CPU (sequence by sequence, each step would wait on the previous one's
look-ups; measured 2–3× slower), and U and the outputs are read and written contiguously. It is serial:
numba's parallel (OpenMP) layer beside torch's OpenMP pool slowed torch's own reductions by orders of
magnitude, so threads go to torch, and several processes (`trm sweep`) scale further.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(inline="always")
def _alias(prob, alias, base, V, u):
    """Alias draw from the row starting at ``base``: k = min(⌊uV⌋, V − 1), keep k when uV − k < prob, else alias."""
    scaled = u * V
    k = np.int64(scaled)
    if k > V - 1:
        k = V - 1
    if scaled - k < prob[base + k]:
        return k
    return alias[base + k]


@njit(inline="always")
def _inverse_cdf(cdf, base, V, u):
    """searchsorted(cdf[row], u, right=True): the first index whose CDF exceeds u."""
    lo, hi = 0, V
    while lo < hi:
        mid = (lo + hi) >> 1
        if cdf[base + mid] <= u:
            lo = mid + 1
        else:
            hi = mid
    return min(lo, V - 1)


@njit(nogil=True, cache=True)
def finite_state_alias(t0, U, state_r, state_q, S, V, time_dependent,
                       prob_roll, alias_roll, prob_theta, alias_theta, prob_res, alias_res,
                       accept, log_ratio, kl_row, tv_row, next_state, lr_out, kl_out, tv_out):
    """Advance ``state_r``/``state_q`` [B] (in place) through τ = U.shape[0] positions starting at t0 with
    alias draws, writing ℓ, D_KL, D_TV of the roll-chain's contexts into the [τ, B] outputs."""
    tau = U.shape[0]
    B = U.shape[2]
    for i in range(tau):
        shift = (t0 + i) * S if time_dependent else 0
        for b in range(B):
            sr = state_r[b]
            sq = state_q[b]
            row_r = sr + shift
            base = row_r * V
            y = _alias(prob_roll, alias_roll, base, V, U[i, 0, b])
            u1 = U[i, 1, b]
            if sq == sr:
                a = accept[base + y]
                if u1 < a:
                    yq = y
                else:
                    yq = _alias(prob_res, alias_res, base, V, (u1 - a) / (1.0 - a))
            else:
                yq = _alias(prob_theta, alias_theta, (sq + shift) * V, V, u1)
            lr_out[i, b] = log_ratio[base + y]
            kl_out[i, b] = kl_row[row_r]
            tv_out[i, b] = tv_row[row_r]
            state_r[b] = next_state[sr * V + y]
            state_q[b] = next_state[sq * V + yq]


@njit(nogil=True, cache=True)
def finite_state_cdf(t0, U, state_r, state_q, S, V, time_dependent, cdf_roll, cdf_theta, cdf_res,
                     accept, log_ratio, kl_row, tv_row, next_state, lr_out, kl_out, tv_out):
    """:func:`finite_state_alias` with inverse-CDF draws (tables too large for alias tables)."""
    tau = U.shape[0]
    B = U.shape[2]
    for i in range(tau):
        shift = (t0 + i) * S if time_dependent else 0
        for b in range(B):
            sr = state_r[b]
            sq = state_q[b]
            row_r = sr + shift
            base = row_r * V
            y = _inverse_cdf(cdf_roll, base, V, U[i, 0, b])
            u1 = U[i, 1, b]
            if sq == sr:
                a = accept[base + y]
                if u1 < a:
                    yq = y
                else:
                    yq = _inverse_cdf(cdf_res, base, V, (u1 - a) / (1.0 - a))
            else:
                yq = _inverse_cdf(cdf_theta, (sq + shift) * V, V, u1)
            lr_out[i, b] = log_ratio[base + y]
            kl_out[i, b] = kl_row[row_r]
            tv_out[i, b] = tv_row[row_r]
            state_r[b] = next_state[sr * V + y]
            state_q[b] = next_state[sq * V + yq]


def finite_state_block(t0, U, state_r, state_q, S, V, time_dependent, use_alias, tables, lr_out, kl_out, tv_out):
    """One block of the step for :class:`gpu_sim.finite_state.StepTables` ``tables`` (alias or CDF draws)."""
    shared = (tables.accept, tables.log_ratio, tables.kl_row, tables.tv_row, tables.next_state, lr_out, kl_out, tv_out)
    if use_alias:
        finite_state_alias(t0, U, state_r, state_q, S, V, time_dependent, tables.prob_roll, tables.alias_roll,
                           tables.prob_theta, tables.alias_theta, tables.prob_res, tables.alias_res, *shared)
    else:
        finite_state_cdf(t0, U, state_r, state_q, S, V, time_dependent, tables.cdf_roll, tables.cdf_theta,
                         tables.cdf_res, *shared)
