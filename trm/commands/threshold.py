"""`trm threshold`: The largest per-token divergence whose worst-case bound stays within an error
budget, i.e. the threshold a user would mask at: TRM-Max's δ (paper's B*) or TRM-χ²'s x (this
suite's χ² family)."""
from __future__ import annotations

import math


from trm.common import emit, fmt, number, positive_int


def run(args) -> int:
    if args.divergence == "chi2":
        return _run_chi2(args)
    from numerics.bounds import BoundInputs, evaluate_bounds, threshold

    lengths = args.T
    rows = []
    for T in lengths:
        d = threshold(T, args.budget, args.constants)
        at = evaluate_bounds(BoundInputs.worst_case(T, d), args.constants) if math.isfinite(d) else None
        rows.append({"T": T, "kl_max_threshold": d, "unified_at_threshold": None if at is None else at["unified"],
                     "attained_by": None if at is None else at["argmin"], "mask_with": _criterion("trm_max", d)})
    payload = {"budget": args.budget, "constants": args.constants, "divergence": "kl", "thresholds": rows}

    def human(p):
        print(f"largest δ (TRM-Max threshold) with worst-case B* ≤ {p['budget']:g}, {p['constants']} constants")
        print(f"{'T':>8}  {'δ':>12}  {'B* at δ':>10}  {'attained by':<20}  mask with")
        for r in p["thresholds"]:
            print(f"{r['T']:>8}  {fmt(r['kl_max_threshold']):>12}  {fmt(r['unified_at_threshold']):>10}  "
                  f"{str(r['attained_by']):<20}  {r['mask_with']}")

    if len(rows) == 1 and args.json:
        payload.update(rows[0])
    emit(payload, args.json, human)
    return 0


def _criterion(name: str, value: float) -> str:
    return f"{name}:{value:.4g}" if math.isfinite(value) else f"no mask needed ({name} at any threshold)"


def _run_chi2(args) -> int:
    from numerics.chi2_bounds import CHI2_FAMILY_NOTE, chi2_max_bound_closed, chi2_threshold

    rows = []
    for T in args.T:
        x = chi2_threshold(T, args.budget)
        rows.append({"T": T, "chi2_max_threshold": x,
                     "chi2_max_bound_at_threshold": chi2_max_bound_closed(T, x) if math.isfinite(x) else None,
                     "mask_with": _criterion("trm_chi2", x)})
    payload = {"budget": args.budget, "divergence": "chi2", "constants": "½ (the χ² family has one constant)",
               "thresholds": rows, "guarantee": "if every reachable context has χ²(π_θ ‖ π_roll) ≤ x, then "
               "|Error| ≤ sup_R|Error| ≤ B_χ²-max(T, x) ≤ budget for every reward in [0, 1]",
               "note": CHI2_FAMILY_NOTE}

    def human(p):
        print(f"largest χ²_max (TRM-χ² threshold) with B_χ²-max ≤ {p['budget']:g} (this suite's χ² family, THEORY §10)")
        print(f"{'T':>8}  {'x':>12}  {'B_χ²-max at x':>14}  mask with")
        for r in p["thresholds"]:
            print(f"{r['T']:>8}  {fmt(r['chi2_max_threshold']):>12}  {fmt(r['chi2_max_bound_at_threshold']):>14}  "
                  f"{r['mask_with']}")
        print(f"guarantee: {p['guarantee']}")

    if len(rows) == 1 and args.json:
        payload.update(rows[0])
    emit(payload, args.json, human)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("threshold", help="largest per-token divergence whose worst-case bound stays within an "
                                         "error budget (the threshold to mask at)")
    p.add_argument("--T", type=positive_int, nargs="+", required=True)
    p.add_argument("--budget", type=number, required=True, help="β, the tolerated |Error|")
    p.add_argument("--divergence", choices=("kl", "chi2"), default="kl",
                   help="kl: TRM-Max δ from the paper's B* (default); chi2: TRM-χ² x from this suite's χ² family")
    p.add_argument("--constants", choices=("paper", "sharp"), default="paper",
                   help="constant family of B* (kl only; the χ² family has the single constant ½)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
