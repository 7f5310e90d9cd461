"""python -m figures (or trm figures) [--only NAME ...] [--fast] [--device D] [--out DIR] [--cache DIR] [--refresh]"""
import argparse
import sys
import time
from pathlib import Path

from figures.build import DEFAULT_CACHE, DEFAULT_OUT, build
from figures.config import FigureConfig
from figures.registry import FIGURES
from numerics.errors import TRMInputError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m figures", description="regenerate every figure and table")
    parser.add_argument("--only", nargs="+", metavar="NAME", help=f"some of: {', '.join(FIGURES)}")
    parser.add_argument("--fast", action="store_true", help="small sizes (CI smoke run)")
    parser.add_argument("--device", default="cpu", help="torch device for simulated figures (auto | cpu | cuda)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--refresh", action="store_true", help="recompute even when cached data matches")
    args = parser.parse_args(argv)
    try:
        from gpu_sim.device import resolve_device
        from tqdm import tqdm

        device = str(resolve_device(args.device))
        names = args.only or list(FIGURES)
        start = time.perf_counter()
        quiet = not sys.stderr.isatty()
        with tqdm(total=len(names), unit="figure", file=sys.stderr, disable=quiet, position=0) as bar, \
                tqdm(unit="run", file=sys.stderr, disable=quiet, position=1, leave=False) as runs:
            written = build(names, FigureConfig(args.fast, args.seed, device), args.out, args.cache,
                            progress=lambda name: (bar.set_postfix_str(name), bar.update()), refresh=args.refresh,
                            step_progress=runs.update)
    except TRMInputError as exc:
        print(f"figures: error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    print(f"{len(names)} figure(s) in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0
