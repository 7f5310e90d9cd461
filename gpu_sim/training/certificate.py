"""The monotonic-improvement certificate of a training step, from plug-in estimates.

THEORY §5: J(π_θ) − J(π_roll) ≥ L' − B, so a step whose surrogate
L̂' = mean_i (R_i − R̄) Σ_t (ρ_it − 1) exceeds a bound B̂ is certified to improve (up to the plug-in
error of the estimates). Two bounds:
  paper  B̂* of the paper's family (numerics.bounds, paper constants) with δ̂ = max token KL(roll‖θ),
         ε̂ = max token TV over the batch's contexts, D̂_KL^seq = mean_i Σ_t KL(c_it), D̂_TV^seq its
         Pinsker cap and D̄_t the batch mean of the token TV at position t;
  χ²     B_χ²-max = ½ sqrt((1 + χ²_max)^T − 1 − T χ²_max) (THEORY §10, this suite's own family, not
         the paper's), χ̂²_max the max token χ²(θ‖roll) over the batch's contexts, evaluated from
         proofs.second_moment.chi2_bound_expr("chi2_max") (its sum lambdified term by term).
The plug-in maxima are over sampled contexts only, so both are estimates of the bounds, not bounds, and
L̂' > B̂ has no confidence level (logged as ``plugin_certificate``). The certificate with a stated level is
numerics.intervals.improvement_certificate, computed per step by gpu_sim.training.loop.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp

from numerics.bounds import BoundInputs, evaluate_bounds, pinsker_cap


@lru_cache(maxsize=None)
def _chi2_max_functions():
    from proofs.second_moment import chi2_bound_expr, chi2_max
    from proofs.symbols import T as T_sym, t as t_sym

    expr = chi2_bound_expr("chi2_max")
    (total,) = expr.atoms(sp.Sum)
    summand, (index, lower, upper) = total.function, total.limits[0]
    if (index, lower, upper) != (t_sym, 1, T_sym):
        raise AssertionError(f"chi2_bound_expr('chi2_max'): unexpected sum limits {total.limits}")
    S = sp.Symbol("S", nonnegative=True)
    outer = sp.lambdify([chi2_max, S], expr.subs(total, S), modules="numpy")
    term = sp.lambdify([t_sym, chi2_max], summand, modules="numpy")
    return outer, term


def chi2_max_bound(T: int, chi2_max: np.ndarray | float) -> np.ndarray:
    """B_χ²-max(T, χ²_max) elementwise over ``chi2_max`` (any shape); +inf where it overflows."""
    outer, term = _chi2_max_functions()
    x = np.asarray(chi2_max, dtype=np.float64)
    t = np.arange(1, T + 1, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.broadcast_to(term(t, x[..., None]), x.shape + (T,)).sum(axis=-1)
        value = np.asarray(outer(x, total), dtype=np.float64)
    return np.where(np.isnan(value) & np.isinf(total), np.inf, value)


def paper_bound(T: int, kl_max: float, tv_max: float, kl_seq: float, tv_pos_mean: np.ndarray) -> float:
    """B̂* (paper constants) from the batch's plug-in divergences."""
    inputs = BoundInputs(T, float(kl_max), min(1.0, float(tv_max)), float(kl_seq), pinsker_cap(float(kl_seq)),
                         np.minimum(1.0, np.asarray(tv_pos_mean, dtype=np.float64)))
    return evaluate_bounds(inputs, "paper")["unified"]
