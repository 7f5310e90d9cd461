"""`trm threshold`: The largest δ whose worst-case B* stays within an error budget."""
from __future__ import annotations

import math


from trm.common import add_limit_args, emit, float_range, fmt, int_range, limits

#: The bisection evaluates every bound about 45 times at length T.
SECONDS_PER_POSITION = 45 * 3e-7


def run(args) -> int:
    from numerics.bounds import BoundInputs, evaluate_bounds, threshold
    from numerics.validation import check_memory, check_time

    memory_limit, time_limit = limits(args)
    check_memory(400 * max(args.T), memory_limit, f"the bounds at --T {max(args.T):,}")
    check_time(SECONDS_PER_POSITION * sum(args.T) * len(args.budget), time_limit,
               f"{len(args.T) * len(args.budget)} threshold search(es) up to --T {max(args.T):,}")
    rows = []
    for budget in args.budget:
        for T in args.T:
            d = threshold(T, budget, args.constants)
            at = evaluate_bounds(BoundInputs.worst_case(T, d), args.constants) if math.isfinite(d) else None
            rows.append({"T": T, "budget": budget, "kl_max_threshold": d,
                         "unified_at_threshold": None if at is None else at["unified"],
                         "attained_by": None if at is None else at["argmin"],
                         "within_budget": True if at is None else at["unified"] <= budget})
    payload = {"budget": args.budget[0] if len(args.budget) == 1 else list(args.budget), "constants": args.constants,
               "thresholds": rows}

    def human(p):
        print(f"largest δ (TRM-Max threshold) with worst-case B* ≤ β, {p['constants']} constants")
        print(f"{'β':>10}  {'T':>8}  {'δ':>12}  {'B* at δ':>10}  attained by")
        for r in p["thresholds"]:
            print(f"{r['budget']:>10g}  {r['T']:>8}  {fmt(r['kl_max_threshold']):>12}  "
                  f"{fmt(r['unified_at_threshold']):>10}  {r['attained_by']}")

    if len(rows) == 1 and args.json:
        payload.update(rows[0])
    emit(payload, args.json, human)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("threshold", help="largest δ whose worst-case B* stays within an error budget",
                       description="The largest δ (TRM-Max threshold) whose worst-case unified bound B* stays within "
                                   "each error budget β, for every T given (every pair of T and β).")
    p.add_argument("--T", type=int_range(1, 2**40), nargs="+", required=True, help="sequence length(s)")
    p.add_argument("--budget", type=float_range(0.0, above=True), nargs="+", required=True,
                   help="β, the tolerated |Error| (one or several values; every T is paired with every β)")
    p.add_argument("--constants", choices=("paper", "sharp"), default="paper",
                   help="paper (C = 4) or sharp (C = 2) constants")
    add_limit_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
