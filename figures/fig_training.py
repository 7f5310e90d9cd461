"""(h) The paper's Figures 1–3 in miniature, once per source of mismatch whose size depends on the
weights: a mixture-of-experts router in fp8 (rest float32), the whole forward in fp8, and
rollouts from weights 4 updates old, each against a float32 trainer (gpu_sim.training).

Per source, a block of four rows: the log-perplexity gap log_ppl_abs_diff (mean over sequences of
|mean_t log π_θ − mean_t log π_roll|), the validation reward, the share of sequences kept, and the
monotonic-improvement certificate (L̂' solid against the plug-in B̂* of the paper's family dashed
and B_χ²-max of THEORY §10 dotted). Columns: (1) token IS vs PPO clipping, (2) TRM-Max δ = 0.05
and TRM-Avg δ = 0.001 vs PPO clipping, (3) TRM-Max 0.1 and TRM-Avg 0.002 alone and combined,
(4) the mismatch itself in the token-IS and TRM-Max 0.05 runs: exact mean and max token
KL(roll‖θ), the policy's entropy, the engine's logit error and the share of tokens routed to other
experts. Curves are means over seeds with 95% t-intervals: on log axes of the log values (geometric
means), for shares clipped to [0, 1]; the certificate's bounds are medians over seeds.
"""
from __future__ import annotations

import json
from contextlib import contextmanager

import numpy as np
from scipy import stats

from matplotlib.lines import Line2D
from matplotlib.ticker import LogLocator, NullLocator

from figures.render import new_figure
from gpu_sim.training.engines import RolloutEngine
from gpu_sim.training.loop import TrainConfig, run_training
from gpu_sim.training.model import PolicyShape
from gpu_sim.training.objectives import CHI2_OBJECTIVE, OBJECTIVES

NAME = "training"
TITLE = "Training in miniature: three weight-dependent sources of mismatch"
SOURCES = (("moe_router", RolloutEngine("moe_router", "fp8")),
           ("precision", RolloutEngine("precision", "fp8")),
           ("stale", RolloutEngine("stale", "float32", staleness=4)))
SOURCE_TITLES = {"moe_router": "MoE router in fp8", "precision": "whole forward in fp8",
                 "stale": "weights 4 updates old"}
COLUMNS = (("token IS vs PPO clipping", ("token_is", "ppo_clip")),
           ("TRM-Max, TRM-Avg vs PPO clipping", ("ppo_clip", "trm_max:0.05", "trm_avg:0.001")
            + ((CHI2_OBJECTIVE,) if CHI2_OBJECTIVE in OBJECTIVES else ())),
           ("each alone vs combined (looser)", ("trm_max:0.1", "trm_avg:0.002", "trm_max:0.1,trm_avg:0.002")))
SHAPE = PolicyShape(vocab=16, window=2, embed=8, hidden=16, experts=4, top_k=2)
FULL = dict(T=256, prompts=2, group=8, steps=96, updates=2, pretrain_steps=100, validation=32, val_every=8)
FAST = dict(T=16, prompts=2, group=4, steps=4, updates=2, pretrain_steps=10, validation=8, val_every=2)
FAST_SHAPE = PolicyShape(vocab=16, window=2, embed=4, hidden=8, experts=4, top_k=2)
SEEDS = {False: 3, True: 3}
METRICS = ("log_ppl_abs_diff", "log_ppl_diff", "batch_log_ppl_gap", "kl", "k3_kl", "kl_max", "kl_mean", "chi2_max",
           "entropy", "logit_rms", "logit_err", "route_flips", "train_reward", "kept", "surrogate", "bound",
           "bound_chi2", "certificate", "certificate_chi2", "val_reward", "acceptance/trm_max:0.05",
           "acceptance/trm_avg:0.001")


def config(engine: RolloutEngine, seed: int, fast: bool, device: str = "cpu") -> TrainConfig:
    seeds = tuple(seed + s for s in range(SEEDS[fast]))
    return TrainConfig(objectives=OBJECTIVES, seeds=seeds, engine=engine, shape=FAST_SHAPE if fast else SHAPE,
                       device=device, **(FAST if fast else FULL))


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
            "sources": np.array([name for name, _ in SOURCES])}
    with _one_thread(cfg.device):
        for name, engine in SOURCES:
            run_cfg = config(engine, cfg.seed, cfg.fast, cfg.device)
            data[f"{name}/config"] = np.array(json.dumps(run_cfg.to_json(), sort_keys=True))
            out = run_training(run_cfg, progress=progress)
            for metric in METRICS:
                for objective in OBJECTIVES:
                    rows = out["objective"] == objective
                    data[f"{name}/{objective}/{metric}"] = out[metric][rows]            # [seeds, steps]
            data[f"{name}/val_steps"] = out["val_steps"]
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


