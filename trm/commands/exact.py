"""`trm exact`: Exact float64 quantities of a policy pair and every bound."""
from __future__ import annotations

import math

from numerics.errors import TRMInputError
from trm.common import (VACUOUS_DEFINITION, add_limit_args, bound_ratios, emit, fmt, horizon, int_range, limits,
                        output_file, print_bounds, print_mapping, vacuous)
from trm.positions import add_position_args, route as route_positions

EPILOG = """signs: error = J(π_θ) − J(π_roll) − L', with L' = E_roll[R Σ_t (ρ_t − 1)]; positive when the
surrogate underestimates the true improvement. delta_identity = Δ = E_roll[R Σ_t (ρ_t − 1)(1 − Π_(j>t) ρ_j)],
computed independently, and Error = −Δ (THEORY §2). Every bound is on |error|; a bound ≥ 1 + |L'| is vacuous:
J(π_θ) − J(π_roll) ∈ [−1, 1] for a reward in [0, 1] already says as much (|error| itself can exceed 1). KL is roll ‖ θ. In JSON +inf is the string "Infinity"; no value is NaN."""


def check_exact_size(pair, T, memory_limit: float, time_limit: float) -> int:
    """Refuse a pair whose exact engine at horizon T would exceed the limits (the engine's own plan,
    :func:`numerics.exact.plan_exact`, with the second-moment pass and the path moments of THEORY §11, about
    one weighted second moment; the weighted χ² search fits itself to what is left); returns T. A tabular
    pair's conversion to an automaton is checked first."""
    import dataclasses

    from numerics.exact import _with_second_moments, check_plan, plan_exact
    from numerics.pair import TabularPair, as_automaton
    from numerics.path_bounds import weighted_cost_seconds
    from numerics.validation import check_memory, tabular_as_automaton_bytes

    if isinstance(pair, TabularPair):
        X, V, T_pair = pair.X, pair.V, pair.T
        check_memory(tabular_as_automaton_bytes(X, V, T_pair), memory_limit,
                     f"the tabular pair as an automaton (X = {X}, V = {V}, T = {T_pair})")
    auto = as_automaton(pair, T)
    plan = _with_second_moments(plan_exact(auto), auto)
    plan = dataclasses.replace(plan, seconds=plan.seconds + weighted_cost_seconds(auto))
    check_plan(plan, memory_limit or None, time_limit or None)
    return auto.T


