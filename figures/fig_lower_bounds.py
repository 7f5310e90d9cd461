"""(j) How much of each bound's looseness does its statistic force? For four input sets, the bound against the
largest sup over rewards R ∈ [0, 1] of |Error| found among policy pairs with exactly that statistic, T = 2 … 2^16
(this suite's analysis, beside THEORY §10–§11; shown beside tightness_at_scale).

    δ alone                 B* (paper, sharp) with every other input at its worst case given δ = 1e-4
    χ²_max                  B_χ²-max at χ²_max = 2e-4 (≈ 2δ, the same mismatch in χ² terms)
    δ and D_KL^seq          B* with δ = 1e-4 and D_KL^seq ≤ 0.01 (the paper's Table 1 inputs)
    Q = Σ_t E[χ²], D_TV^seq the additive bound D_TV^seq + ½ sqrt(Q) at Q = 2e-4·T, with the pair's own D_TV^seq

Worst case found: the best member of numerics.lower_bounds' branch family at every T (exact binomial sums), and
at small T the best pair of numerics.lower_bound_search (L-BFGS over every tabular pair, T ≤ 5 in the full figure,
and 4-state automata at T = 8), each re-measured by the exact engines. For δ alone the kernel-proved closed forms
of proofs.lower_bounds are drawn too, and for δ (with or without D_KL^seq) the kernel-proved ceiling of
proofs.kl_ceiling, min(1, sqrt(D/2)) + sqrt(D) + 4D at D = min(D_KL^seq, Tδ), above every pair's worst case.
bound / worst found is the most a better proof from the same statistic could gain (a ratio near 1: the statistic
itself forces the bound); bound / ceiling, where above 1, is the least such a proof gains.
"""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import NullLocator

from figures.render import length_axis, new_figure
from numerics.lower_bound_search import search_worst_pair
from numerics.lower_bounds import BOUND_KEYS, best_construction

NAME = "lower_bounds"
TITLE = "How much of each bound's looseness does its statistic force?"
DELTA = 1e-4
CHI2 = 2e-4
KL_SEQ = 0.01
Q_PER_TOKEN = 2e-4
PANELS = ("kl", "chi2", "kl_seq", "additive")
PRINTED_T = (2, 16, 256, 4096, 65536)


def _value(statistic: str, T: int) -> tuple[float, float | None]:
    return {"kl": (DELTA, None), "chi2": (CHI2, None), "kl_seq": (DELTA, KL_SEQ),
            "additive": (Q_PER_TOKEN * T, None)}[statistic]


def _sizes(fast: bool) -> dict:
    if fast:
        return {"T": 2 ** np.arange(1, 8), "search": [("tabular", 2), ("tabular", 3)], "restarts": 1, "maxiter": 30}
    return {"T": 2 ** np.arange(1, 17), "search": [("tabular", 2), ("tabular", 3), ("tabular", 4), ("tabular", 5),
                                                   ("automaton", 8)], "restarts": 4, "maxiter": 300}


def compute(cfg, progress=None) -> dict:
    sizes = _sizes(cfg.fast)
    T = sizes["T"]
    data = {"T": T}
    for statistic in PANELS:
        rows = [best_construction(statistic, *_value(statistic, int(h))[:1], int(h), _value(statistic, int(h))[1])
                for h in T]
        data[f"{statistic}/worst"] = np.array([r.stats.worst_case_error for r in rows])
        for key in BOUND_KEYS[statistic]:
            data[f"{statistic}/bound/{key}"] = np.array([r.bounds[key] for r in rows])
        for field in ("p_roll", "p_theta", "m", "weight"):
            data[f"{statistic}/{field}"] = np.array([float(getattr(r.pair, field)) for r in rows])
        for ref in ("symmetric_iid", "proved_rare_limit", "proved_rare_closed_form", "proved_ceiling"):
            if ref in rows[0].reference:
                data[f"{statistic}/{ref}"] = np.array([np.nan if r.reference[ref] is None else r.reference[ref]
                                                       for r in rows])
        found_T, found, found_bounds = [], [], {key: [] for key in BOUND_KEYS[statistic]}
        for family, horizon in sizes["search"]:
            value, kl_seq = _value(statistic, horizon)
            r = search_worst_pair(statistic, value, horizon, kl_seq=kl_seq, family=family, restarts=sizes["restarts"],
                                  maxiter=sizes["maxiter"], seed=cfg.seed)
            found_T.append(horizon)
            found.append(r.stats.worst_case_error)
            for key in BOUND_KEYS[statistic]:
                found_bounds[key].append(r.bounds[key])
            if progress is not None:
                progress()
        data[f"{statistic}/search_T"] = np.array(found_T)
        data[f"{statistic}/search_worst"] = np.array(found)
        for key, values in found_bounds.items():
            data[f"{statistic}/search_bound/{key}"] = np.array(values)
    return data


