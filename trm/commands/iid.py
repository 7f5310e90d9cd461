"""`trm iid`: the exact worst case over rewards of an i.i.d. two-token pair at any length, against
every bound (paper family in both constant families, and this suite's χ² family)."""
from __future__ import annotations

from trm.common import emit, float_range, fmt, int_range, probability


def run(args) -> int:
    from numerics.chi2_bounds import CHI2_FAMILY_NOTE, UNIFIED_WITH_CHI2_NOTE
    from numerics.errors import TRMInputError
    from numerics.iid import iid_worst_case

    if args.a is not None and (args.p_roll is not None or args.p_theta is not None):
        raise TRMInputError("give either --a (π_roll = (½, ½), π_θ = (½ + a, ½ − a)) or --p-roll/--p-theta, not both")
    if args.a is not None:
        if not -0.5 < args.a < 0.5:
            raise TRMInputError(f"--a {args.a:g}: must lie in (−½, ½) so that both policies have full support")
        p, q = 0.5, 0.5 + args.a
    elif args.p_roll is not None and args.p_theta is not None:
        p, q = args.p_roll, args.p_theta
    else:
        raise TRMInputError("give --a, or both --p-roll and --p-theta")
    rows = []
    for T in args.T:
        r = iid_worst_case(p, q, T)
        paper, sharp = r.bounds("paper"), r.bounds("sharp")
        w = r.worst_case_error
        ratio = (lambda b: None if w == 0 else b / w)
        rows.append({
            "T": T, "worst_case_error": w, "second_moment": r.second_moment, "chi2_seq": r.chi2_seq,
            "kl_tok": r.kl_tok, "tv_tok": r.tv_tok, "chi2_tok": r.chi2_tok, "kl_seq": r.kl_seq, "tv_seq": r.tv_seq,
            "bounds": paper, "sharp_bounds": sharp,
            "ratios": {"chi2_max": ratio(sharp["chi2_max"]), "chi2_exact": ratio(sharp["chi2_exact"]),
                       "unified_paper": ratio(paper["unified"]), "unified_sharp": ratio(sharp["unified"]),
                       "unified_with_chi2_sharp": ratio(sharp["unified_with_chi2"])},
        })
    payload = {"p_roll": p, "p_theta": q, "rows": rows,
               "worst_case_is": "sup over rewards R ∈ [0, 1] of |Error| = E_roll[W⁻], exact binomial sum",
               "chi2_notes": [CHI2_FAMILY_NOTE, UNIFIED_WITH_CHI2_NOTE]}

    def human(pl):
        print(f"i.i.d. pair π_roll = ({fmt(p)}, {fmt(1 - p)}), π_θ = ({fmt(q)}, {fmt(1 - q)}): "
              f"D_KL = {fmt(rows[0]['kl_tok'])}, D_TV = {fmt(rows[0]['tv_tok'])}, χ² = {fmt(rows[0]['chi2_tok'])} per token")
        print(f"{'T':>8} {'sup_R|Error|':>13} {'B_χ²-max':>11} {'ratio':>6} {'B* sharp':>11} {'ratio':>8} "
              f"{'B* paper':>11} {'ratio':>8}  B* attained by")
        for row in pl["rows"]:
            s, pa, ra = row["sharp_bounds"], row["bounds"], row["ratios"]
            print(f"{row['T']:>8} {fmt(row['worst_case_error']):>13} {fmt(s['chi2_max']):>11} "
                  f"{_ratio(ra['chi2_max']):>6} {fmt(s['unified']):>11} {_ratio(ra['unified_sharp']):>8} "
                  f"{fmt(pa['unified']):>11} {_ratio(ra['unified_paper']):>8}  {s['argmin']}")
        print("ratio = bound / sup_R|Error| (≥ 1 for a valid bound); B_χ²-max is this suite's χ² family (THEORY §10), "
              "B* the paper's unified bound")

    emit(payload, args.json, human)
    return 0


def _ratio(value) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def add_parser(sub) -> None:
    p = sub.add_parser("iid", help="exact worst-case error of an i.i.d. two-token pair at any T, against every bound")
    p.add_argument("--a", type=float_range(-0.5, 0.5), help="π_roll = (½, ½), π_θ = (½ + a, ½ − a)")
    p.add_argument("--p-roll", type=probability, help="π_roll = (p, 1 − p) (with --p-theta)")
    p.add_argument("--p-theta", type=probability, help="π_θ = (q, 1 − q) (with --p-roll)")
    p.add_argument("--T", type=int_range(1, 2**31), nargs="+", required=True, help="sequence length(s)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
