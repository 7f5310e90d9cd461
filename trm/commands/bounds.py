"""`trm bounds`: Every bound for the user's own T and divergences."""
from __future__ import annotations


from trm.common import emit, number, positive_int, print_bounds, print_mapping


def run(args) -> int:
    from numerics.bounds import BoundInputs, evaluate_bounds

    inputs = BoundInputs.worst_case(args.T, args.kl_max, args.tv_max, args.kl_seq, args.tv_seq)
    payload = {"T": inputs.T, "kl_tok_max": inputs.kl_tok_max, "tv_tok_max": inputs.tv_tok_max,
               "kl_seq": inputs.kl_seq, "tv_seq": inputs.tv_seq, "constants": args.constants,
               "bounds": evaluate_bounds(inputs, args.constants), "notes": list(inputs.notes)}
    _add_chi2(payload, args)

    def human(p):
        print_mapping(p)
        print_bounds(f"bounds ({args.constants} constants)", p["bounds"])
        for note in p["notes"]:
            print(f"note: {note}")

    emit(payload, args.json, human)
    return 0


def _add_chi2(payload: dict, args) -> None:
    """With --chi2-max (and optionally --chi2-seq): this suite's χ² family beside the paper's bounds,
    and B** = min(B*, χ² family) as bounds['unified_with_chi2']."""
    from numerics.chi2_bounds import (CHI2_FAMILY_NOTE, UNIFIED_WITH_CHI2_NOTE, Chi2Inputs, evaluate_chi2_bounds,
                                      with_chi2)
    from numerics.errors import TRMInputError

    if args.chi2_max is None:
        if args.chi2_seq is not None:
            raise TRMInputError("--chi2-seq needs --chi2-max (the χ² bounds take χ²_max; it is not implied by δ)")
        return
    chi2 = Chi2Inputs.worst_case(args.T, args.chi2_max, args.chi2_seq)
    payload["chi2_tok_max"], payload["chi2_seq"] = chi2.chi2_max, chi2.chi2_seq
    payload["bounds"] = with_chi2(payload["bounds"], evaluate_chi2_bounds(chi2))
    payload["notes"] += list(chi2.notes) + ["chi2_exact needs E[W²] (trm exact on a pair)", CHI2_FAMILY_NOTE,
                                            UNIFIED_WITH_CHI2_NOTE]


def add_parser(sub) -> None:
    p = sub.add_parser("bounds", help="every bound for your own T and divergences")
    p.add_argument("--T", type=positive_int, required=True)
    p.add_argument("--kl-max", type=number, required=True, help="δ = max token KL(roll‖θ)")
    p.add_argument("--tv-max", type=number, help="ε = max token TV (default min(1, sqrt(δ/2)))")
    p.add_argument("--kl-seq", type=number, help="D_KL^seq (default Tδ)")
    p.add_argument("--tv-seq", type=number, help="D_TV^seq (default min(1, sqrt(D_KL^seq/2)))")
    p.add_argument("--chi2-max", type=number,
                   help="χ²_max = max token χ²(θ‖roll) = Σ π_θ²/π_roll − 1: adds this suite's χ² bound family")
    p.add_argument("--chi2-seq", type=number,
                   help="χ²_seq = E_roll[(Π ρ_t)²] − 1 (default its worst case (1 + χ²_max)^T − 1)")
    p.add_argument("--constants", choices=("paper", "sharp"), default="paper")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