def run(args) -> int:
    from numerics.bounds import BoundInputs, evaluate_bound_families
    from numerics.chi2_bounds import (CHI2_FAMILY_NOTE, UNIFIED_WITH_CHI2_NOTE, Chi2Inputs, evaluate_chi2_bounds,
                                      with_chi2)
    from numerics.iid import iid_worst_case_of, is_iid_two_token
    from numerics.enumeration import DEFAULT_BUDGET, enumeration_size, exact_by_enumeration, worst_case_error
    from numerics.exact import as_automaton, exact_quantities
    from numerics.io import load_pair
    from numerics.path_bounds import BEST_NOTE, PATH_FAMILY_NOTE, with_path_bounds
    from numerics.validation import check_memory, enumeration_bytes, write_npz_atomic

    memory_limit, time_limit = limits(args)
    pair = load_pair(args.file, memory_limit)
    check_exact_size(pair, args.T, memory_limit, time_limit)
    auto = as_automaton(pair, args.T)
    budget = DEFAULT_BUDGET if args.budget is None else args.budget
    # X·V^T·T, without building a huge integer when it is astronomically beyond any budget
    size = enumeration_size(auto) if auto.T * math.log2(max(auto.V, 2)) < 100 else math.inf
    if size <= budget:
        check_memory(enumeration_bytes(size), memory_limit,
                     f"enumeration of X·V^T·T = {size:,} elements (--budget {budget:,}; lower it to skip D_TV^seq)")
    if args.method == "enumerate":
        quantities = exact_by_enumeration(auto, budget=budget)
    else:
        quantities = exact_quantities(auto, tv_seq_budget=budget, max_memory=memory_limit or None,
                                      max_seconds=time_limit or None)
    payload = quantities.to_json(positions=False)
    inputs = BoundInputs.from_exact(quantities)
    chi2 = evaluate_chi2_bounds(Chi2Inputs.from_exact(quantities))
    families = evaluate_bound_families(inputs, ("paper", "sharp"))
    path, payload["path_moments"], path_notes = _path_bounds(auto, quantities, time_limit, args.weights)
    payload["bounds"] = with_path_bounds(with_chi2(families["paper"], chi2), path)
    payload["sharp_bounds"] = with_path_bounds(with_chi2(families["sharp"], chi2), path)
    payload["chi2_notes"] = [CHI2_FAMILY_NOTE, UNIFIED_WITH_CHI2_NOTE]
    payload["path_notes"] = [PATH_FAMILY_NOTE, BEST_NOTE] + path_notes
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
    if quantities.theta_mass_off_roll_support == 0 and size <= budget:
        worst = worst_case_error(auto, budget=budget)
        method = "enumeration"
        if args.worst_reward_out:
            write_npz_atomic(args.worst_reward_out, {"reward": worst.reward, "prompt_states": worst.prompt_states},
                             "--worst-reward-out")
    elif args.worst_reward_out:
        raise TRMInputError(f"--worst-reward-out: the worst-case reward needs enumeration, which exceeds the "
                            f"budget of {budget:,} elements (X·V^T·T) or is undefined off π_roll's support")
    elif is_iid_two_token(auto):
        worst = iid_worst_case_of(auto)
        method = "binomial closed form (i.i.d. two-token pair)"
    payload["worst_case_error"] = None if worst is None else (
        worst.value if method == "enumeration" else worst.worst_case_error)
    payload["worst_case_method"] = method
    payload["bound_check"] = _bound_check(payload)
    payload["definitions"] = {"error": "J(π_θ) − J(π_roll) − L'", "delta_identity": "Δ, with error = −Δ",
                              "vacuous": VACUOUS_DEFINITION}
    route_positions(payload, {"tv_pos_mean": quantities.tv_pos_mean, "kl_pos_mean": quantities.kl_pos_mean}, args)
    emit(payload, args.json, lambda p: _human_exact(p, quantities.tv_pos_mean))
    return 0


def _path_bounds(auto, quantities, time_limit: float, weights: str):
    """(the path-moment bounds, the `path_moments` JSON object, notes): THEORY §11's inputs by DP, and the
    weighted χ² search on the grid ``weights`` (auto: what fits the time limit, at most 30 s)."""
    from numerics.path_bounds import WEIGHTED_MAX_SECONDS, PathInputs, evaluate_path_bounds, search_weighted_chi2
    from numerics.path_moments import path_moments
    from numerics.split_moments import split_sum_bounds

    notes = []
    moments = path_moments(auto)
    splits = split_sum_bounds(auto)
    budget = WEIGHTED_MAX_SECONDS if not time_limit else min(WEIGHTED_MAX_SECONDS, time_limit)
    weighted = search_weighted_chi2(auto, 2.0 * float(quantities.tv_pos_mean.sum()), grid=weights,
                                    max_seconds=budget)
    if weighted is None:
        notes.append(f"weighted_chi2: not searched (--weights {weights}; the grid's estimated time exceeds "
                     f"{budget:g} s)" if weights == "auto" else "weighted_chi2: not searched (--weights none)")
    values, params = evaluate_path_bounds(PathInputs.from_exact(quantities, moments, weighted, splits))
    if quantities.theta_mass_off_roll_support > 0:
        values = {name: math.inf for name in values}
        notes.append("π_θ puts mass where π_roll is 0: no path-moment bound applies (reported as +inf)")
    elif math.isinf(quantities.kl_seq):
        notes.append("D_KL^seq = +inf (π_θ = 0 < π_roll is reached): sequence_kl is +inf and the tangent bound is "
                     "taken at γ = 0, ½(1 + sqrt(1 + Q))")
    return values, {**moments.to_json(), **params}, notes


