"""`trm threshold`: The largest δ whose worst-case B* stays within an error budget."""
from __future__ import annotations

import math


from trm.common import emit, fmt, number, positive_int


def run(args) -> int:
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
            print(f"{r['T']:>8}  {fmt(r['kl_max_threshold']):>12}  {fmt(r['unified_at_threshold']):>10}  {r['attained_by']}")

    if len(rows) == 1 and args.json:
        payload.update(rows[0])
    emit(payload, args.json, human)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("threshold", help="largest δ whose worst-case B* stays within an error budget")
    p.add_argument("--T", type=positive_int, nargs="+", required=True)
    p.add_argument("--budget", type=number, required=True, help="β, the tolerated |Error|")
    p.add_argument("--constants", choices=("paper", "sharp"), default="paper")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
