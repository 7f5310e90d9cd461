"""`trm bounds`: Every bound for the user's own T and divergences."""
from __future__ import annotations

import dataclasses

import numpy as np

from numerics.errors import TRMInputError
from trm.common import (VACUOUS_DEFINITION, add_limit_args, emit, float_range, int_range, limits, number, number_or_inf,
                        print_bounds, print_mapping, quote_path, vacuous)

#: The bounds evaluate a few dozen float64 arrays of length T.
BYTES_PER_POSITION = 400

EPILOG = """Every bound is on |Error| = |J(π_θ) − J(π_roll) − L'|; a value ≥ 1 + |L'| is marked vacuous: for a reward
in [0, 1], J(π_θ) − J(π_roll) ∈ [−1, 1] says as much (give your step's surrogate with --surrogate; 0 otherwise, a
small step). |Error| itself can exceed 1. Measured D̄_t (--tv-pos) and D_TV^seq (--tv-seq) are what make the Adaptive and
Mixed bounds informative; without them every missing input takes its worst case given the others."""


def run(args) -> int:
    from numerics.bounds import BoundInputs, evaluate_bounds
    from numerics.validation import check_memory, load_numbers

    memory_limit, _ = limits(args)
    check_memory(BYTES_PER_POSITION * args.T, memory_limit, f"the bounds at --T {args.T:,}")
    inputs = BoundInputs.worst_case(args.T, args.kl_max, args.tv_max, args.kl_seq, args.tv_seq)
    if args.tv_pos is not None:
        dbar = load_numbers(args.tv_pos, "--tv-pos", memory_limit)
        inputs = _with_measured_dbar(inputs, dbar, args.tv_pos)
    payload = {"T": inputs.T, "kl_tok_max": inputs.kl_tok_max, "tv_tok_max": inputs.tv_tok_max,
               "kl_seq": inputs.kl_seq, "tv_seq": inputs.tv_seq, "constants": args.constants,
               "tv_pos_source": "measured (--tv-pos)" if args.tv_pos is not None else "worst case D̄_t ≡ ε",
               "bounds": evaluate_bounds(inputs, args.constants), "notes": list(inputs.notes)}
    _add_chi2(payload, args)
    _add_path(payload, args, inputs)
    payload["surrogate"] = args.surrogate
    payload["vacuous"] = vacuous(payload["bounds"], args.surrogate)
    payload["definitions"] = {"vacuous": VACUOUS_DEFINITION + (
        "" if args.surrogate else "; L' not given (--surrogate): taken as 0, a small step")}

    def human(p):
        print_mapping(p)
        print_bounds(f"bounds on |Error| ({args.constants} constants)", p["bounds"], surrogate=args.surrogate)
        for note in p["notes"]:
            print(f"note: {note}")
        if p["vacuous"]:
            print(f"note: values ≥ 1 + |L'| = {1 + abs(args.surrogate):g} are vacuous: J(π_θ) − J(π_roll) ∈ [−1, 1] "
                  "for a reward in [0, 1] says as much" + ("" if args.surrogate else " (L' taken as 0: --surrogate)"))

    emit(payload, args.json, human)
    return 0


def _with_measured_dbar(inputs, dbar: np.ndarray, path):
    """The inputs with measured D̄_t, checked: T values in [0, 1], each ≤ ε (D̄_t is an average of
    token TVs, each at most ε = D_TV^(tok,max))."""
    T, eps = inputs.T, inputs.tv_tok_max
    q = quote_path(path)
    if dbar.shape != (T,):
        raise TRMInputError(f"--tv-pos {q}: {dbar.size} values, expected one per position (--T {T})")
    if (dbar < 0).any():
        i = int(np.argmax(dbar < 0))
        raise TRMInputError(f"--tv-pos {q}: D̄_{i + 1} = {dbar[i]:g} is negative; a TV lies in [0, 1]")
    slack = 1e-12 + 1e-9 * eps
    if (dbar > eps + slack).any():
        i = int(np.argmax(dbar > eps + slack))
        raise TRMInputError(f"--tv-pos {q}: D̄_{i + 1} = {dbar[i]:g} exceeds ε = {eps:g} (--tv-max, or its worst "
                            "case min(1, sqrt(δ/2))): D̄_t ≤ ε must hold")
    notes = tuple(n for n in inputs.notes if not n.startswith("tv_pos_mean")) + (
        f"tv_pos_mean: measured D̄_t from {q} (mean {dbar.mean():.4g}, max {dbar.max():.4g})",)
    return dataclasses.replace(inputs, tv_pos_mean=np.minimum(dbar, eps), notes=notes)


def _add_chi2(payload: dict, args) -> None:
    """With --chi2-max (and optionally --chi2-seq): this suite's χ² family beside the paper's bounds,
    and B** = min(B*, χ² family) as bounds['unified_with_chi2']."""
    from numerics.chi2_bounds import (CHI2_FAMILY_NOTE, UNIFIED_WITH_CHI2_NOTE, Chi2Inputs, evaluate_chi2_bounds,
                                      with_chi2)

    if args.chi2_max is None:
        if args.chi2_seq is not None:
            raise TRMInputError("--chi2-seq needs --chi2-max (the χ² bounds take χ²_max; it is not implied by δ)")
        return
    chi2 = Chi2Inputs.worst_case(args.T, args.chi2_max, args.chi2_seq)
    payload["chi2_tok_max"], payload["chi2_seq"] = chi2.chi2_max, chi2.chi2_seq
    payload["bounds"] = with_chi2(payload["bounds"], evaluate_chi2_bounds(chi2))
    payload["notes"] += list(chi2.notes) + ["chi2_exact needs E[W²] (trm exact on a pair)", CHI2_FAMILY_NOTE,
                                            UNIFIED_WITH_CHI2_NOTE]


