"""Deterministic rendering: Agg, the committed style, PNG and PDF without time stamps or versions."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STYLE = Path(__file__).with_name("style.mplstyle")
plt.style.use(STYLE)
PNG_METADATA = {"Software": None}
PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None}


def new_figure(*args, **kwargs):
    return plt.subplots(*args, **kwargs)


def save(fig, out_dir: Path, name: str) -> list[Path]:
    from numerics.validation import atomic_output

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.png", out_dir / f"{name}.pdf"]
    try:
        for path, fmt, metadata in ((paths[0], "png", PNG_METADATA), (paths[1], "pdf", PDF_METADATA)):
            with atomic_output(path) as handle:      # a reader never sees a half-written image
                fig.savefig(handle, format=fmt, metadata=metadata)
    finally:
        plt.close(fig)
    return paths


def length_axis(ax, T) -> None:
    """A log-scale T axis ticked at the powers of two in ``T`` (labelled 2^k), no minor labels."""
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    ax.set_xscale("log")
    ticks = [int(t) for t in T if int(t) & (int(t) - 1) == 0]
    step = max(1, len(ticks) // 7)
    ticks = ticks[::step]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.set_xticklabels([f"$2^{{{int(t).bit_length() - 1}}}$" for t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("T")
