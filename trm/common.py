"""Helpers every subcommand shares: output (JSON or human), number formatting, progress bars,
the validation layer for arguments (argparse types that check finiteness, ranges and sizes;
output paths; memory and time limits) and the generator options of `trm random` / `trm simulate`.

Output rules: JSON is strict (RFC 8259): no NaN ever; +inf and −inf are written as the strings
"Infinity" and "-Infinity" (``float()`` in Python and ``Number()`` in JavaScript read them back);
a value that is undefined is null and its path is listed under "undefined". Errors are one line on
stderr, ``trm <command>: error: <message>``, with control characters escaped, and exit code 2.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys

import numpy as np

from numerics.errors import TRMInputError
from numerics.validation import (DEFAULT_MEMORY_LIMIT, DEFAULT_TIME_LIMIT, SEED_LIMIT, check_output_dir,
                                 check_output_path, escape_controls, quote_path)

__all__ = ["quote_path", "escape_controls"]

#: Environment variables that change the default --memory-limit (GB) and --time-limit (seconds).
MEMORY_ENV, TIME_ENV = "TRM_MEMORY_LIMIT_GB", "TRM_TIME_LIMIT_S"
#: The base of the vacuity line 1 + |L'| (VACUOUS_DEFINITION): J(π_θ) − J(π_roll) ∈ [−1, 1] for a reward in [0, 1].
VACUOUS_AT = 1.0
#: What `vacuous` means in every command's JSON and tables.
VACUOUS_DEFINITION = ("a bound B with B ≥ 1 + |L'|: since J(π_θ) − J(π_roll) = L' + Error lies in [L' − B, L' + B] "
                      "and, for a reward in [0, 1], in [−1, 1], such a bound adds nothing to the range; |Error| itself "
                      "is not bounded by 1 (L' is not), so a bound ≥ 1 can still be informative when |L'| is large")


# ---------------------------------------------------------------------------------------------
# parsers
class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every flag's default, except where there is none (None, False) or the help already
    mentions it."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if "%(default)" in text or "default" in text or default is None or default is False or default == argparse.SUPPRESS:
            return text
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return text + " (default: %(default)s)"
        return text


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, ``<prog>: error: <message>``, exit 2, with
    control characters escaped, and whose --help shows defaults."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {one_line(message)}\n")


def one_line(message) -> str:
    return escape_controls(str(message)).strip()


def _show(text: str, limit: int = 60) -> str:
    text = escape_controls(text)
    return repr(text if len(text) <= limit else text[:limit] + "…")


# ---------------------------------------------------------------------------------------------
# argument types
def int_range(minimum: int | None = 1, maximum: int | None = None):
    """An argparse type: a decimal integer in [minimum, maximum]."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip(), 10)
        except (ValueError, AttributeError):
            raise argparse.ArgumentTypeError(f"{_show(text)} is not an integer") from None
        if minimum is not None and value < minimum:
            raise argparse.ArgumentTypeError(f"{value} must be at least {minimum}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"{value} must be at most {maximum:,}")
        return value

    parse.__name__ = "integer"
    return parse


def float_range(minimum: float | None = None, maximum: float | None = None, *, above: bool = False,
                allow_inf: bool = False):
    """An argparse type: a finite number (no NaN, no ±inf; +inf only with ``allow_inf``) in
    [minimum, maximum], or (minimum, maximum] with ``above``."""

    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except (ValueError, AttributeError):
            raise argparse.ArgumentTypeError(f"{_show(text)} is not a number") from None
        if math.isnan(value) or (math.isinf(value) and not (allow_inf and value > 0)):
            raise argparse.ArgumentTypeError(f"{_show(text)}: must be a finite number")
        if minimum is not None and (value < minimum or (above and value == minimum)):
            raise argparse.ArgumentTypeError(f"{value:g} must be {'above' if above else 'at least'} {minimum:g}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"{value:g} must be at most {maximum:g}")
        return value

    parse.__name__ = "number"
    return parse


def confidence_level(text: str) -> float:
    """An argparse type: a confidence level strictly between 0 and 1 (numerics.intervals.check_level)."""
    from numerics.intervals import check_level

    try:
        return check_level(float(text.strip()))
    except (ValueError, AttributeError):
        raise argparse.ArgumentTypeError(f"{_show(text)}: a confidence level must be a number strictly between 0 "
                                         "and 1, e.g. 0.95") from None


confidence_level.__name__ = "level"


#: An integer ≥ 1 (sizes without a cap of their own; memory and time estimates guard them).
positive_int = int_range(1)
#: An integer ≥ 0.
non_negative_int = int_range(0)
#: A finite number (no NaN, no inf).
number = float_range()
#: A finite number, or +inf (a divergence that is infinite under a support mismatch).
number_or_inf = float_range(allow_inf=True)
#: A finite number ≥ 0.
non_negative = float_range(0.0)
#: A probability in [0, 1].
probability = float_range(0.0, 1.0)
#: A seed: an integer in [0, 2^63).
seed = int_range(0, SEED_LIMIT - 1)
#: A horizon T: memory and time estimates guard the work; this cap keeps every index in int64.
horizon = int_range(1, 2**40)


def _checked_path(check, shown: str):
    """An argparse type that runs ``check`` (a numerics.validation path check) on the text before any work
    starts; argparse names the flag in the message."""

    def parse(text: str) -> str:
        try:
            return check(text, "")
        except TRMInputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = shown
    return parse


#: An argparse type: a path a file can be written to.
output_file = _checked_path(check_output_path, "path")
#: An argparse type: a directory that can be created or written into.
output_dir = _checked_path(check_output_dir, "directory")


def _env_default(name: str, fallback: float) -> float:
    text = os.environ.get(name)
    if text is None:
        return fallback
    try:
        value = float(text)
    except ValueError:
        return fallback
    return value if math.isfinite(value) and value >= 0 else fallback


def add_limit_args(p) -> None:
    """--memory-limit and --time-limit: the estimates every heavy command checks before starting."""
    p.add_argument("--memory-limit", type=float_range(0.0, 2.0**20), metavar="GB",
                   default=_env_default(MEMORY_ENV, DEFAULT_MEMORY_LIMIT / 2**30),
                   help=f"refuse work whose estimated memory exceeds this many GB (0 = no limit; env {MEMORY_ENV})")
    p.add_argument("--time-limit", type=float_range(0.0, 1e9), metavar="SECONDS",
                   default=_env_default(TIME_ENV, DEFAULT_TIME_LIMIT),
                   help=f"refuse work whose estimated run time exceeds this (0 = no limit; env {TIME_ENV})")


def limits(args) -> tuple[float, float]:
    """(memory limit in bytes, time limit in seconds) from --memory-limit / --time-limit."""
    return getattr(args, "memory_limit", 4.0) * 2**30, getattr(args, "time_limit", DEFAULT_TIME_LIMIT)


# ---------------------------------------------------------------------------------------------
# output
def json_safe(value, path: str = "$", undefined: list | None = None):
    """``value`` with numpy scalars and arrays as Python numbers and lists, ±inf as the strings
    "Infinity"/"-Infinity" and NaN as None (its path appended to ``undefined``)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v, f"{path}.{k}", undefined) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v, f"{path}[{i}]", undefined) for i, v in enumerate(value)]
    if isinstance(value, np.ndarray):
        return _array_json(value, path, undefined)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            if undefined is not None:
                undefined.append(path)
            return None
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    return value


def _array_json(value: np.ndarray, path: str, undefined: list | None):
    """An array as nested lists, vectorised: a numeric array whose entries are all finite goes through
    ``tolist()`` alone (ten million floats in well under a second); ±inf and NaN entries are handled as in
    :func:`json_safe`."""
    if value.dtype.kind in "biu":
        return value.tolist()
    if value.dtype.kind != "f":
        return json_safe(value.tolist(), path, undefined)
    finite = np.isfinite(value)
    if finite.all():
        return value.tolist()
    if value.ndim != 1:
        return [_array_json(row, f"{path}[{i}]", undefined) for i, row in enumerate(value)]
    out = value.tolist()
    for i in np.flatnonzero(~finite):
        v = out[i]
        if math.isnan(v):
            if undefined is not None:
                undefined.append(f"{path}[{i}]")
            out[i] = None
        else:
            out[i] = "Infinity" if v > 0 else "-Infinity"
    return out


def to_json_text(payload: dict) -> str:
    """One strict JSON object (no NaN, no bare Infinity)."""
    undefined: list = []
    safe = json_safe(payload, "$", undefined)
    if undefined:
        safe["undefined"] = undefined
    return json.dumps(safe, allow_nan=False)


def stdout():
    """sys.stdout, or an error when the process was started with standard output closed."""
    if sys.stdout is None:
        raise TRMInputError("standard output is closed; nothing can be printed (redirect it to a file or /dev/null)")
    return sys.stdout


def emit(payload: dict, as_json: bool, human) -> None:
    out = stdout()
    if as_json:
        out.write(to_json_text(payload) + "\n")
    else:
        human(payload)
    out.flush()


def fmt(value) -> str:
    if value is None:
        return "unavailable"
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "undefined"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.6g}"
    return str(value)


def print_mapping(payload: dict, skip=()) -> None:
    width = max(len(k) for k in payload)
    for key, value in payload.items():
        if key in skip or isinstance(value, (list, dict, np.ndarray)):
            continue
        print(f"{key:<{width}}  {fmt(value)}")


CHI2_KEYS = ("chi2_max", "chi2_mixed", "chi2_exact", "unified_with_chi2", "argmin_with_chi2")
#: The path-moment family (THEORY §11, this suite's) and the minimum over every bound.
PATH_KEYS = ("sequence_kl", "additive", "tangent", "weighted_chi2", "best", "argmin_best")


def vacuous_limit(surrogate: float = 0.0) -> float:
    """1 + |L'|: a bound at or above it says nothing about J(π_θ) − J(π_roll) ∈ [−1, 1] (VACUOUS_DEFINITION)."""
    return VACUOUS_AT + (abs(surrogate) if isinstance(surrogate, (int, float)) and math.isfinite(surrogate) else 0.0)


def vacuous(bounds: dict, surrogate: float = 0.0) -> list[str]:
    """Names of the bounds (and 'unified') whose value is ≥ 1 + |L'| (VACUOUS_DEFINITION); L' = 0 (a small step)
    when the caller does not know it."""
    limit = vacuous_limit(surrogate)
    return [k for k, v in bounds.items() if not k.startswith("argmin") and isinstance(v, (int, float))
            and v >= limit]


def bound_ratios(bounds: dict, error: float) -> dict:
    """{name: |error|/bound} for every bound (None where the bound is 0 and so is the error)."""
    out = {}
    for name, value in bounds.items():
        if name.startswith("argmin") or not isinstance(value, (int, float)):
            continue
        if value > 0:
            out[name] = abs(error) / value
        else:
            out[name] = 0.0 if error == 0 else math.inf
    return out


def _bound_line(label: str, value, error: float | None, limit: float = VACUOUS_AT) -> str:
    line = f"  {label:<22} {fmt(value):>12}"
    if error is not None:
        ratio = bound_ratios({"b": value}, error)["b"] if isinstance(value, (int, float)) else None
        holds = "yes" if isinstance(value, (int, float)) and abs(error) <= value else "NO"
        line += f"  {fmt(ratio):>16}  {holds}"
    if isinstance(value, (int, float)) and value >= limit:
        line += f"  vacuous (≥ 1 + |L'| = {limit:.3g})" if limit > VACUOUS_AT else "  vacuous at L' = 0 (≥ 1)"
    return line


def print_bounds(title: str, bounds: dict, error: float | None = None, error_name: str = "|Error|",
                 surrogate: float = 0.0) -> None:
    """Every bound; values ≥ 1 + |L'| marked vacuous (VACUOUS_DEFINITION; L' = ``surrogate``, 0 when unknown); with
    ``error``, the ratio |error|/bound and whether the bound holds. The χ² family (this suite's
    result, THEORY §10) is listed apart from the paper's, with B** = min(B*, χ² family)."""
    limit = vacuous_limit(surrogate)
    print(f"\n{title}")
    head = f"  {'bound':<22} {'value':>12}"
    if error is not None:
        head += f"  {error_name + '/bound':>16}  holds"
    print(head)
    for name in [k for k in bounds if k not in ("unified", "argmin") + CHI2_KEYS + PATH_KEYS]:
        print(_bound_line(name, bounds[name], error, limit))
    print(_bound_line("unified B*", bounds["unified"], error, limit) + f"  (attained by {bounds['argmin']})")
    if "unified_with_chi2" in bounds:
        print("  χ² family (this suite's result, constant ½):")
        for name in CHI2_KEYS[:3]:
            print(_bound_line(name, bounds[name], error, limit))
        print(_bound_line("B** = min(B*, χ²)", bounds["unified_with_chi2"], error, limit)
              + f"  (attained by {bounds['argmin_with_chi2']})")
    if any(k in bounds for k in PATH_KEYS[:4]):
        print("  path-moment family on sup_R|Error| (this suite's result, THEORY §11):")
        for name in PATH_KEYS[:4]:
            if name in bounds:
                value = bounds[name]
                print(_bound_line(name, value, error, limit) if value is not None else f"  {name:<22} {'—':>12}  (inputs "
                      "not given)")
    if "best" in bounds:
        print(_bound_line("best (every bound)", bounds["best"], error, limit) + f"  (attained by {bounds['argmin_best']})")


def progress(total: int, unit: str):
    """A tqdm bar on stderr, hidden when stderr is not a terminal."""
    from tqdm import tqdm

    stream = sys.stderr
    return tqdm(total=total, unit=unit, file=stream, disable=stream is None or not stream.isatty(), leave=False)


# ---------------------------------------------------------------------------------------------
# generator options
def add_generator_args(p) -> None:
    p.add_argument("--vocab", type=int_range(1, 2**24), default=4, help="vocabulary size V")
    p.add_argument("--states", type=int_range(1, 2**40), default=8, help="automaton: number of states")
    p.add_argument("--prompts", type=int_range(1, 2**40), default=2, help="number of prompts (initial states)")
    p.add_argument("--k", type=int_range(1, 64), default=2, help="kgram: window length (V^k states)")
    p.add_argument("--cap", type=int_range(1, 2**40), default=None, help="counter: count cap (default min(T, 32))")
    p.add_argument("--time-dependent", action="store_true", help="automaton: policies of shape (T, S, V)")
    p.add_argument("--binary-reward", action="store_true", help="tabular: rewards in {0, 1}")
    p.add_argument("--mismatch", default="dense", help="none | dense | heavy | flips | temperature")
    p.add_argument("--sigma", type=float_range(0.0, 100.0), default=0.1, help="logit noise scale")
    p.add_argument("--df", type=float_range(0.5, 1e6), default=3.0, help="heavy: Student-t degrees of freedom")
    p.add_argument("--rate", type=probability, default=0.05, help="flips: probability per context")
    p.add_argument("--flip-sigma", type=float_range(0.0, 100.0), default=1.0, help="flips: noise scale of a flip")
    p.add_argument("--tau", type=float_range(0.01, 100.0), default=1.1, help="temperature: rollout temperature")
    p.add_argument("--fork-fraction", type=probability, default=0.2, help="share of high-entropy contexts")
    p.add_argument("--peak", type=float_range(0.0, 100.0), default=4.0,
                   help="logit lift of the dominant token elsewhere")
    p.add_argument("--fork-scale", type=float_range(0.0, 100.0), default=0.5, help="logit scale at fork contexts")


def generator_params(args, family: str) -> dict:
    from numerics.generators import EntropyProfile

    profile = EntropyProfile(args.fork_fraction, args.peak, args.fork_scale)
    params = {"T": args.T, "profile": profile, "mismatch": mismatch(args)}
    if family in ("automaton", "kgram", "tabular"):
        params["prompts"] = args.prompts
    params["vocab"] = args.vocab
    if family == "automaton":
        params.update(states=args.states, time_dependent=args.time_dependent)
    if family == "kgram":
        params["k"] = args.k
    if family == "counter":
        params["cap"] = args.cap
    if family == "tabular":
        params["binary_reward"] = args.binary_reward
    return params


def check_generator_size(args, family: str) -> None:
    """Refuse a generated pair whose tables would not fit --memory-limit, naming the flag that drives them."""
    from numerics.validation import check_memory, generator_bytes

    need, flag = generator_bytes(family, T=args.T, vocab=args.vocab, states=args.states, prompts=args.prompts,
                                 k=args.k, cap=args.cap, time_dependent=args.time_dependent)
    check_memory(need, limits(args)[0], f"the {family} pair ({flag})")


def mismatch(args):
    from numerics.generators import MismatchModel

    return MismatchModel(args.mismatch, args.sigma, args.df, args.rate, args.flip_sigma, args.tau)