def _bound_check(payload: dict) -> dict:
    """Per constant family: |error|/bound and sup_R|error|/bound for every bound, whether each holds,
    and which bounds are vacuous (≥ 1 + |L'|, VACUOUS_DEFINITION)."""
    out = {}
    for family, key in (("paper", "bounds"), ("sharp", "sharp_bounds")):
        bounds = payload[key]
        row = {"error_over_bound": bound_ratios(bounds, payload["error"]),
               "holds": all(abs(payload["error"]) <= v for k, v in bounds.items()
                            if not k.startswith("argmin") and isinstance(v, (int, float))),
               "vacuous": vacuous(bounds, payload["surrogate"])}
        if payload["worst_case_error"] is not None:
            row["worst_case_over_bound"] = bound_ratios(bounds, payload["worst_case_error"])
        if not payload["bounds_apply"]:
            row["holds"] = None
        out[family] = row
    return out


def _human_exact(payload: dict, tv_pos_mean) -> None:
    print_mapping(payload, skip=("bounds_apply",))
    print(f"tv_pos_mean (D̄_t)  first {min(8, payload['T'])}: {', '.join(fmt(float(v)) for v in tv_pos_mean[:8])}")
    if payload["positions"]["file"]:
        print(f"wrote the per-position arrays to {payload['positions']['file']}")
    error = payload["error"] if payload["bounds_apply"] else None
    print_bounds("bounds (paper constants)", payload["bounds"], error, surrogate=payload["surrogate"])
    print_bounds("bounds (sharp constants)", payload["sharp_bounds"], error, surrogate=payload["surrogate"])
    if payload["worst_case_error"] is not None:
        for family, key in (("paper", "bounds"), ("sharp", "sharp_bounds")):
            B = payload[key]["unified"]
            ratio = payload["bound_check"][family]["worst_case_over_bound"]["unified"]
            print(f"sup_R |error| / B* ({family}) = {fmt(payload['worst_case_error'])} / {fmt(B)} = {fmt(ratio)}")
        if "unified_with_chi2" in payload["sharp_bounds"]:
            B2 = payload["sharp_bounds"]["unified_with_chi2"]
            ratio = payload["bound_check"]["sharp"]["worst_case_over_bound"]["unified_with_chi2"]
            print(f"sup_R |error| / B** (sharp, with this suite's χ² family) = {fmt(payload['worst_case_error'])} / "
                  f"{fmt(B2)} = {fmt(ratio)}")
    for note in payload["bound_notes"] + payload["chi2_notes"] + payload["path_notes"]:
        print(f"note: {note}")


def add_parser(sub) -> None:
    p = sub.add_parser("exact", help="exact float64 quantities and every bound for a policy-pair .npz",
                       description="Exact J, surrogate, error and divergences of a policy pair, every bound with "
                                   "|error|/bound and whether it holds.", epilog=EPILOG)
    p.add_argument("file", help="policy pair (.npz, tabular or automaton format)")
    p.add_argument("--T", type=horizon, help="horizon (required when the file stores none)")
    p.add_argument("--method", choices=("dp", "enumerate"), default="dp",
                   help="dynamic programme (linear in T) or enumeration of every sequence (the oracle)")
    p.add_argument("--budget", type=int_range(0, 2**62), default=None,
                   help="enumeration budget in X·V^T·T elements (default 4,194,304; memory about 96 bytes each)")
    p.add_argument("--worst-reward-out", metavar="PATH", type=output_file,
                   help="write the reward attaining the worst-case error to exactly this path "
                        "(.npz: reward [X, V^T], prompt_states [X])")
    p.add_argument("--weights", choices=("auto", "full", "coarse", "none"), default="auto",
                   help="the weighted χ² search (THEORY §11): full (36 weights), coarse (8), none, or auto (full or "
                        "coarse as the estimated time allows, at most 30 s)")
    add_limit_args(p)
    add_position_args(p, "tv_pos_mean = D̄_t and kl_pos_mean, T numbers each")
    p.add_argument("--json", action="store_true", help="print one JSON object (per-position arrays summarised; "
                                                        "see --positions-out and --json-positions)")
    p.set_defaults(func=run)
