"""(g) Sampled-token criteria against the exact criterion: false-mask and missed-violation rates
against T, for a sparse routing-flip pair (the exact reference is TRM-Max with δ = 0.05)."""
from __future__ import annotations

import numpy as np
import torch

from figures.render import length_axis, new_figure
from gpu_sim.finite_state import FiniteStateFamily
from gpu_sim.simulate import SimulationConfig, default_checkpoints, simulate
from numerics.generators import MismatchModel, random_automaton

NAME = "estimators"
TITLE = "Do the sampled-token criteria mask what exact TRM-Max (δ = 0.05) masks?"
CRITERIA = ("seq_max_k2:0.05", "seq_mean_k3:0.001", "seq_mean_k1:0.999_1.001")
REFERENCE = 0.05


def compute(cfg, progress=None) -> dict:
    T = 2**8 if cfg.fast else 2**12
    samples = 256 if cfg.fast else 4096
    device = torch.device(cfg.device)
    pair = random_automaton(np.random.default_rng(cfg.seed + 1), states=32, vocab=8, T=T, prompts=2,
                            mismatch=MismatchModel("flips", sigma=0.01, rate=0.05, flip_sigma=1.0))
    result = simulate(FiniteStateFamily(pair, device),
                      SimulationConfig(T=T, samples=samples, seed=cfg.seed, chunk=min(samples, 1024), criteria=CRITERIA,
                                       reference_delta=REFERENCE), device)
    data = {"T": np.array(default_checkpoints(T)), "samples": np.array(samples),
            "reference": np.array(result.acceptance["reference"]["acceptance"])}
    for criterion in CRITERIA:
        acc = result.acceptance[criterion]
        data[f"{criterion}/false_mask"] = np.array(acc["false_mask"])
        data[f"{criterion}/missed"] = np.array(acc["missed_violation"])
    if progress is not None:
        progress()
    return data


def plot(data):
    fig, axes = new_figure(1, 3, figsize=(11, 3.8))
    T = data["T"]
    for criterion in CRITERIA:
        axes[0].semilogx(T, data[f"{criterion}/false_mask"], marker=".", label=criterion)
        axes[1].semilogx(T, data[f"{criterion}/missed"], marker=".", label=criterion)
    axes[2].semilogx(T, data["reference"], color="black", marker=".", label=f"exact TRM-Max δ = {REFERENCE:g}")
    for ax, title in zip(axes, ("false masks (rejects a compliant sequence)", "missed violations (accepts a violator)",
                                "exact acceptance")):
        ax.set_title(title)
        length_axis(ax, T)
        ax.set_ylabel("share of sequences")
        ax.legend()
    fig.suptitle(TITLE)
    fig.tight_layout()
    return fig


def printed_numbers(data) -> dict:
    return {}
