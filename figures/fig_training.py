"""(h) The paper's Figures 1–3 in miniature: GRPO on a long-horizon toy task with a bfloat16 rollout
engine (plus sparse MoE-like logit flips) against a float32 trainer, over several seeds.

Columns: (1) token IS vs PPO clipping; (2) TRM-Max (δ = 0.05) and TRM-Avg (δ = 0.001) vs PPO
clipping; (3) TRM-Max (0.1) and TRM-Avg (0.002) alone and combined; (4) the sampled-token masks
frameworks ship. Rows: the log-perplexity gap |mean log π_θ − mean log π_roll|, the validation
reward, the share of sequences the objective keeps, and the monotonic-improvement certificate
(L̂' against the plug-in B̂*). Curves are seed means with 95% t-intervals.
"""
from __future__ import annotations

import json

import numpy as np
from scipy import stats

from figures.render import new_figure
from gpu_sim.training.loop import TrainConfig, run_training
from gpu_sim.training.objectives import PAPER_OBJECTIVES

NAME = "training"
TITLE = "Training in miniature: mismatch, masking and the certificate"
SEEDS = 3
COLUMNS = (("token IS vs PPO clipping", ("token_is", "ppo_clip")),
           ("TRM-Max, TRM-Avg vs PPO clipping", ("ppo_clip", "trm_max:0.05", "trm_avg:0.001")),
           ("each alone vs combined (looser)", ("trm_max:0.1", "trm_avg:0.002", "trm_max:0.1,trm_avg:0.002")),
           ("sampled-token masks", ("trm_max:0.05", "seq_max_k2:0.05", "seq_mean_k3:0.001")))
FAST = dict(T=16, hidden=16, prompts=4, group=4, steps=4, pretrain_steps=5, validation=16)
METRICS = ("log_ppl_gap", "val_reward", "kept", "surrogate", "bound", "certificate_holds", "improved", "kl_max",
           "kl_mean")


def config(objective: str, seed: int, fast: bool, device: str = "cpu") -> TrainConfig:
    return TrainConfig(objective=objective, seed=seed, device=device, **(FAST if fast else {}))


def compute(cfg, progress=None) -> dict:
    data = {"config": np.array(json.dumps(config("ppo_clip", 0, cfg.fast, cfg.device).to_json(), sort_keys=True)),
            "seeds": np.array(SEEDS)}
    for objective in PAPER_OBJECTIVES:
        for seed in range(SEEDS):
            run = run_training(config(objective, cfg.seed + seed, cfg.fast, cfg.device))
            for metric in METRICS:
                data[f"{objective}/{seed}/{metric}"] = run[metric]
            if progress is not None:
                progress()
    return data


def curves(data, objective: str, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """(mean over seeds, half-width of the 95% t-interval)."""
    runs = np.stack([data[f"{objective}/{s}/{metric}"] for s in range(int(data["seeds"]))])
    n = runs.shape[0]
    half = stats.t.ppf(0.975, n - 1) * runs.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(runs.shape[1])
    return runs.mean(axis=0), half


def plot(data):
    rows = (("log_ppl_gap", "log-PPL gap"), ("val_reward", "validation reward"), ("kept", "share kept"),
            ("certificate", "L̂' and B̂*"))
    fig, axes = new_figure(len(rows), len(COLUMNS), figsize=(13, 10), sharex=True)
    for j, (title, objectives) in enumerate(COLUMNS):
        for objective in objectives:
            for i, (metric, label) in enumerate(rows):
                ax = axes[i, j]
                if metric == "certificate":
                    mean, _ = curves(data, objective, "surrogate")
                    bound, _ = curves(data, objective, "bound")
                    line, = ax.plot(np.arange(1, len(mean) + 1), mean, label=f"L̂' {objective}")
                    ax.plot(np.arange(1, len(bound) + 1), bound, linestyle="--", color=line.get_color())
                    ax.set_yscale("symlog", linthresh=1e-3)
                    continue
                mean, half = curves(data, objective, metric)
                x = np.arange(len(mean)) if metric == "val_reward" else np.arange(1, len(mean) + 1)
                ax.plot(x, mean, label=objective)
                ax.fill_between(x, mean - half, mean + half, alpha=0.2)
                ax.set_ylabel(label if j == 0 else "")
        axes[0, j].set_title(title)
        axes[0, j].legend(fontsize=6)
        axes[-1, j].set_xlabel("training step")
    axes[-1, 0].set_ylabel("L̂' (solid), B̂* (dashed)")
    fig.suptitle(TITLE)
    fig.tight_layout()
    return fig


def printed_numbers(data) -> dict:
    return {}
