"""(c) Which bound attains B* over δ and the density D_KL^seq/(Tδ) of the mismatch, at T = 4096.

Inputs: ε = min(1, sqrt(δ/2)), D_KL^seq = r·Tδ, D_TV^seq = min(1, sqrt(D_KL^seq/2)), and the
uniform per-position profile D̄_t ≡ min(ε, sqrt(D_KL^seq/(2T))) (the largest Σ_t D̄_t that
Pinsker and Jensen allow for that D_KL^seq). Both constant families give the same map: the constant
multiplies every bound alike."""
from __future__ import annotations

import math

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from figures.render import new_figure
from numerics.bounds import BOUND_NAMES, BoundInputs, evaluate_bounds, pinsker_cap

NAME = "regime_map"
TITLE = "Which bound attains B* (T = 4096)"
T = 4096


def compute(cfg) -> dict:
    n = 12 if cfg.fast else 40
    deltas = np.logspace(-7, 0, n)
    ratios = np.logspace(-4, 0, n)
    data = {"delta": deltas, "ratio": ratios}
    for family in ("paper", "sharp"):
        argmin = np.zeros((n, n), dtype=np.int64)
        unified = np.zeros((n, n))
        for i, r in enumerate(ratios):
            for j, d in enumerate(deltas):
                eps = pinsker_cap(d)
                D = r * T * d
                dbar = min(eps, math.sqrt(D / (2 * T)))
                b = evaluate_bounds(BoundInputs(T, d, eps, D, pinsker_cap(D), np.full(T, dbar)), family)
                argmin[i, j] = BOUND_NAMES.index(b["argmin"])
                unified[i, j] = b["unified"]
        data[f"{family}/argmin"] = argmin
        data[f"{family}/unified"] = unified
    return data


def plot(data):
    fig, axes = new_figure(1, 2, figsize=(10, 4.2), sharey=True)
    present = sorted(set(np.unique(data["paper/argmin"])) | set(np.unique(data["sharp/argmin"])))
    colors = ["#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb", "#332288", "#ee7733",
              "#009988"]
    cmap = ListedColormap([colors[i] for i in range(len(BOUND_NAMES))])
    extent = [np.log10(data["delta"][0]), np.log10(data["delta"][-1]), np.log10(data["ratio"][0]),
              np.log10(data["ratio"][-1])]
    for ax, family in zip(axes, ("paper", "sharp")):
        ax.imshow(data[f"{family}/argmin"], origin="lower", extent=extent, aspect="auto", cmap=cmap,
                  vmin=-0.5, vmax=len(BOUND_NAMES) - 0.5, interpolation="nearest")
        cs = ax.contour(np.log10(data["delta"]), np.log10(data["ratio"]), np.log10(data[f"{family}/unified"]),
                        levels=[-2, -1, 0, 1], colors="white", linewidths=0.8)
        ax.clabel(cs, fmt=lambda v: f"B*=1e{v:.0f}", fontsize=6)
        ax.set_xlabel("log10 δ")
        ax.set_title(f"{family} constants")
        ax.grid(False)
    axes[0].set_ylabel("log10 D_KL^seq / (Tδ)   (1 = dense, small = sparse)")
    handles = [Patch(color=colors[i], label=BOUND_NAMES[i]) for i in present]
    axes[1].legend(handles=handles, loc="lower right", frameon=True)
    fig.suptitle(TITLE)
    fig.tight_layout()
    return fig


def printed_numbers(data) -> dict:
    return {}
