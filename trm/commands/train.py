"""`trm train`: one GRPO run of the training miniature against a weight-dependent rollout engine."""
from __future__ import annotations

import numpy as np

from trm.common import (add_limit_args, confidence_level, emit, float_range, int_range, limits, non_negative_int,
                        positive_int, progress, seed)

SUMMARY = ("log_ppl_abs_diff", "kl_mean", "kl_max", "entropy", "logit_rms", "logit_err", "route_flips", "kept",
           "train_reward")


def check_training_size(args) -> None:
    """Memory and time estimates of one run, checked before any work: the [B, T, V] float32
    log-probabilities kept with their autograd graph (about 12 copies) and the activations [B, T, ·]
    of the mixture-of-experts policy; time scaled from the work per token and step."""
    from numerics.validation import check_memory, check_time

    memory_limit, time_limit = limits(args)
    B = args.prompts * args.group
    width = args.vocab + 4 * args.hidden + args.experts * args.hidden + args.window * args.embed
    what = (f"the training run (--prompts {args.prompts} × --group {args.group}, --T {args.T}, --vocab {args.vocab}, "
            f"--hidden {args.hidden}, --experts {args.experts})")
    check_memory(4 * 12 * B * args.T * width + 4 * 4 * args.certify_rows * args.T * width, memory_limit,
                 what + (f" with --certify-rows {args.certify_rows}" if args.certify_rows else ""))
    work = args.T * (1e-3 + 1e-8 * (B + args.certify_rows) * width * max(1, args.hidden))
    check_time(args.steps * (args.updates + 2) * work + args.pretrain_steps * work, time_limit,
               what + f" over --steps {args.steps}")


