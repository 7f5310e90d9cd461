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
    outputs  ℓ_t = log π_θ(y) − log π_roll(y), D_KL(r), D_TV(r), χ²(r); states follow next_state;
             and, per sequence in place, M_t − 1 = (M_(t−1) − 1)·ρ_t + u_t and W += (M_(t−1) − 1)·u_t with
             u_t = ρ_t − 1 from the table (THEORY §10; no transcendental per token, nothing of order 1
             cancels), which :meth:`gpu_sim.running.RunningStats.update` is told not to redo.
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
def _alias(draw, base, V, u):
    """Alias draw from the row starting at ``base`` of a packed (prob, alias) table: k = min(⌊uV⌋, V − 1),
    keep k when uV − k < prob, else alias."""
    scaled = u * V
    k = np.int64(scaled)
    if k > V - 1:
        k = V - 1
    if scaled - k < draw[base + k, 0]:
        return k
    return np.int64(draw[base + k, 1])


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


@njit(inline="always")
def _draw(use_alias, draw, cdf, base, V, u):
    """One token from the row at ``base``: alias draw from the packed table, or inverse CDF."""
    if use_alias:
        return _alias(draw, base, V, u)
    return _inverse_cdf(cdf, base, V, u)


@njit(nogil=True, cache=True)
def finite_state_step(t0, U, state_r, state_q, S, V, time_dependent, use_alias, draw_roll, draw_theta, draw_res,
                      cdf_roll, cdf_theta, cdf_res, token, row, next_state, lr_out, kl_out, tv_out, chi2_out, m1, w):
    """Advance ``state_r``/``state_q`` [B] (in place) through τ = U.shape[0] positions starting at t0,
    writing ℓ, D_KL, D_TV, χ² of the roll-chain's contexts into the [τ, B] outputs and advancing
    M − 1 (``m1``) and W (``w``) per sequence. Alias draws when ``use_alias``, inverse CDF otherwise
    (tables too large for alias tables); the unused kind of table may be empty."""
    tau = U.shape[0]
    B = U.shape[2]
    for i in range(tau):
        shift = (t0 + i) * S if time_dependent else 0
        for b in range(B):
            sr = state_r[b]
            sq = state_q[b]
            row_r = sr + shift
            base = row_r * V
            y = _draw(use_alias, draw_roll, cdf_roll, base, V, U[i, 0, b])
            u1 = U[i, 1, b]
            if sq == sr:
                a = token[base + y, 0]
                if u1 < a:
                    yq = y
                else:
                    yq = _draw(use_alias, draw_res, cdf_res, base, V, (u1 - a) / (1.0 - a))
            else:
                yq = _draw(use_alias, draw_theta, cdf_theta, (sq + shift) * V, V, u1)
            lr_out[i, b] = token[base + y, 1]
            u = token[base + y, 2]                   # u_t = ρ_t − 1
            w[b] += m1[b] * u                        # W += (M_(t−1) − 1)·u_t
            m1[b] += m1[b] * u + u                   # M_t − 1 = (M_(t−1) − 1)·ρ_t + u_t
            kl_out[i, b] = row[row_r, 0]
            tv_out[i, b] = row[row_r, 1]
            chi2_out[i, b] = row[row_r, 2]
            state_r[b] = next_state[sr * V + y]
            state_q[b] = next_state[sq * V + yq]


def finite_state_block(t0, U, state_r, state_q, S, V, time_dependent, use_alias, tables, lr_out, kl_out, tv_out,
                       chi2_out, m1, w):
    """One block of the step for :class:`gpu_sim.finite_state.StepTables` ``tables`` (alias or CDF draws)."""
    finite_state_step(t0, U, state_r, state_q, S, V, time_dependent, use_alias, tables.draw_roll, tables.draw_theta,
                      tables.draw_res, tables.cdf_roll, tables.cdf_theta, tables.cdf_res, tables.token, tables.row,
                      tables.next_state, lr_out, kl_out, tv_out, chi2_out, m1, w)
