"""`trm simulate`: Monte-Carlo simulation of long sequences."""
from __future__ import annotations


from numerics.errors import TRMInputError
from trm.common import add_generator_args, emit, generator_params, mismatch, number, positive_int, progress


SIM_FAMILIES = ("automaton", "kgram", "counter", "tabular", "neural")


def run(args) -> int:
    from gpu_sim.device import resolve_device, resolve_dtype
    from gpu_sim.simulate import SimulationConfig, format_estimate, simulate

    device = resolve_device(args.device)
    family, exact, T = _simulation_family(args, device, resolve_dtype)
    config = SimulationConfig(T=T, samples=args.samples, seed=args.seed, chunk=args.chunk, block=args.block,
                              criteria=tuple(args.criterion or ()), reference_delta=args.reference_delta,
                              checkpoints=tuple(args.checkpoints) if args.checkpoints else None)
    with progress(config.samples, "seq") as bar:
        result = simulate(family, config, device, exact=exact, progress=bar.update)
    payload = result.to_json()

    def human(p):
        print(f"{config.samples} sequences of length {config.T} on {p['device']} in {p['seconds']:.2f} s")
        for key in ("J_roll", "objective_gap", "surrogate", "error", "kl_seq", "kl_seq_k1", "kl_seq_k3",
                    "worst_case_error", "half_mean_abs_W", "second_moment"):
            exact_text = ""
            if p["exact"] is not None and key in p["exact"]:
                exact_text = f"   exact {p['exact'][key]:.6g}"
            print(f"  {key:<16} {format_estimate(result.estimates[key]):<28}{exact_text}")
        print(f"  kl_tok_max_sampled {p['kl_tok_max_sampled']:.4g} (a lower estimate of δ)")
        print(f"  plug-in B* paper {p['bounds_plugin']['paper']['unified']:.4g}, "
              f"sharp {p['bounds_plugin']['sharp']['unified']:.4g}")
        if "chi2" in p["bounds_plugin"]:
            print(f"  chi2_tok_max_sampled {p['chi2_tok_max_sampled']:.4g}; plug-in χ² family (this suite's) "
                  f"{p['bounds_plugin']['chi2']['chi2_family']:.4g} ({p['bounds_plugin']['chi2']['chi2_argmin']})")
        for name, acc in p["acceptance"].items():
            if "acceptance" in acc:
                print(f"  acceptance {name:<28} at T={acc['T'][-1]}: {acc['acceptance'][-1]:.4f}")
            else:
                print(f"  token keep {name:<28} at T={acc['T'][-1]}: {acc['token_keep_rate'][-1]:.4f}")
        print(f"  variance reduction: {p['variance_reduction']}")

    emit(payload, args.json, human)
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
                              rollout_dtype=resolve_dtype(args.dtype), mismatch=mismatch(args),
                              stale_sigma=args.stale_sigma, logit_scale=args.logit_scale)
        return family, None, args.T
    if args.file:
        pair = as_automaton(load_pair(args.file), args.T)
    elif args.family in SIM_FAMILIES:
        pair = as_automaton(random_pair(args.family, args.seed, **generator_params(args, args.family)), args.T)
    elif args.family is None:
        raise TRMInputError("give a policy-pair FILE.npz or --family NAME")
    else:
        raise TRMInputError(f"--family {args.family!r}: unknown; choose one of {', '.join(SIM_FAMILIES)}")
    q = exact_quantities(pair, tv_seq_budget=0)
    exact = {"J_roll": q.J_roll, "J_theta": q.J_theta, "objective_gap": q.J_theta - q.J_roll,
             "surrogate": q.surrogate, "error": q.error, "kl_seq": q.kl_seq, "kl_seq_k1": q.kl_seq, "kl_seq_k3": q.kl_seq,
             "kl_tok_max": q.kl_tok_max, "tv_tok_max": q.tv_tok_max}
    exact.update(_exact_second_moments(pair, q))
    return FiniteStateFamily(pair, device), exact, pair.T


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
    p = sub.add_parser("simulate", help="Monte-Carlo simulation of long sequences (torch; cpu or cuda)")
    p.add_argument("file", nargs="?", help="policy pair (.npz); or use --family")
    p.add_argument("--family", help="automaton | kgram | counter | tabular | neural")
    p.add_argument("--T", type=positive_int, help="sequence length")
    p.add_argument("--samples", type=positive_int, required=True, help="number of sequences")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--dtype", default="bfloat16", help="neural: rollout dtype (bfloat16 | float32)")
    p.add_argument("--chunk", type=positive_int, default=1024, help="sequences per chunk (bounds memory)")
    p.add_argument("--block", type=positive_int, default=256, help="positions per statistics block")
    p.add_argument("--criterion", action="append", metavar="SPEC",
                   help="masking criterion, e.g. trm_max:0.05 or 'trm_max:0.1,trm_avg:0.002' (AND); repeatable")
    p.add_argument("--reference-delta", type=number, default=0.05, help="δ of the exact TRM-Max reference")
    p.add_argument("--checkpoints", type=positive_int, nargs="+", help="lengths at which criteria are decided")
    p.add_argument("--hidden", type=positive_int, default=64, help="neural: hidden size")
    p.add_argument("--stale-sigma", type=number, default=0.0, help="neural: relative θ perturbation (staleness)")
    p.add_argument("--logit-scale", type=number, default=4.0, help="neural: logit scale (lower entropy when larger)")
    add_generator_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
