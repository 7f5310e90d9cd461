"""`trm tables`: Every number the paper prints, recomputed."""
from __future__ import annotations


from trm.common import emit


def run(args) -> int:
    from numerics.tables import all_cells, slips

    cells = all_cells()
    payload = {"cells": [c.to_json() for c in cells], "slips": [s.to_json() for s in slips()],
               "all_agree": all(c.agrees or c.slip is not None for c in cells)}

    def human(p):
        tables = list(dict.fromkeys(c["table"] for c in p["cells"]))
        for table in tables:
            print(f"\n{table}")
            for c in (c for c in p["cells"] if c["table"] == table):
                _print_cell(c)
        print("\nknown slips (THEORY §8)")
        for s in p["slips"]:
            print(f"  {s['where']}: printed “{s['printed']}”; correct: {s['correct']}")

    def _print_cell(c):
        mark = "ok" if c["agrees"] else f"slip (the slipped form gives {c['slip_value']:.6g})"
        print(f"  {c['row']:<42} {c['column']:<8} ours {c['ours']:<14.6g} printed {c['printed']:<12} {mark}")

    emit(payload, args.json, human)
    return 0 if payload["all_agree"] else 1


def add_parser(sub) -> None:
    p = sub.add_parser("tables", help="every number the paper prints, recomputed")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