def _label(objective: str) -> str:
    return {"token_is": "token IS", "ppo_clip": "PPO clip"}.get(objective, objective)


def _band(ax, x, runs, kind, label, **style):
    centre, lo, hi = interval(runs, kind)
    line, = ax.plot(x, centre, label=label, **style)
    ax.fill_between(x, lo, hi, alpha=0.18, color=line.get_color(), linewidth=0)
    return line


ROW_LABELS = ("log_ppl_abs_diff", "validation reward", "share kept", "certificate")


def plot(data):
    sources = [str(s) for s in data["sources"]]
    fig, axes = new_figure(4 * len(sources), len(COLUMNS) + 1, figsize=(16, 4.4 * len(sources)), sharex=True)
    for b, source in enumerate(sources):
        key = lambda objective, metric: data[f"{source}/{objective}/{metric}"]
        x = np.arange(1, key("ppo_clip", "kept").shape[1] + 1)
        xv = data[f"{source}/val_steps"]
        block = axes[4 * b:4 * b + 4]
        name = SOURCE_TITLES.get(source, source)
        for j, (title, objectives) in enumerate(COLUMNS):
            gap, reward, kept, cert = block[:, j]
            for objective in objectives:
                label = _label(objective)
                _band(gap, x, key(objective, "log_ppl_abs_diff"), "log", label)
                _band(reward, xv, key(objective, "val_reward"), "share", label)
                if j == 0:      # token IS and PPO keep everything: show what TRM-Max 0.05 would keep of their batches
                    _band(kept, x, key(objective, "acceptance/trm_max:0.05"), "share", f"TRM-Max 0.05 on {label}")
                else:
                    _band(kept, x, key(objective, "kept"), "share", label)
                line, = cert.plot(x, interval(key(objective, "surrogate"))[0], label=label)
                cert.plot(x, np.median(key(objective, "bound"), axis=0), linestyle="--", color=line.get_color())
                cert.plot(x, np.median(key(objective, "bound_chi2"), axis=0), linestyle=":", color=line.get_color())
            gap.set_yscale("log")
            gap.set_title(f"{name}: {title}")
            gap.legend(loc="lower left", fontsize=6)
            handles = [Line2D([], [], color="0.3", linestyle=style, label=text)
                       for style, text in (("-", "L̂′"), ("--", "B̂* (paper)"), (":", "B̂χ²-max"))]
            cert.legend(handles=handles, loc="upper right", fontsize=6, ncol=3)
            kept.legend(loc="lower left", fontsize=6)
            for ax in (reward, kept):
                ax.set_ylim(-0.02, 1.02)
            cert.set_yscale("symlog", linthresh=1e-2)
            cert.set_ylim(-1, 1e4)
            cert.set_yticks([-1, 0, 1e-2, 1, 1e2, 1e4])
        for i, label in enumerate(ROW_LABELS):
            block[i, 0].set_ylabel(label)
        kl, entropy, err, flips = block[:, -1]
        for objective in ("token_is", "trm_max:0.05"):
            label = _label(objective)
            _band(kl, x, key(objective, "kl_mean"), "log", f"mean token KL, {label}")
            _band(kl, x, key(objective, "kl_max"), "log", f"max token KL, {label}", linestyle="--")
            _band(entropy, x, key(objective, "entropy"), "linear", f"entropy of π_θ, {label}")
            _band(err, x, key(objective, "logit_err"), "log", f"logit error RMS, {label}")
            _band(flips, x, key(objective, "route_flips"), "share", f"tokens routed differently, {label}")
        kl.set_yscale("log")
        err.set_yscale("log")
        flips.set_ylim(-0.02, 1.02)
        kl.set_title(f"{name}: the mismatch over training")
        for ax in (kl, entropy, err, flips):
            ax.legend(loc="lower left", fontsize=6)
    for j in range(len(COLUMNS) + 1):
        axes[-1, j].set_xlabel("training step")
    for ax in axes.flat:                                   # few ticks: drawing stays fast
        if ax.get_yscale() == "log":
            ax.yaxis.set_major_locator(LogLocator(numticks=5))
        ax.yaxis.set_minor_locator(NullLocator())
    fig.suptitle(TITLE)
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.03, top=0.95, hspace=0.38, wspace=0.18)
    return fig


def printed_numbers(data) -> dict:
    """Per source and objective: seed means of the gap, exact mean token KL and acceptance over the
    first and last quarter of the steps, the final validation reward, and the share of steps the
    certificates held; the numbers the README quotes."""
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
            out[f"{source}|{objective}|certificate"] = float(get("certificate").mean())
            out[f"{source}|{objective}|certificate_chi2"] = float(get("certificate_chi2").mean())
    return out
