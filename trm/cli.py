"""`trm`: exact ground truth, bounds, thresholds and the paper's tables from the command line.

Every subcommand prints a human table, or with --json one JSON object on stdout. Bad input is
reported on stderr as ``trm <command>: error: <message>`` with exit code 2. JSON floats follow
Python's json module: an infinite KL (support mismatch) is written as Infinity.
"""
from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np

from numerics.errors import TRMInputError


def _emit(payload: dict, as_json: bool, human) -> None:
    if as_json:
        json.dump(payload, sys.stdout, indent=None)
        sys.stdout.write("\n")
    else:
        human(payload)


def _fmt(value) -> str:
    if value is None:
        return "unavailable"
    if isinstance(value, float):
        if math.isinf(value):
            return "inf"
        return f"{value:.6g}"
    return str(value)


def _print_mapping(payload: dict, skip=()) -> None:
    width = max(len(k) for k in payload)
    for key, value in payload.items():
        if key in skip or isinstance(value, (list, dict)):
            continue
        print(f"{key:<{width}}  {_fmt(value)}")


def _print_bounds(title: str, bounds: dict) -> None:
    print(f"\n{title}")
    for name in [k for k in bounds if k not in ("unified", "argmin")]:
        print(f"  {name:<22} {_fmt(bounds[name])}")
    print(f"  {'unified B*':<22} {_fmt(bounds['unified'])}  (attained by {bounds['argmin']})")


# ----------------------------------------------------------------------------- exact
def cmd_exact(args) -> int:
    from numerics.bounds import BoundInputs, evaluate_bounds
    from numerics.enumeration import DEFAULT_BUDGET, enumeration_size, exact_by_enumeration, worst_case_error
    from numerics.exact import as_automaton, exact_quantities
    from numerics.io import load_pair

    pair = load_pair(args.file)
    auto = as_automaton(pair, args.T)
    budget = DEFAULT_BUDGET if args.budget is None else args.budget
    if args.method == "enumerate":
        quantities = exact_by_enumeration(auto, budget=budget)
    else:
        quantities = exact_quantities(auto, tv_seq_budget=budget)
    payload = quantities.to_json()
    inputs = BoundInputs.from_exact(quantities)
    payload["bounds"] = evaluate_bounds(inputs, "paper")
    payload["sharp_bounds"] = evaluate_bounds(inputs, "sharp")
    notes = list(inputs.notes)
    if quantities.theta_mass_off_roll_support > 0:
        notes.append("π_θ puts mass on sequences π_roll cannot produce: the importance-sampling surrogate misses it "
                     "and no bound on |Error| applies")
    if math.isinf(quantities.kl_tok_max):
        notes.append(f"kl_tok_max is +inf (π_θ = 0 < π_roll at {quantities.kl_tok_max_context}): KL-driven terms "
                     "are evaluated at their cap 1")
    payload["bounds_apply"] = quantities.theta_mass_off_roll_support == 0
    payload["bound_notes"] = notes
    worst = None
    if quantities.theta_mass_off_roll_support == 0 and enumeration_size(auto) <= budget:
        worst = worst_case_error(auto, budget=budget)
        if args.worst_reward_out:
            np.savez(args.worst_reward_out, reward=worst.reward, prompt_states=worst.prompt_states)
    elif args.worst_reward_out:
        raise TRMInputError(f"--worst-reward-out: the worst-case reward needs enumeration, which exceeds the "
                            f"budget of {budget:,} elements (X·V^T·T) or is undefined off π_roll's support")
    payload["worst_case_error"] = None if worst is None else worst.value
    _emit(payload, args.json, _human_exact)
    return 0


def _human_exact(payload: dict) -> None:
    _print_mapping(payload, skip=("bounds_apply",))
    print(f"tv_pos_mean (D̄_t)  first {min(8, payload['T'])}: {', '.join(_fmt(v) for v in payload['tv_pos_mean'][:8])}")
    _print_bounds("bounds (paper constants)", payload["bounds"])
    _print_bounds("bounds (sharp constants)", payload["sharp_bounds"])
    for note in payload["bound_notes"]:
        print(f"note: {note}")


