"""`trm random`: Write a seeded random policy pair."""
from __future__ import annotations


import numpy as np

from trm.common import add_generator_args, add_limit_args, check_generator_size, emit, generator_params, horizon, \
    output_file, quote_path, seed


def run(args) -> int:
    from numerics.generators import FAMILIES, random_pair
    from numerics.errors import TRMInputError
    from numerics.io import save_pair

    family = args.family
    if family not in FAMILIES:
        raise TRMInputError(f"--family {family!r}: unknown; choose one of {', '.join(FAMILIES)}")
    check_generator_size(args, family)
    pair = random_pair(family, args.seed, **generator_params(args, family))
    written = save_pair(args.out, pair)
    shape = {name: list(np.shape(getattr(pair, name))) for name in ("roll", "theta", "reward")}
    emit({"family": family, "seed": args.seed, "out": written, "shapes": shape}, args.json,
         lambda p: print(f"wrote {quote_path(p['out'])} ({family}, seed {p['seed']}; roll {shape['roll']})"))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("random", help="write a seeded random policy pair",
                       description="Write a seeded random policy pair to exactly the path given (no suffix is "
                                   "added), atomically.")
    p.add_argument("--family", required=True, help="automaton | kgram | counter | tabular")
    p.add_argument("--seed", type=seed, required=True, help="seed in [0, 2^63)")
    p.add_argument("--out", required=True, type=output_file,
                   help="output file (.npz format, written at exactly this path)")
    p.add_argument("--T", type=horizon, default=8, help="horizon")
    add_generator_args(p)
    add_limit_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
