"""`trm lower-bounds`: the worst case over policy pairs with a given statistic, found by construction (and at
small T by a search over every small pair), against the bound that statistic feeds: how much of the bound's
looseness the statistic forces (this suite's analysis; docs/lower_bounds.md)."""
from __future__ import annotations

from trm.common import add_limit_args, emit, fmt, int_range, limits, non_negative, seed

STATISTIC_CHOICES = ("kl", "kl-seq", "chi2", "additive")
#: Seconds per (binomial-sum evaluation × position), measured on the 2-core machine with
#: `trm lower-bounds --statistic additive --value 13.1 --T 65536` (about 12 s): the time estimate's unit.
SECONDS_PER_POSITION = 4e-7
#: Binomial-sum evaluations per construction, by statistic (grid and refinement, times the m and χ² grids).
EVALUATIONS = {"kl": 80, "chi2": 80, "kl_seq": 80 * 17, "additive": 80 * 6 * 9}
#: The search enumerates every sequence: these are its largest horizons (V = 2).
SEARCH_MAX_T = {"tabular": 6, "automaton": 14}

VALUE_HELP = "the statistic's value: δ (kl, kl-seq), χ²_max (chi2), Q = Σ_t E_roll[χ²(c_t)] (additive)"


def run(args) -> int:
    from numerics.errors import TRMInputError
    from numerics.lower_bound_search import search_worst_pair
    from numerics.lower_bounds import best_construction, check_statistic
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
    payload = {"statistic": statistic, "value": value, "kl_seq_cap": kl_seq, "rows": rows,
               "worst_case_is": "sup over rewards R ∈ [0, 1] of |Error| = E_roll[W⁻], exact (binomial sum for the "
                                "construction, enumeration for the search)",
               "ratio_is": "bound / worst case found: the most a better proof from the same statistic could gain "
                           "(≥ 1 whenever the bound is valid)"}

    def human(p):
        print(f"statistic {statistic} = {fmt(value)}" + (f", D_KL^seq ≤ {fmt(kl_seq)}" if kl_seq is not None else ""))
        keys = list(rows[0]["bounds"])
        head = f"{'T':>7} {'worst found':>12} " + " ".join(f"{k:>16} {'ratio':>8}" for k in keys)
        print(head + "   construction (p_roll, p_theta, m, weight)")
        for row in p["rows"]:
            best = row["worst_case_error"]
            ratios = dict(row["ratios"])
            if row["search"] is not None and row["search"]["worst_case_error"] > best:
                best, ratios = row["search"]["worst_case_error"], row["search"]["ratios"]
            c = row["construction"]
            line = f"{row['T']:>7} {fmt(best):>12} " + " ".join(f"{fmt(row['bounds'][k]):>16} {ratios[k]:>8.3g}"
                                                                 for k in keys)
            print(line + f"   ({c['p_roll']:.3g}, {c['p_theta']:.3g}, {c['m']}, {c['weight']:.3g})")
        print("ratio = bound / worst case found (B* with worst-case inputs given the statistic; 'additive' at the "
              "worst pair's own D_TV^seq); a search, where run, replaces the construction when it finds more")

    emit(payload, args.json, human)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("lower-bounds", help="the worst case over pairs with a given statistic, against its bound",
                       description="The largest sup_R|Error| found among policy pairs whose statistic equals --value "
                                   "(explicit constructions, exact at any T; with --search also a numerical search "
                                   "over every small pair), against the bound that statistic feeds, with the ratio.")
    p.add_argument("--statistic", choices=STATISTIC_CHOICES, required=True,
                   help="kl: δ → B*; kl-seq: δ and D_KL^seq ≤ --kl-seq → B*; chi2: χ²_max → B_χ²-max; "
                        "additive: Q → D_TV^seq + ½√Q")
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