# ----------------------------------------------------------------------------- random
def _generator_params(args, family: str) -> dict:
    from numerics.generators import EntropyProfile

    profile = EntropyProfile(args.fork_fraction, args.peak, args.fork_scale)
    params = {"T": args.T, "profile": profile, "mismatch": _mismatch(args)}
    if family in ("automaton", "kgram", "tabular"):
        params["prompts"] = args.prompts
    params["vocab"] = args.vocab
    if family == "automaton":
        params.update(states=args.states, time_dependent=args.time_dependent)
    if family == "kgram":
        params["k"] = args.k
    if family == "counter":
        params["cap"] = args.cap
    if family == "tabular":
        params["binary_reward"] = args.binary_reward
    return params


def _mismatch(args):
    from numerics.generators import MismatchModel

    return MismatchModel(args.mismatch, args.sigma, args.df, args.rate, args.flip_sigma, args.tau)


def cmd_random(args) -> int:
    from numerics.generators import random_pair
    from numerics.io import save_pair

    family = args.family
    pair = random_pair(family, args.seed, **_generator_params(args, family))
    save_pair(args.out, pair)
    shape = {name: list(np.shape(getattr(pair, name))) for name in ("roll", "theta", "reward")}
    _emit({"family": family, "seed": args.seed, "out": args.out, "shapes": shape}, args.json,
          lambda p: print(f"wrote {p['out']} ({family}, seed {p['seed']}; roll {shape['roll']})"))
    return 0


# ----------------------------------------------------------------------------- simulate
SIM_FAMILIES = ("automaton", "kgram", "counter", "tabular", "neural")


def cmd_simulate(args) -> int:
    from gpu_sim.device import resolve_device, resolve_dtype
    from gpu_sim.simulate import SimulationConfig, format_estimate, simulate

    device = resolve_device(args.device)
    family, exact, T = _simulation_family(args, device, resolve_dtype)
    config = SimulationConfig(T=T, samples=args.samples, seed=args.seed, chunk=args.chunk, block=args.block,
                              criteria=tuple(args.criterion or ()), reference_delta=args.reference_delta,
                              checkpoints=tuple(args.checkpoints) if args.checkpoints else None)
    with _progress(config.samples, "seq") as bar:
        result = simulate(family, config, device, exact=exact, progress=bar.update)
    payload = result.to_json()

    def human(p):
        print(f"{config.samples} sequences of length {config.T} on {p['device']} in {p['seconds']:.2f} s")
        for key in ("J_roll", "objective_gap", "surrogate", "error", "kl_seq", "kl_seq_k1", "kl_seq_k3"):
            exact_text = ""
            if p["exact"] is not None and key in p["exact"]:
                exact_text = f"   exact {p['exact'][key]:.6g}"
            print(f"  {key:<14} {format_estimate(result.estimates[key]):<28}{exact_text}")
        print(f"  kl_tok_max_sampled {p['kl_tok_max_sampled']:.4g} (a lower estimate of δ)")
        print(f"  plug-in B* paper {p['bounds_plugin']['paper']['unified']:.4g}, "
              f"sharp {p['bounds_plugin']['sharp']['unified']:.4g}")
        for name, acc in p["acceptance"].items():
            if "acceptance" in acc:
                print(f"  acceptance {name:<28} at T={acc['T'][-1]}: {acc['acceptance'][-1]:.4f}")
            else:
                print(f"  token keep {name:<28} at T={acc['T'][-1]}: {acc['token_keep_rate'][-1]:.4f}")
        print(f"  variance reduction: {p['variance_reduction']}")

    _emit(payload, args.json, human)
    return 0


