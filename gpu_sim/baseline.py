"""The straightforward simulator a researcher writes first, kept as the benchmark's reference.

One Python step per position over the whole batch: gather both next-token laws, build
torch.distributions.Categorical objects, sample (with torch.multinomial, since Categorical.sample
takes no generator), and take log-probabilities and the KL from the distribution objects. It
computes the same per-sequence sums (D_KL, log-ratio, ρ − 1) as the fast path, without coupling.
"""
from __future__ import annotations

import torch
from torch.distributions import Categorical, kl_divergence

from gpu_sim.finite_state import FiniteStateFamily


def run_baseline(family: FiniteStateFamily, batch: int, T: int, generator: torch.Generator) -> dict:
    dev, V, S = family.device, family.V, family.S
    roll = family.p_roll.reshape(-1, S, V) if family.time_dependent else family.p_roll.reshape(S, V)
    theta = family.p_theta.reshape(roll.shape)
    state = torch.searchsorted(family.init_cdf, torch.rand(batch, generator=generator, dtype=torch.float64,
                                                          device=dev), right=True)
    sum_kl = torch.zeros(batch, dtype=torch.float64, device=dev)
    sum_lr = torch.zeros_like(sum_kl)
    sum_x = torch.zeros_like(sum_kl)
    for t in range(T):
        p = roll[t][state] if family.time_dependent else roll[state]
        q = theta[t][state] if family.time_dependent else theta[state]
        d_roll, d_theta = Categorical(probs=p), Categorical(probs=q)
        y = torch.multinomial(p, 1, generator=generator).squeeze(1)
        lr = d_theta.log_prob(y) - d_roll.log_prob(y)
        sum_kl += kl_divergence(d_roll, d_theta)
        sum_lr += lr
        sum_x += torch.exp(lr) - 1
        state = family.next_state[state * V + y]
    return {"sum_kl": sum_kl, "sum_lr": sum_lr, "sum_x": sum_x, "reward": family.reward[state]}
