"""`trm simulate`: Monte-Carlo simulation of long sequences."""
from __future__ import annotations

import math

from numerics.errors import TRMInputError
from trm.common import (VACUOUS_DEFINITION, add_generator_args, add_limit_args, check_generator_size, confidence_level,
                        emit, float_range, fmt, horizon, int_range, limits, mismatch, non_negative, positive_int,
                        progress, seed, vacuous, vacuous_limit)
from trm.positions import add_position_args, route as route_positions

SIM_FAMILIES = ("automaton", "kgram", "counter", "tabular", "neural")
#: An estimate is said to respect a bound when |mean| + Z·se ≤ bound, to exceed it when |mean| − Z·se > bound.
Z = 5.0

EPILOG = """signs: error = J(π_θ) − J(π_roll) − L' (positive when the surrogate L' underestimates the true
improvement); objective_gap = J(π_θ) − J(π_roll); L' = E_roll[R Σ_t(ρ_t − 1)]. Every estimate is
mean ± standard error over the sequences; '+inf' is an exact infinite KL (π_θ = 0 < π_roll); 'not reported'
marks an estimate a support violation biases (see the notes). In JSON +inf is the string "Infinity" and no
value is ever NaN."""


def run(args) -> int:
    from gpu_sim.device import resolve_device, resolve_dtype
    from gpu_sim.simulate import SimulationConfig, format_estimate, simulate

    device = resolve_device(args.device)
    family, exact, exact_bounds, T = _simulation_family(args, device, resolve_dtype)
    config = SimulationConfig(T=T, samples=args.samples, seed=args.seed, chunk=args.chunk, block=args.block,
                              criteria=tuple(args.criterion or ()), reference_delta=args.reference_delta,
                              checkpoints=tuple(args.checkpoints) if args.checkpoints else None, level=args.level)
    with progress(config.samples, "seq") as bar:
        result = simulate(family, config, device, exact=exact, progress=bar.update)
    payload = result.to_json(positions=False)
    route_positions(payload, {"tv_pos_mean": result.tv_pos_mean, "kl_pos_mean": result.kl_pos_mean,
                              "chi2_pos_mean": result.chi2_pos_mean}, args)
    payload["bound_check"] = _bound_check(result, exact, exact_bounds)
    payload["definitions"] = {"error": "J(π_θ) − J(π_roll) − L'", "objective_gap": "J(π_θ) − J(π_roll)",
                              "surrogate": "L' = E_roll[R Σ_t (ρ_t − 1)]"}

    def human(p):
        print(f"{config.samples} sequences of length {config.T} on {p['device']} in {p['seconds']:.2f} s")
        for key in ("J_roll", "objective_gap", "surrogate", "error", "kl_seq", "kl_seq_k1", "kl_seq_k3",
                    "worst_case_error", "half_mean_abs_W", "second_moment"):
            exact_text = ""
            if p["exact"] is not None and key in p["exact"]:
                exact_text = f"   exact {fmt(exact[key])}"
            text = format_estimate(result.estimates[key], result.estimate_status.get(key, "valid"))
            print(f"  {key:<16} {text:<32}{exact_text}")
        print(f"  kl_tok_max_sampled {fmt(result.kl_tok_max_sampled)} (a lower estimate of δ)")
        _print_certified(p)
        _print_bound_check(p["bound_check"])
        if "chi2" in p["bounds_plugin"]:
            print(f"  chi2_tok_max_sampled {fmt(p['chi2_tok_max_sampled'])}; plug-in χ² family (this suite's) "
                  f"{fmt(p['bounds_plugin']['chi2']['chi2_family'])} ({p['bounds_plugin']['chi2']['chi2_argmin']})")
        _print_acceptance(p["acceptance"])
        print(f"  variance reduction: {p['variance_reduction']}")
        for note in p["notes"]:
            print(f"note: {note}")
        if p["positions"]["file"]:
            print(f"wrote the per-position arrays to {p['positions']['file']}")

    emit(payload, args.json, human)
    return 0


