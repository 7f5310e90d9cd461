"""(j) How much of each bound's looseness does its statistic force? For four input sets, the paper's bound (or the
panel's own) and the best bound of the suite that reads only that statistic, against the largest sup over rewards
R ∈ [0, 1] of |Error| found among policy pairs with exactly that statistic, T = 2 … 2^16 (this suite's analysis,
beside THEORY §10–§11; shown beside tightness_at_scale).

    δ alone                 B* (paper, sharp) with every other input at its worst case given δ = 1e-4; the best of
                            B* (sharp), sequence_kl at D_KL^seq = Tδ and the KL ceiling
    χ²_max                  B_χ²-max at χ²_max = 2e-4 (≈ 2δ, the same mismatch in χ² terms); the best of it and the
                            tangent / additive bounds at Q ≤ Tχ²_max
    δ and D_KL^seq          B* with δ = 1e-4 and D_KL^seq ≤ 0.01 (the paper's Table 1 inputs); the best as for δ, at
                            D_KL^seq = min(0.01, Tδ)
    Q = Σ_t E[χ²]           Q = 2e-4·T: the additive bound with D_TV^seq ≤ 1 and the best (the tangent bound at γ = 0)

(numerics.statistic_bounds names every bound and the kernel derivation behind it.) Worst case found: the best member
of numerics.lower_bounds' branch family at every T (exact binomial sums), and at small T the best pair of
numerics.lower_bound_search (L-BFGS over every tabular pair, T ≤ 5 in the full figure, and 4-state automata at T = 8),
each re-measured by the exact engines. For δ alone the kernel-proved closed forms of proofs.lower_bounds are drawn
too. worst found ≤ worst case over every pair ≤ best, so best / worst found brackets what the statistic forces and
B* / best is the least that B*'s proof loses.
"""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import NullLocator

from figures.render import length_axis, new_figure
from numerics.lower_bound_search import search_worst_pair
from numerics.lower_bounds import best_construction
from numerics.statistic_bounds import BOUND_KEYS, PAIR_KEYS

NAME = "lower_bounds"
TITLE = "How much of each bound's looseness does its statistic force?"
DELTA = 1e-4
CHI2 = 2e-4
KL_SEQ = 0.01
Q_PER_TOKEN = 2e-4
PANELS = ("kl", "chi2", "kl_seq", "additive")
PRINTED_T = (2, 16, 256, 4096, 65536)
#: The bound each panel draws beside the suite's best (the one its title asks about).
PANEL_BOUNDS = {"kl": ("paper/unified", "sharp/unified"), "chi2": ("chi2_max",),
                "kl_seq": ("paper/unified", "sharp/unified"), "additive": ("additive_tv_le_1",)}


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
        keys = BOUND_KEYS[statistic]
        rows = [best_construction(statistic, *_value(statistic, int(h))[:1], int(h), _value(statistic, int(h))[1])
                for h in T]
        data[f"{statistic}/worst"] = np.array([r.stats.worst_case_error for r in rows])
        for key in keys:
            data[f"{statistic}/bound/{key}"] = np.array([r.bounds[key] for r in rows])
            data[f"{statistic}/ratio/{key}"] = np.array([r.ratios[key] for r in rows])
        data[f"{statistic}/best"] = np.array([r.best[1] for r in rows])
        data[f"{statistic}/best_index"] = np.array([keys.index(r.best[0]) for r in rows])
        for key in PAIR_KEYS.get(statistic, ()):
            data[f"{statistic}/witness_worst/{key}"] = np.array([r.witness[key].stats.worst_case_error for r in rows])
        for field in ("p_roll", "p_theta", "m", "weight"):
            data[f"{statistic}/{field}"] = np.array([float(getattr(r.pair, field)) for r in rows])
        for ref in ("symmetric_iid", "proved_rare_limit", "proved_rare_closed_form"):
            if ref in rows[0].reference:
                data[f"{statistic}/{ref}"] = np.array([np.nan if r.reference[ref] is None else r.reference[ref]
                                                       for r in rows])
        found_T, found, found_best, found_bounds = [], [], [], {key: [] for key in keys}
        for family, horizon in sizes["search"]:
            value, kl_seq = _value(statistic, horizon)
            r = search_worst_pair(statistic, value, horizon, kl_seq=kl_seq, family=family, restarts=sizes["restarts"],
                                  maxiter=sizes["maxiter"], seed=cfg.seed)
            found_T.append(horizon)
            found.append(r.stats.worst_case_error)
            found_best.append(r.best[1])
            for key in keys:
                found_bounds[key].append(r.bounds[key])
            if progress is not None:
                progress()
        data[f"{statistic}/search_T"] = np.array(found_T)
        data[f"{statistic}/search_worst"] = np.array(found)
        data[f"{statistic}/search_best"] = np.array(found_best)
        for key, values in found_bounds.items():
            data[f"{statistic}/search_bound/{key}"] = np.array(values)
    return data


