"""(i) Tightness at LLM lengths: sup over rewards R ∈ [0, 1] of |Error| — the smallest number any
valid bound could print — against T = 2^4 … 2^16, beside every paper bound (paper and sharp
constants) and this suite's second-moment (χ²) family (THEORY §10), with the ratio bound / worst case.

Three pairs:
  dense        i.i.d. two-token pair π_roll = (½, ½), π_θ = (½ + a, ½ − a), a = 5e-4 (δ ≈ 5e-7, χ² = 1e-6
               per token): sup_R|Error| exact by the binomial sum (numerics.iid); every bound on exact
               inputs (D_TV^seq exact too); Monte-Carlo E[W⁻] ± se at a few lengths as a check.
  sparse flips a 32-state, 8-token automaton with dense logit noise σ = 0.002 everywhere and a larger
               perturbation (σ = 0.3) at 2 of the 32 states ("routing flips"): bounds on the DP's exact
               inputs; sup_R|Error| by the simulator's E[W⁻] estimator (mean ± se).
  neural       the recurrent LM run in bfloat16 (rollout) against float32 (training): sup_R|Error| by
               E[W⁻] ± se; bounds are plug-in (maxima over sampled contexts are lower estimates of δ, ε
               and χ²_max, so these curves are indicative, not guaranteed).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from matplotlib.ticker import NullLocator

from figures.render import length_axis, new_figure
from gpu_sim.finite_state import FiniteStateFamily
from gpu_sim.neural import NeuralFamily
from gpu_sim.simulate import SimulationConfig, simulate
from numerics.bounds import BOUND_NAMES, BoundInputs, evaluate_bounds
from numerics.chi2_bounds import CHI2_BOUND_NAMES, Chi2Inputs, evaluate_chi2_bounds, with_chi2
from numerics.exact import exact_quantities
from numerics.generators import MismatchModel, random_automaton, softmax
from numerics.iid import iid_worst_case, symmetric_pair
from numerics.pair import AutomatonPair

NAME = "tightness_at_scale"
TITLE = "Worst case over rewards against every bound, at LLM lengths"
PAIRS = ("dense", "sparse flips", "neural")
DENSE_A = 5e-4
FLIP_SIGMA = 0.3
FAMILIES = ("paper", "sharp")
RATIO_KEYS = ("paper/unified", "sharp/unified", "chi2/chi2_max", "chi2/chi2_mixed", "chi2/chi2_exact",
              "sharp/unified_with_chi2")
PRINTED_T = (16, 4096, 65536)


def flip_pair(seed: int, T: int) -> AutomatonPair:
    """Dense noise σ = 0.002 on every context, plus N(0, FLIP_SIGMA²) logit noise at 2 of 32 states."""
    rng = np.random.default_rng(seed)
    base = random_automaton(rng, states=32, vocab=8, T=T, prompts=2, mismatch=MismatchModel("dense", sigma=0.002))
    flipped = rng.choice(32, size=2, replace=False)
    roll = base.roll.copy()
    roll[flipped] = softmax(np.log(base.roll[flipped]) + FLIP_SIGMA * rng.standard_normal((2, 8)))
    return AutomatonPair(base.init, base.next_state, roll, base.theta, base.reward, T)


def _sizes(fast: bool) -> dict:
    if fast:
        return {"T": 2 ** np.arange(4, 9), "dense_mc_T": np.array([16, 64]), "dense_samples": 256,
                "flip_samples": 128, "neural_T": np.array([16, 32]), "neural_samples": 32}
    return {"T": 2 ** np.arange(4, 17), "dense_mc_T": np.array([16, 256, 4096]), "dense_samples": 2048,
            "flip_samples": 512, "neural_T": 2 ** np.arange(4, 13), "neural_samples": 256}


def _record(store: dict, bounds: dict) -> None:
    for family in FAMILIES:
        for name in BOUND_NAMES + ("unified", "unified_with_chi2"):
            store.setdefault(f"{family}/{name}", []).append(bounds[family][name])
    for name in CHI2_BOUND_NAMES:
        value = bounds["sharp"][name]
        store.setdefault(f"chi2/{name}", []).append(math.nan if value is None else value)


def _bounds(inputs: BoundInputs, chi2: Chi2Inputs) -> dict:
    c = evaluate_chi2_bounds(chi2)
    return {family: with_chi2(evaluate_bounds(inputs, family), c) for family in FAMILIES}


def compute(cfg, progress=None) -> dict:
    sizes = _sizes(cfg.fast)
    device = torch.device(cfg.device)
    data = {}

    # dense: exact at every length
    T = sizes["T"]
    store, worst = {}, []
    for horizon in T:
        r = iid_worst_case(0.5, 0.5 + DENSE_A, int(horizon))
        worst.append(r.worst_case_error)
        _record(store, {family: r.bounds(family) for family in FAMILIES})
    data.update({f"dense/{k}": np.array(v) for k, v in store.items()})
    data["dense/T"], data["dense/worst"], data["dense/worst_se"] = T, np.array(worst), np.zeros(len(T))
    means, ses = [], []
    for horizon in sizes["dense_mc_T"]:
        n = sizes["dense_samples"]
        result = simulate(FiniteStateFamily(symmetric_pair(DENSE_A, int(horizon)), device),
                          SimulationConfig(T=int(horizon), samples=n, seed=cfg.seed + int(horizon), chunk=n), device)
        means.append(result.estimates["worst_case_error"].mean)
        ses.append(result.estimates["worst_case_error"].se)
        if progress is not None:
            progress()
    data["dense/mc_T"], data["dense/mc_mean"], data["dense/mc_se"] = sizes["dense_mc_T"], np.array(means), np.array(ses)

    # sparse flips: exact inputs by the DP, worst case by E[W⁻]
    store, worst, se = {}, [], []
    for horizon in T:
        pair = flip_pair(cfg.seed, int(horizon))
        q = exact_quantities(pair, tv_seq_budget=0)
        _record(store, _bounds(BoundInputs.from_exact(q), Chi2Inputs.from_exact(q)))
        n = sizes["flip_samples"]
        result = simulate(FiniteStateFamily(pair, device),
                          SimulationConfig(T=int(horizon), samples=n, seed=cfg.seed + int(horizon), chunk=n,
                                           block=1024), device)
        worst.append(result.estimates["worst_case_error"].mean)
        se.append(result.estimates["worst_case_error"].se)
        if progress is not None:
            progress()
    data.update({f"sparse flips/{k}": np.array(v) for k, v in store.items()})
    data["sparse flips/T"], data["sparse flips/worst"], data["sparse flips/worst_se"] = T, np.array(worst), np.array(se)

    # neural bf16 against fp32: worst case by E[W⁻], plug-in bounds
    store, worst, se = {}, [], []
    for horizon in sizes["neural_T"]:
        n = sizes["neural_samples"]
        family = NeuralFamily(64, 32, device=device, seed=cfg.seed)
        result = simulate(family, SimulationConfig(T=int(horizon), samples=n, seed=cfg.seed + int(horizon), chunk=n,
                                                   block=64), device)
        plugin = result.bounds_plugin
        chi2 = plugin["chi2"]
        _record(store, {family: with_chi2(plugin[family], chi2) for family in FAMILIES})
        worst.append(result.estimates["worst_case_error"].mean)
        se.append(result.estimates["worst_case_error"].se)
        if progress is not None:
            progress()
    data.update({f"neural/{k}": np.array(v) for k, v in store.items()})
    data["neural/T"], data["neural/worst"], data["neural/worst_se"] = sizes["neural_T"], np.array(worst), np.array(se)
    return data


def ratios(data, pair: str) -> dict:
    """{key: bound / sup_R|Error|} over the pair's lengths, for the keys of RATIO_KEYS."""
    worst = data[f"{pair}/worst"]
    with np.errstate(divide="ignore", invalid="ignore"):
        return {key: np.where(worst > 0, data[f"{pair}/{key}"] / worst, np.nan) for key in RATIO_KEYS}


