"""`trm train`: One GRPO run of the training miniature."""
from __future__ import annotations


import numpy as np

from trm.common import (add_limit_args, emit, float_range, int_range, limits, mismatch, non_negative_int, probability,
                        progress, seed)


def check_training_size(args) -> None:
    """Memory and time estimates of one run: the [B, T, V] float32 log-probabilities (kept with
    their autograd graph, about 12 copies) and GRU activations [B, T, H]; time from the measured
    ≈ 0.18 s per step of the default configuration (B = 64, T = 64, V = 16, H = 32), scaled by
    the work per step."""
    from numerics.validation import check_memory, check_time

    memory_limit, time_limit = limits(args)
    B = args.prompts * args.group
    need = 4 * 12 * B * args.T * (args.vocab + 4 * args.hidden) + 4 * 8 * (3 * args.hidden * (args.hidden + args.vocab))
    what = (f"the training run (--prompts {args.prompts} × --group {args.group}, --T {args.T}, --vocab {args.vocab}, "
            f"--hidden {args.hidden})")
    check_memory(need, memory_limit, what)
    work = args.T * (1e-3 + 1e-8 * B * (args.vocab + 3 * args.hidden**2))
    seconds = args.steps * (args.updates + 2) * work + args.pretrain_steps * work
    check_time(seconds, time_limit, what + f" over --steps {args.steps}")


def run(args) -> int:
    from gpu_sim.device import resolve_device
    from gpu_sim.training.loop import TrainConfig, run_training

    check_training_size(args)

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
    p = sub.add_parser("train", help="one GRPO run of the training miniature (bf16 rollout vs fp32 trainer)",
                       description="One GRPO run of the training miniature: a recurrent policy, a bfloat16 rollout "
                                   "engine with sparse logit flips against a float32 trainer, and the chosen "
                                   "objective; logs the log-perplexity gap, KL, acceptance, validation reward and "
                                   "the monotonic-improvement certificate per step.")
    p.add_argument("--objective", default="ppo_clip",
                   help="token_is | ppo_clip | a sequence criterion such as trm_max:0.05 or 'trm_max:0.1,trm_avg:0.002'")
    p.add_argument("--seed", type=seed, default=0, help="seed in [0, 2^63)")
    p.add_argument("--T", type=int_range(1, 2**20), default=64, help="response length")
    p.add_argument("--vocab", type=int_range(4, 2**16), default=16, help="vocabulary size (at least 4)")
    p.add_argument("--hidden", type=int_range(1, 2**14), default=32, help="hidden size of the recurrent policy")
    p.add_argument("--prompts", type=int_range(1, 2**16), default=8, help="prompts per batch")
    p.add_argument("--group", type=int_range(2, 2**16), default=8, help="samples per prompt (GRPO group, at least 2)")
    p.add_argument("--steps", type=int_range(1, 10**6), default=40, help="GRPO steps")
    p.add_argument("--updates", type=int_range(1, 1000), default=2, help="gradient steps per batch")
    p.add_argument("--lr", type=float_range(0.0, 10.0, above=True), default=1e-3, help="Adam learning rate")
    p.add_argument("--pretrain-steps", type=non_negative_int, default=60,
                   help="cross-entropy steps on the teacher before GRPO (0 = none)")
    p.add_argument("--dtype", default="bfloat16", help="rollout engine precision: bfloat16 | float16 | float32")
    p.add_argument("--device", default="cpu", help="cpu | cuda | auto")
    p.add_argument("--mismatch", default="flips", help="extra rollout noise: none | dense | heavy | flips | temperature")
    p.add_argument("--sigma", type=float_range(0.0, 100.0), default=0.0, help="dense/heavy: logit noise scale")
    p.add_argument("--df", type=float_range(0.5, 1e6), default=3.0, help="heavy: Student-t degrees of freedom")
    p.add_argument("--rate", type=probability, default=0.005, help="flips: probability per context")
    p.add_argument("--flip-sigma", type=float_range(0.0, 100.0), default=1.5, help="flips: noise scale of a flip")
    p.add_argument("--tau", type=float_range(0.01, 100.0), default=1.1, help="temperature: rollout temperature")
    add_limit_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