def _simulation_family(args, device, resolve_dtype):
    from gpu_sim.finite_state import FiniteStateFamily
    from gpu_sim.neural import NeuralFamily
    from numerics.exact import as_automaton, exact_quantities
    from numerics.generators import random_pair
    from numerics.io import load_pair

    if args.file and args.family:
        raise TRMInputError("give either FILE.npz or --family, not both")
    if not args.file and args.T is None:
        raise TRMInputError("--T: give the sequence length")
    if args.family == "neural":
        family = NeuralFamily(args.vocab, args.hidden, device=device, seed=args.seed,
                              rollout_dtype=resolve_dtype(args.dtype), mismatch=_mismatch(args),
                              stale_sigma=args.stale_sigma, logit_scale=args.logit_scale)
        return family, None, args.T
    if args.file:
        pair = as_automaton(load_pair(args.file), args.T)
    elif args.family in SIM_FAMILIES:
        pair = as_automaton(random_pair(args.family, args.seed, **_generator_params(args, args.family)), args.T)
    elif args.family is None:
        raise TRMInputError("give a policy-pair FILE.npz or --family NAME")
    else:
        raise TRMInputError(f"--family {args.family!r}: unknown; choose one of {', '.join(SIM_FAMILIES)}")
    q = exact_quantities(pair, tv_seq_budget=0)
    exact = {"J_roll": q.J_roll, "J_theta": q.J_theta, "objective_gap": q.J_theta - q.J_roll,
             "surrogate": q.surrogate, "error": q.error, "kl_seq": q.kl_seq, "kl_seq_k1": q.kl_seq, "kl_seq_k3": q.kl_seq,
             "kl_tok_max": q.kl_tok_max, "tv_tok_max": q.tv_tok_max}
    return FiniteStateFamily(pair, device), exact, pair.T


# ----------------------------------------------------------------------------- bounds
def cmd_bounds(args) -> int:
    from numerics.bounds import BoundInputs, evaluate_bounds

    inputs = BoundInputs.worst_case(args.T, args.kl_max, args.tv_max, args.kl_seq, args.tv_seq)
    payload = {"T": inputs.T, "kl_tok_max": inputs.kl_tok_max, "tv_tok_max": inputs.tv_tok_max,
               "kl_seq": inputs.kl_seq, "tv_seq": inputs.tv_seq, "constants": args.constants,
               "bounds": evaluate_bounds(inputs, args.constants), "notes": list(inputs.notes)}

    def human(p):
        _print_mapping(p)
        _print_bounds(f"bounds ({args.constants} constants)", p["bounds"])
        for note in p["notes"]:
            print(f"note: {note}")

    _emit(payload, args.json, human)
    return 0


# ----------------------------------------------------------------------------- threshold
def cmd_threshold(args) -> int:
    from numerics.bounds import BoundInputs, evaluate_bounds, threshold

    lengths = args.T
    rows = []
    for T in lengths:
        d = threshold(T, args.budget, args.constants)
        at = evaluate_bounds(BoundInputs.worst_case(T, d), args.constants) if math.isfinite(d) else None
        rows.append({"T": T, "kl_max_threshold": d, "unified_at_threshold": None if at is None else at["unified"],
                     "attained_by": None if at is None else at["argmin"]})
    payload = {"budget": args.budget, "constants": args.constants, "thresholds": rows}

    def human(p):
        print(f"largest δ (TRM-Max threshold) with worst-case B* ≤ {p['budget']:g}, {p['constants']} constants")
        print(f"{'T':>8}  {'δ':>12}  {'B* at δ':>10}  attained by")
        for r in p["thresholds"]:
            print(f"{r['T']:>8}  {_fmt(r['kl_max_threshold']):>12}  {_fmt(r['unified_at_threshold']):>10}  {r['attained_by']}")

    if len(rows) == 1 and args.json:
        payload.update(rows[0])
    _emit(payload, args.json, human)
    return 0


