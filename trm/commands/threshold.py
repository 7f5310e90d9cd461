"""`trm threshold`: The largest value of a masking criterion's statistic whose worst-case bound stays within
an error budget, i.e. the threshold a user would mask at: TRM-Max's δ (the paper's B*, and the minimum over
every bound a δ controls, this suite's sequence-KL bound included), TRM-Avg's δ_avg (this suite's sequence-KL
bound, THEORY §11) or TRM-χ²'s x (this suite's χ² family).

What a threshold means, for any bound: the largest value x of the criterion's statistic such that, if every
sequence π_roll can produce satisfies "statistic ≤ x" (every reachable context, for a per-token maximum), the
bound with every input it needs at its worst case given x stays within β. A bound whose inputs are not one
per-token divergence (the sequence-KL bound's D_KL^seq) gets a threshold through the criterion that controls
its input: max_t D_KL(c_t) ≤ δ and (1/T) Σ_t D_KL(c_t) ≤ δ_avg both give D_KL^seq ≤ Tδ."""
from __future__ import annotations

import math


from trm.common import add_limit_args, emit, float_range, fmt, int_range, limits

#: The bisection evaluates every bound about 45 times at length T.
SECONDS_PER_POSITION = 45 * 3e-7


def run(args) -> int:
    if args.divergence == "chi2":
        return _run_chi2(args)
    if args.divergence == "kl-avg":
        return _run_kl_avg(args)
    from numerics.bounds import BoundInputs, evaluate_bounds, threshold
    from numerics.path_bounds import sequence_kl_threshold
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
            seq = sequence_kl_threshold(T, budget)
            best = max(d, seq)
            rows.append({"T": T, "budget": budget, "kl_max_threshold": d,
                         "unified_at_threshold": None if at is None else at["unified"],
                         "attained_by": None if at is None else at["argmin"],
                         "within_budget": True if at is None else at["unified"] <= budget,
                         "mask_with": _criterion("trm_max", d),
                         "kl_max_threshold_sequence_kl": seq,
                         "kl_max_threshold_best": best,
                         "best_bound": "unified" if d >= seq else "sequence_kl",
                         "mask_with_best": _criterion("trm_max", best)})
    payload = {"budget": _budget_field(args.budget), "constants": args.constants, "divergence": "kl",
               "thresholds": rows,
               "threshold_meaning": "the largest δ such that, if every reachable context has D_KL(c) ≤ δ, the bound "
                                    "with every other input at its worst case given δ is ≤ β",
               "best_meaning": "kl_max_threshold_best = max over the bounds a δ controls (the paper's B*, and this "
                               "suite's sequence_kl: sup_R|Error| ≤ D_KL^seq ≤ Tδ, THEORY §11) of their thresholds"}

    def human(p):
        print(f"largest δ (TRM-Max threshold) with a worst-case bound ≤ β: B* ({p['constants']} constants) and the "
              "best over every bound δ controls (B*, this suite's D_KL^seq ≤ Tδ)")
        print(f"{'β':>10}  {'T':>8}  {'δ (B*)':>12}  {'B* at δ':>10}  {'attained by':<20}  {'δ (best)':>12}  "
              f"{'by':<12}  mask with")
        for r in p["thresholds"]:
            print(f"{r['budget']:>10g}  {r['T']:>8}  {fmt(r['kl_max_threshold']):>12}  "
                  f"{fmt(r['unified_at_threshold']):>10}  {str(r['attained_by']):<20}  "
                  f"{fmt(r['kl_max_threshold_best']):>12}  {r['best_bound']:<12}  {r['mask_with_best']}")

    if len(rows) == 1 and args.json:
        payload.update(rows[0])
    emit(payload, args.json, human)
    return 0


def _budget_field(budgets):
    return budgets[0] if len(budgets) == 1 else list(budgets)


def _criterion(name: str, value: float) -> str:
    return f"{name}:{value:.4g}" if math.isfinite(value) else f"no mask needed ({name} at any threshold)"


