"""(c) Which bound attains B* over δ and the density D_KL^seq/(Tδ) of the mismatch, at T = 4096.

Inputs: ε = min(1, sqrt(δ/2)), D_KL^seq = r·Tδ, D_TV^seq = min(1, sqrt(D_KL^seq/2)), and the
uniform per-position profile D̄_t ≡ min(ε, sqrt(D_KL^seq/(2T))) (the largest Σ_t D̄_t that
Pinsker and Jensen allow for that D_KL^seq). Both constant families give the same map: the constant
multiplies every bound alike.

Second row: B** = min(B*, χ² family), this suite's combination (THEORY §10). χ² is not a function of
the KL, so the map assumes the small dense mismatch relation χ²_max = 2δ (per-token χ² ≈ 2·KL for
nearly equal laws) and χ²_seq = expm1(2·D_KL^seq) (exact for a log-normal sequence ratio); the χ²
family's constant is ½ in both families, so here the two maps differ."""
from __future__ import annotations

import math

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from figures.render import new_figure
from numerics.bounds import BOUND_NAMES, BoundInputs, evaluate_bounds, pinsker_cap
from numerics.chi2_bounds import CHI2_BOUND_NAMES, Chi2Inputs, evaluate_chi2_bounds, with_chi2

NAME = "regime_map"
TITLE = "Which bound is the tightest, across δ and the density of the mismatch? (T = 4096)"
T = 4096
ALL_NAMES = BOUND_NAMES + CHI2_BOUND_NAMES


def assumed_chi2_inputs(delta: float, kl_seq: float) -> Chi2Inputs:
    """χ²_max = 2δ and χ²_seq = expm1(2 D_KL^seq): the small dense mismatch relation (an assumption)."""
    return Chi2Inputs(T, 2 * delta, math.expm1(min(700.0, 2 * kl_seq)))


def compute(cfg) -> dict:
    n = 12 if cfg.fast else 40
    deltas = np.logspace(-7, 0, n)
    ratios = np.logspace(-4, 0, n)
    data = {"delta": deltas, "ratio": ratios}
    for family in ("paper", "sharp"):
        argmin = np.zeros((n, n), dtype=np.int64)
        unified = np.zeros((n, n))
        argmin2 = np.zeros((n, n), dtype=np.int64)
        unified2 = np.zeros((n, n))
        for i, r in enumerate(ratios):
            for j, d in enumerate(deltas):
                eps = pinsker_cap(d)
                D = r * T * d
                dbar = min(eps, math.sqrt(D / (2 * T)))
                b = evaluate_bounds(BoundInputs(T, d, eps, D, pinsker_cap(D), np.full(T, dbar)), family)
                argmin[i, j] = BOUND_NAMES.index(b["argmin"])
                unified[i, j] = b["unified"]
                b2 = with_chi2(b, evaluate_chi2_bounds(assumed_chi2_inputs(d, D)))
                argmin2[i, j] = ALL_NAMES.index(b2["argmin_with_chi2"])
                unified2[i, j] = b2["unified_with_chi2"]
        data[f"{family}/argmin"] = argmin
        data[f"{family}/unified"] = unified
        data[f"{family}/argmin_with_chi2"] = argmin2
        data[f"{family}/unified_with_chi2"] = unified2
    return data


def plot(data):
    fig, grid = new_figure(2, 2, figsize=(10, 8.2), sharey=True)
    present = sorted(set().union(*(np.unique(data[f"{family}/{key}"]) for family in ("paper", "sharp")
                                   for key in ("argmin", "argmin_with_chi2"))))
    colors = ["#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb", "#332288", "#ee7733",
              "#009988", "#882255", "#44aa99", "#999933"]
    cmap = ListedColormap([colors[i] for i in range(len(ALL_NAMES))])
    extent = [np.log10(data["delta"][0]), np.log10(data["delta"][-1]), np.log10(data["ratio"][0]),
              np.log10(data["ratio"][-1])]
    rows = (("argmin", "unified", "B*", "{family} constants: B*"),
            ("argmin_with_chi2", "unified_with_chi2", "B**", "{family}: B** = min(B*, χ² family), χ²_max = 2δ"))
    for axes, (arg_key, value_key, label, title) in zip(grid, rows):
        for ax, family in zip(axes, ("paper", "sharp")):
            ax.imshow(data[f"{family}/{arg_key}"], origin="lower", extent=extent, aspect="auto", cmap=cmap,
                      vmin=-0.5, vmax=len(ALL_NAMES) - 0.5, interpolation="nearest")
            cs = ax.contour(np.log10(data["delta"]), np.log10(data["ratio"]), np.log10(data[f"{family}/{value_key}"]),
                            levels=[-2, -1, 0, 1], colors="white", linewidths=0.8)
            ax.clabel(cs, fmt=lambda v, label=label: f"{label}=1e{v:.0f}", fontsize=6)
            ax.set_xlabel("log10 δ")
            ax.set_title(title.format(family=family))
            ax.grid(False)
        axes[0].set_ylabel("log10 D_KL^seq / (Tδ)   (1 = dense, small = sparse)")
    handles = [Patch(color=colors[i], label=ALL_NAMES[i]) for i in present]
    grid[1, 1].legend(handles=handles, loc="lower right", frameon=True)
    fig.suptitle(TITLE)
    fig.tight_layout()
    return fig


def printed_numbers(data) -> dict:
    return {}
