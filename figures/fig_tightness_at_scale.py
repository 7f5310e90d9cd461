"""(i) Tightness at LLM lengths: sup over rewards R ∈ [0, 1] of |Error| — the smallest number any valid bound
could print — against T = 2^1 … 2^16 and against D_KL^seq, beside the paper's B* (sharp constants), this
suite's χ²-exact bound (THEORY §10) and the path-moment family (THEORY §11: sequence KL, additive, tangent,
weighted χ²), and the minimum over all of them ("best").

Regimes (automaton pairs from numerics.generators, 16 states, 8 tokens, 2 prompts; `trm random --family
automaton --states 16 --vocab 8 --seed S --mismatch …` writes the same pairs):
  dense                 seed 1, Gaussian logit noise σ = 0.01
  heavy-tailed          seed 7, Student-t noise σ = 0.05, 2.5 degrees of freedom
  sparse flips (mild)   seed 3, σ = 0.01 everywhere, flips (rate 0.05) of σ = 0.5
  sparse flips (strong) seed 3, σ = 0.1 everywhere, flips (rate 0.05) of σ = 1 (the `--mismatch flips` defaults)
  temperature           seed 4, rollout temperature 1.1
  neural bf16           the recurrent LM (64 tokens, hidden 32) rolled out in bfloat16 against float32

Every bound of an automaton regime is evaluated on exact DP inputs (numerics.exact, numerics.path_moments;
D_TV^seq through its DP upper bounds); sup_R|Error| = E_roll[W⁻] is the simulator's Monte-Carlo estimate
(mean ± se, one independent run per T). The neural family's bounds are plug-in estimates from the same
samples (maxima over sampled contexts, sample moments): indicative, not guaranteed. Each regime crosses
D_KL^seq ≈ 1 (the crossover of THEORY §11) inside the range, the neural one excepted.
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
from numerics.bounds import BoundInputs, evaluate_bounds
from numerics.chi2_bounds import Chi2Inputs, evaluate_chi2_bounds, with_chi2
from numerics.exact import exact_quantities
from numerics.generators import MismatchModel, random_automaton
from numerics.path_bounds import PathInputs, evaluate_path_bounds, search_weighted_chi2, with_path_bounds
from numerics.path_moments import path_moments
from numerics.split_moments import split_sum_bounds

NAME = "tightness_at_scale"
TITLE = "Worst case over rewards against every bound, at LLM lengths"
#: regime: (seed, mismatch model); 16 states, 8 tokens, 2 prompts.
REGIMES = {
    "dense": (1, MismatchModel("dense", sigma=0.01)),
    "heavy-tailed": (7, MismatchModel("heavy", sigma=0.05, df=2.5)),
    "sparse flips (mild)": (3, MismatchModel("flips", sigma=0.01, flip_sigma=0.5)),
    "sparse flips (strong)": (3, MismatchModel("flips")),
    "temperature": (4, MismatchModel("temperature", tau=1.1)),
}
NEURAL = "neural bf16 (plug-in)"
PAIRS = tuple(REGIMES) + (NEURAL,)
#: bound keys recorded per (regime, T): sharp-constant B*, χ²-exact, the path-moment family and the best of all.
KEYS = ("unified", "chi2_exact", "sequence_kl", "additive", "tangent", "weighted_chi2", "best")
PRINTED_T = (16, 256, 4096, 65536)
COLORS = {"dense": "#4477aa", "heavy-tailed": "#ee6677", "sparse flips (mild)": "#228833",
          "sparse flips (strong)": "#ccbb44", "temperature": "#aa3377", NEURAL: "#555555"}
ROUTES = {"unified": ("B* (paper family, sharp)", "#4477aa", "o"), "chi2_exact": ("χ²-exact", "#aa3377", "s"),
          "sequence_kl": ("sequence KL", "#997700", "v"), "additive": ("additive", "#ee6677", "^"),
          "tangent": ("tangent", "#228833", "D"), "weighted_chi2": ("weighted χ²", "#ee7733", "P")}


def regime_pair(name: str, T: int):
    seed, mismatch = REGIMES[name]
    return random_automaton(np.random.default_rng(seed), states=16, vocab=8, T=T, prompts=2, mismatch=mismatch)


def _sizes(fast: bool) -> dict:
    if fast:
        return {"T": np.array([4, 32, 256]), "samples": 96, "weights": "coarse", "neural_T": np.array([16]),
                "neural_samples": 24}
    return {"T": 2 ** np.arange(1, 17), "samples": 1024, "weights": "full", "neural_T": 2 ** np.arange(1, 13),
            "neural_samples": 256}


def exact_bounds(pair, weights: str = "full") -> tuple[dict, float]:
    """(the sharp-constant bounds with the χ² and path families and best, D_KL^seq) on exact DP inputs."""
    q = exact_quantities(pair, tv_seq_budget=0)
    weighted = search_weighted_chi2(pair, 2.0 * float(q.tv_pos_mean.sum()), grid=weights, max_seconds=None)
    path, _ = evaluate_path_bounds(PathInputs.from_exact(q, path_moments(pair), weighted, split_sum_bounds(pair)))
    bounds = with_chi2(evaluate_bounds(BoundInputs.from_exact(q), "sharp"), evaluate_chi2_bounds(Chi2Inputs.from_exact(q)))
    return with_path_bounds(bounds, path), float(q.kl_seq)


def _worst_case(family, T: int, samples: int, seed: int, device) -> tuple[float, float, object]:
    result = simulate(family, SimulationConfig(T=T, samples=samples, seed=seed, chunk=samples,
                                               block=min(T, 1024)), device)
    est = result.estimates["worst_case_error"]
    return est.mean, est.se, result


def compute(cfg, progress=None) -> dict:
    sizes = _sizes(cfg.fast)
    device = torch.device(cfg.device)
    data = {}
    for name in REGIMES:
        store = {key: [] for key in KEYS + ("kl_seq", "worst", "worst_se")}
        for T in sizes["T"]:
            pair = regime_pair(name, int(T))
            bounds, kl = exact_bounds(pair, sizes["weights"])
            for key in KEYS:
                store[key].append(math.nan if bounds[key] is None else bounds[key])
            store["kl_seq"].append(kl)
            mean, se, _ = _worst_case(FiniteStateFamily(pair, device), int(T), sizes["samples"], cfg.seed + int(T),
                                      device)
            store["worst"].append(mean)
            store["worst_se"].append(se)
            if progress is not None:
                progress()
        data.update({f"{name}/{k}": np.array(v, dtype=np.float64) for k, v in store.items()})
        data[f"{name}/T"] = sizes["T"]
    store = {key: [] for key in KEYS + ("kl_seq", "worst", "worst_se")}
    for T in sizes["neural_T"]:
        family = NeuralFamily(64, 32, device=device, seed=cfg.seed)
        mean, se, result = _worst_case(family, int(T), sizes["neural_samples"], cfg.seed + int(T), device)
        plugin = result.bounds_plugin
        bounds = with_path_bounds(with_chi2(plugin["sharp"], plugin["chi2"]),
                                  {k: plugin["path"][k] for k in ("sequence_kl", "additive", "tangent", "weighted_chi2")})
        for key in KEYS:
            store[key].append(math.nan if bounds[key] is None else bounds[key])
        store["kl_seq"].append(result.estimates["kl_seq"].mean)
        store["worst"].append(mean)
        store["worst_se"].append(se)
        if progress is not None:
            progress()
    data.update({f"{NEURAL}/{k}": np.array(v, dtype=np.float64) for k, v in store.items()})
    data[f"{NEURAL}/T"] = sizes["neural_T"]
    return data


def ratios(data, pair: str) -> dict:
    """{key: bound / sup_R|Error|} over the pair's lengths (NaN where the estimate is not positive)."""
    worst = data[f"{pair}/worst"]
    with np.errstate(divide="ignore", invalid="ignore"):
        return {key: np.where(worst > 0, data[f"{pair}/{key}"] / worst, np.nan) for key in KEYS}