# ----------------------------------------------------------------------------- tables
def cmd_tables(args) -> int:
    from numerics.tables import all_cells, slips

    cells = all_cells()
    payload = {"cells": [c.to_json() for c in cells], "slips": [s.to_json() for s in slips()],
               "all_agree": all(c.agrees or c.slip is not None for c in cells)}

    def human(p):
        tables = list(dict.fromkeys(c["table"] for c in p["cells"]))
        for table in tables:
            print(f"\n{table}")
            for c in (c for c in p["cells"] if c["table"] == table):
                _print_cell(c)
        print("\nknown slips (THEORY §8)")
        for s in p["slips"]:
            print(f"  {s['where']}: printed “{s['printed']}”; correct: {s['correct']}")

    def _print_cell(c):
        mark = "ok" if c["agrees"] else f"slip (the slipped form gives {c['slip_value']:.6g})"
        print(f"  {c['row']:<42} {c['column']:<8} ours {c['ours']:<14.6g} printed {c['printed']:<12} {mark}")

    _emit(payload, args.json, human)
    return 0 if payload["all_agree"] else 1


# ----------------------------------------------------------------------------- proofs
def cmd_proofs(args) -> int:
    from proofs import all_derivations

    results = []
    failed = 0
    for derivation in all_derivations():
        steps = []
        for step in derivation.steps:
            verdict = "numeric" if not step.symbolic else {True: "proved", False: "refuted", None: "undecided"}[step.decide()]
            failed += verdict in ("refuted", "undecided")
            steps.append({"step": step.describe(), "verdict": verdict})
        results.append({"name": derivation.name, "statement": derivation.statement,
                        "reference": derivation.reference, "steps": steps})
    payload = {"derivations": results, "failed_steps": failed}

    def human(p):
        for d in p["derivations"]:
            print(f"\n{d['name']}: {d['statement']}  [{d['reference']}]")
            for i, s in enumerate(d["steps"], 1):
                print(f"  {i:>2}. {s['verdict']:<9} {s['step']}")
        print(f"\n{p['failed_steps']} step(s) failed")

    _emit(payload, args.json, human)
    return 0 if failed == 0 else 1


# ----------------------------------------------------------------------------- train
def cmd_train(args) -> int:
    from gpu_sim.device import resolve_device
    from gpu_sim.training.loop import TrainConfig, run_training

    cfg = TrainConfig(objective=args.objective, seed=args.seed, vocab=args.vocab, hidden=args.hidden, T=args.T,
                      prompts=args.prompts, group=args.group, steps=args.steps, updates=args.updates, lr=args.lr,
                      pretrain_steps=args.pretrain_steps, rollout_dtype=args.dtype, mismatch=_mismatch(args),
                      device=str(resolve_device(args.device)))
    with _progress(cfg.steps, "step") as bar:
        log = run_training(cfg, progress=bar.update)
    payload = {"config": cfg.to_json(), **{key: np.asarray(value).tolist() for key, value in log.items()}}

    def human(p):
        print(f"{p['config']['objective']}: {cfg.steps} steps, T = {cfg.T}, batch {cfg.prompts}×{cfg.group}")
        print(f"{'step':>5} {'val reward':>10} {'log-PPL gap':>12} {'max KL':>9} {'kept':>6} {'L̂′':>10} {'B̂*':>10}")
        for k in range(cfg.steps):
            print(f"{k + 1:>5} {p['val_reward'][k + 1]:>10.3f} {p['log_ppl_gap'][k]:>12.4g} {p['kl_max'][k]:>9.3g} "
                  f"{p['kept'][k]:>6.2f} {p['surrogate'][k]:>10.3g} {p['bound'][k]:>10.3g}")

    _emit(payload, args.json, human)
    return 0


