"""The suite's valid bounds on sup_R|Error| that read only one statistic, each at its worst case given that statistic:
what numerics.lower_bounds sets against the worst case found (this suite's analysis beside THEORY §10–§11; the B*
rows are the paper's, the rest this suite's own results).

    statistic  key                 bound (KL is roll ‖ θ, χ² is χ²(π_θ ‖ π_roll))          kernel statement
    'kl'       paper/unified       B* (paper constants), every other input at its worst case  bound_family (paper)
    δ          sharp/unified       B* (sharp constants, this suite's)                        bound_family (sharp)
               sequence_kl         D_KL^seq at its worst case Tδ                             sequence_kl_worst_case
               kl_ceiling          min(1, sqrt(Tδ/2)) + sqrt(Tδ) + 4Tδ                       kl_ceiling_at_delta
    'kl_seq'   the same four at D_KL^seq = min(D, Tδ)                                        sequence_kl_bound,
    δ, D                                                                                     kl_seq_ceiling_capped
    'chi2'     chi2_max            B_χ²-max = ½ sqrt((1 + χ²_max)^T − 1 − Tχ²_max)            chi2_max_bound
    χ²_max     tangent_at_zero     ½(1 + sqrt(1 + Q)) at Q = Tχ²_max                         tangent_at_zero_chi2_max
               additive_tv_le_1    1 + ½ sqrt(Q) at Q = Tχ²_max (D_TV^seq ≤ 1)                additive_chi2_max
    'additive' tangent_at_zero     ½(1 + sqrt(1 + Q))                                        tangent_bound_at_zero
    Q          additive_tv_le_1    1 + ½ sqrt(Q)                                             additive_tv_at_most_one
               additive            D_TV^seq + ½ sqrt(Q) at the pair's own D_TV^seq            additive_bound

'additive' under 'additive' also reads the pair's D_TV^seq (PAIR_KEYS): it is not a function of Q alone, so it is
left out of :func:`best_bound`. Nothing else of the suite applies: given δ alone χ² is unbounded (a token with
π_roll → 0), so neither the χ² family nor Q is available; given χ²_max alone D_KL(roll ‖ θ) is unbounded (π_θ → 0 at
a token π_roll keeps), so neither sequence_kl nor B* is; the tangent bound at γ > 0 and the weighted χ² bound need
path moments no statistic here fixes. Every path-moment bound, and the ceiling, needs π_θ on π_roll's support
(THEORY §10–§11); B* does not.

Every value is the kernel's expression evaluated through numerics: B* by numerics.bounds, B_χ²-max by
numerics.chi2_bounds, the path bounds by numerics.path_bounds (formulas.active(), the generated module) with the
inputs the statistic leaves at their worst case (PathInputs.worst_case), and the ceiling lambdified from
proofs.kl_ceiling.
"""
from __future__ import annotations

import math
from functools import lru_cache

import sympy as sp

from numerics import formulas
from numerics.bounds import BoundInputs, evaluate_bounds
from numerics.chi2_bounds import chi2_max_bound_closed
from numerics.path_bounds import PathInputs, evaluate_path_bounds
from proofs import kl_ceiling
from proofs.symbols import kl_seq as kl_seq_sym

STATISTICS = ("kl", "kl_seq", "chi2", "additive")
_KL_KEYS = ("paper/unified", "sharp/unified", "sequence_kl", "kl_ceiling")
#: Bounds reported per statistic (keys of LowerBound.bounds), in the order they are printed.
BOUND_KEYS = {"kl": _KL_KEYS, "kl_seq": _KL_KEYS, "chi2": ("chi2_max", "tangent_at_zero", "additive_tv_le_1"),
              "additive": ("tangent_at_zero", "additive_tv_le_1", "additive")}
