"""`trm lower-bounds`: the worst case over policy pairs with a given statistic, found by construction (and at
small T by a search over every small pair), against every bound of the suite that reads only that statistic
(numerics.statistic_bounds) and the best of them: how much of each bound's looseness the statistic forces (this
suite's analysis; docs/lower_bounds.md)."""
from __future__ import annotations

from trm.common import add_limit_args, emit, fmt, int_range, limits, non_negative, seed

STATISTIC_CHOICES = ("kl", "kl-seq", "chi2", "additive")
#: Seconds per (binomial-sum evaluation × position): the time estimate's unit, an upper model (on the 2-core machine
#: `trm lower-bounds --statistic additive --value 13.1072 --T 65536` takes about 6 s where the model says 156 s).
SECONDS_PER_POSITION = 4e-7
#: Binomial-sum evaluations per construction, by statistic (grid and refinement, times the m and χ² grids; for
#: 'additive' two refinements share each grid: the witness of D_TV^seq + ½√Q and the largest worst case given Q).
EVALUATIONS = {"kl": 80, "chi2": 80, "kl_seq": 80 * 17, "additive": 110 * 6 * 9}
#: The search enumerates every sequence: these are its largest horizons (V = 2).
SEARCH_MAX_T = {"tabular": 6, "automaton": 14}

VALUE_HELP = "the statistic's value: δ (kl, kl-seq), χ²_max (chi2), Q = Σ_t E_roll[χ²(c_t)] (additive)"


def run(args) -> int:
    from numerics.errors import TRMInputError
    from numerics.lower_bound_search import search_worst_pair
    from numerics.lower_bounds import best_construction, check_statistic
    from numerics.statistic_bounds import BOUND_KEYS, KERNEL
    from numerics.validation import check_time

    statistic = args.statistic.replace("-", "_")
    statistic, value, kl_seq = check_statistic(statistic, args.value, args.kl_seq)
    if args.search:
        too_long = [T for T in args.T if T > SEARCH_MAX_T[args.family]]
        if too_long:
            raise TRMInputError(f"--search with --T {too_long[0]}: the {args.family} search enumerates every sequence, "
                                f"so --T must be at most {SEARCH_MAX_T[args.family]} (drop --search for longer T)")
    estimate = sum(SECONDS_PER_POSITION * EVALUATIONS[statistic] * T for T in args.T)
    check_time(estimate, limits(args)[1], f"the constructions at --T {' '.join(map(str, args.T))}")
    rows = []
    for T in args.T:
        lb = best_construction(statistic, value, T, kl_seq)
        row = lb.to_json()
        row["search"] = None
        if args.search:
            r = search_worst_pair(statistic, value, T, kl_seq=kl_seq, family=args.family, states=args.states,
                                  restarts=args.restarts, maxiter=args.maxiter, seed=args.seed)
            row["search"] = r.to_json()
        rows.append(row)
    payload = {"statistic": statistic, "value": value, "kl_seq_cap": kl_seq, "bound_keys": list(BOUND_KEYS[statistic]),
               "kernel": dict(KERNEL[statistic]), "rows": rows,
               "worst_case_is": "sup over rewards R ∈ [0, 1] of |Error| = E_roll[W⁻], exact (binomial sum for the "
                                "construction, enumeration for the search)",
               "ratio_is": "bound / worst case found: the most a better proof from the same statistic could gain "
                           "(≥ 1 whenever the bound is valid)",
               "best_is": "the smallest bound that reads only the statistic; worst found ≤ worst case over every pair "
                          "≤ best, so bound / best is the least that bound's proof loses",
               "witness_is": "for a bound that also reads the pair's own D_TV^seq ('additive' under 'additive'): the "
                             "member minimising that bound's ratio; its ratio is bound / worst at the witness"}

    def human(p):
        print(f"statistic {statistic} = {fmt(value)}" + (f", D_KL^seq ≤ {fmt(kl_seq)}" if kl_seq is not None else ""))
        keys = p["bound_keys"]
        head = f"{'T':>7} {'worst found':>12} " + " ".join(f"{k:>22}" for k in keys)
        print(head + f" {'best (statistic only)':>36}   construction (p_roll, p_theta, m, weight)")
        for row in p["rows"]:
            worst, ratios, bounds, best = row["worst_case_error"], dict(row["ratios"]), row["bounds"], row["best"]
            search = row["search"]
            if search is not None and search["worst_case_error"] > worst:
                worst, ratios, bounds, best = (search["worst_case_error"], search["ratios"], search["bounds"],
                                               search["best"])
            c = row["construction"]
            cells = " ".join(f"{fmt(bounds[k]) + ' ×' + format(ratios[k], '.4g'):>22}" for k in keys)
            best_cell = f"{best['bound']} {fmt(best['value'])} ×{best['ratio']:.4g}"
            print(f"{row['T']:>7} {fmt(worst):>12} {cells} {best_cell:>36}   "
                  f"({c['p_roll']:.3g}, {c['p_theta']:.3g}, {c['m']}, {c['weight']:.3g})")
        print("each cell: bound ×(bound / worst case found), every input the statistic leaves open at its worst case "
              "('additive' under 'additive': at its witness pair's own D_TV^seq, ratio at that pair); best = the "
              "smallest bound from the statistic alone; a search, where run, replaces the construction when it finds "
              "more")

    emit(payload, args.json, human)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("lower-bounds", help="the worst case over pairs with a given statistic, against the bounds "
                                            "it feeds",
                       description="The largest sup_R|Error| found among policy pairs whose statistic equals --value "
                                   "(explicit constructions, exact at any T; with --search also a numerical search "
                                   "over every small pair), against every bound of the suite that reads only that "
                                   "statistic and the best of them, with the ratios.")
    p.add_argument("--statistic", choices=STATISTIC_CHOICES, required=True,
                   help="kl: δ → B*, sequence_kl (Tδ), the KL ceiling; kl-seq: δ and D_KL^seq ≤ --kl-seq → the same; "
                        "chi2: χ²_max → B_χ²-max, the tangent bound at γ = 0 and 1 + ½√Q at Q = Tχ²_max; "
                        "additive: Q → the tangent bound at γ = 0, 1 + ½√Q, and D_TV^seq + ½√Q at a witness pair")
    p.add_argument("--value", type=non_negative, required=True, help=VALUE_HELP)
    p.add_argument("--kl-seq", type=non_negative, default=None, help="kl-seq: the cap D on D_KL^seq")
    p.add_argument("--T", type=int_range(1, 2**20), nargs="+", required=True, help="sequence length(s)")
    p.add_argument("--search", action="store_true", help="also search every small pair (T ≤ 6 tabular, ≤ 14 automaton)")
    p.add_argument("--family", choices=("tabular", "automaton"), default="tabular", help="the search's pairs")
    p.add_argument("--states", type=int_range(1, 64), default=4, help="automaton search: number of states")
    p.add_argument("--restarts", type=int_range(1, 1000), default=4, help="search: seeded restarts")
    p.add_argument("--maxiter", type=int_range(1, 100000), default=200, help="search: L-BFGS-B iterations per restart")
    p.add_argument("--seed", type=seed, default=0, help="search: seed in [0, 2^63)")
    add_limit_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
