"""(f) Length bias: acceptance against T for TRM-Max, TRM-Avg, LN-TRM and SER on simulated pairs,
with the (1 − p)^T curve of independent violations."""
from __future__ import annotations

import numpy as np
import torch

from figures.render import length_axis, new_figure
from gpu_sim.finite_state import FiniteStateFamily
from gpu_sim.simulate import SimulationConfig, default_checkpoints, simulate
from numerics.generators import MismatchModel, independent_violation_pair, random_automaton

NAME = "length_bias"
TITLE = "Which criteria reject long sequences just for being long?"
P = 1e-3
CRITERIA = ("trm_max:0.05", "trm_avg:0.002", "ln_trm:0.1@0.05", "ser:0.05")


def compute(cfg, progress=None) -> dict:
    T = 2**10 if cfg.fast else 2**14
    samples = 256 if cfg.fast else 2048
    device = torch.device(cfg.device)
    pairs = {
        "independent violations (p = 1e-3)": independent_violation_pair(P, T),
        "dense noise": random_automaton(np.random.default_rng(cfg.seed), states=16, vocab=8, T=T, prompts=2,
                                        mismatch=MismatchModel("dense", sigma=0.05)),
    }
    data = {"T": np.array(default_checkpoints(T))}
    for label, pair in pairs.items():
        result = simulate(FiniteStateFamily(pair, device),
                          SimulationConfig(T=T, samples=samples, seed=cfg.seed, chunk=min(samples, 1024),
                                           criteria=CRITERIA), device)
        for criterion in CRITERIA:
            data[f"{label}/{criterion}"] = np.array(result.acceptance[criterion]["acceptance"])
        data[f"{label}/samples"] = np.array(samples)
        if progress is not None:
            progress()
    data["independent"] = (1 - P) ** data["T"]
    return data


def plot(data):
    labels = sorted({k.split("/")[0] for k in data if "/" in k})
    fig, axes = new_figure(1, len(labels), figsize=(10, 4), sharey=True)
    T = data["T"]
    for ax, label in zip(axes, labels):
        n = int(data[f"{label}/samples"])
        for criterion in CRITERIA:
            a = data[f"{label}/{criterion}"]
            ax.errorbar(T, a, yerr=2 * np.sqrt(a * (1 - a) / n), marker=".", capsize=2, label=criterion)
        if label.startswith("independent"):
            ax.semilogx(T, data["independent"], color="black", linestyle="--", label="(1 − p)^T")
        length_axis(ax, T)
        ax.set_title(label)
        ax.legend()
    axes[0].set_ylabel("acceptance (± 2 se)")
    fig.suptitle(TITLE)
    fig.tight_layout()
    return fig


def printed_numbers(data) -> dict:
    return {}
