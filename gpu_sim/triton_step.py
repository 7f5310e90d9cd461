"""The finite-state step as one Triton kernel (CUDA; optional: Triton ships with CUDA builds of torch).

The same kernel structure as the compiled CPU loop (:mod:`gpu_sim.fused`), on the same tables
(:class:`gpu_sim.finite_state.StepTables`) and the same uniform block U [τ, 2, B] (from the device's
generator, as the torch path draws it), so the Triton and torch paths draw identical samples. One
program owns BLOCK consecutive sequences and walks them through the τ positions of the block with
everything per sequence in registers: the two chains' states, M − 1, W and every per-sequence statistic
of :data:`gpu_sim.running.SEQUENCE_STATS` except n. For position t = t0 + i and table row r:
    y      roll-chain token, alias draw (k = min(⌊u0·V⌋, V − 1), keep k when u0·V − k < prob, else alias)
           or inverse CDF (a fixed-length binary search) when no alias tables were built
    y_q    maximal coupling while both chains share a state: y when u1 < a = min(1, π_θ(y)/π_roll(y)), else a
           residual draw with (u1 − a)/(1 − a); otherwise a draw from π_θ with u1
    M − 1  ← (M − 1)·ρ + u and W ← W + (M − 1)·u with u = ρ − 1 read from the table (THEORY §10)
    sums and maxima of D_KL, D_TV, χ² of the context; sums of ℓ clamped and raw, k2, k3, ρ − 1, |ρ − 1|;
    maxima of k2, k3 (all read from the tables), and each program's partial batch sums of D_KL, D_TV, χ²
    per position, written to partial [τ, programs, 3] and summed over programs by the caller.
Floating-point contraction is off (``enable_fp_fusion=False``), so u·V − k and the other expressions round
exactly as in the torch ops and the compiled CPU loop. Device memory traffic per token is the two uniforms (16 bytes read); the tables are small enough to
stay in L2. Every draw is computed for every lane (no divergent branches), and the residual draw is
discarded where the coupling keeps y, exactly as the torch path's torch.where does.

Under TRITON_INTERPRET=1 the kernel runs on CPU tensors (Triton's interpreter), which is how it is
tested on machines without a GPU.
"""
from __future__ import annotations

import math

import torch
import triton
import triton.language as tl

from gpu_sim.running import STAT

#: sequences per program
BLOCK = 128


@triton.jit
def _alias(draw_ptr, base, V, u):
    scaled = u * V
    k = tl.minimum(scaled.to(tl.int64), V - 1)
    prob = tl.load(draw_ptr + (base + k) * 2)
    alias = tl.load(draw_ptr + (base + k) * 2 + 1).to(tl.int64)
    return tl.where(scaled - k < prob, k, alias)


@triton.jit
def _inverse_cdf(cdf_ptr, base, V, u, STEPS: tl.constexpr):
    """The first index whose CDF exceeds u (searchsorted right), by STEPS = ⌈log2(V + 1)⌉ halvings."""
    lo = tl.zeros_like(base)
    hi = lo + V
    for _ in tl.static_range(STEPS):
        active = lo < hi
        mid = (lo + hi) >> 1
        c = tl.load(cdf_ptr + base + tl.minimum(mid, V - 1), mask=active, other=2.0)
        go = active & (c <= u)
        lo = tl.where(go, mid + 1, lo)
        hi = tl.where(active & (c > u), mid, hi)
    return tl.minimum(lo, V - 1)


@triton.jit
def _draw(draw_ptr, cdf_ptr, base, V, u, ALIAS: tl.constexpr, STEPS: tl.constexpr):
    if ALIAS:
        return _alias(draw_ptr, base, V, u)
    else:
        return _inverse_cdf(cdf_ptr, base, V, u, STEPS)


@triton.jit
def _acc_load(acc_ptr, offs, K: tl.constexpr, col: tl.constexpr, live):
    return tl.load(acc_ptr + offs * K + col, mask=live, other=0.0)


@triton.jit
def _acc_store(acc_ptr, offs, K: tl.constexpr, col: tl.constexpr, value, live):
    tl.store(acc_ptr + offs * K + col, value, mask=live)