def _run_kl_avg(args) -> int:
    from numerics.path_bounds import PATH_FAMILY_NOTE, sequence_kl_threshold, unified_avg_threshold
    from numerics.validation import check_time

    memory_limit, time_limit = limits(args)
    check_time(SECONDS_PER_POSITION * 14 * sum(args.T) * len(args.budget), time_limit,
               f"{len(args.T) * len(args.budget)} threshold search(es) up to --T {max(args.T):,}")
    rows = []
    for budget in args.budget:
        for T in args.T:
            x = sequence_kl_threshold(T, budget)
            paper = unified_avg_threshold(T, budget, args.constants)
            rows.append({"T": T, "budget": budget, "kl_avg_threshold": x, "sequence_kl_at_threshold": T * x,
                         "kl_avg_threshold_unified": paper, "mask_with": _criterion("trm_avg", x)})
    payload = {"budget": _budget_field(args.budget), "divergence": "kl-avg", "constants": args.constants,
               "thresholds": rows,
               "guarantee": "if every sequence π_roll can produce has (1/T) Σ_t D_KL(c_t) ≤ δ_avg (exact KL from full "
                            "logits, roll ‖ θ), then D_KL^seq ≤ T δ_avg and |Error| ≤ sup_R|Error| ≤ D_KL^seq ≤ β for "
                            "every reward in [0, 1] (THEORY §11, sequence_kl_bound)",
               "threshold_meaning": "the largest δ_avg with the sequence-KL bound at its worst case T δ_avg ≤ β; "
                                    "kl_avg_threshold_unified is the paper's B* under the same control (the token "
                                    "maximum δ then unknown, +inf)",
               "note": PATH_FAMILY_NOTE}

    def human(p):
        print("largest δ_avg (TRM-Avg threshold, exact KL) with worst-case sup_R|Error| ≤ D_KL^seq ≤ T δ_avg ≤ β "
              "(this suite's sequence-KL bound, THEORY §11)")
        print(f"{'β':>10}  {'T':>8}  {'δ_avg':>12}  {f'δ_avg by B* ({args.constants})':>22}  mask with")
        for r in p["thresholds"]:
            print(f"{r['budget']:>10g}  {r['T']:>8}  {fmt(r['kl_avg_threshold']):>12}  "
                  f"{fmt(r['kl_avg_threshold_unified']):>22}  {r['mask_with']}")
        print(f"guarantee: {p['guarantee']}")

    if len(rows) == 1 and args.json:
        payload.update(rows[0])
    emit(payload, args.json, human)
    return 0


def _run_chi2(args) -> int:
    from numerics.chi2_bounds import CHI2_FAMILY_NOTE, chi2_max_bound_closed, chi2_threshold

    rows = []
    for budget in args.budget:
        for T in args.T:
            x = chi2_threshold(T, budget)
            rows.append({"T": T, "budget": budget, "chi2_max_threshold": x,
                         "chi2_max_bound_at_threshold": chi2_max_bound_closed(T, x) if math.isfinite(x) else None,
                         "mask_with": _criterion("trm_chi2", x)})
    payload = {"budget": _budget_field(args.budget), "divergence": "chi2",
               "constants": "½ (the χ² family has one constant)",
               "thresholds": rows, "guarantee": "if every reachable context has χ²(π_θ ‖ π_roll) ≤ x, then "
               "|Error| ≤ sup_R|Error| ≤ B_χ²-max(T, x) ≤ budget for every reward in [0, 1]",
               "note": CHI2_FAMILY_NOTE}

    def human(p):
        print("largest χ²_max (TRM-χ² threshold) with B_χ²-max ≤ β (this suite's χ² family, THEORY §10)")
        print(f"{'β':>10}  {'T':>8}  {'x':>12}  {'B_χ²-max at x':>14}  mask with")
        for r in p["thresholds"]:
            print(f"{r['budget']:>10g}  {r['T']:>8}  {fmt(r['chi2_max_threshold']):>12}  "
                  f"{fmt(r['chi2_max_bound_at_threshold']):>14}  {r['mask_with']}")
        print(f"guarantee: {p['guarantee']}")

    if len(rows) == 1 and args.json:
        payload.update(rows[0])
    emit(payload, args.json, human)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("threshold", help="largest per-token divergence whose worst-case bound stays within an "
                                         "error budget (the threshold to mask at)",
                       description="The largest per-token divergence whose worst-case bound stays within each error "
                                   "budget β, for every T given (every pair of T and β): TRM-Max's δ from the paper's "
                                   "B*, or TRM-χ²'s x from this suite's χ² family.")
    p.add_argument("--T", type=int_range(1, 2**40), nargs="+", required=True, help="sequence length(s)")
    p.add_argument("--budget", type=float_range(0.0, above=True), nargs="+", required=True,
                   help="β, the tolerated |Error| (one or several values; every T is paired with every β)")
    p.add_argument("--divergence", choices=("kl", "kl-avg", "chi2"), default="kl",
                   help="kl: TRM-Max δ from the paper's B* and from the best bound δ controls (this suite's "
                        "D_KL^seq ≤ Tδ included); kl-avg: TRM-Avg δ_avg (exact KL) from this suite's sequence-KL bound; "
                        "chi2: TRM-χ² x from this suite's χ² family")
    p.add_argument("--constants", choices=("paper", "sharp"), default="paper",
                   help="constant family of B*: paper (C = 4) or sharp (C = 2); kl and kl-avg, the χ² family has the "
                        "single constant ½")
    add_limit_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