def _add_path(payload: dict, args, inputs) -> None:
    """This suite's path-moment family (THEORY §11) on the numbers given: sequence_kl always (D_KL^seq, or its worst
    case Tδ), additive and the tangent bound with Q (--chi2-sum, or its worst case T·χ²_max), the full tangent search
    with --sh-moment/--h2-moment; weighted_chi2 needs a pair (trm exact). Then best / argmin_best."""
    from numerics.path_bounds import BEST_NOTE, PATH_FAMILY_NOTE, PathInputs, evaluate_path_bounds, with_path_bounds

    tv_given = args.tv_seq is not None
    path_inputs = PathInputs.worst_case(inputs.T, inputs.kl_seq, args.chi2_sum, args.sh_moment, args.h2_moment,
                                        inputs.tv_seq if tv_given else None, args.bhattacharyya,
                                        payload.get("chi2_tok_max"))
    # the L1 split (every token large): E|Σ_t u_t| ≤ Σ_t E|u_t| = 2 Σ_t D̄_t (measured, or ε at every position)
    path_inputs = dataclasses.replace(path_inputs, splits=((0.0, 2.0 * float(np.sum(inputs.tv_pos_mean)), 0.0),))
    values, params = evaluate_path_bounds(path_inputs)
    payload["bounds"] = with_path_bounds(payload["bounds"], values)
    payload["path_moments"] = {"q_sum": path_inputs.q_sum, "sh_moment": path_inputs.sh_moment,
                               "h2_moment": path_inputs.h2_moment, "bhattacharyya": path_inputs.bhattacharyya, **params}
    missing = [n for n, v in values.items() if v is None]
    payload["notes"] += list(path_inputs.notes) + [PATH_FAMILY_NOTE, BEST_NOTE]
    if "weighted_chi2" in missing:
        payload["notes"].append("weighted_chi2 needs the pair itself (trm exact FILE)")
    if "additive" in missing:
        payload["notes"].append("additive and tangent need Q = Σ_t E_roll[χ²(c_t)] (--chi2-sum, or --chi2-max for its "
                                "worst case T·χ²_max)")


def add_parser(sub) -> None:
    p = sub.add_parser("bounds", help="every bound for your own T and divergences",
                       description="Every bound for your own T and divergences; missing inputs take their worst "
                                   "case given the others.", epilog=EPILOG)
    p.add_argument("--T", type=int_range(1, 2**40), required=True, help="sequence length")
    p.add_argument("--kl-max", type=number_or_inf, required=True, help="δ = max token KL(roll‖θ)")
    p.add_argument("--tv-max", type=number, help="ε = max token TV (default min(1, sqrt(δ/2)))")
    p.add_argument("--kl-seq", type=number_or_inf, help="D_KL^seq (default Tδ)")
    p.add_argument("--tv-seq", type=number, help="D_TV^seq (default min(1, sqrt(D_KL^seq/2)))")
    p.add_argument("--chi2-max", type=number_or_inf,
                   help="χ²_max = max token χ²(θ‖roll) = Σ π_θ²/π_roll − 1: adds this suite's χ² bound family")
    p.add_argument("--chi2-seq", type=number_or_inf,
                   help="χ²_seq = E_roll[(Π ρ_t)²] − 1 (default its worst case (1 + χ²_max)^T − 1)")
    p.add_argument("--chi2-sum", type=number_or_inf,
                   help="Q = Σ_t E_roll[χ²(c_t)] (= E_roll[(Σ_t (ρ_t − 1))²]): adds the additive and tangent bounds "
                        "(THEORY §11; default T·χ²_max when --chi2-max is given)")
    p.add_argument("--sh-moment", type=number,
                   help="E_roll[S·H], S = Σ_t (ρ_t − 1), H = Σ_t (ρ_t − 1 − log ρ_t): with --h2-moment, the full tangent "
                        "search")
    p.add_argument("--h2-moment", type=number_or_inf, help="E_roll[H²] (with --sh-moment)")
    p.add_argument("--bhattacharyya", type=number,
                   help="BC = E_roll[Π_t sqrt(ρ_t)] in [0, 1]: D_TV^seq ≤ sqrt(1 − BC²) (Le Cam) in the additive bound")
    p.add_argument("--tv-pos", "--dbar", metavar="FILE",
                   help="measured D̄_t = E_(c~d_t^roll)[D_TV(c)]: T numbers in a .npy, a one-array .npz or a text "
                        "file (default: the worst case D̄_t ≡ ε)")
    p.add_argument("--constants", choices=("paper", "sharp"), default="paper",
                   help="paper (C = 4) or sharp (C = 2) constants")
    add_limit_args(p)
    p.add_argument("--surrogate", type=float_range(-1e300, 1e300), default=0.0,
                   help="your step's surrogate L' (decides which bounds are vacuous: B ≥ 1 + |L'|; default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
