"""(h) The paper's Figures 1–3 in miniature, and whether a training step is certified to improve.

Two sets of runs per source of mismatch (gpu_sim.training; a mixture-of-experts router in fp8, the whole
forward in fp8, weights 4 updates old, and, for the certificate, no mismatch as the control):
  * the training runs (``FULL``): every objective of gpu_sim.training.objectives × three seeds × 96 steps at
    lr 3e-3, as the paper's figures; they answer how large the mismatch is and whether the policy learns;
  * the certification runs (``CERTIFY``): PPO clipping (no mask) and TRM-Max 0.05 (the paper's threshold),
    one seed, lr 3e-5, each step certified on 512 held-out rows from the step's engine at level 0.95
    (numerics.intervals.improvement_certificate: J(π_θ) − J(π_roll) ≥ L'_lower − sup_R|Error|_upper).

Four panels, one question each: (a) is the update certified to improve (the certified lower bound on
J(π_θ) − J(π_roll) per step; above 0 = certified), (b) what stands in its way (the two ends, L'_lower and
sup_R|Error|_upper), (c) how large the mismatch is (exact mean token KL(roll‖θ) over training), (d) whether
the policy learns (validation reward, PPO clipping vs TRM-Max 0.05). Curves of the training runs are seed
means (geometric on log axes) with 95% t-intervals.
"""
from __future__ import annotations

import json
from contextlib import contextmanager

import numpy as np
from scipy import stats

from matplotlib.lines import Line2D
from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator

from figures.render import new_figure
from gpu_sim.training.engines import RolloutEngine
from gpu_sim.training.loop import TrainConfig, run_training
from gpu_sim.training.model import PolicyShape
from gpu_sim.training.objectives import OBJECTIVES

NAME = "training"
TITLE = "Training in miniature: weight-dependent mismatch, and which updates are certified to improve"
SOURCES = (("moe_router", RolloutEngine("moe_router", "fp8")),
           ("precision", RolloutEngine("precision", "fp8")),
           ("stale", RolloutEngine("stale", "float32", staleness=4)))
CONTROL = ("none", RolloutEngine("none", "float32"))
SOURCE_TITLES = {"moe_router": "MoE router in fp8", "precision": "whole forward in fp8",
                 "stale": "weights 4 updates old", "none": "no mismatch (control)"}
COLORS = {"moe_router": "C0", "precision": "C3", "stale": "C2", "none": "0.45"}
CERTIFIED = ("ppo_clip", "trm_max:0.05")
SHAPE = PolicyShape(vocab=16, window=2, embed=8, hidden=16, experts=4, top_k=2)
FULL = dict(T=256, prompts=2, group=8, steps=96, updates=2, pretrain_steps=100, validation=32, val_every=8)
FAST = dict(T=16, prompts=2, group=4, steps=4, updates=2, pretrain_steps=10, validation=8, val_every=2)
CERTIFY = dict(T=256, prompts=2, group=8, steps=8, updates=2, lr=3e-5, pretrain_steps=100, validation=8,
               val_every=8, certify_rows=512)
CERTIFY_FAST = dict(T=16, prompts=2, group=4, steps=3, updates=2, lr=3e-5, pretrain_steps=10, validation=4,
                    val_every=3, certify_rows=64)
FAST_SHAPE = PolicyShape(vocab=16, window=2, embed=4, hidden=8, experts=4, top_k=2)
SEEDS = {False: 3, True: 3}
METRICS = ("log_ppl_abs_diff", "log_ppl_diff", "batch_log_ppl_gap", "kl", "k3_kl", "kl_max", "kl_mean", "chi2_max",
           "entropy", "logit_rms", "logit_err", "route_flips", "train_reward", "kept", "surrogate", "bound",
           "bound_chi2", "plugin_certificate", "plugin_certificate_chi2", "val_reward", "acceptance/trm_max:0.05",
           "acceptance/trm_avg:0.001", "certificate/holds", "certificate/improvement_lower")
CERTIFY_METRICS = ("certificate/holds", "certificate/improvement_lower", "certificate/surrogate_lower",
                   "certificate/worst_case_upper", "certificate/worst_case", "kl_mean", "kept", "surrogate")


def config(engine: RolloutEngine, seed: int, fast: bool, device: str = "cpu") -> TrainConfig:
    seeds = tuple(seed + s for s in range(SEEDS[fast]))
    return TrainConfig(objectives=OBJECTIVES, seeds=seeds, engine=engine, shape=FAST_SHAPE if fast else SHAPE,
                       device=device, **(FAST if fast else FULL))


def certify_config(engine: RolloutEngine, seed: int, fast: bool, device: str = "cpu") -> TrainConfig:
    return TrainConfig(objectives=CERTIFIED, seeds=(seed,), engine=engine, shape=FAST_SHAPE if fast else SHAPE,
                       device=device, **(CERTIFY_FAST if fast else CERTIFY))


