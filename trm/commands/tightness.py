"""`trm tightness`: Largest |Error|/bound and sup_R|Error|/bound over random pairs."""
from __future__ import annotations


from trm.common import emit, positive_int, progress


def run(args) -> int:
    from numerics.tightness import tightness_survey

    with progress(args.samples, "pairs") as bar:
        survey = tightness_survey(args.samples, args.seed, progress=bar.update)
    payload = {"samples": args.samples, "seed": args.seed, "maxima": survey.maxima()}

    def human(p):
        print(f"largest ratio over {p['samples']} random pairs (seed {p['seed']}); ≤ 1 means the bound held")
        for family, rows in p["maxima"].items():
            label = "χ² family (½)" if family == "chi2" else f"{family} constants"
            print(f"\n{label:<24} max |Error|/bound   max sup_R|Error|/bound   attained by")
            for name, r in rows.items():
                print(f"  {name:<22} {r['max_error_ratio']:>16.4f} {r['max_worst_ratio']:>22.4f}   {r['attained_by']}")

    emit(payload, args.json, human)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("tightness", help="largest |Error|/bound and sup_R|Error|/bound over random pairs")
    p.add_argument("--samples", type=positive_int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
