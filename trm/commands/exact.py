"""`trm exact`: Exact float64 quantities of a policy pair and every bound."""
from __future__ import annotations

import math

import numpy as np

from numerics.errors import TRMInputError
from numerics.exact import DEFAULT_MAX_MEMORY, DEFAULT_MAX_SECONDS
from trm.common import byte_size, emit, fmt, number, positive_int, print_bounds, print_mapping


def run(args) -> int:
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
        quantities = exact_quantities(auto, tv_seq_budget=budget, max_memory=args.max_memory,
                                      max_seconds=args.max_seconds)
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
    emit(payload, args.json, _human_exact)
    return 0


def _human_exact(payload: dict) -> None:
    print_mapping(payload, skip=("bounds_apply",))
    print(f"tv_pos_mean (D̄_t)  first {min(8, payload['T'])}: {', '.join(fmt(v) for v in payload['tv_pos_mean'][:8])}")
    print_bounds("bounds (paper constants)", payload["bounds"])
    print_bounds("bounds (sharp constants)", payload["sharp_bounds"])
    for note in payload["bound_notes"]:
        print(f"note: {note}")


def add_parser(sub) -> None:
    p = sub.add_parser("exact", help="exact float64 quantities and every bound for a policy-pair .npz")
    p.add_argument("file", help="policy pair (.npz, tabular or automaton format)")
    p.add_argument("--T", type=positive_int, help="horizon (required when the file stores none)")
    p.add_argument("--method", choices=("dp", "enumerate"), default="dp",
                   help="dynamic programme (linear in T) or enumeration of every sequence (the oracle)")
    p.add_argument("--budget", type=positive_int, default=None,
                   help="enumeration budget in X·V^T·T elements (default 4,194,304)")
    p.add_argument("--worst-reward-out", metavar="PATH",
                   help="write the reward attaining the worst-case error (.npz: reward [X, V^T], prompt_states [X])")
    p.add_argument("--max-memory", type=byte_size, default=DEFAULT_MAX_MEMORY, metavar="SIZE",
                   help="refuse when the engine's estimated working memory exceeds SIZE (default 4G)")
    p.add_argument("--max-seconds", type=number, default=DEFAULT_MAX_SECONDS, metavar="S",
                   help="refuse when the engine's estimated time exceeds S seconds (default 600)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