@contextmanager
def _one_thread(device: str):
    """One CPU thread: the per-token products are small and the machine's cores are shared."""
    import torch

    if device != "cpu":
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def compute(cfg, progress=None) -> dict:
    data = {"seeds": np.array(SEEDS[cfg.fast]), "objectives": np.array(OBJECTIVES),
            "sources": np.array([name for name, _ in SOURCES]),
            "certify_sources": np.array([name for name, _ in SOURCES + (CONTROL,)])}
    with _one_thread(cfg.device):
        for name, engine in SOURCES:
            run_cfg = config(engine, cfg.seed, cfg.fast, cfg.device)
            data[f"{name}/config"] = np.array(json.dumps(run_cfg.to_json(), sort_keys=True))
            out = run_training(run_cfg, progress=progress)
            for metric in METRICS:
                for objective in OBJECTIVES:
                    data[f"{name}/{objective}/{metric}"] = out[metric][out["objective"] == objective]   # [seeds, steps]
            data[f"{name}/val_steps"] = out["val_steps"]
        for name, engine in SOURCES + (CONTROL,):
            run_cfg = certify_config(engine, cfg.seed, cfg.fast, cfg.device)
            data[f"certify/{name}/config"] = np.array(json.dumps(run_cfg.to_json(), sort_keys=True))
            out = run_training(run_cfg, progress=progress)
            for metric in CERTIFY_METRICS:
                for objective in CERTIFIED:
                    data[f"certify/{name}/{objective}/{metric}"] = out[metric][out["objective"] == objective][0]
            data["certify/level"] = out["certificate_level"]
            data["certify/method"] = out["certificate_method"]
    return data


