"""python -m figures (or trm figures) [--only NAME ...] [--fast] [--device D] [--out DIR] [--cache DIR]
[--refresh] [--json]

Figures and tables are written to ./figures-out (relative to the working directory) and their data
cached in ./figures-out/cache unless --out / --cache say otherwise. Errors are one line on stderr
with exit code 2; Ctrl-C stops with one line and exit code 130.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

from figures.build import DEFAULT_CACHE, DEFAULT_OUT, build
from figures.config import FigureConfig
from figures.registry import FIGURES
from numerics.errors import TRMInputError
from numerics.validation import check_output_dir, escape_controls


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Defaults shown, except where there is none or the help already states it."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default is None or action.default is False:
            return text
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {escape_controls(message)}\n")


def _directory(what):
    def parse(text):
        try:
            return Path(check_output_dir(text, ""))
        except TRMInputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    parse.__name__ = "directory"
    return parse


def _seed(text):
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{escape_controls(text)!r} is not an integer") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"{value} must lie in [0, 2^63)")
    return value


def build_parser(prog: str = "python -m figures") -> argparse.ArgumentParser:
    parser = _Parser(prog=prog, description="regenerate every figure and table",
                     formatter_class=_Formatter)
    parser.add_argument("--only", nargs="+", metavar="NAME", help=f"some of: {', '.join(FIGURES)} (default: all)")
    parser.add_argument("--fast", action="store_true", help="small sizes (CI smoke run)")
    parser.add_argument("--device", default="cpu", help="torch device for simulated figures (auto | cpu | cuda)")
    parser.add_argument("--seed", type=_seed, default=0, help="seed of every figure's computation")
    parser.add_argument("--out", type=_directory("--out"), default=DEFAULT_OUT,
                        help="directory for the PNG, PDF, Markdown and LaTeX files (relative to the working directory)")
    parser.add_argument("--cache", type=_directory("--cache"), default=None,
                        help=f"directory of the cached data (default: OUT/cache, i.e. {DEFAULT_CACHE})")
    parser.add_argument("--refresh", action="store_true", help="recompute even when cached data matches")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (files written, figures, seconds) instead of the file list")
    return parser


def main(argv=None, prog: str = "python -m figures") -> int:
    program = argv is None
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        if program:  # leave at once (see trm.cli.main)
            sys.stderr.flush()
            os._exit(130)
        return 130
    except TRMInputError as exc:
        print(f"{prog}: error: {escape_controls(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{prog}: error: cannot write the figures ({escape_controls(exc.strerror or exc)})", file=sys.stderr)
        return 2


def _run(args) -> int:
    from gpu_sim.device import resolve_device
    from tqdm import tqdm

    device = str(resolve_device(args.device))
    names = args.only or list(FIGURES)
    out = Path(args.out)
    cache = Path(args.cache) if args.cache is not None else out / "cache"
    start = time.perf_counter()
    quiet = sys.stderr is None or not sys.stderr.isatty()
    with tqdm(total=len(names), unit="figure", file=sys.stderr, disable=quiet, position=0) as bar, \
            tqdm(unit="run", file=sys.stderr, disable=quiet, position=1, leave=False) as runs:
        written = build(names, FigureConfig(args.fast, args.seed, device), out, cache,
                        progress=lambda name: (bar.set_postfix_str(name), bar.update()), refresh=args.refresh,
                        step_progress=runs.update)
    seconds = time.perf_counter() - start
    if sys.stdout is None:
        raise TRMInputError("standard output is closed; nothing can be printed")
    if args.json:
        print(json.dumps({"figures": names, "written": [str(p) for p in written], "out": str(out),
                          "cache": str(cache), "fast": args.fast, "seed": args.seed, "device": device,
                          "seconds": seconds}, allow_nan=False))
    else:
        for path in written:
            print(path)
        print(f"{len(names)} figure(s) in {seconds:.1f} s", file=sys.stderr)
    sys.stdout.flush()
    return 0