@triton.jit
def finite_state_kernel(U_ptr, sr_ptr, sq_ptr, m1_ptr, acc_ptr, partial_ptr, t0, tau, B, S, V,
                        draw_roll, draw_theta, draw_res, cdf_roll, cdf_theta, cdf_res, token_ptr, row_ptr, next_ptr,
                        K: tl.constexpr, C_SUM_KL: tl.constexpr, C_MAX_KL: tl.constexpr, C_MAX_TV: tl.constexpr,
                        C_MAX_CHI2: tl.constexpr, C_SUM_LR: tl.constexpr, C_SUM_RAW: tl.constexpr,
                        C_SUM_K2: tl.constexpr, C_SUM_K3: tl.constexpr, C_MAX_K2: tl.constexpr,
                        C_MAX_K3: tl.constexpr, C_SUM_X: tl.constexpr, C_SUM_ABSX: tl.constexpr, C_W: tl.constexpr,
                        TIME_DEP: tl.constexpr, ALIAS: tl.constexpr, STEPS: tl.constexpr, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    programs = tl.num_programs(0)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    live = offs < B
    sr = tl.load(sr_ptr + offs, mask=live, other=0)
    sq = tl.load(sq_ptr + offs, mask=live, other=0)
    m1 = tl.load(m1_ptr + offs, mask=live, other=0.0)
    sum_kl = _acc_load(acc_ptr, offs, K, C_SUM_KL, live)
    max_kl = _acc_load(acc_ptr, offs, K, C_MAX_KL, live)
    max_tv = _acc_load(acc_ptr, offs, K, C_MAX_TV, live)
    max_chi2 = _acc_load(acc_ptr, offs, K, C_MAX_CHI2, live)
    sum_lr = _acc_load(acc_ptr, offs, K, C_SUM_LR, live)
    sum_raw = _acc_load(acc_ptr, offs, K, C_SUM_RAW, live)
    sum_k2 = _acc_load(acc_ptr, offs, K, C_SUM_K2, live)
    sum_k3 = _acc_load(acc_ptr, offs, K, C_SUM_K3, live)
    max_k2 = _acc_load(acc_ptr, offs, K, C_MAX_K2, live)
    max_k3 = _acc_load(acc_ptr, offs, K, C_MAX_K3, live)
    sum_x = _acc_load(acc_ptr, offs, K, C_SUM_X, live)
    sum_absx = _acc_load(acc_ptr, offs, K, C_SUM_ABSX, live)
    w = _acc_load(acc_ptr, offs, K, C_W, live)
    for i in range(tau):
        if TIME_DEP:
            shift = (t0 + i) * S
        else:
            shift = 0
        u0 = tl.load(U_ptr + (2 * i) * B + offs, mask=live, other=0.0)
        u1 = tl.load(U_ptr + (2 * i + 1) * B + offs, mask=live, other=0.0)
        row_r = sr + shift
        base = row_r * V
        y = _draw(draw_roll, cdf_roll, base, V, u0, ALIAS, STEPS)
        ty = (base + y) * 6
        a = tl.load(token_ptr + ty)
        keep = u1 < a
        u_res = tl.where(keep, 0.0, (u1 - a) / tl.where(keep, 1.0, 1.0 - a))
        y_res = _draw(draw_res, cdf_res, base, V, u_res, ALIAS, STEPS)
        y_free = _draw(draw_theta, cdf_theta, (sq + shift) * V, V, u1, ALIAS, STEPS)
        y_q = tl.where(sq == sr, tl.where(keep, y, y_res), y_free)
        lr = tl.load(token_ptr + ty + 1)
        u = tl.load(token_ptr + ty + 2)
        k2 = tl.load(token_ptr + ty + 4)
        k3 = tl.load(token_ptr + ty + 5)
        w += m1 * u
        m1 += m1 * u + u
        kl = tl.load(row_ptr + row_r * 3)
        tv = tl.load(row_ptr + row_r * 3 + 1)
        chi2 = tl.load(row_ptr + row_r * 3 + 2)
        sum_kl += kl
        sum_lr += tl.load(token_ptr + ty + 3)
        sum_raw += lr
        sum_k2 += k2
        sum_k3 += k3
        sum_x += u
        sum_absx += tl.abs(u)
        max_kl = tl.maximum(max_kl, kl)
        max_tv = tl.maximum(max_tv, tv)
        max_chi2 = tl.maximum(max_chi2, chi2)
        max_k2 = tl.maximum(max_k2, k2)
        max_k3 = tl.maximum(max_k3, k3)
        out = partial_ptr + (i * programs + pid) * 3
        tl.store(out, tl.sum(tl.where(live, kl, 0.0), axis=0))
        tl.store(out + 1, tl.sum(tl.where(live, tv, 0.0), axis=0))
        tl.store(out + 2, tl.sum(tl.where(live, chi2, 0.0), axis=0))
        sr = tl.load(next_ptr + sr * V + y)
        sq = tl.load(next_ptr + sq * V + y_q)
    tl.store(sr_ptr + offs, sr, mask=live)
    tl.store(sq_ptr + offs, sq, mask=live)
    tl.store(m1_ptr + offs, m1, mask=live)
    _acc_store(acc_ptr, offs, K, C_SUM_KL, sum_kl, live)
    _acc_store(acc_ptr, offs, K, C_MAX_KL, max_kl, live)
    _acc_store(acc_ptr, offs, K, C_MAX_TV, max_tv, live)
    _acc_store(acc_ptr, offs, K, C_MAX_CHI2, max_chi2, live)
    _acc_store(acc_ptr, offs, K, C_SUM_LR, sum_lr, live)
    _acc_store(acc_ptr, offs, K, C_SUM_RAW, sum_raw, live)
    _acc_store(acc_ptr, offs, K, C_SUM_K2, sum_k2, live)
    _acc_store(acc_ptr, offs, K, C_SUM_K3, sum_k3, live)
    _acc_store(acc_ptr, offs, K, C_MAX_K2, max_k2, live)
    _acc_store(acc_ptr, offs, K, C_MAX_K3, max_k3, live)
    _acc_store(acc_ptr, offs, K, C_SUM_X, sum_x, live)
    _acc_store(acc_ptr, offs, K, C_SUM_ABSX, sum_absx, live)
    _acc_store(acc_ptr, offs, K, C_W, w, live)


def finite_state_block(t0: int, U: torch.Tensor, state_r: torch.Tensor, state_q: torch.Tensor, m1: torch.Tensor,
                       acc: torch.Tensor, tt: dict, S: int, V: int, time_dependent: bool, use_alias: bool,
                       partial: torch.Tensor) -> torch.Tensor:
    """Advance the chains (``state_r``, ``state_q`` int64 [B], ``m1`` float64 [B], in place) through the τ
    positions of ``U`` [τ, 2, B] starting at t0, adding the per-sequence statistics to ``acc`` [B, K] (the
    layout of :data:`gpu_sim.running.SEQUENCE_STATS`); ``tt``: the step tables on the device
    (:meth:`StepTables.torch`); ``partial``: a float64 buffer of at least τ·programs·3 entries.
    Returns the batch sums [τ, 3] of D_KL, D_TV, χ² per position."""
    tau, B = U.shape[0], U.shape[2]
    programs = triton.cdiv(B, BLOCK)
    part = partial[:tau * programs * 3]
    finite_state_kernel[(programs,)](
        U, state_r, state_q, m1, acc, part, t0, tau, B, S, V,
        tt["draw_roll"], tt["draw_theta"], tt["draw_res"], tt["cdf_roll"], tt["cdf_theta"], tt["cdf_res"],
        tt["token"], tt["row"], tt["next_state"],
        K=acc.shape[1], C_SUM_KL=STAT["sum_kl"], C_MAX_KL=STAT["max_kl"], C_MAX_TV=STAT["max_tv"],
        C_MAX_CHI2=STAT["max_chi2"], C_SUM_LR=STAT["sum_lr"], C_SUM_RAW=STAT["sum_lr_raw"], C_SUM_K2=STAT["sum_k2"],
        C_SUM_K3=STAT["sum_k3"], C_MAX_K2=STAT["max_k2"], C_MAX_K3=STAT["max_k3"], C_SUM_X=STAT["sum_x"],
        C_SUM_ABSX=STAT["sum_absx"], C_W=STAT["W"], TIME_DEP=bool(time_dependent), ALIAS=bool(use_alias),
        STEPS=max(1, math.ceil(math.log2(V + 1))), BLOCK=BLOCK,
        enable_fp_fusion=False)   # no fused multiply-adds: u·V − k rounds as in torch and the CPU loop
    return part.view(tau, programs, 3).sum(1)