def ratios(data, statistic: str) -> dict:
    """{key: bound / worst case found} at every T of the grid, for every bound of the statistic and 'best' (the search's
    pair where it gives a smaller ratio; a pair-dependent bound at its own pair)."""
    T = data["T"]
    out = {}
    search = list(zip(data[f"{statistic}/search_T"], data[f"{statistic}/search_worst"]))
    for key in BOUND_KEYS[statistic] + ("best",):
        ratio = (data[f"{statistic}/best"] / data[f"{statistic}/worst"] if key == "best"
                 else data[f"{statistic}/ratio/{key}"].copy())
        bounds = data[f"{statistic}/search_best" if key == "best" else f"{statistic}/search_bound/{key}"]
        for (h, worst), bound in zip(search, bounds):
            at = np.flatnonzero(T == h)
            if at.size and worst > 0:
                ratio[at[0]] = min(ratio[at[0]], bound / worst)
        out[key] = ratio
    return out


def best_names(data, statistic: str) -> list[tuple[str, int]]:
    """[(bound key, first T where it is the best)] along the grid: which bound the 'best' curve follows."""
    keys, out = BOUND_KEYS[statistic], []
    for h, i in zip(data["T"], data[f"{statistic}/best_index"]):
        if not out or out[-1][0] != keys[int(i)]:
            out.append((keys[int(i)], int(h)))
    return out


BOUND_STYLE = {"paper/unified": ("tab:blue", "-", "B* (paper constants)"),
               "sharp/unified": ("tab:blue", ":", "B* (sharp constants)"),
               "chi2_max": ("tab:red", "-", "B_χ²-max"),
               "additive_tv_le_1": ("tab:orange", ":", "1 + ½√Q (additive, D_TV^seq ≤ 1)")}
BEST_COLOR = "tab:green"
BEST_LABEL = {"sharp/unified": "B* sharp", "paper/unified": "B* paper", "sequence_kl": "D_KL^seq ≤ Tδ",
              "kl_ceiling": "KL ceiling", "chi2_max": "B_χ²-max", "tangent_at_zero": "½(1 + √(1 + Q))",
              "additive_tv_le_1": "1 + ½√Q"}
BEST_LABEL_KL_SEQ = {"sequence_kl": "D_KL^seq ≤ min(D, Tδ)"}
PANEL_TITLE = {
    "kl": f"δ = {DELTA:g} alone: must a bound grow like $T^{{3/2}}$?",
    "chi2": f"χ²_max = {CHI2:g}: is B_χ²-max's explosion forced?",
    "kl_seq": f"δ = {DELTA:g}, D_KL^seq ≤ {KL_SEQ:g}: must a bound keep growing?",
    "additive": f"Q = {Q_PER_TOKEN:g}·T alone: how close is the best bound from Q?",
}
STATISTIC_WORD = {"kl": "δ", "chi2": "χ²_max", "kl_seq": "δ, D_KL^seq", "additive": "Q"}


def _best_label(data, statistic: str) -> str:
    names = {**BEST_LABEL, **(BEST_LABEL_KL_SEQ if statistic == "kl_seq" else {})}
    parts = [names[key] + ("" if i == 0 else f" from T = {h:,}") for i, (key, h) in
             enumerate(best_names(data, statistic))]
    return f"suite's best from {STATISTIC_WORD[statistic]} alone: " + ", ".join(parts)


