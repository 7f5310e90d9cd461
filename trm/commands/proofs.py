"""`trm proofs`: check every derivation with the proof kernel and print its chain and verdicts."""
from __future__ import annotations

from trm.common import emit

KIND_ORDER = ("rewrite", "z3", "sign", "induction", "lemma", "cited")


def _counts(steps) -> dict:
    counts = {k: 0 for k in KIND_ORDER}
    for s in steps:
        counts[s["kind"]] = counts.get(s["kind"], 0) + 1
    return counts


def run(args) -> int:
    from proofs.catalog import check_all
    from proofs.kernel import summarise

    reports = check_all()
    summary = summarise(reports)
    payload = {
        "derivations": [r.to_json() for r in reports],
        "summary": summary["kinds"],
        "verdicts": {**summary["verdicts"], "derivations_proved": sum(r.verdict == "proved" for r in reports),
                     "derivations_cited": sum(r.verdict == "cited" for r in reports),
                     "derivations_failed": sum(r.verdict == "failed" for r in reports)},
        "failed_steps": summary["verdicts"]["failed"] + sum(1 for r in reports if r.verdict == "failed" and not r.steps),
    }

    def human(p):
        for d in p["derivations"]:
            print(f"\n{d['name']}: {d['statement']}  [{d['reference']}]")
            for h in d["hypotheses"]:
                print(f"  given  {h}")
            for definition in d["definitions"]:
                print(f"  where  {definition}")
            chain_started = set()
            for s in d["steps"]:
                where = s["within"] or "chain"
                if where == "facts":
                    print(f"  fact   {s['lhs']} {s['relation']} {s['rhs']}")
                else:
                    indent = "      " if where.startswith("induction") else "  "
                    if where not in chain_started:
                        chain_started.add(where)
                        label = f"{where}:" if where != "chain" else ""
                        print(f"{indent}{label}{' ' if label else ''}{s['lhs']}")
                    print(f"{indent}  {s['relation']:>2} {s['rhs']}")
                note = f"[{s['kind']}: {s['verdict']}; {s['reason']}"
                if s["test"]:
                    note += f"; test {s['test']}"
                print(f"           {note}]")
                if s["verdict"] == "failed" and s["detail"]:
                    print(f"           ! {s['detail']}")
            counts = _counts(d["steps"])
            shown = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
            extra = f" ({d['detail']})" if d["detail"] else ""
            print(f"  -- {len(d['steps'])} links: {shown}; verdict {d['verdict']}{extra}")
        kinds = ", ".join(f"{k} {v}" for k, v in p["summary"].items())
        v = p["verdicts"]
        print(f"\n{len(p['derivations'])} derivations: {v['derivations_proved']} proved, {v['derivations_cited']} "
              f"resting on cited lemmas, {v['derivations_failed']} failed; links by kind: {kinds}; "
              f"{p['failed_steps']} failed link(s)")

    emit(payload, args.json, human)
    return 0 if payload["failed_steps"] == 0 and payload["verdicts"]["derivations_failed"] == 0 else 1


def add_parser(sub) -> None:
    p = sub.add_parser("proofs", help="check every derivation with the proof kernel and print the verdicts",
                       description="Check every derivation with the proof kernel and print each link's kind and "
                                   "verdict (proved / cited / failed); exit code 1 when anything failed.")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
