"""(e) How tight each bound is: the distribution of sup_R|Error|/bound over random enumerable pairs
(every family and mismatch model), paper against sharp constants."""
from __future__ import annotations

import numpy as np

from figures.render import new_figure
from numerics.bounds import BOUND_NAMES
from numerics.tightness import tightness_survey

NAME = "tightness"
TITLE = "How close does the worst case over rewards come to each bound? (random enumerable pairs)"


def compute(cfg, progress=None) -> dict:
    survey = tightness_survey(60 if cfg.fast else 1000, seed=cfg.seed, progress=progress)
    data = {}
    for family in ("paper", "sharp"):
        for name in BOUND_NAMES:
            data[f"{family}/{name}/worst"] = survey.worst_ratio[family][name]
            data[f"{family}/{name}/error"] = survey.error_ratio[family][name]
    return data


def plot(data):
    fig, ax = new_figure(figsize=(10, 4.2))
    positions = np.arange(len(BOUND_NAMES))
    for offset, family, color in ((-0.18, "paper", "tab:blue"), (0.18, "sharp", "tab:orange")):
        values = [np.log10(v[np.isfinite(v) & (v > 0)]) for v in (data[f"{family}/{n}/worst"] for n in BOUND_NAMES)]
        parts = ax.boxplot(values, positions=positions + offset, widths=0.3, patch_artist=True, showfliers=False)
        for box in parts["boxes"]:
            box.set_facecolor(color)
            box.set_alpha(0.6)
        ax.plot([], [], color=color, linewidth=6, alpha=0.6, label=f"{family} constants")
    ax.axhline(0.0, color="black", linestyle=":", linewidth=1)
    ax.set_xticks(positions, BOUND_NAMES, rotation=30, ha="right")
    ax.set_ylabel("log10 sup_R|Error| / bound  (≤ 0: bound holds)")
    ax.set_title(TITLE)
    ax.legend()
    fig.tight_layout()
    return fig


def printed_numbers(data) -> dict:
    return {}
