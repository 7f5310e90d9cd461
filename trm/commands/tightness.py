"""`trm tightness`: Largest |Error|/bound and sup_R|Error|/bound over random pairs."""
from __future__ import annotations


from trm.common import add_limit_args, emit, int_range, limits, progress, seed

#: Measured on the 2-core machine: about 8–10 ms per random pair (`trm tightness --samples 500`).
SECONDS_PER_PAIR = 0.01


def run(args) -> int:
    from numerics.tightness import tightness_survey
    from numerics.validation import check_memory, check_time

    memory_limit, time_limit = limits(args)
    check_memory(400 * args.samples, memory_limit, f"the survey of --samples {args.samples:,} pairs")
    check_time(SECONDS_PER_PAIR * args.samples, time_limit, f"the survey of --samples {args.samples:,} pairs")

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
    p = sub.add_parser("tightness", help="largest |Error|/bound and sup_R|Error|/bound over random pairs",
                       description="Largest |Error|/bound and sup_R|Error|/bound over random enumerable pairs, for "
                                   "every bound and both constant families; a ratio ≤ 1 means the bound held.")
    p.add_argument("--samples", type=int_range(1, 2**40), default=500, help="number of random pairs")
    p.add_argument("--seed", type=seed, default=0, help="seed in [0, 2^63)")
    add_limit_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
