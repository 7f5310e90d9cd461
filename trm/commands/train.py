"""`trm train`: one GRPO run of the training miniature against a weight-dependent rollout engine."""
from __future__ import annotations

import numpy as np

from trm.common import emit, number, positive_int, progress

SUMMARY = ("log_ppl_abs_diff", "kl_mean", "kl_max", "entropy", "logit_rms", "logit_err", "route_flips", "kept",
           "train_reward")


def run(args) -> int:
    import torch

    from gpu_sim.device import resolve_device
    from gpu_sim.training.engines import RolloutEngine
    from gpu_sim.training.loop import TrainConfig, run_training
    from gpu_sim.training.model import PolicyShape

    shape = PolicyShape(vocab=args.vocab, window=args.window, embed=args.embed, hidden=args.hidden,
                        experts=args.experts, top_k=args.top_k)
    engine = RolloutEngine(args.source, args.precision, args.staleness)
    cfg = TrainConfig(objectives=(args.objective,), seeds=(args.seed,), engine=engine, shape=shape, T=args.T,
                      prompts=args.prompts, group=args.group, steps=args.steps, updates=args.updates, lr=args.lr,
                      pretrain_steps=args.pretrain_steps, forks=args.forks, validation=args.validation,
                      val_every=args.val_every, device=str(resolve_device(args.device)))
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    with progress(cfg.steps, "step") as bar:
        log = run_training(cfg, progress=bar.update)
    payload = {"config": {"objective": args.objective, "seed": args.seed, **cfg.to_json()}, "engine": engine.describe()}
    payload.update({key: np.asarray(value[0] if np.ndim(value) > 1 else value).tolist()
                    for key, value in log.items() if key not in ("objective", "seed")})
    q = max(1, cfg.steps // 4)
    payload["summary"] = {key: {"first_quarter": float(np.mean(log[key][0, :q])),
                                "last_quarter": float(np.mean(log[key][0, -q:]))} for key in SUMMARY}

    def human(p):
        print(f"{args.objective}: {cfg.steps} steps, T = {cfg.T}, batch {cfg.prompts}×{cfg.group}, "
              f"rollout engine: {p['engine']}")
        print(f"{'step':>5} {'reward':>7} {'log_ppl_abs_diff':>17} {'mean KL':>9} {'max KL':>9} {'kept':>5} "
              f"{'L̂′':>9} {'B̂*':>9} {'B̂χ²':>9}")
        for k in range(cfg.steps):
            print(f"{k + 1:>5} {p['train_reward'][k]:>7.3f} {p['log_ppl_abs_diff'][k]:>17.3g} {p['kl_mean'][k]:>9.3g} "
                  f"{p['kl_max'][k]:>9.3g} {p['kept'][k]:>5.2f} {p['surrogate'][k]:>9.3g} {p['bound'][k]:>9.3g} "
                  f"{p['bound_chi2'][k]:>9.3g}")
        pairs = ", ".join(f"{s}: {v:.3f}" for s, v in zip(p["val_steps"], p["val_reward"]))
        print(f"validation reward by step: {pairs}")
        print("means over the first and the last quarter of the steps:")
        for key, value in p["summary"].items():
            print(f"  {key:<17} {value['first_quarter']:>10.3g} → {value['last_quarter']:.3g}")

    emit(payload, args.json, human)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="one GRPO run of the training miniature against a weight-dependent "
                                     "rollout engine")
    p.add_argument("--objective", default="ppo_clip",
                   help="token_is | ppo_clip | a sequence criterion such as trm_max:0.05 or "
                        "'trm_max:0.1,trm_avg:0.002'")
    p.add_argument("--source", default="moe_router",
                   help="rollout engine: moe_router (router in --precision) | precision (whole forward in "
                        "--precision) | stale (float32 weights --staleness updates old) | none")
    p.add_argument("--precision", default="fp8", help="float32 | bfloat16 | fp8 (emulated e4m3 with scales)")
    p.add_argument("--staleness", type=int, default=4,
                   help="stale: how many optimiser updates old the rollout weights are")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--T", type=positive_int, default=256)
    p.add_argument("--vocab", type=positive_int, default=16)
    p.add_argument("--window", type=positive_int, default=2, help="context tokens the policy sees")
    p.add_argument("--embed", type=positive_int, default=8)
    p.add_argument("--hidden", type=positive_int, default=16)
    p.add_argument("--experts", type=positive_int, default=4)
    p.add_argument("--top-k", type=positive_int, default=2)
    p.add_argument("--forks", type=int, default=4, help="tokens with two valid successors")
    p.add_argument("--prompts", type=positive_int, default=2)
    p.add_argument("--group", type=positive_int, default=8)
    p.add_argument("--steps", type=positive_int, default=40)
    p.add_argument("--updates", type=positive_int, default=2, help="gradient steps per batch")
    p.add_argument("--lr", type=number, default=3e-3)
    p.add_argument("--pretrain-steps", type=int, default=100)
    p.add_argument("--validation", type=positive_int, default=32, help="validation sequences")
    p.add_argument("--val-every", type=positive_int, default=1, help="validate every this many steps")
    p.add_argument("--device", default="cpu", help="cpu | cuda | auto")
    p.add_argument("--threads", type=positive_int, default=None, help="CPU threads for torch (default: torch's)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
