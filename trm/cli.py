"""`trm`: exact ground truth, bounds, thresholds and the paper's tables from the command line.

Every subcommand prints a human table, or with --json one JSON object on stdout. Bad input is
reported on stderr as ``trm <command>: error: <message>`` with exit code 2. JSON floats follow
Python's json module: an infinite KL (support mismatch) is written as Infinity.

Each subcommand lives in its own module of :mod:`trm.commands` with ``add_parser(sub)`` (its flags)
and ``run(args)`` (a thin layer over library functions).
"""
from __future__ import annotations

import argparse
import sys

from numerics.errors import TRMInputError
from trm.commands import COMMANDS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trm", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(sub)
    sub.add_parser("figures", help="regenerate every figure and table: trm figures [--only NAME ...] [--fast] "
                                   "[--device D] [--out DIR] (same as python -m figures)")
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["figures"]:
        # the figure builder has its own options; hand them over untouched
        from figures.cli import main as figures_main

        return figures_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except TRMInputError as exc:
        print(f"trm {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader closed the pipe (e.g. `trm tables | head`): stop quietly
        sys.stderr.close()
        return 0
