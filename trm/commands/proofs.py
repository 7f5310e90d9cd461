"""`trm proofs`: Check every derivation and print the verdicts."""
from __future__ import annotations


from trm.common import emit


def run(args) -> int:
    from proofs import all_derivations

    results = []
    failed = 0
    for derivation in all_derivations():
        steps = []
        for step in derivation.steps:
            verdict = "numeric" if not step.symbolic else {True: "proved", False: "refuted", None: "undecided"}[step.decide()]
            failed += verdict in ("refuted", "undecided")
            steps.append({"step": step.describe(), "verdict": verdict})
        results.append({"name": derivation.name, "statement": derivation.statement,
                        "reference": derivation.reference, "steps": steps})
    payload = {"derivations": results, "failed_steps": failed}

    def human(p):
        for d in p["derivations"]:
            print(f"\n{d['name']}: {d['statement']}  [{d['reference']}]")
            for i, s in enumerate(d["steps"], 1):
                print(f"  {i:>2}. {s['verdict']:<9} {s['step']}")
        print(f"\n{p['failed_steps']} step(s) failed")

    emit(payload, args.json, human)
    return 0 if failed == 0 else 1


def add_parser(sub) -> None:
    p = sub.add_parser("proofs", help="check every derivation step and print the verdicts",
                       description="Check every derivation step and print its verdict (proved, or numeric with "
                                   "the test that checks it); exit code 1 when a step is refuted or undecided.")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
