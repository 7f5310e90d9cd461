"""`trm random`: Write a seeded random policy pair."""
from __future__ import annotations


import numpy as np

from trm.common import add_generator_args, emit, generator_params, positive_int


def run(args) -> int:
    from numerics.generators import random_pair
    from numerics.io import save_pair

    family = args.family
    pair = random_pair(family, args.seed, **generator_params(args, family))
    save_pair(args.out, pair)
    shape = {name: list(np.shape(getattr(pair, name))) for name in ("roll", "theta", "reward")}
    emit({"family": family, "seed": args.seed, "out": args.out, "shapes": shape}, args.json,
          lambda p: print(f"wrote {p['out']} ({family}, seed {p['seed']}; roll {shape['roll']})"))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("random", help="write a seeded random policy pair")
    p.add_argument("--family", required=True, help="automaton | kgram | counter | tabular")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", required=True, help="output .npz")
    p.add_argument("--T", type=positive_int, default=8)
    add_generator_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