# ----------------------------------------------------------------------------- tightness
def cmd_tightness(args) -> int:
    from numerics.tightness import tightness_survey

    with _progress(args.samples, "pairs") as bar:
        survey = tightness_survey(args.samples, args.seed, progress=bar.update)
    payload = {"samples": args.samples, "seed": args.seed, "maxima": survey.maxima()}

    def human(p):
        print(f"largest ratio over {p['samples']} random pairs (seed {p['seed']}); ≤ 1 means the bound held")
        for family, rows in p["maxima"].items():
            print(f"\n{family} constants       max |Error|/bound   max sup_R|Error|/bound   attained by")
            for name, r in rows.items():
                print(f"  {name:<22} {r['max_error_ratio']:>16.4f} {r['max_worst_ratio']:>22.4f}   {r['attained_by']}")

    _emit(payload, args.json, human)
    return 0


def _progress(total: int, unit: str):
    """A tqdm bar on stderr, hidden when stderr is not a terminal."""
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, file=sys.stderr, disable=not sys.stderr.isatty(), leave=False)


# ----------------------------------------------------------------------------- bench
def cmd_bench(args) -> int:
    if args.what == "sim":
        return _bench_sim(args)
    if args.what != "exact":
        raise TRMInputError(f"bench {args.what!r}: unknown benchmark; choose 'exact' or 'sim'")
    from numerics.benchmarks import bench_exact

    records = bench_exact(args.states, (args.vocab or [64])[0], args.T or [4096, 16384, 65536], args.repeats, args.seed)
    base = records[0]
    for r in records:
        r["time_ratio_vs_first"] = r["seconds"] / base["seconds"]
        r["length_ratio_vs_first"] = r["T"] / base["T"]
    payload = {"benchmark": "exact dynamic programme", "records": records}

    def human(p):
        print(f"{'S':>5} {'V':>5} {'T':>8} {'seconds':>9} {'ns/position':>12} {'time ×':>8} {'T ×':>6}")
        for r in p["records"]:
            print(f"{r['S']:>5} {r['V']:>5} {r['T']:>8} {r['seconds']:>9.3f} {r['ns_per_position']:>12.0f} "
                  f"{r['time_ratio_vs_first']:>8.2f} {r['length_ratio_vs_first']:>6.0f}")

    _emit(payload, args.json, human)
    return 0


def _bench_sim(args) -> int:
    from gpu_sim.bench import bench_sim
    from gpu_sim.device import resolve_device

    device = resolve_device(args.device)
    grid = [(b, t, v) for b in args.batch for t in (args.T or [4096]) for v in (args.vocab or [64, 256])]
    records = bench_sim(device, grid, states=args.states, baseline_T=args.baseline_T, seed=args.seed)
    payload = {"benchmark": "finite-state simulator vs per-step baseline", "records": records}

    def human(p):
        print(f"{'device':<8} {'batch':>6} {'T':>7} {'V':>6} {'fast tok/s':>12} {'baseline tok/s':>15} {'speedup':>8} "
              f"{'device MB':>9} {'RSS MB':>7}")
        for r in p["records"]:
            peak = "-" if r["peak_device_bytes"] is None else f"{r['peak_device_bytes'] / 2**20:.0f}"
            print(f"{r['device']:<8} {r['batch']:>6} {r['T']:>7} {r['V']:>6} {r['fast_tokens_per_s']:>12.3g} "
                  f"{r['baseline_tokens_per_s']:>15.3g} {r['speedup']:>8.1f} {peak:>9} "
                  f"{r['process_peak_rss_bytes'] / 2**20:>7.0f}")
            if "achieved_bandwidth_GBps" in r:
                print(f"         achieved ≈{r['achieved_bandwidth_GBps']:.0f} GB/s of {r['copy_bandwidth_GBps']:.0f} GB/s copy bandwidth")

    _emit(payload, args.json, human)
    return 0


# ----------------------------------------------------------------------------- parser
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if math.isnan(value):
        raise argparse.ArgumentTypeError("NaN is not a valid value")
    return value


