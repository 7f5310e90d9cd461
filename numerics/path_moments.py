"""The path moments the bounds of proofs.path_bounds take (THEORY §11; this suite's own quantities).

With u_t = ρ_t − 1, S = Σ_t u_t, H = Σ_t k3(ρ_t) (k3(ρ) = ρ − 1 − log ρ), M_T = Π_t ρ_t, W = M_T − 1 − S:

    q_sum          Q = E_roll[S²] = Σ_t E_roll[χ²(c_t)]           (the path recursion's S² moment)
    kl_seq         E_roll[H] = D_KL^seq                          (checked against the exact engine)
    sh_moment      E_roll[S·H]
    h2_moment      E_roll[H²]
    bhattacharyya  BC = E_roll[Π_t sqrt(ρ_t)] = E_x Σ_y sqrt(P^roll(y|x) P^θ(y|x))

and, for per-token weights ω = ρ^α (1 + λ|u|) (proofs.path_bounds.WEIGHT_FAMILY),
:func:`weighted_second_moment` = (E_roll[W²/Π_t ω_t], E_roll[Π_t ω_t]). Each is a monomial moment of a
recursion of proofs.path_recursions, computed by numerics.path_recursion at O((nS)³ log T) for small
time-homogeneous pairs. KL is KL(roll ‖ θ); χ² is χ²(π_θ ‖ π_roll).

Support: where π_θ = 0 < π_roll at a context π_roll reaches, H = +inf on a path of positive probability, so
kl_seq, sh_moment and h2_moment are +inf (Q and BC stay finite). Where π_θ puts mass on tokens π_roll cannot
emit, importance weighting misses it: the moments describe the part of P^θ that π_roll sees.

The weight family and the recursions' monomials come from the generated table (:func:`numerics.formulas.active`,
``python3 -m numerics.codegen``): importing this module costs numpy only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from numerics import formulas
from numerics.pair import AutomatonPair, TabularPair, as_automaton
from numerics.path_recursion import monomial_moments
from numerics.reachable import reachable_max


def _moment(moments: np.ndarray, recursion: str, monomial: str) -> float:
    """The entry of ``moments`` (recursion's monomial moments) for ``monomial`` (its name, e.g. "H*S")."""
    return float(moments[formulas.active().RECURSION_MONOMIALS[recursion].index(monomial)])


@dataclass(frozen=True)
class PathMoments:
    """Path moments of a pair at horizon T (module docstring); +inf where π_θ = 0 < π_roll is reached."""

    T: int
    q_sum: float
    kl_seq: float
    sh_moment: float
    h2_moment: float
    bhattacharyya: float

    def to_json(self) -> dict:
        return {"q_sum": float(self.q_sum), "kl_seq_from_path": float(self.kl_seq), "sh_moment": float(self.sh_moment),
                "h2_moment": float(self.h2_moment), "bhattacharyya": float(self.bhattacharyya)}


def theta_vanishes_where_roll_reaches(auto: AutomatonPair) -> bool:
    """Whether some context π_roll reaches has a token with π_θ = 0 < π_roll (then D_KL^seq = +inf)."""
    bad = ((auto.roll > 0) & (auto.theta <= 0)).any(axis=-1).astype(np.float64)
    best, _ = reachable_max(auto, bad, [auto.roll > 0])
    return best > 0


def path_moments(pair: AutomatonPair | TabularPair, T: int | None = None) -> PathMoments:
    """Every quantity of :class:`PathMoments`: the path recursion (or, where π_roll reaches π_θ = 0, the sum
    recursion for Q alone) and the mass recursion at ω = sqrt ρ."""
    auto = as_automaton(pair, T)
    if theta_vanishes_where_roll_reaches(auto):
        q_sum = _moment(monomial_moments(auto, "sum"), "sum", "S**2")
        kl, sh, h2 = math.inf, math.inf, math.inf
    else:
        moments = monomial_moments(auto, "path")
        q_sum = _moment(moments, "path", "S**2")
        kl, sh, h2 = (_moment(moments, "path", k) for k in ("H", "H*S", "H**2"))
    bc = float(monomial_moments(auto, "mass", omega=lambda u, roll: np.sqrt(np.maximum(1.0 + u, 0.0)))[0])
    return PathMoments(auto.T, q_sum, kl, sh, h2, min(1.0, bc))


def weight_family(alpha: float, lam: float):
    """ω(u) = (1 + u)^α (1 + λ|u|) (proofs.path_bounds.WEIGHT_FAMILY), as the engine's omega argument."""
    fn = formulas.active().path_weight

    def omega(u, roll):
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            return np.broadcast_to(fn(alpha, lam, u), u.shape)

    return omega


def weighted_second_moment(pair: AutomatonPair | TabularPair, alpha: float, lam: float,
                           T: int | None = None) -> tuple[float, float]:
    """(E_roll[W²/Π_t ω_t], E_roll[Π_t ω_t]) for ω = ρ^α (1 + λ|ρ − 1|); +inf where a weight vanishes on a path
    of positive probability (α > 0 with π_θ = 0 < π_roll) or where a moment overflows."""
    auto = as_automaton(pair, T)
    omega = weight_family(alpha, lam)
    def inverse(u, roll):
        with np.errstate(divide="ignore"):
            return 1.0 / omega(u, roll)

    w2 = _moment(monomial_moments(auto, "transform", omega=inverse), "transform", "W**2")
    mass = float(monomial_moments(auto, "mass", omega=omega)[0])
    return w2, mass