def _bound_check(result, exact, exact_bounds) -> dict:
    """estimate/bound with its uncertainty, and whether the bound holds, for B* (paper and sharp)."""
    est, status = result.estimates["error"], result.estimate_status.get("error", "valid")
    surrogate = exact["surrogate"] if exact is not None else result.estimates["surrogate"].mean
    out = {"applies": result.bounds_apply, "z": Z, "vacuous_limit": vacuous_limit(surrogate),
           "vacuous_definition": VACUOUS_DEFINITION + ("" if exact is not None else
                                                        " (L' here is the Monte-Carlo estimate)")}
    if exact_bounds is not None:
        source, bounds = "exact B* of the pair (D_TV^seq at its Pinsker cap)", exact_bounds
    else:
        source, bounds = ("plug-in B̂* from sampled inputs (δ̂, ε̂ are lower estimates, so this is not a "
                          "rigorous bound)"), {k: result.bounds_plugin[k] for k in ("paper", "sharp")}
    out["bound_source"] = source
    for family, values in bounds.items():
        B = values["unified"]
        row = {"bound": B, "vacuous": B >= vacuous_limit(surrogate), "vacuous_bounds": vacuous(values, surrogate)}
        if status == "valid" and B > 0:
            row["error_over_bound"] = est.mean / B
            row["error_over_bound_se"] = est.se / B
            if not result.bounds_apply:
                row["holds"] = "not applicable (support violation)"
            elif abs(est.mean) + Z * est.se <= B:
                row["holds"] = "yes"
            elif abs(est.mean) - Z * est.se > B:
                row["holds"] = "no"
            else:
                row["holds"] = "undecided (the standard error is too large)"
        else:
            row["error_over_bound"] = row["error_over_bound_se"] = None
            row["holds"] = "not applicable (support violation)" if not result.bounds_apply else "undecided"
        if exact is not None and math.isfinite(exact["error"]) and B > 0:
            row["exact_error_over_bound"] = abs(exact["error"]) / B
            row["exact_holds"] = abs(exact["error"]) <= B if result.bounds_apply else None
        out[family] = row
    return out


def _print_bound_check(check: dict) -> None:
    print(f"  error/B* ({check['bound_source']}):")
    for family in ("paper", "sharp"):
        row = check[family]
        text = "unavailable" if row["error_over_bound"] is None else \
            f"{row['error_over_bound']:.3g} ± {row['error_over_bound_se']:.2g}"
        exact = f"; exact |error|/B* {row['exact_error_over_bound']:.3g}" if "exact_error_over_bound" in row else ""
        mark = f"  vacuous (B* ≥ 1 + |L'| = {check['vacuous_limit']:.3g})" if row["vacuous"] else ""
        print(f"    {family:<6} B* {fmt(row['bound'])}{mark}: estimate/B* {text}{exact}; bound holds: {row['holds']}")


def _print_certified(p: dict) -> None:
    """sup_R|Error| with its interval, and the certificate, each at the stated level."""
    w, c = p["worst_case_error_interval"], p["certificate"]
    if w is None:
        print("  sup_R|Error| interval: not applicable (π_θ has mass off π_roll's support)")
        return
    print(f"  sup_R|Error| {w['level']:.0%} interval [{fmt(w['lower'])}, {fmt(w['upper'])}] (lower distribution-free; "
          "upper assumes a normal approximation for mean((W⁻)²))")
    if c is not None:
        print(f"  certificate at level {c['level']:g}: J(π_θ) − J(π_roll) ≥ {fmt(c['improvement_lower'])}: "
              + ("certified to improve" if c["holds"] else "not certified"))