def _add_generator_args(p) -> None:
    p.add_argument("--vocab", type=_positive_int, default=4)
    p.add_argument("--states", type=_positive_int, default=8, help="automaton: number of states")
    p.add_argument("--prompts", type=_positive_int, default=2)
    p.add_argument("--k", type=_positive_int, default=2, help="kgram: window length")
    p.add_argument("--cap", type=_positive_int, default=None, help="counter: count cap (default min(T, 32))")
    p.add_argument("--time-dependent", action="store_true", help="automaton: policies of shape (T, S, V)")
    p.add_argument("--binary-reward", action="store_true", help="tabular: rewards in {0, 1}")
    p.add_argument("--mismatch", default="dense", help="none | dense | heavy | flips | temperature")
    p.add_argument("--sigma", type=_number, default=0.1, help="logit noise scale")
    p.add_argument("--df", type=_number, default=3.0, help="heavy: Student-t degrees of freedom")
    p.add_argument("--rate", type=_number, default=0.05, help="flips: probability per context")
    p.add_argument("--flip-sigma", type=_number, default=1.0, help="flips: noise scale of a flip")
    p.add_argument("--tau", type=_number, default=1.1, help="temperature: rollout temperature")
    p.add_argument("--fork-fraction", type=_number, default=0.2, help="share of high-entropy contexts")
    p.add_argument("--peak", type=_number, default=4.0, help="logit lift of the dominant token elsewhere")
    p.add_argument("--fork-scale", type=_number, default=0.5, help="logit scale at fork contexts")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trm", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("exact", help="exact float64 quantities and every bound for a policy-pair .npz")
    p.add_argument("file", help="policy pair (.npz, tabular or automaton format)")
    p.add_argument("--T", type=_positive_int, help="horizon (required when the file stores none)")
    p.add_argument("--method", choices=("dp", "enumerate"), default="dp",
                   help="dynamic programme (linear in T) or enumeration of every sequence (the oracle)")
    p.add_argument("--budget", type=_positive_int, default=None,
                   help="enumeration budget in X·V^T·T elements (default 4,194,304)")
    p.add_argument("--worst-reward-out", metavar="PATH",
                   help="write the reward attaining the worst-case error (.npz: reward [X, V^T], prompt_states [X])")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_exact)

    p = sub.add_parser("random", help="write a seeded random policy pair")
    p.add_argument("--family", required=True, help="automaton | kgram | counter | tabular")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", required=True, help="output .npz")
    p.add_argument("--T", type=_positive_int, default=8)
    _add_generator_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_random)

    p = sub.add_parser("simulate", help="Monte-Carlo simulation of long sequences (torch; cpu or cuda)")
    p.add_argument("file", nargs="?", help="policy pair (.npz); or use --family")
    p.add_argument("--family", help="automaton | kgram | counter | tabular | neural")
    p.add_argument("--T", type=_positive_int, help="sequence length")
    p.add_argument("--samples", type=_positive_int, required=True, help="number of sequences")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--dtype", default="bfloat16", help="neural: rollout dtype (bfloat16 | float32)")
    p.add_argument("--chunk", type=_positive_int, default=1024, help="sequences per chunk (bounds memory)")
    p.add_argument("--block", type=_positive_int, default=256, help="positions per statistics block")
    p.add_argument("--criterion", action="append", metavar="SPEC",
                   help="masking criterion, e.g. trm_max:0.05 or 'trm_max:0.1,trm_avg:0.002' (AND); repeatable")
    p.add_argument("--reference-delta", type=_number, default=0.05, help="δ of the exact TRM-Max reference")
    p.add_argument("--checkpoints", type=_positive_int, nargs="+", help="lengths at which criteria are decided")
    p.add_argument("--hidden", type=_positive_int, default=64, help="neural: hidden size")
    p.add_argument("--stale-sigma", type=_number, default=0.0, help="neural: relative θ perturbation (staleness)")
    p.add_argument("--logit-scale", type=_number, default=4.0, help="neural: logit scale (lower entropy when larger)")
    _add_generator_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("train", help="one GRPO run of the training miniature (bf16 rollout vs fp32 trainer)")
    p.add_argument("--objective", default="ppo_clip",
                   help="token_is | ppo_clip | a sequence criterion such as trm_max:0.05 or 'trm_max:0.1,trm_avg:0.002'")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--T", type=_positive_int, default=64)
    p.add_argument("--vocab", type=_positive_int, default=16)
    p.add_argument("--hidden", type=_positive_int, default=32)
    p.add_argument("--prompts", type=_positive_int, default=8)
    p.add_argument("--group", type=_positive_int, default=8)
    p.add_argument("--steps", type=_positive_int, default=40)
    p.add_argument("--updates", type=_positive_int, default=2, help="gradient steps per batch")
    p.add_argument("--lr", type=_number, default=1e-3)
    p.add_argument("--pretrain-steps", type=int, default=60)
    p.add_argument("--dtype", default="bfloat16", help="rollout engine precision: bfloat16 | float16 | float32")
    p.add_argument("--device", default="cpu", help="cpu | cuda | auto")
    p.add_argument("--mismatch", default="flips", help="extra rollout noise: none | dense | heavy | flips | temperature")
    p.add_argument("--sigma", type=_number, default=0.0)
    p.add_argument("--df", type=_number, default=3.0)
    p.add_argument("--rate", type=_number, default=0.005)
    p.add_argument("--flip-sigma", type=_number, default=1.5)
    p.add_argument("--tau", type=_number, default=1.1)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("bounds", help="every bound for your own T and divergences")
    p.add_argument("--T", type=_positive_int, required=True)
    p.add_argument("--kl-max", type=_number, required=True, help="δ = max token KL(roll‖θ)")
    p.add_argument("--tv-max", type=_number, help="ε = max token TV (default min(1, sqrt(δ/2)))")
    p.add_argument("--kl-seq", type=_number, help="D_KL^seq (default Tδ)")
    p.add_argument("--tv-seq", type=_number, help="D_TV^seq (default min(1, sqrt(D_KL^seq/2)))")
    p.add_argument("--constants", choices=("paper", "sharp"), default="paper")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bounds)

    p = sub.add_parser("threshold", help="largest δ whose worst-case B* stays within an error budget")
    p.add_argument("--T", type=_positive_int, nargs="+", required=True)
    p.add_argument("--budget", type=_number, required=True, help="β, the tolerated |Error|")
    p.add_argument("--constants", choices=("paper", "sharp"), default="paper")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_threshold)

    p = sub.add_parser("tables", help="every number the paper prints, recomputed")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tables)

    p = sub.add_parser("proofs", help="check every derivation step and print the verdicts")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_proofs)

    sub.add_parser("figures", help="regenerate every figure and table: trm figures [--only NAME ...] [--fast] "
                                   "[--device D] [--out DIR] (same as python -m figures)")

    p = sub.add_parser("tightness", help="largest |Error|/bound and sup_R|Error|/bound over random pairs")
    p.add_argument("--samples", type=_positive_int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tightness)

    p = sub.add_parser("bench", help="benchmarks (not timed tests): exact | sim")
    p.add_argument("what", help="exact (dynamic programme) or sim (simulator vs per-step baseline)")
    p.add_argument("--states", type=_positive_int, default=64)
    p.add_argument("--vocab", type=_positive_int, nargs="+", default=None, help="default 64 (exact); 64 256 (sim)")
    p.add_argument("--T", type=_positive_int, nargs="+", default=None,
                   help="default 4096 16384 65536 (exact); 4096 (sim)")
    p.add_argument("--batch", type=_positive_int, nargs="+", default=[1024, 8192], help="sim: batch sizes")
    p.add_argument("--baseline-T", type=_positive_int, default=512, help="sim: positions timed for the baseline")
    p.add_argument("--device", default="auto")
    p.add_argument("--repeats", type=_positive_int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["figures"]:
        # the figure builder has its own options; hand them over untouched
        from figures.cli import main as figures_main

        return figures_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except TRMInputError as exc:
        print(f"trm {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader closed the pipe (e.g. `trm tables | head`): stop quietly
        sys.stderr.close()
        return 0
