"""`trm train`: One GRPO run of the training miniature."""
from __future__ import annotations


import numpy as np

from trm.common import emit, mismatch, number, positive_int, progress


def run(args) -> int:
    from gpu_sim.device import resolve_device
    from gpu_sim.training.loop import TrainConfig, run_training

    cfg = TrainConfig(objective=args.objective, seed=args.seed, vocab=args.vocab, hidden=args.hidden, T=args.T,
                      prompts=args.prompts, group=args.group, steps=args.steps, updates=args.updates, lr=args.lr,
                      pretrain_steps=args.pretrain_steps, rollout_dtype=args.dtype, mismatch=mismatch(args),
                      device=str(resolve_device(args.device)))
    with progress(cfg.steps, "step") as bar:
        log = run_training(cfg, progress=bar.update)
    payload = {"config": cfg.to_json(), **{key: np.asarray(value).tolist() for key, value in log.items()}}

    def human(p):
        print(f"{p['config']['objective']}: {cfg.steps} steps, T = {cfg.T}, batch {cfg.prompts}×{cfg.group}")
        print(f"{'step':>5} {'val reward':>10} {'log-PPL gap':>12} {'max KL':>9} {'kept':>6} {'L̂′':>10} {'B̂*':>10}")
        for k in range(cfg.steps):
            print(f"{k + 1:>5} {p['val_reward'][k + 1]:>10.3f} {p['log_ppl_gap'][k]:>12.4g} {p['kl_max'][k]:>9.3g} "
                  f"{p['kept'][k]:>6.2f} {p['surrogate'][k]:>10.3g} {p['bound'][k]:>10.3g}")

    emit(payload, args.json, human)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="one GRPO run of the training miniature (bf16 rollout vs fp32 trainer)")
    p.add_argument("--objective", default="ppo_clip",
                   help="token_is | ppo_clip | a sequence criterion such as trm_max:0.05 or 'trm_max:0.1,trm_avg:0.002'")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--T", type=positive_int, default=64)
    p.add_argument("--vocab", type=positive_int, default=16)
    p.add_argument("--hidden", type=positive_int, default=32)
    p.add_argument("--prompts", type=positive_int, default=8)
    p.add_argument("--group", type=positive_int, default=8)
    p.add_argument("--steps", type=positive_int, default=40)
    p.add_argument("--updates", type=positive_int, default=2, help="gradient steps per batch")
    p.add_argument("--lr", type=number, default=1e-3)
    p.add_argument("--pretrain-steps", type=int, default=60)
    p.add_argument("--dtype", default="bfloat16", help="rollout engine precision: bfloat16 | float16 | float32")
    p.add_argument("--device", default="cpu", help="cpu | cuda | auto")
    p.add_argument("--mismatch", default="flips", help="extra rollout noise: none | dense | heavy | flips | temperature")
    p.add_argument("--sigma", type=number, default=0.0)
    p.add_argument("--df", type=number, default=3.0)
    p.add_argument("--rate", type=number, default=0.005)
    p.add_argument("--flip-sigma", type=number, default=1.5)
    p.add_argument("--tau", type=number, default=1.1)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