def _print_acceptance(acceptance: dict) -> None:
    """Every criterion at every checkpoint length."""
    if len(acceptance) <= 1 and "reference" in acceptance:
        ref = acceptance["reference"]
        print(f"  reference {ref['criterion']} acceptance at T={ref['T'][-1]}: {ref['acceptance'][-1]:.4f}")
        return
    for name, acc in acceptance.items():
        label = f"reference {acc['criterion']}" if name == "reference" else name
        if "token_keep_rate" in acc:
            print(f"  {label} (token mask): share of tokens kept")
            print(f"    {'T':>8} {'kept':>8}")
            for T, kept in zip(acc["T"], acc["token_keep_rate"]):
                print(f"    {T:>8} {kept:>8.4f}")
            continue
        print(f"  {label}: acceptance" + (", false masks, missed violations" if "false_mask" in acc else ""))
        print(f"    {'T':>8} {'accept':>8}" + (f" {'false':>8} {'missed':>8}" if "false_mask" in acc else ""))
        for i, T in enumerate(acc["T"]):
            line = f"    {T:>8} {acc['acceptance'][i]:>8.4f}"
            if "false_mask" in acc:
                line += f" {acc['false_mask'][i]:>8.4f} {acc['missed_violation'][i]:>8.4f}"
            print(line)


def _simulation_family(args, device, resolve_dtype):
    from gpu_sim.finite_state import FiniteStateFamily, compiled_step_available
    from gpu_sim.neural import NeuralFamily
    from numerics.bounds import BoundInputs, evaluate_bounds
    from numerics.exact import as_automaton, exact_quantities
    from numerics.generators import random_pair
    from numerics.io import load_pair
    from numerics.validation import check_memory, check_time, simulation_bytes, simulation_seconds

    if args.file and args.family:
        raise TRMInputError("give either FILE.npz or --family, not both")
    if not args.file and args.T is None:
        raise TRMInputError("--T: give the sequence length")
    memory_limit, time_limit = limits(args)
    ln = sum(c.count("ln_trm") for c in (args.criterion or ()))
    if args.family == "neural":
        need = simulation_bytes(rows=0, V=args.vocab, T=args.T, samples=args.samples, chunk=args.chunk,
                                block=args.block, ln_clauses=ln, neural_hidden=args.hidden)
        check_memory(need, memory_limit, f"the neural simulation (--vocab {args.vocab}, --hidden {args.hidden}, "
                                         f"--T {args.T}, --samples {args.samples}, --chunk {args.chunk})")
        check_time(simulation_seconds(tokens=args.T * args.samples, V=args.vocab, neural_hidden=args.hidden,
                                      chunk=min(args.chunk, args.samples), cuda=device.type == "cuda"),
                   time_limit, f"the neural simulation of --samples {args.samples} × --T {args.T} tokens")
        family = NeuralFamily(args.vocab, args.hidden, device=device, seed=args.seed,
                              rollout_dtype=resolve_dtype(args.dtype), mismatch=mismatch(args),
                              stale_sigma=args.stale_sigma, logit_scale=args.logit_scale)
        return family, None, None, args.T
    if args.file:
        pair = load_pair(args.file, memory_limit)
    elif args.family in SIM_FAMILIES:
        check_generator_size(args, args.family)
        pair = random_pair(args.family, args.seed, **generator_params_for(args))
    elif args.family is None:
        raise TRMInputError("give a policy-pair FILE.npz or --family NAME")
    else:
        raise TRMInputError(f"--family {args.family!r}: unknown; choose one of {', '.join(SIM_FAMILIES)}")
    from trm.commands.exact import check_exact_size

    T = check_exact_size(pair, args.T, memory_limit, time_limit)
    pair = as_automaton(pair, args.T)
    rows = pair.roll.reshape(-1, pair.V).shape[0]
    need = simulation_bytes(rows=rows, V=pair.V, T=T, samples=args.samples, chunk=args.chunk, block=args.block,
                            ln_clauses=ln)
    check_memory(need, memory_limit, f"the simulation ({rows} policy rows × V = {pair.V}, --T {T}, "
                                     f"--samples {args.samples}, --chunk {args.chunk})")
    check_time(simulation_seconds(tokens=T * args.samples, V=pair.V, cuda=device.type == "cuda",
                                  compiled=compiled_step_available(device)), time_limit,
               f"the simulation of --samples {args.samples} × --T {T} tokens")
    q = exact_quantities(pair, tv_seq_budget=0)
    exact = {"J_roll": q.J_roll, "J_theta": q.J_theta, "objective_gap": q.J_theta - q.J_roll,
             "surrogate": q.surrogate, "error": q.error, "kl_seq": q.kl_seq, "kl_seq_k1": q.kl_seq, "kl_seq_k3": q.kl_seq,
             "kl_tok_max": q.kl_tok_max, "tv_tok_max": q.tv_tok_max,
             "theta_mass_off_roll_support": q.theta_mass_off_roll_support}
    exact.update(_exact_second_moments(pair, q))
    inputs = BoundInputs.from_exact(q)
    exact_bounds = {"paper": evaluate_bounds(inputs, "paper"), "sharp": evaluate_bounds(inputs, "sharp")}
    return FiniteStateFamily(pair, device), exact, exact_bounds, pair.T


