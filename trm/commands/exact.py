"""`trm exact`: Exact float64 quantities of a policy pair and every bound."""
from __future__ import annotations

import math

import numpy as np

from numerics.errors import TRMInputError
from trm.common import emit, fmt, positive_int, print_bounds, print_mapping


def run(args) -> int:
    from numerics.bounds import BoundInputs, evaluate_bounds
    from numerics.chi2_bounds import (CHI2_FAMILY_NOTE, UNIFIED_WITH_CHI2_NOTE, Chi2Inputs, evaluate_chi2_bounds,
                                      with_chi2)
    from numerics.iid import iid_worst_case_of, is_iid_two_token
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
    chi2 = evaluate_chi2_bounds(Chi2Inputs.from_exact(quantities))
    payload["bounds"] = with_chi2(evaluate_bounds(inputs, "paper"), chi2)
    payload["sharp_bounds"] = with_chi2(evaluate_bounds(inputs, "sharp"), chi2)
    payload["chi2_notes"] = [CHI2_FAMILY_NOTE, UNIFIED_WITH_CHI2_NOTE]
    notes = list(inputs.notes)
    if quantities.theta_mass_off_roll_support > 0:
        notes.append("π_θ puts mass on sequences π_roll cannot produce: the importance-sampling surrogate misses it "
                     "and no bound on |Error| applies")
    if math.isinf(quantities.kl_tok_max):
        notes.append(f"kl_tok_max is +inf (π_θ = 0 < π_roll at {quantities.kl_tok_max_context}): KL-driven terms "
                     "are evaluated at their cap 1")
    payload["bounds_apply"] = quantities.theta_mass_off_roll_support == 0
    payload["bound_notes"] = notes
    worst, method = None, None
    if quantities.theta_mass_off_roll_support == 0 and enumeration_size(auto) <= budget:
        worst = worst_case_error(auto, budget=budget)
        method = "enumeration"
        if args.worst_reward_out:
            np.savez(args.worst_reward_out, reward=worst.reward, prompt_states=worst.prompt_states)
    elif args.worst_reward_out:
        raise TRMInputError(f"--worst-reward-out: the worst-case reward needs enumeration, which exceeds the "
                            f"budget of {budget:,} elements (X·V^T·T) or is undefined off π_roll's support")
    elif is_iid_two_token(auto):
        worst = iid_worst_case_of(auto)
        method = "binomial closed form (i.i.d. two-token pair)"
    payload["worst_case_error"] = None if worst is None else (
        worst.value if method == "enumeration" else worst.worst_case_error)
    payload["worst_case_method"] = method
    emit(payload, args.json, _human_exact)
    return 0


def _human_exact(payload: dict) -> None:
    print_mapping(payload, skip=("bounds_apply",))
    print(f"tv_pos_mean (D̄_t)  first {min(8, payload['T'])}: {', '.join(fmt(v) for v in payload['tv_pos_mean'][:8])}")
    print_bounds("bounds (paper constants)", payload["bounds"])
    print_bounds("bounds (sharp constants)", payload["sharp_bounds"])
    for note in payload["bound_notes"] + payload["chi2_notes"]:
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
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
