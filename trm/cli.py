"""`trm`: exact ground truth, bounds, thresholds and the paper's tables from the command line.

Every subcommand prints a human table, or with --json one strict JSON object on stdout (no NaN;
+inf is the string "Infinity"). Bad input is reported on stderr as one line,
``trm <command>: error: <message>``, with exit code 2; Ctrl-C stops with one line and exit code
130; a closed pipe on stdout (``trm tables | head``) ends quietly.

Each subcommand lives in its own module of :mod:`trm.commands` with ``add_parser(sub)`` (its flags)
and ``run(args)`` (a thin layer over library functions).
"""
from __future__ import annotations

import errno
import os
import sys

from numerics.errors import TRMInputError
from trm.common import CommandParser, one_line
from trm.commands import COMMANDS

#: Exit codes: success, refused input (and failed output), Ctrl-C (128 + SIGINT).
EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 2, 130


def build_parser() -> CommandParser:
    parser = CommandParser(prog="trm", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=CommandParser)
    for module in COMMANDS:
        module.add_parser(sub)
    sub.add_parser("figures", help="regenerate every figure and table: trm figures [--only NAME ...] [--fast] "
                                   "[--device D] [--out DIR] [--json] (same as python -m figures)", add_help=False)
    return parser


def main(argv=None) -> int:
    program = argv is None                       # run as the `trm` program, not called from Python
    argv = sys.argv[1:] if argv is None else list(argv)
    command = argv[0] if argv and not argv[0].startswith("-") else None
    try:
        code = _main(argv)
        if program and code == EXIT_INTERRUPTED:   # `trm figures` reported the interrupt itself
            _flush_and_exit(code)
        return code
    except KeyboardInterrupt:
        _say(f"{_prog(command)}: interrupted")
        if program:
            # leave at once: an interrupt that landed inside an import can otherwise make the
            # interpreter re-raise SIGINT at shutdown (exit status −2 instead of 130)
            _flush_and_exit(EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader closed the pipe (e.g. `trm tables | head`): stop quietly
        _silence_stdout()
        return EXIT_OK
    except TRMInputError as exc:
        _say(f"{_prog(command)}: error: {one_line(exc)}")
        return EXIT_ERROR
    except MemoryError:
        _say(f"{_prog(command)}: error: ran out of memory although the size estimate allowed the run; "
             "lower --memory-limit or the sizes")
        return EXIT_ERROR
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EIO, errno.EBADF, errno.EDQUOT, errno.EFBIG):
            _silence_stdout()
            _say(f"{_prog(command)}: error: cannot write the output ({os.strerror(exc.errno)})")
            return EXIT_ERROR
        raise


def _main(argv: list[str]) -> int:
    if argv[:1] == ["figures"]:
        # the figure builder has its own options; hand them over untouched
        from figures.cli import main as figures_main

        return figures_main(argv[1:], prog="trm figures")
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # report unknown arguments from the subcommand, with its name, not from the top level
        subparsers = next(a for a in parser._actions if a.dest == "command")
        subparsers.choices[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    code = args.func(args)
    if sys.stdout is not None:
        sys.stdout.flush()
    return code


def _prog(command: str | None) -> str:
    from trm.commands import COMMANDS as modules

    names = {m.__name__.rsplit(".", 1)[-1].replace("_", "-") for m in modules} | {"figures"}
    return f"trm {command}" if command in names else "trm"


def _say(line: str) -> None:
    if sys.stderr is not None:
        try:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
        except OSError:
            pass


def _flush_and_exit(code: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null so the interpreter's final flush of the dead stream stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass
    if sys.stdout is not None:
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
