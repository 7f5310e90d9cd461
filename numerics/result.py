"""The record of exact quantities that both exact engines return."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ExactQuantities:
    """Exact float64 quantities of a policy pair at horizon T (THEORY §2–§3).

    J_roll, J_theta   J(π) = E_{x, y~π}[R]
    surrogate         L' = E_roll[R Σ_t (ρ_t − 1)]
    error             J(π_θ) − J(π_roll) − L'
    delta_identity    Δ = E_roll[R Σ_t (ρ_t − 1)(1 − Π_{j>t} ρ_j)], computed independently; Error = −Δ
    kl_tok_max        δ = max over contexts reachable under either policy of D_KL(roll ‖ θ)(c)
    tv_tok_max        ε, likewise for D_TV
    kl_seq            D_KL^seq = Σ_t E_{d_t^roll}[D_KL(c)]
    tv_seq            D_TV^seq = E_x TV(P^roll(·|x), P^θ(·|x)); None where not computed exactly
    tv_seq_upper      min(1, sqrt(D_KL^seq / 2)) (Pinsker)
    tv_pos_mean       [T] D̄_t = E_{d_t^roll}[D_TV(c)]
    kl_pos_mean       [T] E_{d_t^roll}[D_KL(c)]
    theta_mass_off_roll_support  P^θ of sequences that π_roll cannot produce; the importance-sampling
                      identities (and so every bound on L') need it to be 0
    chi2_tok_max      χ²_max = max over reachable contexts of χ²(π_θ ‖ π_roll)(c) (THEORY §10; None when
                      not computed); chi2_tok_max_context names the context
    chi2_seq          χ²_seq = E_roll[(Π_t ρ_t)²] − 1 (+inf when π_θ leaves π_roll's support)
    second_moment     E_roll[W²], W = Π_t ρ_t − 1 − Σ_t (ρ_t − 1) (module numerics.second_moment)
    """

    T: int
    J_roll: float
    J_theta: float
    surrogate: float
    error: float
    delta_identity: float
    kl_tok_max: float
    kl_tok_max_context: str
    tv_tok_max: float
    tv_tok_max_context: str
    kl_seq: float
    tv_seq: float | None
    tv_seq_upper: float
    tv_pos_mean: np.ndarray
    kl_pos_mean: np.ndarray
    theta_mass_off_roll_support: float
    method: str
    chi2_tok_max: float | None = None
    chi2_tok_max_context: str | None = None
    chi2_seq: float | None = None
    second_moment: float | None = None

    def to_json(self, positions: bool = True) -> dict:
        """The `trm exact --json` keys (floats; +inf stays inf, written as Infinity); without ``positions``
        the [T] arrays tv_pos_mean and kl_pos_mean are left out (the command summarises them)."""
        return {
            "T": self.T,
            "J_roll": float(self.J_roll),
            "J_theta": float(self.J_theta),
            "surrogate": float(self.surrogate),
            "error": float(self.error),
            "delta_identity": float(self.delta_identity),
            "kl_tok_max": float(self.kl_tok_max),
            "kl_tok_max_context": self.kl_tok_max_context,
            "tv_tok_max": float(self.tv_tok_max),
            "tv_tok_max_context": self.tv_tok_max_context,
            "kl_seq": float(self.kl_seq),
            "tv_seq": None if self.tv_seq is None else float(self.tv_seq),
            "tv_seq_upper": float(self.tv_seq_upper),
            **({"tv_pos_mean": [float(v) for v in self.tv_pos_mean],
                "kl_pos_mean": [float(v) for v in self.kl_pos_mean]} if positions else {}),
            "theta_mass_off_roll_support": float(self.theta_mass_off_roll_support),
            "method": self.method,
            "chi2_tok_max": _float_or_none(self.chi2_tok_max),
            "chi2_tok_max_context": self.chi2_tok_max_context,
            "chi2_seq": _float_or_none(self.chi2_seq),
            "second_moment": _float_or_none(self.second_moment),
        }


def _float_or_none(value) -> float | None:
    return None if value is None else float(value)
