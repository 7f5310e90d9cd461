"""(a) The paper's printed numbers beside ours (THEORY §6), as a PNG/PDF table, Markdown and LaTeX."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from figures.render import new_figure
from numerics.tables import all_cells

NAME = "tables"
TITLE = "Does the suite reproduce every number the paper prints?"


def compute(cfg) -> dict:
    cells = all_cells()
    return {
        "table": np.array([c.table for c in cells]), "row": np.array([c.row for c in cells]),
        "column": np.array([c.column for c in cells]), "ours": np.array([c.ours for c in cells]),
        "printed": np.array([c.printed for c in cells]), "agrees": np.array([c.agrees for c in cells]),
        "slip_value": np.array([np.nan if c.slip_value is None else c.slip_value for c in cells]),
    }


def _status(data, i) -> str:
    return "agrees" if data["agrees"][i] else f"slip: closed form gives {data['slip_value'][i]:.6g}"


def rows(data) -> list[tuple[str, ...]]:
    return [(str(data["table"][i]), str(data["row"][i]), str(data["column"][i]), f"{data['ours'][i]:.6g}",
             str(data["printed"][i]), _status(data, i)) for i in range(len(data["ours"]))]


HEADER = ("table", "quantity", "column", "ours", "printed", "status")


def plot(data):
    body = rows(data)
    fig, ax = new_figure(figsize=(9.5, 0.19 * len(body) + 0.8))
    ax.axis("off")
    table = ax.table(cellText=body, colLabels=HEADER, cellLoc="left", bbox=[0, 0, 1, 1],
                     colWidths=[0.15, 0.33, 0.08, 0.11, 0.1, 0.23])
    table.auto_set_font_size(False)
    table.set_fontsize(6.5)
    ax.set_title(TITLE)
    return fig


def write_extra(data, out_dir: Path) -> list[Path]:
    body = rows(data)
    md = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    md += ["| " + " | ".join(r) + " |" for r in body]
    tex = [r"\begin{tabular}{llllll}", r"\hline", " & ".join(HEADER) + r" \\", r"\hline"]
    tex += [" & ".join(_tex(x) for x in r) + r" \\" for r in body]
    tex += [r"\hline", r"\end{tabular}"]
    paths = [out_dir / f"{NAME}.md", out_dir / f"{NAME}.tex"]
    paths[0].write_text("\n".join(md) + "\n")
    paths[1].write_text("\n".join(tex) + "\n")
    return paths


def _tex(text: str) -> str:
    for a, b in (("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("≤", r"$\le$"), ("δ", r"$\delta$"), ("^", r"\^{}")):
        text = text.replace(a, b)
    return text


def printed_numbers(data) -> dict:
    return {f"{data['table'][i]}|{data['row'][i]}|{data['column'][i]}": float(data["ours"][i])
            for i in range(len(data["ours"]))}