CHI2_STYLE = {"chi2_max": ("tab:red", "-"), "chi2_mixed": ("tab:orange", "--"), "chi2_exact": ("tab:purple", "-")}
RATIO_STYLE = {"paper/unified": ("tab:blue", "-", "B* (paper constants)"),
               "sharp/unified": ("tab:blue", ":", "B* (sharp constants)"),
               "chi2/chi2_max": ("tab:red", "-", "χ²-max"), "chi2/chi2_mixed": ("tab:orange", "--", "χ²-mixed"),
               "chi2/chi2_exact": ("tab:purple", "-", "χ²-exact"),
               "sharp/unified_with_chi2": ("black", "--", "B** = min(B*, χ²) (sharp)")}


def plot(data):
    fig, axes = new_figure(2, 3, figsize=(14, 7.5))
    colors = ["#4477aa", "#66ccee", "#228833", "#ccbb44", "#bbbbbb", "#aa3377", "#332288", "#ee7733", "#009988",
              "#882255"]
    for col, pair in enumerate(PAIRS):
        ax = axes[0, col]
        T = data[f"{pair}/T"]
        for i, name in enumerate(BOUND_NAMES):
            ax.loglog(T, _clip(data[f"{pair}/paper/{name}"]), color=colors[i], linewidth=0.8,
                      label=name if col == 0 else None)
            ax.loglog(T, _clip(data[f"{pair}/sharp/{name}"]), color=colors[i], linewidth=0.8, linestyle=":")
        for name, (color, style) in CHI2_STYLE.items():
            ax.loglog(T, _clip(data[f"{pair}/chi2/{name}"]), color=color, linestyle=style, linewidth=2.0,
                      label=f"{name} (χ² family)" if col == 0 else None)
        worst, se = data[f"{pair}/worst"], data[f"{pair}/worst_se"]
        if np.any(se > 0):
            ax.errorbar(T, worst, yerr=2 * se, color="black", linewidth=2.2, capsize=2,
                        label="sup_R|Error| (Monte Carlo ± 2 se)" if col == 1 else None)
        else:
            ax.loglog(T, worst, color="black", linewidth=2.4, label="sup_R|Error| (exact)" if col == 0 else None)
        if pair == "dense":
            ax.errorbar(data["dense/mc_T"], data["dense/mc_mean"], yerr=2 * data["dense/mc_se"], fmt="o",
                        color="tab:green", capsize=3, markersize=4, label="E[W⁻] Monte Carlo ± 2 se")
        ax.axhline(1.0, color="black", linestyle=":", linewidth=1)
        ax.set_yscale("log")
        length_axis(ax, T)
        ax.set_ylim(1e-8, 1e5)
        ax.set_title({"dense": f"dense i.i.d. pair (a = {DENSE_A:g}): exact",
                      "sparse flips": "sparse flips: exact bounds, Monte-Carlo worst case",
                      "neural": "neural bf16 vs fp32: plug-in bounds"}[pair])
        ax = axes[1, col]
        for key, values in ratios(data, pair).items():
            color, style, label = RATIO_STYLE[key]
            ax.loglog(T, _clip(values), color=color, linestyle=style, label=label if col == 0 else None)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.axhline(2.0, color="black", linewidth=0.6, linestyle=":")
        length_axis(ax, T)
        ax.set_ylabel("bound / sup_R|Error|")
        ax.set_ylim(0.5, 1e6)
    for ax in axes.ravel():
        ax.yaxis.set_minor_locator(NullLocator())
    axes[0, 0].set_ylabel("sup_R|Error| and bounds")
    axes[0, 0].text(0.02, 0.97, "paper bounds: solid = paper constants,\ndotted = sharp constants",
                    transform=axes[0, 0].transAxes, va="top", fontsize=7)
    handles, labels = [], []
    for ax in axes[0]:
        h, lab = ax.get_legend_handles_labels()
        handles += h
        labels += lab
    fig.legend(handles, labels, loc="lower center", ncol=6, fontsize=7)
    axes[1, 0].legend(loc="upper left", fontsize=7)
    fig.suptitle(TITLE + " (χ² family: this suite's, THEORY §10)")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def _clip(values):
    """Infinite or overflowing bounds drawn off the top of the axis rather than dropped."""
    v = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(v), np.minimum(v, 1e30), 1e30)


def printed_numbers(data) -> dict:
    """The numbers the README quotes: sup_R|Error| and every ratio at T = 16, 4096, 65536 (where run)."""
    out = {}
    for pair in PAIRS:
        T = list(data[f"{pair}/T"])
        r = ratios(data, pair)
        for horizon in PRINTED_T:
            if horizon in T:
                i = T.index(horizon)
                out[f"{pair}/T={horizon}/worst"] = float(data[f"{pair}/worst"][i])
                out[f"{pair}/T={horizon}/worst_se"] = float(data[f"{pair}/worst_se"][i])
                for key in RATIO_KEYS:
                    out[f"{pair}/T={horizon}/{key}"] = float(r[key][i])
    return out
