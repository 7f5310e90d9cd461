"""Helpers every subcommand shares: output (JSON or human), number formatting, progress bars,
argument types and the generator options of `trm random` / `trm simulate`."""
from __future__ import annotations

import argparse
import json
import math
import sys


def emit(payload: dict, as_json: bool, human) -> None:
    if as_json:
        json.dump(payload, sys.stdout, indent=None)
        sys.stdout.write("\n")
    else:
        human(payload)


def fmt(value) -> str:
    if value is None:
        return "unavailable"
    if isinstance(value, float):
        if math.isinf(value):
            return "inf"
        return f"{value:.6g}"
    return str(value)


def print_mapping(payload: dict, skip=()) -> None:
    width = max(len(k) for k in payload)
    for key, value in payload.items():
        if key in skip or isinstance(value, (list, dict)):
            continue
        print(f"{key:<{width}}  {fmt(value)}")


def print_bounds(title: str, bounds: dict) -> None:
    print(f"\n{title}")
    for name in [k for k in bounds if k not in ("unified", "argmin")]:
        print(f"  {name:<22} {fmt(bounds[name])}")
    print(f"  {'unified B*':<22} {fmt(bounds['unified'])}  (attained by {bounds['argmin']})")


def progress(total: int, unit: str):
    """A tqdm bar on stderr, hidden when stderr is not a terminal."""
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, file=sys.stderr, disable=not sys.stderr.isatty(), leave=False)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if math.isnan(value):
        raise argparse.ArgumentTypeError("NaN is not a valid value")
    return value


def add_generator_args(p) -> None:
    p.add_argument("--vocab", type=positive_int, default=4)
    p.add_argument("--states", type=positive_int, default=8, help="automaton: number of states")
    p.add_argument("--prompts", type=positive_int, default=2)
    p.add_argument("--k", type=positive_int, default=2, help="kgram: window length")
    p.add_argument("--cap", type=positive_int, default=None, help="counter: count cap (default min(T, 32))")
    p.add_argument("--time-dependent", action="store_true", help="automaton: policies of shape (T, S, V)")
    p.add_argument("--binary-reward", action="store_true", help="tabular: rewards in {0, 1}")
    p.add_argument("--mismatch", default="dense", help="none | dense | heavy | flips | temperature")
    p.add_argument("--sigma", type=number, default=0.1, help="logit noise scale")
    p.add_argument("--df", type=number, default=3.0, help="heavy: Student-t degrees of freedom")
    p.add_argument("--rate", type=number, default=0.05, help="flips: probability per context")
    p.add_argument("--flip-sigma", type=number, default=1.0, help="flips: noise scale of a flip")
    p.add_argument("--tau", type=number, default=1.1, help="temperature: rollout temperature")
    p.add_argument("--fork-fraction", type=number, default=0.2, help="share of high-entropy contexts")
    p.add_argument("--peak", type=number, default=4.0, help="logit lift of the dominant token elsewhere")
    p.add_argument("--fork-scale", type=number, default=0.5, help="logit scale at fork contexts")


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


def mismatch(args):
    from numerics.generators import MismatchModel

    return MismatchModel(args.mismatch, args.sigma, args.df, args.rate, args.flip_sigma, args.tau)



def byte_size(text: str) -> int:
    """A memory size: bytes, or a number with a K, M, G or T suffix (powers of 1024), e.g. 512M, 8G."""
    units = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    body = text.strip().upper().removesuffix("B").removesuffix("I")
    factor = units.get(body[-1:], 1)
    try:
        value = float(body[:-1] if body[-1:] in units else body) * factor
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a memory size (e.g. 4G, 512M, 1000000)") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive, finite memory size")
    return int(value)
