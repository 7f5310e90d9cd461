"""Explicit policy pairs at the equality and extremal cases of the cited lemmas, for their tests' @example
cases (so every profile, the derandomized ci one included, reaches them by construction).

- :func:`equal_pair`: π_θ = π_roll, where every divergence and every error is exactly 0 (the equality case of
  every inequality whose two sides vanish together: Pinsker, data processing, Cauchy–Schwarz, …).
- :func:`symmetric_pair`: one state, π_roll = (½, ½), π_θ = (½ + a, ½ − a) at every position: every context has
  the same KL and χ² (the equality case of D_KL^seq ≤ Tδ, of the χ² recursion and of the increment bound), and
  at T = 2, W = (ρ_1 − 1)(ρ_2 − 1) = ±4a² has constant |W| (Cauchy–Schwarz with equality).
- :func:`one_token_pair`: the same mismatch at the first position only: D_TV^seq and D_KL^seq are one token's,
  so seq_pinsker's ratio is that of a two-point law (→ 1 as a → 0).
- :func:`first_token_tree`: a prefix tree (contexts are prefixes) whose only mismatch is the first token: the
  later tokens are a deterministic continuation of the prefix as far as the mismatch goes, so
  TV(d_2^θ, d_2^roll) = D̄_1 = D_TV^seq (coupling and data processing with equality).
- :func:`two_state_pair`: a mismatched automaton with rewards 0 and 1 (every identity's terms non-zero, values
  reaching 0 and 1).
"""
import numpy as np

from numerics.iid import symmetric_pair
from numerics.pair import AutomatonPair, TabularPair

__all__ = ["equal_pair", "symmetric_pair", "one_token_pair", "first_token_tree", "two_state_pair"]


def equal_pair(T: int = 3) -> AutomatonPair:
    return two_state_pair(T, mismatch=False)


def one_token_pair(a: float, T: int = 3) -> AutomatonPair:
    """One state, V = 2: π_θ(·) = (½ + a, ½ − a) at position 1 and π_roll = π_θ = (½, ½) after it."""
    roll = np.full((T, 1, 2), 0.5)
    theta = roll.copy()
    theta[0, 0] = [0.5 + a, 0.5 - a]
    return AutomatonPair(np.array([1.0]), np.array([[0, 0]]), roll, theta, np.array([1.0]), T)


def first_token_tree(a: float = 0.2) -> TabularPair:
    """X = 1, V = 2, T = 2 (prefixes: empty, 0, 1): the first token's laws differ by TV a, the second's do not."""
    roll = np.array([[[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]]])
    theta = roll.copy()
    theta[0, 0] = [0.5 + a, 0.5 - a]
    return TabularPair(roll, theta, np.array([[1.0, 0.0, 0.3, 0.6]]), np.array([1.0]))


def two_state_pair(T: int = 3, mismatch: bool = True) -> AutomatonPair:
    """Two states that the tokens swap or keep; rewards 1 and 0; full support."""
    roll = np.array([[0.5, 0.5], [0.3, 0.7]])
    theta = np.array([[0.7, 0.3], [0.25, 0.75]]) if mismatch else roll.copy()
    return AutomatonPair(np.array([0.6, 0.4]), np.array([[0, 1], [1, 0]]), roll, theta, np.array([1.0, 0.0]), T)