def ratios(data, statistic: str) -> dict:
    """{key: bound / best worst case found} at every T of the grid (the search's pair where it is better; for
    'additive' the bound is the one at the better pair's own D_TV^seq)."""
    T = data["T"]
    out = {}
    for key in BOUND_KEYS[statistic]:
        ratio = data[f"{statistic}/bound/{key}"] / data[f"{statistic}/worst"]
        for h, worst, bound in zip(data[f"{statistic}/search_T"], data[f"{statistic}/search_worst"],
                                   data[f"{statistic}/search_bound/{key}"]):
            at = np.flatnonzero(T == h)
            if at.size and worst > 0:
                ratio[at[0]] = min(ratio[at[0]], bound / worst)
        out[key] = ratio
    return out


BOUND_STYLE = {"paper/unified": ("tab:blue", "-", "B* (paper constants)"),
               "sharp/unified": ("tab:blue", ":", "B* (sharp constants)"),
               "chi2_max": ("tab:red", "-", "B_χ²-max"),
               "additive": ("tab:orange", "-", "D_TV^seq + ½√Q at the worst pair")}
PANEL_TITLE = {
    "kl": f"δ = {DELTA:g} alone: must B* grow like $T^{{3/2}}$?",
    "chi2": f"χ²_max = {CHI2:g}: is B_χ²-max's explosion forced?",
    "kl_seq": f"δ = {DELTA:g}, D_KL^seq ≤ {KL_SEQ:g}: is Mixed-KL's growth forced?",
    "additive": f"Q = {Q_PER_TOKEN:g}·T: how loose is the additive bound?",
}


def plot(data):
    fig, axes = new_figure(2, 2, figsize=(11, 8.2))
    T = data["T"]
    for ax, statistic in zip(axes.ravel(), PANELS):
        for key in BOUND_KEYS[statistic]:
            color, style, label = BOUND_STYLE[key]
            ax.loglog(T, data[f"{statistic}/bound/{key}"], color=color, linestyle=style, linewidth=1.8, label=label)
        ax.loglog(T, data[f"{statistic}/worst"], color="black", linewidth=2.4, label="worst case found (family, exact)")
        if f"{statistic}/symmetric_iid" in data:
            ax.loglog(T, data[f"{statistic}/symmetric_iid"], color="0.55", linestyle="--", linewidth=1.1,
                      label="symmetric i.i.d. pair")
        if f"{statistic}/proved_rare_limit" in data:
            proved = np.maximum(data[f"{statistic}/proved_rare_limit"], data[f"{statistic}/proved_rare_closed_form"])
            ax.loglog(T, np.where(proved > 0, proved, np.nan), color="tab:green", linestyle="-.", linewidth=1.3,
                      label="proved closed form (kernel)")
        if f"{statistic}/proved_ceiling" in data:
            ax.loglog(T, data[f"{statistic}/proved_ceiling"], color="tab:purple", linestyle="--", linewidth=1.3,
                      label="proved ceiling on every pair (kernel)")
        ax.plot(data[f"{statistic}/search_T"], data[f"{statistic}/search_worst"], "o", color="black", markersize=4,
                markerfacecolor="white", label="search over all small pairs")
        key = BOUND_KEYS[statistic][-1]
        r = ratios(data, statistic)[key]
        for h in PRINTED_T:
            at = np.flatnonzero(T == h)
            if at.size:
                i = at[0]
                ax.annotate(_times(r[i]), (T[i], data[f"{statistic}/bound/{key}"][i]), textcoords="offset points",
                            xytext=(-4 if i == len(T) - 1 else 0, 7), ha="center", fontsize=8,
                            color=BOUND_STYLE[key][0])
        ax.axhline(1.0, color="0.4", linestyle=":", linewidth=0.8)
        ax.text(T[0], 1.15, "1 = the largest |J(π_θ) − J(π_roll)|; |Error| itself can exceed it", fontsize=6.5,
                color="0.3")
        length_axis(ax, T)
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set_title(PANEL_TITLE[statistic])
        ax.set_ylabel("sup_R|Error| and the bound")
        ax.legend(loc="lower right" if statistic == "additive" else "upper left", fontsize=7)
    fig.text(0.5, 0.005, "×n = bound / worst case found (for B*: sharp constants): the most that a better proof "
             "from the same statistic could gain; ×1 means the statistic itself forces the bound", ha="center",
             fontsize=8)
    fig.suptitle(TITLE + " (this suite's analysis; THEORY §10–§11)")
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    return fig


def _times(ratio: float) -> str:
    return f"×{ratio:,.0f}" if ratio >= 100 else f"×{ratio:.3g}"


def printed_numbers(data) -> dict:
    """The numbers docs/lower_bounds.md quotes: the worst case found and bound / worst at PRINTED_T (where run)."""
    out = {}
    T = list(data["T"])
    for statistic in PANELS:
        r = ratios(data, statistic)
        for h in PRINTED_T:
            if h in T:
                i = T.index(h)
                out[f"{statistic}/T={h}/worst"] = float(data[f"{statistic}/worst"][i])
                for key, values in r.items():
                    out[f"{statistic}/T={h}/{key}"] = float(values[i])
    return out
