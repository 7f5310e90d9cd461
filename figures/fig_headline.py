"""(d) The headline comparison: the true |Error| against T for a dense-noise pair and a sparse
routing-flip pair — exact values from the dynamic programme, Monte-Carlo estimates with error bars
from gpu_sim, and every bound evaluated on the same pair's exact inputs."""
from __future__ import annotations

import numpy as np
import torch

from figures.render import length_axis, new_figure
from gpu_sim.finite_state import FiniteStateFamily
from gpu_sim.simulate import SimulationConfig, simulate
from numerics.bounds import BOUND_NAMES, BoundInputs, evaluate_bounds
from numerics.exact import exact_quantities
from numerics.generators import MismatchModel, random_automaton

NAME = "headline"
TITLE = "How far above the true surrogate error do the bounds sit?"
PAIRS = {
    "dense": MismatchModel("dense", sigma=0.05),
    "sparse flips": MismatchModel("flips", sigma=0.002, rate=0.02, flip_sigma=1.0),
}


def _pair(mismatch, seed, T):
    return random_automaton(np.random.default_rng(seed), states=16, vocab=8, T=T, prompts=2, mismatch=mismatch)


def compute(cfg, progress=None) -> dict:
    T = 2 ** np.arange(4, 10 if cfg.fast else 14)
    T_mc = np.array([16, 64] if cfg.fast else [16, 128, 1024])
    samples = 256 if cfg.fast else 4096
    device = torch.device(cfg.device)
    data = {"T": T, "T_mc": T_mc}
    for label, mismatch in PAIRS.items():
        errors, bounds = [], {name: [] for name in BOUND_NAMES}
        for horizon in T:
            q = exact_quantities(_pair(mismatch, cfg.seed, int(horizon)), tv_seq_budget=2**16)
            errors.append(q.error)
            b = evaluate_bounds(BoundInputs.from_exact(q), "paper")
            for name in BOUND_NAMES:
                bounds[name].append(b[name])
        data[f"{label}/error"] = np.array(errors)
        for name in BOUND_NAMES:
            data[f"{label}/{name}"] = np.array(bounds[name])
        means, ses = [], []
        for horizon in T_mc:
            family = FiniteStateFamily(_pair(mismatch, cfg.seed, int(horizon)), device)
            result = simulate(family, SimulationConfig(T=int(horizon), samples=samples, seed=cfg.seed + int(horizon)),
                              device)
            means.append(result.estimates["error"].mean)
            ses.append(result.estimates["error"].se)
            if progress is not None:
                progress()
        data[f"{label}/mc_mean"] = np.array(means)
        data[f"{label}/mc_se"] = np.array(ses)
    return data


def plot(data):
    fig, axes = new_figure(2, 2, figsize=(10, 7))
    T, T_mc = data["T"], data["T_mc"]
    for row, label in enumerate(PAIRS):
        ax = axes[row, 0]
        ax.loglog(T, np.abs(data[f"{label}/error"]), color="black", linewidth=2.2, label="|Error| (exact)")
        for name in BOUND_NAMES:
            ax.loglog(T, data[f"{label}/{name}"], linewidth=0.9, label=name)
        ax.axhline(1.0, color="black", linestyle=":", linewidth=1)
        ax.set_title(f"{label}: |Error| and every bound (exact inputs)")
        length_axis(ax, T)
        ax = axes[row, 1]
        ax.semilogx(T, data[f"{label}/error"], color="black", label="Error (exact)")
        ax.errorbar(T_mc, data[f"{label}/mc_mean"], yerr=2 * data[f"{label}/mc_se"], fmt="o", color="tab:red",
                    capsize=3, label="Monte Carlo ± 2 se")
        ax.set_title(f"{label}: exact Error and Monte-Carlo estimates")
        length_axis(ax, T)
        ax.legend()
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=6, fontsize=7)
    fig.suptitle(TITLE)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def printed_numbers(data) -> dict:
    return {}
