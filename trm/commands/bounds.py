"""`trm bounds`: Every bound for the user's own T and divergences."""
from __future__ import annotations


from trm.common import emit, number, positive_int, print_bounds, print_mapping


def run(args) -> int:
    from numerics.bounds import BoundInputs, evaluate_bounds

    inputs = BoundInputs.worst_case(args.T, args.kl_max, args.tv_max, args.kl_seq, args.tv_seq)
    payload = {"T": inputs.T, "kl_tok_max": inputs.kl_tok_max, "tv_tok_max": inputs.tv_tok_max,
               "kl_seq": inputs.kl_seq, "tv_seq": inputs.tv_seq, "constants": args.constants,
               "bounds": evaluate_bounds(inputs, args.constants), "notes": list(inputs.notes)}

    def human(p):
        print_mapping(p)
        print_bounds(f"bounds ({args.constants} constants)", p["bounds"])
        for note in p["notes"]:
            print(f"note: {note}")

    emit(payload, args.json, human)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("bounds", help="every bound for your own T and divergences")
    p.add_argument("--T", type=positive_int, required=True)
    p.add_argument("--kl-max", type=number, required=True, help="δ = max token KL(roll‖θ)")
    p.add_argument("--tv-max", type=number, help="ε = max token TV (default min(1, sqrt(δ/2)))")
    p.add_argument("--kl-seq", type=number, help="D_KL^seq (default Tδ)")
    p.add_argument("--tv-seq", type=number, help="D_TV^seq (default min(1, sqrt(D_KL^seq/2)))")
    p.add_argument("--constants", choices=("paper", "sharp"), default="paper")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
