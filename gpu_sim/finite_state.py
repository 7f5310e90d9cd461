"""The finite-state family: an automaton pair from numerics, sampled in batches on any device.

Exact laws, so Monte-Carlo estimates can be validated against the dynamic programme. Tables are
float64 (the laws are the exact ones); every per-context D_KL and D_TV is precomputed over the full
vocabulary by :mod:`numerics.divergence` (exact per-context expectations, no sampling noise).

Sampling: Walker/Vose alias tables (O(1) per draw; inverse CDF for tables too large to build),
two uniforms per token drawn a block U [τ, 2, B] at a time (on CPU from a numpy PCG64 generator
seeded per chunk from the simulation's torch.Generator, on CUDA with torch.rand on the device). The
θ-chain is coupled to the roll-chain by a maximal coupling at every step where both chains sit in the
same state: keep the roll token y when u1 < a = min(1, π_θ(y)/π_roll(y)), otherwise draw from the
residual (π_θ − π_roll)⁺ / D_TV with the rescaled uniform (u1 − a)/(1 − a). Marginally the θ-chain follows π_θ exactly, and the chains stay together with
probability 1 − D_TV per step (common random numbers for J(π_θ) − J(π_roll)).

One description of the step (:class:`StepTables` and the uniform block) has two executions: a fused
compiled loop (:mod:`gpu_sim.fused`, numba, on CPU when numba is installed) and per-position torch
ops over the batch (CUDA, and CPU without numba). Both read the same tables and, on CPU, the same
uniforms, and so draw identical samples (on CUDA the uniforms come from the device's generator: the
same law, another stream). The per-token statistics go to ``running.update`` a block [τ, B] at a
time, with τ kept small enough on CPU that a block stays in cache.
"""
from __future__ import annotations

import os

import numpy as np
import torch

from gpu_sim import running as running_stats
from numerics.divergence import token_chi2, token_kl, token_tv
from numerics.errors import TRMInputError
from numerics.pair import AutomatonPair


#: Alias tables are built (vectorised Vose, O(rows·V²)) up to this many rows·V²; beyond it, inverse-CDF draws.
ALIAS_BUILD_LIMIT = 2**26