def run(args) -> int:
    import torch

    check_training_size(args)

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
                      val_every=args.val_every, device=str(resolve_device(args.device)), certify_rows=args.certify_rows,
                      level=args.level)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    with progress(cfg.steps, "step") as bar:
        log = run_training(cfg, progress=bar.update)
    payload = {"config": {"objective": args.objective, "seed": args.seed, **cfg.to_json()}, "engine": engine.describe()}
    payload.update({key: np.asarray(value[0] if np.ndim(value) > 1 else value).tolist()
                    for key, value in log.items() if key not in ("objective", "seed")})
    payload["certificate"] = {"holds": [bool(h) for h in payload.pop("certificate/holds")],
                              **{key: payload.pop(f"certificate/{key}") for key in
                                 ("improvement_lower", "surrogate_lower", "worst_case_upper", "worst_case")},
                              "level": payload.pop("certificate_level"), "method": payload.pop("certificate_method"),
                              "rows": payload.pop("certificate_rows")}
    q = max(1, cfg.steps // 4)
    payload["summary"] = {key: {"first_quarter": float(np.mean(log[key][0, :q])),
                                "last_quarter": float(np.mean(log[key][0, -q:]))} for key in SUMMARY}

    def human(p):
        print(f"{args.objective}: {cfg.steps} steps, T = {cfg.T}, batch {cfg.prompts}×{cfg.group}, "
              f"rollout engine: {p['engine']}")
        c = p["certificate"]
        print(f"{'step':>5} {'reward':>7} {'log_ppl_abs_diff':>17} {'mean KL':>9} {'max KL':>9} {'kept':>5} "
              f"{'L̂′':>9} {'B̂*':>9} {'B̂χ²':>9} {'certified ≥':>12}")
        for k in range(cfg.steps):
            print(f"{k + 1:>5} {p['train_reward'][k]:>7.3f} {p['log_ppl_abs_diff'][k]:>17.3g} {p['kl_mean'][k]:>9.3g} "
                  f"{p['kl_max'][k]:>9.3g} {p['kept'][k]:>5.2f} {p['surrogate'][k]:>9.3g} {p['bound'][k]:>9.3g} "
                  f"{p['bound_chi2'][k]:>9.3g} {c['improvement_lower'][k]:>12.3g}" + ("  certified" if c["holds"][k] else ""))
        print(f"B̂*, B̂χ²: plug-in (no level). certified ≥: J(π_θ) − J(π_roll) at level {c['level']:g} on {c['rows']} rows; "
              f"{sum(c['holds'])} of {cfg.steps} steps certified to improve")
        pairs = ", ".join(f"{s}: {v:.3f}" for s, v in zip(p["val_steps"], p["val_reward"]))
        print(f"validation reward by step: {pairs}")
        print("means over the first and the last quarter of the steps:")
        for key, value in p["summary"].items():
            print(f"  {key:<17} {value['first_quarter']:>10.3g} → {value['last_quarter']:.3g}")

    emit(payload, args.json, human)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="one GRPO run of the training miniature against a weight-dependent "
                                     "rollout engine",
                       description="One GRPO run of the training miniature: a small mixture-of-experts policy, a "
                                   "rollout engine whose divergence from the float32 trainer depends on the weights "
                                   "(router or whole forward in reduced precision, or stale weights), and the chosen "
                                   "objective; logs verl's metrics, KL, acceptance, reward and both certificates.")
    p.add_argument("--objective", default="ppo_clip",
                   help="token_is | ppo_clip | a sequence criterion such as trm_max:0.05 or "
                        "'trm_max:0.1,trm_avg:0.002'")
    p.add_argument("--source", default="moe_router", choices=("moe_router", "precision", "stale", "none"),
                   help="rollout engine: moe_router (router in --precision) | precision (whole forward in "
                        "--precision) | stale (float32 weights --staleness updates old) | none")
    p.add_argument("--precision", default="fp8", choices=("float32", "bfloat16", "fp8"),
                   help="float32 | bfloat16 | fp8 (emulated e4m3 with scales)")
    p.add_argument("--staleness", type=int_range(0, 10**4), default=4,
                   help="stale: how many optimiser updates old the rollout weights are")
    p.add_argument("--seed", type=seed, default=0, help="seed in [0, 2^63)")
    p.add_argument("--T", type=int_range(1, 2**20), default=256, help="response length")
    p.add_argument("--vocab", type=int_range(4, 2**16), default=16, help="vocabulary size (at least 4)")
    p.add_argument("--window", type=int_range(1, 64), default=2, help="context tokens the policy sees")
    p.add_argument("--embed", type=int_range(1, 2**12), default=8, help="embedding size")
    p.add_argument("--hidden", type=int_range(1, 2**14), default=16, help="hidden size of each expert")
    p.add_argument("--experts", type=int_range(1, 256), default=4, help="experts of the mixture")
    p.add_argument("--top-k", type=int_range(1, 256), default=2, help="experts each token is routed to")
    p.add_argument("--forks", type=non_negative_int, default=4, help="tokens with two valid successors")
    p.add_argument("--prompts", type=int_range(1, 2**16), default=2, help="prompts per batch")
    p.add_argument("--group", type=int_range(2, 2**16), default=8, help="samples per prompt (GRPO group, at least 2)")
    p.add_argument("--steps", type=int_range(1, 10**6), default=40, help="GRPO steps")
    p.add_argument("--updates", type=int_range(1, 1000), default=2, help="gradient steps per batch")
    p.add_argument("--lr", type=float_range(0.0, 10.0, above=True), default=3e-3, help="Adam learning rate")
    p.add_argument("--pretrain-steps", type=non_negative_int, default=100,
                   help="cross-entropy steps before GRPO (0 = none)")
    p.add_argument("--validation", type=positive_int, default=32, help="validation sequences")
    p.add_argument("--val-every", type=positive_int, default=1, help="validate every this many steps")
    p.add_argument("--device", default="cpu", help="cpu | cuda | auto")
    p.add_argument("--threads", type=int_range(1, 1024), default=None, help="CPU threads for torch (default: torch's)")
    p.add_argument("--certify-rows", type=non_negative_int, default=0,
                   help="held-out sequences per step for the certificate (0: the training batch, no stated level)")
    p.add_argument("--level", type=confidence_level, default=0.95, help="confidence level of the certificate, in (0, 1)")
    add_limit_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
