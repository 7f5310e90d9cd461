"""`trm tables`: Every number the paper prints, recomputed."""
from __future__ import annotations


from trm.common import emit

EPILOG = """Per cell: agrees (ours, rounded to the printed precision, equals the printed number) and
agrees_modulo_slip (agrees, or the printed number is what a known slip of the paper's text gives: the slipped
formula's value, rounded the same way, equals it). The summary counts both; all_agree is true only when every
cell agrees outright, all_agree_modulo_slips when every disagreement is explained by a listed slip. The exit
code is 0 when every cell agrees modulo slips, 1 otherwise."""


def run(args) -> int:
    from numerics.tables import agrees_at_printed_precision, all_cells, slips

    cells = []
    for c in all_cells():
        row = c.to_json()
        explained = (not c.agrees and c.slip is not None and c.slip_value is not None
                     and agrees_at_printed_precision(c.slip_value, c.printed))
        row["agrees_modulo_slip"] = bool(c.agrees or explained)
        cells.append(row)
    summary = {"cells": len(cells), "agree": sum(c["agrees"] for c in cells),
               "explained_by_slip": sum(c["agrees_modulo_slip"] and not c["agrees"] for c in cells),
               "disagree": sum(not c["agrees_modulo_slip"] for c in cells)}
    payload = {"cells": cells, "slips": [s.to_json() for s in slips()], "summary": summary,
               "all_agree": summary["agree"] == summary["cells"],
               "all_agree_modulo_slips": summary["disagree"] == 0,
               "definitions": {"agrees": "ours, rounded to the printed precision, equals the printed number",
                               "agrees_modulo_slip": "agrees, or the listed slip's formula gives the printed number"}}

    def human(p):
        tables = list(dict.fromkeys(c["table"] for c in p["cells"]))
        for table in tables:
            print(f"\n{table}")
            for c in (c for c in p["cells"] if c["table"] == table):
                _print_cell(c)
        print("\nknown slips (THEORY §8)")
        for s in p["slips"]:
            print(f"  {s['where']}: printed “{s['printed']}”; correct: {s['correct']}")
        s = p["summary"]
        print(f"\n{s['cells']} cells: {s['agree']} agree, {s['explained_by_slip']} explained by a slip, "
              f"{s['disagree']} disagree")

    def _print_cell(c):
        if c["agrees"]:
            mark = "ok"
        elif c["agrees_modulo_slip"]:
            mark = f"slip (the slipped form gives {c['slip_value']:.6g})"
        else:
            mark = "DISAGREES"
        print(f"  {c['row']:<42} {c['column']:<8} ours {c['ours']:<14.6g} printed {c['printed']:<12} {mark}")

    emit(payload, args.json, human)
    return 0 if payload["all_agree_modulo_slips"] else 1


def add_parser(sub) -> None:
    p = sub.add_parser("tables", help="every number the paper prints, recomputed",
                       description="Every number the paper prints, recomputed, with agreement at the printed "
                                   "precision and the paper's known slips.", epilog=EPILOG)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
