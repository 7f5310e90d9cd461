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
    outputs  per sequence in place, M_t − 1 = (M_(t−1) − 1)·ρ_t + u_t and W += (M_(t−1) − 1)·u_t with
             u_t = ρ_t − 1 from the table (THEORY §10; no transcendental per token, nothing of order 1
             cancels); states follow next_state; then either
             blocks    ℓ_t = log π_θ(y) − log π_roll(y), D_KL(r), D_TV(r), χ²(r) into [4, τ, B], for
                       :meth:`gpu_sim.running.RunningStats.update` (told that W is done), when the criteria
                       need token-level values, or
             reduced   every per-sequence statistic of :data:`gpu_sim.running.SEQUENCE_STATS` but n added
                       in place to acc [B, K] (sums and maxima of D_KL, D_TV, χ², ℓ clamped and raw, k2, k3,
                       ρ − 1, |ρ − 1|, all read from the step tables: nothing is recomputed per token) and the
                       batch sums of D_KL, D_TV, χ² per position into pos [τ, 3], for
                       :meth:`gpu_sim.running.RunningStats.update_reduced`.
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
def alias_draw(draw, cdf, base, V, u):
    """One token from the row at ``base`` by the alias method (the packed table ``draw``)."""
    return _alias(draw, base, V, u)


@njit(inline="always")
def inverse_cdf_draw(draw, cdf, base, V, u):
    """One token from the row at ``base`` by inverse CDF (``cdf``)."""
    return _inverse_cdf(cdf, base, V, u)


@njit(nogil=True, cache=True)
def finite_state_step(_draw, t0, U, state_r, state_q, S, V, time_dependent, draw_roll, draw_theta, draw_res,
                      cdf_roll, cdf_theta, cdf_res, token, row, next_state, stat, blocks, acc, pos, m1):
    """Advance ``state_r``/``state_q`` [B] (in place) through τ = U.shape[0] positions starting at t0,
    advancing M − 1 (``m1``) and W per sequence, and either writing the blocks ℓ, D_KL, D_TV, χ² of the
    roll-chain's contexts into ``blocks`` [4, τ, B] or, when ``blocks`` is empty, reducing them into
    ``acc`` [B, K] and ``pos`` [τ, 3]. ``stat`` holds the columns of acc, in the order (sum_kl, max_kl, max_tv,
    max_chi2, sum_lr, sum_lr_raw, sum_k2, sum_k3, max_k2, max_k3, sum_x, sum_absx, W). ``_draw`` is
    :func:`alias_draw` or :func:`inverse_cdf_draw` (tables too large for alias tables; the unused kind of
    table may be empty): a compiled function argument, so each kind gets its own specialised loop (one loop
    choosing per draw at run time was more than twice as slow)."""
    tau = U.shape[0]
    B = U.shape[2]
    write = blocks.shape[0] > 0
    SUM_KL, MAX_KL, MAX_TV, MAX_CHI2 = stat[0], stat[1], stat[2], stat[3]
    SUM_LR, SUM_RAW, SUM_K2, SUM_K3, MAX_K2, MAX_K3 = stat[4], stat[5], stat[6], stat[7], stat[8], stat[9]
    SUM_X, SUM_ABSX, W = stat[10], stat[11], stat[12]
    for i in range(tau):
        shift = (t0 + i) * S if time_dependent else 0
        pos_kl = 0.0
        pos_tv = 0.0
        pos_chi2 = 0.0
        for b in range(B):
            sr = state_r[b]
            sq = state_q[b]
            row_r = sr + shift
            base = row_r * V
            y = _draw(draw_roll, cdf_roll, base, V, U[i, 0, b])
            u1 = U[i, 1, b]
            ty = base + y
            if sq == sr:
                a = token[ty, 0]
                if u1 < a:
                    yq = y
                else:
                    yq = _draw(draw_res, cdf_res, base, V, (u1 - a) / (1.0 - a))
            else:
                yq = _draw(draw_theta, cdf_theta, (sq + shift) * V, V, u1)
            u = token[ty, 2]                         # u_t = ρ_t − 1
            acc[b, W] += m1[b] * u                   # W += (M_(t−1) − 1)·u_t
            m1[b] += m1[b] * u + u                   # M_t − 1 = (M_(t−1) − 1)·ρ_t + u_t
            kl = row[row_r, 0]
            tv = row[row_r, 1]
            chi2 = row[row_r, 2]
            if write:
                blocks[0, i, b] = token[ty, 1]
                blocks[1, i, b] = kl
                blocks[2, i, b] = tv
                blocks[3, i, b] = chi2
            else:
                k2 = token[ty, 4]
                k3 = token[ty, 5]
                acc[b, SUM_KL] += kl
                acc[b, SUM_LR] += token[ty, 3]
                acc[b, SUM_RAW] += token[ty, 1]
                acc[b, SUM_K2] += k2
                acc[b, SUM_K3] += k3
                acc[b, SUM_X] += u
                acc[b, SUM_ABSX] += abs(u)
                if kl > acc[b, MAX_KL]:
                    acc[b, MAX_KL] = kl
                if tv > acc[b, MAX_TV]:
                    acc[b, MAX_TV] = tv
                if chi2 > acc[b, MAX_CHI2]:
                    acc[b, MAX_CHI2] = chi2
                if k2 > acc[b, MAX_K2]:
                    acc[b, MAX_K2] = k2
                if k3 > acc[b, MAX_K3]:
                    acc[b, MAX_K3] = k3
                pos_kl += kl
                pos_tv += tv
                pos_chi2 += chi2
            state_r[b] = next_state[sr * V + y]
            state_q[b] = next_state[sq * V + yq]
        if not write:
            pos[i, 0] = pos_kl
            pos[i, 1] = pos_tv
            pos[i, 2] = pos_chi2


#: The columns of RunningStats.acc that :func:`finite_state_step` adds to, in its order.
STEP_STATS = ("sum_kl", "max_kl", "max_tv", "max_chi2", "sum_lr", "sum_lr_raw", "sum_k2", "sum_k3", "max_k2",
              "max_k3", "sum_x", "sum_absx", "W")


def finite_state_block(t0, U, state_r, state_q, S, V, time_dependent, use_alias, tables, stat, blocks, acc, pos, m1):
    """One block of the step for :class:`gpu_sim.finite_state.StepTables` ``tables`` (alias or CDF draws);
    ``stat``: the int64 columns of ``acc`` named by :data:`STEP_STATS`."""
    finite_state_step(alias_draw if use_alias else inverse_cdf_draw, t0, U, state_r, state_q, S, V, time_dependent,
                      tables.draw_roll, tables.draw_theta,
                      tables.draw_res, tables.cdf_roll, tables.cdf_theta, tables.cdf_res, tables.token, tables.row,
                      tables.next_state, stat, blocks, acc, pos, m1)
