"""(b) Every bound against T on log-log axes, at fixed δ (worst case otherwise) and at fixed D_KL^seq,
with fitted slopes and the length at which each bound passes 1 (vacuous for a small step: a bound B ≥ 1 + |L'| adds
nothing to J(π_θ) − J(π_roll) ∈ [−1, 1])."""
from __future__ import annotations

import numpy as np

from figures.render import length_axis, new_figure
from numerics.bounds import BOUND_NAMES, BoundInputs, evaluate_bounds

NAME = "bounds_vs_T"
TITLE = "When does each paper bound pass 1, where it says nothing about a small step (L' ≈ 0)? (paper constants)"
DELTA = 1e-4
KL_SEQ = 0.01
#: Fit ranges for the slopes: the small regime (caps inactive); at fixed D_KL^seq, from the first T
#: with Tδ ≥ D_KL^seq (before it, D_KL^seq = Tδ grows with T).
FIT_RANGE = {"fixed_delta": (2**4, 2**10), "fixed_kl_seq": (2**7, 2**12)}
EXPECTED_SLOPES = {"classical": 2.0, "pinsker_marginal_kl": 1.5, "linear": 1.0, "mixed_kl": 1.0}
SLOPE_BOUNDS = {"fixed_delta": ("classical", "pinsker_marginal_kl", "linear"),
                "fixed_kl_seq": ("classical", "pinsker_marginal_kl", "mixed_kl")}


def compute(cfg) -> dict:
    T = 2 ** np.arange(4, 13 if cfg.fast else 17)
    data = {"T": T}
    for panel in ("fixed_delta", "fixed_kl_seq"):
        values = {name: [] for name in BOUND_NAMES}
        for horizon in T:
            kl_seq = None if panel == "fixed_delta" else min(KL_SEQ, horizon * DELTA)
            b = evaluate_bounds(BoundInputs.worst_case(int(horizon), DELTA, kl_seq=kl_seq), "paper")
            for name in BOUND_NAMES:
                values[name].append(b[name])
        for name in BOUND_NAMES:
            data[f"{panel}/{name}"] = np.array(values[name])
        fit = (T >= FIT_RANGE[panel][0]) & (T <= FIT_RANGE[panel][1])
        for name in SLOPE_BOUNDS[panel]:
            y = data[f"{panel}/{name}"]
            data[f"{panel}/slope/{name}"] = np.polyfit(np.log(T[fit]), np.log(y[fit]), 1)[0]
    return data


def vacuous_from(T, values) -> float:
    """The first T at which the bound is ≥ 1 (nan if never)."""
    above = np.flatnonzero(values >= 1.0)
    return float(T[above[0]]) if above.size else float("nan")


def plot(data):
    fig, axes = new_figure(1, 2, figsize=(10, 4.2), sharey=True)
    T = data["T"]
    for ax, panel, title in zip(axes, ("fixed_delta", "fixed_kl_seq"),
                                (f"δ = {DELTA:g}, other inputs worst case", f"δ = {DELTA:g}, D_KL^seq = {KL_SEQ:g}")):
        for name in BOUND_NAMES:
            y = data[f"{panel}/{name}"]
            label = name
            if name in SLOPE_BOUNDS[panel]:
                label += f" (slope {float(data[f'{panel}/slope/{name}']):.2f})"
            ax.loglog(T, y, label=label, marker=".", markersize=3)
        ax.axhline(1.0, color="black", linestyle=":", linewidth=1)
        ax.text(T[0], 1.2, "vacuous above 1 when L' ≈ 0", fontsize=7)
        length_axis(ax, T)
        ax.set_title(title)
        ax.legend(ncol=1, loc="upper left")
    axes[0].set_ylabel("bound on |Error|")
    fig.suptitle(TITLE)
    fig.tight_layout()
    return fig


def printed_numbers(data) -> dict:
    return {key: float(value) for key, value in data.items() if "/slope/" in key}