def alias_tables(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker/Vose alias tables for every row of ``probs`` [R, V]: a draw is k ~ U{0..V−1}, then k
    with probability prob[k], else alias[k]. Exact up to float64 rounding; O(1) per draw."""
    R, V = probs.shape
    scaled = probs * V
    prob = np.ones((R, V))
    alias = np.tile(np.arange(V), (R, 1))
    done = np.zeros((R, V), dtype=bool)
    rows = np.arange(R)
    for _ in range(V):
        small = (scaled < 1.0) & ~done
        large = (scaled >= 1.0) & ~done
        active = small.any(axis=1) & large.any(axis=1)
        if not active.any():
            break
        r = rows[active]
        s_idx = np.argmax(small[r], axis=1)
        l_idx = np.argmax(large[r], axis=1)
        prob[r, s_idx] = scaled[r, s_idx]
        alias[r, s_idx] = l_idx
        done[r, s_idx] = True
        scaled[r, l_idx] -= 1.0 - scaled[r, s_idx]
    return prob, alias


def _cdf(probs: np.ndarray) -> np.ndarray:
    """Row-wise CDF with the last entry exactly 1, so u ∈ [0, 1) never selects a zero-probability token."""
    cdf = np.cumsum(probs, axis=-1)
    cdf = cdf / cdf[..., -1:]
    cdf[..., -1] = 1.0
    return cdf


#: On CPU, blocks hold at most this many (position, sequence) entries per statistic, so that the
#: ~25 elementwise passes of ``running.update`` over a block run from cache.
CPU_BLOCK_ELEMENTS = 2**16
#: With the Triton step, blocks hold at most this many (position, sequence) entries (the uniforms: 64 MiB).
GPU_BLOCK_ELEMENTS = 2**22


def fused_available() -> bool:
    """Whether the compiled finite-state loop can run here (numba importable)."""
    try:
        import gpu_sim.fused  # noqa: F401
    except ImportError:
        return False
    return True


def triton_available(device: torch.device) -> bool:
    """Whether the Triton step can run on ``device``: Triton importable and the device CUDA (or CPU under
    Triton's interpreter, TRITON_INTERPRET=1, which is how the kernel is tested without a GPU)."""
    if device.type != "cuda" and os.environ.get("TRITON_INTERPRET") != "1":
        return False
    try:
        import gpu_sim.triton_step  # noqa: F401
    except ImportError:
        return False
    return True


def compiled_step_available(device: torch.device) -> bool:
    """Whether "auto" picks a compiled step on ``device`` (the numba loop on CPU, the Triton kernel on CUDA)."""
    return fused_available() if device.type == "cpu" else triton_available(device)


class StepTables:
    """Everything one step reads, flat over rows r (a state, or t·S + state when time-dependent) and tokens,
    packed so that one draw touches one cache line:
        draw_roll, draw_theta, draw_res  [R·V, 2]  alias tables (prob, alias index) of π_roll, π_θ and the
                                                   coupling residual (π_θ − π_roll)⁺/D_TV (empty without alias)
        cdf_roll, cdf_theta, cdf_res     [R·V]     their CDFs (when the alias tables are too large to build)
        token                            [R·V, 6]  (accept = min(1, π_θ/π_roll), ℓ = log π_θ − log π_roll, ρ − 1,
                                                   then ℓ clamped, k2, k3 of :func:`gpu_sim.running.sampled_estimators`)
        row                              [R, 3]    (D_KL(roll ‖ θ), D_TV, χ²(θ ‖ roll)) of the row's context
        next_state                       [S·V]
    with column views (``prob_roll``, ``alias_roll`` as int64, ``accept``, ``log_ratio``, ``rho_minus_one``,
    ``kl_row``, ``tv_row``, ``chi2_row``). numpy arrays; :meth:`torch` gives the same tables as tensors on a device (zero-copy on CPU)."""

    NAMES = ("draw_roll", "draw_theta", "draw_res", "cdf_roll", "cdf_theta", "cdf_res", "token", "row", "next_state")
    VIEWS = ("prob_roll", "alias_roll", "prob_theta", "alias_theta", "prob_res", "alias_res", "accept", "log_ratio",
             "rho_minus_one", "kl_row", "tv_row", "chi2_row")

    def __init__(self, pair: AutomatonPair):
        V = pair.V
        roll = pair.roll.reshape(-1, V)
        theta = pair.theta.reshape(-1, V)
        residual = np.maximum(theta - roll, 0.0)
        mass = residual.sum(axis=-1, keepdims=True)
        residual = np.where(mass > 0, residual / np.where(mass > 0, mass, 1.0), theta)
        self.use_alias = roll.shape[0] * V**2 <= ALIAS_BUILD_LIMIT
        for name, probs in (("roll", roll), ("theta", theta), ("res", residual)):
            if self.use_alias:
                prob, alias = alias_tables(probs)
                draw = np.stack([prob.ravel(), alias.ravel().astype(np.float64)], axis=1)
                cdf = np.zeros(0)
            else:
                draw, cdf = np.zeros((0, 2)), _cdf(probs).ravel()
            setattr(self, f"draw_{name}", draw)
            setattr(self, f"cdf_{name}", cdf)
            setattr(self, f"prob_{name}", draw[:, 0])
            setattr(self, f"alias_{name}", draw[:, 1].astype(np.int64))
        with np.errstate(divide="ignore", invalid="ignore"):
            log_ratio = (np.log(theta) - np.log(roll)).ravel()
        accept = np.where(roll > 0, np.minimum(1.0, theta / np.where(roll > 0, roll, 1.0)), 0.0).ravel()
        with np.errstate(divide="ignore", invalid="ignore"):
            rho_minus_one = np.where(roll > 0, (theta - roll) / np.where(roll > 0, roll, 1.0), 0.0).ravel()
        with np.errstate(invalid="ignore"):          # ℓ is NaN only where both laws are 0 (never sampled)
            clamped, k2, k3 = (e.numpy() for e in running_stats.sampled_estimators(torch.from_numpy(log_ratio)))
        self.token = np.stack([accept, log_ratio, rho_minus_one, clamped, k2, k3], axis=1)
        self.row = np.stack([token_kl(roll, theta), token_tv(roll, theta), token_chi2(roll, theta)], axis=1)
        self.accept, self.log_ratio, self.rho_minus_one = self.token[:, 0], self.token[:, 1], self.token[:, 2]
        self.kl_row, self.tv_row, self.chi2_row = self.row[:, 0], self.row[:, 1], self.row[:, 2]
        self.next_state = np.ascontiguousarray(pair.next_state.reshape(-1), dtype=np.int64)

    def torch(self, device: torch.device) -> dict:
        return {name: torch.as_tensor(getattr(self, name), device=device) for name in self.NAMES + self.VIEWS}

    def nbytes(self) -> int:
        return sum(getattr(self, name).nbytes for name in self.NAMES)


class FiniteStateFamily:
    name = "finite-state"

    def __init__(self, pair: AutomatonPair, device: torch.device, kernel: str = "auto"):
        """``kernel``: "fused" (compiled loop, CPU only, needs numba), "triton" (one Triton kernel per block, CUDA),
        "torch" (per-position torch ops, any device) or "auto" (fused on CPU when numba is installed, triton on
        CUDA when Triton is, else torch). The Triton kernel reduces each block itself, so chunks whose criteria
        need token-level blocks (token masks, LN-TRM) run the torch ops."""
        if pair.T is None:
            raise ValueError("the pair needs a horizon")
        if kernel not in ("auto", "fused", "torch", "triton"):
            raise TRMInputError(f"kernel = {kernel!r}: choose auto, fused, triton or torch")
        if kernel == "fused" and (device.type != "cpu" or not fused_available()):
            raise TRMInputError(f"kernel = 'fused': needs the CPU and numba (pip install '.[fast]'); device is {device}"
                                + ("" if fused_available() else ", numba is not installed"))
        if kernel == "triton" and not triton_available(device):
            raise TRMInputError(f"kernel = 'triton': needs a CUDA device and Triton; device is {device}")
        if kernel == "auto":
            kernel = ("fused" if device.type == "cpu" and fused_available()
                      else "triton" if device.type == "cuda" and triton_available(device) else "torch")
        self.kernel = kernel
        self.pair, self.device = pair, device
        self.S, self.V = pair.S, pair.V
        self.time_dependent = pair.time_dependent
        self.tables = StepTables(pair)
        self.use_alias = self.tables.use_alias
        tt = self.tables.torch(device)
        self.tt = tt
        t = lambda a, dtype=torch.float64: torch.as_tensor(np.ascontiguousarray(a), dtype=dtype, device=device)
        # the laws themselves, for the per-step baseline (gpu_sim.baseline)
        self.p_roll, self.p_theta = t(pair.roll).reshape(-1), t(pair.theta).reshape(-1)
        self.next_state = tt["next_state"]
        self.reward = t(pair.reward)
        self.init_cdf = t(_cdf(pair.init))

    def state_bytes(self) -> int:
        return self.tables.nbytes() + sum(x.numel() * x.element_size()
                                          for x in (self.p_roll, self.p_theta, self.reward, self.init_cdf))

    def _draw(self, name: str, rows: torch.Tensor, u: torch.Tensor, k: torch.Tensor | None = None,
              frac: torch.Tensor | None = None) -> torch.Tensor:
        """One token per row from table ``name`` (roll, theta, res): the alias draw from k = min(⌊uV⌋, V − 1)
        and the fraction uV − k (``k``, ``frac`` when precomputed for the block), or the inverse-CDF draw
        from u; as in :mod:`gpu_sim.fused`."""
        V, tt = self.V, self.tt
        if not self.use_alias:
            cdf = tt["cdf_" + name].view(-1, V)
            return torch.searchsorted(cdf[rows], u.unsqueeze(1), right=True).squeeze(1).clamp_(max=V - 1)
        if k is None:
            scaled = u * V
            k = scaled.long().clamp_(max=V - 1)
            frac = scaled - k
        flat = rows * V + k
        return torch.where(frac < tt["prob_" + name][flat], k, tt["alias_" + name][flat])

    def _torch_block(self, t0: int, U: torch.Tensor, state_r: torch.Tensor, state_q: torch.Tensor):
        """The step of :mod:`gpu_sim.fused` as torch ops over the batch, position by position."""
        tau = U.shape[0]
        S, V, tt = self.S, self.V, self.tt
        accept, next_state = tt["accept"], tt["next_state"]
        scaled = U * V
        K = scaled.long().clamp_(max=V - 1)
        F = scaled - K
        rows = torch.empty((tau, U.shape[2]), dtype=torch.int64, device=self.device)
        tokens = torch.empty_like(rows)
        for i in range(tau):
            shift = (t0 + i) * S if self.time_dependent else 0
            row_r = state_r + shift if shift else state_r
            y = self._draw("roll", row_r, U[i, 0], K[i, 0], F[i, 0])
            u1 = U[i, 1]
            a = accept[row_r * V + y]
            keep = u1 < a
            u_res = torch.where(keep, torch.zeros_like(u1), (u1 - a) / (1.0 - a))
            y_coupled = torch.where(keep, y, self._draw("res", row_r, u_res))
            y_free = self._draw("theta", state_q + shift if shift else state_q, u1, K[i, 1], F[i, 1])
            y_q = torch.where(state_q == state_r, y_coupled, y_free)
            rows[i], tokens[i] = row_r, y
            state_r = next_state[state_r * V + y]
            state_q = next_state[state_q * V + y_q]
        return (tt["log_ratio"][rows * V + tokens], tt["kl_row"][rows], tt["tv_row"][rows], tt["chi2_row"][rows],
                state_r, state_q)

    def run_chunk(self, batch: int, T: int, running, generator: torch.Generator, block: int | None = None):
        """Sample ``batch`` sequences of length T, feeding ``running`` block by block (at most ``block``
        positions each; by default as many as keep a block in cache on CPU, 256 positions for the torch ops,
        up to GPU_BLOCK_ELEMENTS entries for the Triton step). Blocks also end at every checkpoint; on
        CUDA the uniforms are drawn a block at a time, so two runs draw the same samples when their
        blocks are the same. Returns (R under the roll-chain, R under the coupled θ-chain), each [batch]
        float64."""
        dev = self.device
        u0 = torch.rand(batch, generator=generator, dtype=torch.float64, device=dev)
        state_r = torch.searchsorted(self.init_cdf, u0, right=True)
        state_q = state_r.clone()
        if self.kernel == "fused":
            from gpu_sim.fused import STEP_STATS, finite_state_block
            from gpu_sim.running import STAT

            reduced = not running.needs_blocks      # the step reduces each block itself
            block = max(1, min(block or T, CPU_BLOCK_ELEMENTS // batch))
            sr, sq = state_r.numpy(), state_q.numpy()
            blocks = np.empty((0, 0, 0) if reduced else (4, block, batch))
            pos = np.empty((block, 3))
            stat = np.array([STAT[name] for name in STEP_STATS], dtype=np.int64)
            m1 = np.zeros(batch)                     # M_t − 1 per sequence (THEORY §10), advanced by the step
        triton = self.kernel == "triton" and not running.needs_blocks
        if triton:
            from gpu_sim.triton_step import BLOCK, finite_state_block as triton_block

            block = max(1, min(block or T, GPU_BLOCK_ELEMENTS // batch))
            m1 = torch.zeros(batch, dtype=torch.float64, device=dev)
            partial = torch.empty(block * -(-batch // BLOCK) * 3, dtype=torch.float64, device=dev)
        block = block or 256
        if dev.type == "cpu":
            rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=generator)))
            U_buffer = np.empty((block, 2, batch))
        running.start_chunk(batch)
        t = 0
        while t < T:
            tau = min(block, running.next_boundary(t) - t)
            if dev.type == "cpu":
                U = torch.from_numpy(rng.random(out=U_buffer[:tau]))
            else:
                U = torch.rand((tau, 2, batch), generator=generator, dtype=torch.float64, device=dev)
            if self.kernel == "fused":
                out = blocks if reduced else blocks[:, :tau]
                finite_state_block(t, U.numpy(), sr, sq, self.S, self.V, self.time_dependent, self.use_alias,
                                   self.tables, stat, out, running.acc.numpy(), pos[:tau], m1)
                if reduced:
                    running.update_reduced(torch.from_numpy(pos[:tau]))
                else:
                    lr, kl, tv, chi2 = (torch.from_numpy(o) for o in out)
                    running.update(lr, kl, tv, chi2=chi2, w_fed=True)
            elif triton:
                position_sums = triton_block(t, U, state_r, state_q, m1, running.acc, self.tt, self.S, self.V,
                                             self.time_dependent, self.use_alias, partial)
                running.update_reduced(position_sums)
            else:
                lr, kl, tv, chi2, state_r, state_q = self._torch_block(t, U, state_r, state_q)
                running.update(lr, kl, tv, chi2=chi2)
            t += tau
        running.end_chunk()
        return self.reward[state_r], self.reward[state_q]