#: Keys whose bound also reads the pair's own D_TV^seq, not only the statistic.
PAIR_KEYS = {"additive": ("additive",)}
#: The kernel derivation behind each key, per statistic (`trm proofs` prints it).
KERNEL = {"kl": {"paper/unified": "bound_family (paper constants)", "sharp/unified": "bound_family (sharp constants)",
                 "sequence_kl": "sequence_kl_worst_case", "kl_ceiling": "kl_ceiling_at_delta"},
          "kl_seq": {"paper/unified": "bound_family (paper constants)",
                     "sharp/unified": "bound_family (sharp constants)", "sequence_kl": "sequence_kl_bound",
                     "kl_ceiling": "kl_seq_ceiling_capped"},
          "chi2": {"chi2_max": "chi2_max_bound", "tangent_at_zero": "tangent_at_zero_chi2_max",
                   "additive_tv_le_1": "additive_chi2_max"},
          "additive": {"tangent_at_zero": "tangent_bound_at_zero", "additive_tv_le_1": "additive_tv_at_most_one",
                       "additive": "additive_bound"}}


@lru_cache(maxsize=None)
def _ceiling():
    return sp.lambdify([kl_seq_sym], kl_ceiling.KL_SEQ_CEILING, modules="math")


def kl_seq_ceiling(kl_seq: float) -> float:
    """min(1, sqrt(D/2)) + sqrt(D) + 4D (proofs.kl_ceiling, kl_seq_ceiling_capped): every pair with D_KL^seq ≤ D has
    sup_R|Error| at most this. Never below D itself (sequence_kl_below_ceiling), so never the best bound here."""
    return float(_ceiling()(kl_seq))


def additive_bound(Q: float, tv_seq: float) -> float:
    """D_TV^seq + ½ sqrt(Q) (THEORY §11; proofs.path_bounds.ADDITIVE_BOUND through formulas.active()), Q = Σ_t
    E_roll[χ²(c_t)], for D_TV^seq or any upper bound of it."""
    return float(formulas.active().PATH_BOUNDS["additive"](tv_seq, Q))


def bounds_for(statistic: str, value: float, T: int, kl_seq: float | None = None,
               tv_seq: float | None = None) -> dict:
    """{key: bound} of BOUND_KEYS[statistic] at the statistic's value (δ, χ²_max or Q) and horizon T; ``kl_seq`` is
    the cap D of 'kl_seq', ``tv_seq`` the pair's own D_TV^seq for the 'additive' key of 'additive' (left out when
    None). Inputs are assumed validated (numerics.lower_bounds.check_statistic)."""
    if statistic in ("kl", "kl_seq"):
        D = None if statistic == "kl" else min(kl_seq, T * value)
        inputs = BoundInputs.worst_case(T, value, kl_seq=D)
        out = {f"{family}/unified": evaluate_bounds(inputs, family)["unified"] for family in ("paper", "sharp")}
        path, _ = evaluate_path_bounds(PathInputs.worst_case(T, inputs.kl_seq))
        out["sequence_kl"] = path["sequence_kl"]
        out["kl_ceiling"] = kl_seq_ceiling(inputs.kl_seq)
        return out
    if statistic == "chi2":
        path, _ = evaluate_path_bounds(PathInputs.worst_case(T, math.inf, chi2_max=value))
        return {"chi2_max": chi2_max_bound_closed(T, value), "tangent_at_zero": path["tangent"],
                "additive_tv_le_1": path["additive"]}
    path, params = evaluate_path_bounds(PathInputs.worst_case(T, math.inf, q_sum=value))
    out = {"tangent_at_zero": path["tangent"], "additive_tv_le_1": path["additive"]}
    if tv_seq is not None:
        out["additive"] = additive_bound(value, tv_seq)
    return out


def best_bound(statistic: str, bounds: dict) -> tuple[str, float]:
    """(key, value): the smallest bound that reads only the statistic (PAIR_KEYS left out); the first in
    BOUND_KEYS order among equal values."""
    keys = [k for k in BOUND_KEYS[statistic] if k in bounds and k not in PAIR_KEYS.get(statistic, ())]
    key = min(keys, key=lambda k: bounds[k])
    return key, bounds[key]