def plot(data):
    fig, axes = new_figure(1, 3, figsize=(15, 5.0))
    ax = axes[0]
    for pair in PAIRS:
        T, worst, se = data[f"{pair}/T"], data[f"{pair}/worst"], data[f"{pair}/worst_se"]
        ax.errorbar(T, worst, yerr=2 * se, color=COLORS[pair], marker="o", markersize=3.5, linewidth=1.6, capsize=2,
                    label=pair)
        ax.plot(T, _clip(data[f"{pair}/best"]), color=COLORS[pair], linestyle="--", linewidth=1.2)
        ax.plot(T, _clip(data[f"{pair}/unified"]), color=COLORS[pair], linestyle=":", linewidth=1.0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    length_axis(ax, data[f"{PAIRS[0]}/T"])
    ax.set_ylim(1e-7, 1e6)
    ax.set_ylabel("sup_R|Error| and bounds")
    ax.set_title("How large is sup_R|Error| and what do the bounds print?")
    ax.legend(loc="upper left", fontsize=8)
    ax.text(0.98, 0.03, "solid: sup_R|Error| (Monte Carlo, ± 2 se)\ndashed: best bound\ndotted: B* (paper family, "
            "sharp constants)", transform=ax.transAxes, ha="right", va="bottom", fontsize=8)

    ax = axes[1]
    for pair in PAIRS:
        T, ratio = data[f"{pair}/T"], ratios(data, pair)["best"]
        with np.errstate(divide="ignore", invalid="ignore"):
            spread = 2 * ratio * data[f"{pair}/worst_se"] / data[f"{pair}/worst"]
        ax.errorbar(T, ratio, yerr=spread, color=COLORS[pair], marker="o", markersize=3.5, linewidth=1.6, capsize=2,
                    label=pair)
    for level, style in ((1.0, "-"), (2.0, "--"), (3.0, ":")):
        ax.axhline(level, color="black", linewidth=0.8, linestyle=style)
    ax.text(data[f"{PAIRS[0]}/T"][0], 2.05, "2×", fontsize=8, va="bottom")
    ax.text(data[f"{PAIRS[0]}/T"][0], 3.05, "3×", fontsize=8, va="bottom")
    ax.set_xscale("log")
    length_axis(ax, data[f"{PAIRS[0]}/T"])
    ax.set_ylim(0.5, 4.0)
    ax.set_ylabel("best bound / sup_R|Error| (± 2 se of the estimate)")
    ax.set_title("Is the best bound within 2× at every T?")

    ax = axes[2]
    for key, (label, color, marker) in ROUTES.items():
        x = np.concatenate([data[f"{pair}/kl_seq"] for pair in REGIMES])
        y = np.concatenate([ratios(data, pair)[key] for pair in REGIMES])
        ax.scatter(x, np.minimum(_clip(y), 1e4), s=14, color=color, marker=marker, label=label, alpha=0.85)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.axhline(2.0, color="black", linewidth=0.8, linestyle="--")
    ax.axvline(1.0, color="0.5", linewidth=0.8, linestyle=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(0.8, 1e4)
    ax.set_xlabel("D_KL^seq (exact, automaton regimes)")
    ax.set_ylabel("bound / sup_R|Error| (clipped at 10⁴)")
    ax.set_title("Which route is tight where?")
    ax.legend(loc="upper left", fontsize=8)
    for a in axes:
        a.yaxis.set_minor_locator(NullLocator())
    fig.suptitle(TITLE + " (χ² and path-moment families: this suite's, THEORY §10–§11)")
    fig.tight_layout()
    return fig


def _clip(values):
    """Infinite or overflowing bounds drawn off the top of the axis rather than dropped."""
    v = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(v), np.minimum(v, 1e30), 1e30)


def printed_numbers(data) -> dict:
    """The numbers the docs quote: per regime, sup_R|Error| ± se, the best bound, its ratio at PRINTED_T (where
    run), and the largest best/sup ratio over every T."""
    out = {}
    for pair in PAIRS:
        T = list(data[f"{pair}/T"])
        r = ratios(data, pair)
        out[f"{pair}/max_best_ratio"] = float(np.nanmax(r["best"]))
        for horizon in PRINTED_T:
            if horizon in T:
                i = T.index(horizon)
                for key in ("worst", "worst_se", "best", "kl_seq"):
                    out[f"{pair}/T={horizon}/{key}"] = float(data[f"{pair}/{key}"][i])
                out[f"{pair}/T={horizon}/best_ratio"] = float(r["best"][i])
    return out