def plot(data):
    fig, axes = new_figure(2, 2, figsize=(11.5, 8.6))
    T = data["T"]
    for ax, statistic in zip(axes.ravel(), PANELS):
        r = ratios(data, statistic)
        ax.loglog(T, data[f"{statistic}/best"], color=BEST_COLOR, linewidth=3.2, alpha=0.7,
                  label=_best_label(data, statistic))
        for key in PANEL_BOUNDS[statistic]:
            color, style, label = BOUND_STYLE[key]
            ax.loglog(T, data[f"{statistic}/bound/{key}"], color=color, linestyle=style, linewidth=1.6, label=label)
        ax.loglog(T, data[f"{statistic}/worst"], color="black", linewidth=2.2, label="worst case found (family, exact)")
        if f"{statistic}/symmetric_iid" in data:
            ax.loglog(T, data[f"{statistic}/symmetric_iid"], color="0.55", linestyle="--", linewidth=1.1,
                      label="symmetric i.i.d. pair")
        if f"{statistic}/proved_rare_limit" in data:
            proved = np.maximum(data[f"{statistic}/proved_rare_limit"], data[f"{statistic}/proved_rare_closed_form"])
            ax.loglog(T, np.where(proved > 0, proved, np.nan), color="tab:brown", linestyle="-.", linewidth=1.2,
                      label="proved lower closed form (kernel)")
        ax.plot(data[f"{statistic}/search_T"], data[f"{statistic}/search_worst"], "o", color="black", markersize=4,
                markerfacecolor="white", label="search over all small pairs")
        top = PANEL_BOUNDS[statistic][-1]
        for h in PRINTED_T:
            at = np.flatnonzero(T == h)
            if not at.size:
                continue
            i = at[0]
            shift = -6 if i == len(T) - 1 else 0
            ax.annotate(_times(r[top][i]), (T[i], data[f"{statistic}/bound/{top}"][i]), textcoords="offset points",
                        xytext=(shift, 6), ha="center", fontsize=8, color=BOUND_STYLE[top][0])
            ax.annotate(_times(r["best"][i]), (T[i], data[f"{statistic}/worst"][i]), textcoords="offset points",
                        xytext=(shift, -13), ha="center", fontsize=8, color=BEST_COLOR)
        length_axis(ax, T)
        low, high = ax.get_ylim()
        ax.set_ylim(low, high * 3)                   # room for the ratios printed above the top curve
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set_title(PANEL_TITLE[statistic], fontsize=10)
        ax.set_ylabel("sup_R|Error| and the bounds")
        ax.legend(loc="lower right" if statistic == "additive" else "upper left", fontsize=7)
    fig.text(0.5, 0.006, "×n = bound / worst case found: above a line for the panel's bound (B*: sharp constants), "
             "in green below the black curve for the suite's best from the same statistic.\nThe worst case over every "
             "pair with that statistic lies between the black and the green curve.", ha="center", fontsize=8)
    fig.suptitle(TITLE + " (this suite's analysis; THEORY §10–§11)")
    fig.tight_layout(rect=(0, 0.035, 1, 1))
    return fig


def _times(ratio: float) -> str:
    return f"×{ratio:,.0f}" if ratio >= 100 else f"×{ratio:.3g}"


def printed_numbers(data) -> dict:
    """The numbers docs/lower_bounds.md quotes at PRINTED_T (where run): the worst case found, bound / worst found for
    every bound and for the best ('best'), the best's key and value ('best_key', 'best_value'), bound / best (the
    least a bound's proof loses), and per statistic the largest best / worst found over the whole grid."""
    out = {}
    T = list(data["T"])
    for statistic in PANELS:
        r = ratios(data, statistic)
        keys = BOUND_KEYS[statistic]
        for h in PRINTED_T:
            if h in T:
                i = T.index(h)
                prefix = f"{statistic}/T={h}"
                out[f"{prefix}/worst"] = float(data[f"{statistic}/worst"][i])
                out[f"{prefix}/best_value"] = float(data[f"{statistic}/best"][i])
                out[f"{prefix}/best_key"] = keys[int(data[f"{statistic}/best_index"][i])]
                for key, values in r.items():
                    out[f"{prefix}/{key}"] = float(values[i])
                for key in keys:
                    if key not in PAIR_KEYS.get(statistic, ()):
                        out[f"{prefix}/{key}/over_best"] = float(data[f"{statistic}/bound/{key}"][i]
                                                                 / data[f"{statistic}/best"][i])
        out[f"{statistic}/max_best_ratio"] = float(np.max(r["best"]))
    return out
