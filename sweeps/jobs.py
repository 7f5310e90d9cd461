"""One sweep job: build or load the pair, compute, return plain numbers (picklable, for any worker).

kind = "exact"       exact quantities (:func:`numerics.exact.exact_quantities`, D_TV^seq where
                     enumeration fits) and the unified bound B* with the paper's and the sharp constants
kind = "simulate"    Monte-Carlo estimates (mean, se) of the finite-state simulator on the CPU, with the
                     exact values beside them
kind = "worst_case"  sup over rewards R ∈ [0, 1] of |Error| by enumeration, the true error and B*
Every number is a float (NaN where a quantity is not defined); a job that raises is reported by the
runner with its parameters.
"""
from __future__ import annotations

import math
import time

from numerics.errors import TRMInputError

GENERATOR_KEYS = ("states", "vocab", "prompts", "k", "cap", "time_dependent", "binary_reward")
MISMATCH_KEYS = ("sigma", "df", "rate", "flip_sigma", "tau")
PROFILE_KEYS = ("fork_fraction", "peak", "fork_scale")
_INT_KEYS = ("T", "seed", "states", "vocab", "prompts", "k", "cap", "samples", "chunk", "block", "budget")


def _int(params: dict, key: str):
    value = params.get(key)
    if value is None:
        return None
    if value != int(value):
        raise TRMInputError(f"{key} = {value!r}: must be an integer")
    return int(value)


def build_pair(params: dict):
    """The job's automaton pair at horizon T (generated from ``family`` and its options, or loaded from ``file``)."""
    from numerics.generators import EntropyProfile, MismatchModel, random_pair
    from numerics.io import load_pair
    from numerics.pair import as_automaton

    T = _int(params, "T")
    if "file" in params:
        return as_automaton(load_pair(params["file"]), T)
    if T is None:
        raise TRMInputError("T: a generated pair needs a horizon")
    options = {key: (_int(params, key) if key != "time_dependent" and key != "binary_reward" else params[key])
               for key in GENERATOR_KEYS if key in params}
    mismatch = MismatchModel(params.get("mismatch", "dense"),
                             **{key: float(params[key]) for key in MISMATCH_KEYS if key in params})
    profile = EntropyProfile(**{key: float(params[key]) for key in PROFILE_KEYS if key in params})
    try:
        pair = random_pair(params["family"], _int(params, "seed"), T=T, mismatch=mismatch, profile=profile, **options)
    except TypeError as exc:                   # an option the family's generator does not take
        raise TRMInputError(f"family {params['family']!r}: {exc}") from None
    return as_automaton(pair, T)


def _bounds(quantities) -> dict:
    from numerics.bounds import BoundInputs, evaluate_bounds

    inputs = BoundInputs.from_exact(quantities)
    return {"B_star_paper": float(evaluate_bounds(inputs, "paper")["unified"]),
            "B_star_sharp": float(evaluate_bounds(inputs, "sharp")["unified"])}


def _exact_numbers(q) -> dict:
    return {"J_roll": q.J_roll, "J_theta": q.J_theta, "surrogate": q.surrogate, "error": q.error,
            "delta_identity": q.delta_identity, "kl_tok_max": q.kl_tok_max, "tv_tok_max": q.tv_tok_max,
            "kl_seq": q.kl_seq, "tv_seq": math.nan if q.tv_seq is None else q.tv_seq,
            "theta_mass_off_roll_support": q.theta_mass_off_roll_support}


def run_job(kind: str, params: dict) -> dict:
    """Compute one job; returns {output name: float} with its wall time in ``seconds``."""
    import numerics.bounds  # noqa: F401  (imports out of the timed region: the bound formulas are lambdified once)
    import numerics.exact  # noqa: F401
    if kind == "simulate":
        import gpu_sim.simulate  # noqa: F401
    start = time.perf_counter()
    pair = build_pair(params)
    if kind == "exact":
        from numerics.exact import DEFAULT_MAX_MEMORY, DEFAULT_MAX_SECONDS, exact_quantities

        q = exact_quantities(pair, max_memory=params.get("max_memory", DEFAULT_MAX_MEMORY),
                             max_seconds=params.get("max_seconds", DEFAULT_MAX_SECONDS))
        out = {**_exact_numbers(q), **_bounds(q)}
    elif kind == "worst_case":
        from numerics.enumeration import DEFAULT_BUDGET, worst_case_error
        from numerics.exact import exact_quantities

        budget = _int(params, "budget") or DEFAULT_BUDGET
        worst = worst_case_error(pair, budget=budget)
        q = exact_quantities(pair, tv_seq_budget=budget)
        out = {"worst_case_error": worst.value, "error": q.error, **_bounds(q)}
        out["ratio_paper"] = worst.value / out["B_star_paper"] if out["B_star_paper"] > 0 else math.nan
    elif kind == "simulate":
        out = _simulate(pair, params)
    else:
        raise TRMInputError(f"kind = {kind!r}: choose exact, simulate or worst_case")
    out["seconds"] = time.perf_counter() - start
    return {key: float(value) for key, value in out.items()}


def _simulate(pair, params: dict) -> dict:
    import torch

    from gpu_sim.finite_state import FiniteStateFamily
    from gpu_sim.simulate import SimulationConfig, simulate
    from numerics.exact import exact_quantities

    device = torch.device("cpu")
    config = SimulationConfig(T=pair.T, samples=_int(params, "samples") or 1024, seed=_int(params, "seed"),
                              chunk=_int(params, "chunk") or 1024, block=_int(params, "block") or 256,
                              criteria=tuple(params.get("criteria", ())),
                              reference_delta=float(params.get("reference_delta", 0.05)))
    result = simulate(FiniteStateFamily(pair, device), config, device)
    q = exact_quantities(pair, tv_seq_budget=0)
    out = {}
    for key in ("J_roll", "objective_gap", "surrogate", "error", "kl_seq"):
        out[f"{key}_mean"] = result.estimates[key].mean
        out[f"{key}_se"] = result.estimates[key].se
    out.update({"exact_J_roll": q.J_roll, "exact_objective_gap": q.J_theta - q.J_roll,
                "exact_surrogate": q.surrogate, "exact_error": q.error, "exact_kl_seq": q.kl_seq,
                "samples": config.samples, "kl_tok_max_sampled": result.kl_tok_max_sampled})
    for text, acc in result.acceptance.items():
        if text != "reference" and "acceptance" in acc:
            out[f"acceptance[{text}]"] = acc["acceptance"][-1]
    return out
