"""The finite-state family: an automaton pair from numerics, sampled in batches on any device.

Exact laws, so Monte-Carlo estimates can be validated against the dynamic programme. Tables are
float64 (the laws are the exact ones); every per-context D_KL and D_TV is precomputed over the full
vocabulary by :mod:`numerics.divergence` (exact per-context expectations, no sampling noise).

Sampling: Walker/Vose alias tables (O(1) per draw; inverse CDF with torch.searchsorted for tables
too large to build), uniforms drawn a block at a time from an explicit torch.Generator. The θ-chain is coupled to the roll-chain by a maximal coupling at every step where
both chains sit in the same state: keep the roll token y with probability min(1, π_θ(y)/π_roll(y)),
otherwise draw from the residual (π_θ − π_roll)⁺ / D_TV. Marginally the θ-chain follows π_θ exactly,
and the chains stay together with probability 1 − D_TV per step (common random numbers for J(π_θ) −
J(π_roll)). The inner loop over positions touches [B]-vectors and one [B, V] gather per draw; the
per-token statistics are computed a block [τ, B] at a time.
"""
from __future__ import annotations

import numpy as np
import torch

from numerics.divergence import token_chi2, token_kl, token_tv
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


class FiniteStateFamily:
    name = "finite-state"

    def __init__(self, pair: AutomatonPair, device: torch.device):
        if pair.T is None:
            raise ValueError("the pair needs a horizon")
        self.pair, self.device = pair, device
        self.S, self.V = pair.S, pair.V
        self.time_dependent = pair.time_dependent
        roll = pair.roll.reshape(-1, self.V)
        theta = pair.theta.reshape(-1, self.V)
        residual = np.maximum(theta - roll, 0.0)
        mass = residual.sum(axis=-1, keepdims=True)
        residual = np.where(mass > 0, residual / np.where(mass > 0, mass, 1.0), theta)
        with np.errstate(divide="ignore"):
            log_roll, log_theta = np.log(roll), np.log(theta)
        t = lambda a, dtype=torch.float64: torch.as_tensor(np.ascontiguousarray(a), dtype=dtype, device=device)
        self.cdf_roll, self.cdf_theta, self.cdf_residual = t(_cdf(roll)), t(_cdf(theta)), t(_cdf(residual))
        self.p_roll, self.p_theta = t(roll).reshape(-1), t(theta).reshape(-1)
        self.log_roll, self.log_theta = t(log_roll).reshape(-1), t(log_theta).reshape(-1)
        self.kl_row, self.tv_row = t(token_kl(roll, theta)), t(token_tv(roll, theta))
        self.chi2_row = t(token_chi2(roll, theta))       # χ²(θ ‖ roll) per row, for trm_chi2 and the χ² bounds
        self.next_state = t(pair.next_state, torch.int64).reshape(-1)
        self.reward = t(pair.reward)
        self.init_cdf = t(_cdf(pair.init))
        accept = np.where(roll > 0, np.minimum(1.0, theta / np.where(roll > 0, roll, 1.0)), 0.0)
        self.accept = t(accept).reshape(-1)
        self.use_alias = roll.shape[0] * self.V**2 <= ALIAS_BUILD_LIMIT
        if self.use_alias:
            self.alias = {}
            for name, probs in (("roll", roll), ("theta", theta), ("residual", residual)):
                prob, alias = alias_tables(probs)
                self.alias[name] = (t(prob).reshape(-1), t(alias, torch.int64).reshape(-1))

    def state_bytes(self) -> int:
        tensors = (self.cdf_roll, self.cdf_theta, self.cdf_residual, self.p_roll, self.p_theta, self.log_roll,
                   self.log_theta, self.kl_row, self.tv_row, self.next_state, self.reward)
        return sum(x.numel() * x.element_size() for x in tensors)

    def _row(self, state: torch.Tensor, t: int) -> torch.Tensor:
        return state + t * self.S if self.time_dependent else state

    def _draw(self, name: str, rows: torch.Tensor, base: torch.Tensor, k: torch.Tensor, frac: torch.Tensor,
              u: torch.Tensor) -> torch.Tensor:
        """One token per row from table ``name``: alias draw from the column k = ⌊uV⌋ and the fraction
        uV − k (``base`` = rows·V), or an inverse-CDF draw from u when no alias table was built."""
        if not self.use_alias:
            cdf = {"roll": self.cdf_roll, "theta": self.cdf_theta, "residual": self.cdf_residual}[name]
            return torch.searchsorted(cdf[rows], u.unsqueeze(1), right=True).squeeze(1)
        prob, alias = self.alias[name]
        flat = base + k
        return torch.where(frac < prob[flat], k, alias[flat])

    def run_chunk(self, batch: int, T: int, running, generator: torch.Generator, block: int = 256):
        """Sample ``batch`` sequences of length T, feeding ``running`` block by block.
        Returns (R under the roll-chain, R under the coupled θ-chain), each [batch] float64."""
        dev = self.device
        u0 = torch.rand(batch, generator=generator, dtype=torch.float64, device=dev)
        state_r = torch.searchsorted(self.init_cdf, u0, right=True)
        state_q = state_r.clone()
        running.start_chunk(batch)
        t = 0
        while t < T:
            tau = min(block, running.next_boundary(t) - t)
            U = torch.rand((tau, 3, batch), generator=generator, dtype=torch.float64, device=dev)
            scaled = U * self.V
            K = scaled.long().clamp_(max=self.V - 1)
            F = scaled - K
            rows = torch.empty((tau, batch), dtype=torch.int64, device=dev)
            tokens = torch.empty((tau, batch), dtype=torch.int64, device=dev)
            for i in range(tau):
                row_r = self._row(state_r, t + i)
                row_q = self._row(state_q, t + i)
                base_r = row_r * self.V
                y = self._draw("roll", row_r, base_r, K[i, 0], F[i, 0], U[i, 0])
                keep = U[i, 1] < self.accept[base_r + y]
                y_coupled = torch.where(keep, y, self._draw("residual", row_r, base_r, K[i, 2], F[i, 2], U[i, 2]))
                y_free = self._draw("theta", row_q, row_q * self.V, K[i, 2], F[i, 2], U[i, 2])
                y_q = torch.where(state_q == state_r, y_coupled, y_free)
                rows[i], tokens[i] = row_r, y
                state_r = self.next_state[state_r * self.V + y]
                state_q = self.next_state[state_q * self.V + y_q]
            flat = rows * self.V + tokens
            running.update(self.log_theta[flat] - self.log_roll[flat], self.kl_row[rows], self.tv_row[rows],
                           chi2=self.chi2_row[rows])
            t += tau
        running.end_chunk()
        return self.reward[state_r], self.reward[state_q]