def generator_params_for(args) -> dict:
    from trm.common import generator_params

    return generator_params(args, args.family)


def _exact_second_moments(pair, q) -> dict:
    """E[W²], χ²_seq = E[(Π ρ)²] − 1, χ²_max, and sup_R|Error| where it is known exactly (enumeration
    within its budget, or the binomial closed form of an i.i.d. two-token pair)."""
    from numerics.enumeration import DEFAULT_BUDGET, enumeration_size, worst_case_error
    from numerics.iid import iid_worst_case_of, is_iid_two_token

    out = {"second_moment": q.second_moment, "chi2_seq": q.chi2_seq, "chi2_tok_max": q.chi2_tok_max}
    worst = None
    if q.theta_mass_off_roll_support == 0:
        if enumeration_size(pair) <= DEFAULT_BUDGET:
            worst = worst_case_error(pair).value
        elif is_iid_two_token(pair):
            worst = iid_worst_case_of(pair).worst_case_error
    if worst is not None:
        out["worst_case_error"] = out["half_mean_abs_W"] = worst
    return out


def add_parser(sub) -> None:
    p = sub.add_parser("simulate", help="Monte-Carlo simulation of long sequences (torch; cpu or cuda)",
                       description="Monte-Carlo estimates (mean ± standard error) of the surrogate error, objective "
                                   "gap, surrogate and KL of a policy pair, with criteria acceptance at every "
                                   "checkpoint and the estimate/bound ratio.", epilog=EPILOG)
    p.add_argument("file", nargs="?", help="policy pair (.npz); or use --family")
    p.add_argument("--family", help="automaton | kgram | counter | tabular | neural")
    p.add_argument("--T", type=horizon, help="sequence length (required with --family)")
    p.add_argument("--samples", type=positive_int, required=True, help="number of sequences (at least 2)")
    p.add_argument("--seed", type=seed, default=0, help="seed in [0, 2^63)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--dtype", default="bfloat16", help="neural: rollout dtype (bfloat16 | float32)")
    p.add_argument("--chunk", type=int_range(1, 2**24), default=1024, help="sequences per chunk (bounds memory)")
    p.add_argument("--block", type=int_range(1, 2**20), default=256, help="positions per statistics block")
    p.add_argument("--criterion", action="append", metavar="SPEC",
                   help="masking criterion, e.g. trm_max:0.05 or 'trm_max:0.1,trm_avg:0.002' (AND); repeatable")
    p.add_argument("--reference-delta", type=non_negative, default=0.05, help="δ of the exact TRM-Max reference")
    p.add_argument("--level", type=confidence_level, default=0.95,
                   help="confidence level of worst_case_error_interval and the certificate, in (0, 1) (default 0.95)")
    p.add_argument("--checkpoints", type=horizon, nargs="+",
                   help="lengths at which criteria are decided (default: powers of two below T, and T)")
    p.add_argument("--hidden", type=int_range(1, 2**16), default=64, help="neural: hidden size")
    p.add_argument("--stale-sigma", type=float_range(0.0, 100.0), default=0.0,
                   help="neural: relative θ perturbation (staleness)")
    p.add_argument("--logit-scale", type=float_range(0.0, 1000.0), default=4.0,
                   help="neural: logit scale (lower entropy when larger)")
    add_generator_args(p)
    add_limit_args(p)
    add_position_args(p, "tv_pos_mean, kl_pos_mean and chi2_pos_mean, T numbers each")
    p.add_argument("--json", action="store_true", help="print one JSON object (per-position arrays summarised; "
                                                        "see --positions-out and --json-positions)")
    p.set_defaults(func=run)