def interval(runs: np.ndarray, kind: str = "linear") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centre, lower, upper) over seeds (axis 0) with a 95% t-interval.

    kind 'linear': arithmetic mean ± t·s/√n; 'share': the same clipped to [0, 1] (a share cannot leave
    it); 'log': the interval of log10 values mapped back (a geometric mean; positive values only)."""
    runs = np.asarray(runs, dtype=np.float64)
    if kind == "log":
        runs = np.log10(np.where(runs > 0, runs, np.nan))          # a zero has no place on a log axis
    finite = np.isfinite(runs)
    n = finite.sum(axis=0)
    centre = np.where(n > 0, np.where(finite, runs, 0.0).sum(axis=0) / np.maximum(n, 1), np.nan)
    sd = np.sqrt(np.where(finite, (runs - centre) ** 2, 0.0).sum(axis=0) / np.maximum(n - 1, 1))
    half = np.where(n > 1, stats.t.ppf(0.975, np.maximum(n - 1, 1)) * sd / np.sqrt(np.maximum(n, 1)), 0.0)
    lo, hi = centre - half, centre + half
    if kind == "log":
        return 10**centre, 10**lo, 10**hi
    if kind == "share":
        return np.clip(centre, 0, 1), np.clip(lo, 0, 1), np.clip(hi, 0, 1)
    return centre, lo, hi


def _band(ax, x, runs, kind, **style):
    centre, lo, hi = interval(runs, kind)
    line, = ax.plot(x, centre, **style)
    ax.fill_between(x, lo, hi, alpha=0.15, color=line.get_color(), linewidth=0)
    return line


STYLES = {"ppo_clip": dict(linestyle="-"), "trm_max:0.05": dict(linestyle="--")}


def plot(data):
    fig, axes = new_figure(2, 2, figsize=(11, 8.2))
    (cert, ends), (mismatch, reward) = axes
    level = float(data["certify/level"])
    run = json.loads(str(data[f"certify/{data['certify_sources'][0]}/config"]))
    for source in [str(s) for s in data["certify_sources"]]:
        color = COLORS.get(source, "k")
        for objective in CERTIFIED:
            get = lambda metric: np.asarray(data[f"certify/{source}/{objective}/{metric}"], dtype=np.float64)
            x = np.arange(1, get("certificate/holds").size + 1)
            lower, holds = get("certificate/improvement_lower"), get("certificate/holds") > 0
            cert.plot(x, lower, color=color, **STYLES[objective])
            cert.plot(x[holds], lower[holds], "o", color=color, markersize=4)
            if objective == "ppo_clip":
                ends.plot(x, get("certificate/surrogate_lower"), color=color, linestyle="-")
                ends.plot(x, get("certificate/worst_case_upper"), color=color, linestyle=":")
    cert.axhline(0.0, color="k", linewidth=0.8)
    cert.set_yscale("symlog", linthresh=1e-4)
    cert.set_ylim(-1.0, 1e-2)
    cert.set_title(f"(a) Is the update certified to improve? (level {level:g}, lr {run['lr']:g})")
    cert.set_ylabel("certified lower bound on J(π_θ) − J(π_roll)")
    cert.text(0.01, 0.97, "above 0: certified (●); TRM-Max 0.05 (dashed) keeps every row at this step size",
              transform=cert.transAxes, va="top", fontsize=8)
    ends.set_yscale("symlog", linthresh=1e-6)
    ends.set_title("(b) What stands in the way? the certificate's two ends, PPO clipping")
    ends.set_ylabel("L′ lower end (solid), sup_R|Error| upper end (dotted)")
    for ax in (cert, ends):
        ax.set_xlabel(f"training step (certification runs: one seed, {run['certify_rows']} held-out rows per step)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for source in [str(s) for s in data["sources"]]:
        color = COLORS[source]
        x = np.arange(1, np.asarray(data[f"{source}/ppo_clip/kl_mean"]).shape[1] + 1)
        _band(mismatch, x, data[f"{source}/ppo_clip/kl_mean"], "log", color=color)
        xv = data[f"{source}/val_steps"]
        for objective in CERTIFIED:
            _band(reward, xv, data[f"{source}/{objective}/val_reward"], "share", color=color, **STYLES[objective])
    mismatch.set_yscale("log")
    mismatch.set_title("(c) How large is the mismatch? exact mean token KL(roll‖θ), PPO clipping")
    mismatch.set_ylabel("mean token KL (nats)")
    reward.set_title("(d) Does the policy learn? validation reward (lr 3e-3)")
    reward.set_ylabel("validation reward")
    reward.set_ylim(-0.02, 1.02)
    for ax in (mismatch, reward):
        ax.set_xlabel("training step (training runs, lr 3e-3, three seeds)")
    for ax in axes.flat:
        if ax.get_yscale() == "log":
            ax.yaxis.set_major_locator(LogLocator(numticks=6))
        ax.yaxis.set_minor_locator(NullLocator())
    handles = [Line2D([], [], color=COLORS[s], label=SOURCE_TITLES[s] + (" (a, b)" if s == "none" else ""))
               for s in COLORS]
    handles += [Line2D([], [], color="0.3", label="PPO clipping (no mask)", **STYLES["ppo_clip"]),
                Line2D([], [], color="0.3", label="TRM-Max 0.05", **STYLES["trm_max:0.05"])]
    fig.legend(handles=handles, loc="lower center", ncol=6, fontsize=8.5)
    fig.suptitle(TITLE)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.12, top=0.92, hspace=0.32, wspace=0.25)
    return fig


def printed_numbers(data) -> dict:
    """The numbers docs cite. Training runs, per source and objective: seed means of the gap, exact mean token
    KL, acceptance and entropy over the first and last quarter of the steps, the final validation reward, the
    share of steps the plug-in comparisons L̂' > B̂* and L̂' > B_χ²-max held (no level) and the median certified
    lower bound on the 16 training rows (not independent of θ: no level). Certification runs, per source and
    objective: the share of steps certified at the stated level and the medians of the two ends."""
    out = {}
    for source in [str(s) for s in data["sources"]]:
        for objective in [str(o) for o in data["objectives"]]:
            get = lambda metric: np.asarray(data[f"{source}/{objective}/{metric}"], dtype=np.float64)
            steps = get("kept").shape[1]
            q = max(1, steps // 4)
            for metric in ("log_ppl_abs_diff", "kl_mean", "kept", "entropy"):
                out[f"{source}|{objective}|{metric}|first"] = float(get(metric)[:, :q].mean())
                out[f"{source}|{objective}|{metric}|last"] = float(get(metric)[:, -q:].mean())
            out[f"{source}|{objective}|val_reward|final"] = float(get("val_reward")[:, -1].mean())
            out[f"{source}|{objective}|plugin_certificate"] = float(get("plugin_certificate").mean())
            out[f"{source}|{objective}|plugin_certificate_chi2"] = float(get("plugin_certificate_chi2").mean())
            out[f"{source}|{objective}|training_rows_improvement_lower|median"] = float(
                np.median(get("certificate/improvement_lower")))
    for source in [str(s) for s in data["certify_sources"]]:
        for objective in CERTIFIED:
            get = lambda metric: np.asarray(data[f"certify/{source}/{objective}/{metric}"], dtype=np.float64)
            key = f"certify|{source}|{objective}"
            out[f"{key}|certified_share"] = float(get("certificate/holds").mean())
            for metric in ("improvement_lower", "surrogate_lower", "worst_case_upper", "worst_case"):
                out[f"{key}|{metric}|median"] = float(np.median(get(f"certificate/{metric}")))
            out[f"{key}|improvement_lower|max"] = float(get("certificate/improvement_lower").max())
            out[f"{key}|kl_mean|median"] = float(np.median(get("kl_mean")))
            out[f"{key}|kept|mean"] = float(get("kept").mean())
    return out
