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

For the ceiling given D_KL^seq (proofs.kl_ceiling; u = ρ − 1 split at 1 into a (u ≤ 1) and b (u > 1), φ(u) =
u − log(1 + u), κ = sup_(u∈[−1,1]) u²/φ(u) = sup_(u≥1) u/φ(u) = 1/(1 − log 2), both at u = 1):

- :func:`one_jump_pair`: one context, one token with u > 1: E|Σu| = E|Σm| + E|Σj| with Σj ≠ 0 (the truncated split's
  equality case beyond the trivial one, b = 0).
- :func:`rare_jump_pair`: a rare token at u just above 1: E|Σj| / (8B) → κ/4 = 0.8147 (the supremum, approached as the
  rare mass → 0 and u → 1⁺).
- :func:`boundary_martingale_pair`: two positions, u = 1 at the rare tokens: E|Σm| / (2 sqrt(A)) = 0.7911.
- :func:`escape_tree`: θ leaves roll's support at the first token (the rest a near-deterministic θ path that roll takes
  with probability ~ε): sup_R|Error| / (D_TV^seq + ½E|Σu|) = 8/9 − O(ε), the largest ratio found at T = 3.
"""
import numpy as np

from numerics.iid import symmetric_pair
from numerics.pair import AutomatonPair, TabularPair

__all__ = ["equal_pair", "symmetric_pair", "one_token_pair", "first_token_tree", "two_state_pair", "one_jump_pair",
           "rare_jump_pair", "boundary_martingale_pair", "escape_tree"]


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


def one_jump_pair() -> AutomatonPair:
    """T = 1, π_roll = (0.2, 0.8), π_θ = (0.6, 0.4): u = (2, −½), β = 0.4; m = (0.4, −0.1) and j = (1.6, −0.4) have the
    same sign at each token, so |u| = |m| + |j| token by token."""
    return AutomatonPair(np.array([1.0]), np.array([[0, 0]]), np.array([[0.2, 0.8]]), np.array([[0.6, 0.4]]),
                         np.array([1.0]), 1)


def rare_jump_pair() -> AutomatonPair:
    """T = 1, π_roll = (r, 1 − r), π_θ = (r(1 + K), 1 − r(1 + K)) with r = 2⁻²¹ and K = 1 + 2⁻³⁰ (u = K exactly in
    float64): E|j| = 2rK(1 − r) and B = r φ(K), so E|j|/(8B) = K(1 − r)/(4φ(K)) = (κ/4)(1 − 5·10⁻⁷).

    The rare mass r trades the ratio against the size of both sides: the one-sided slack of tests/tolerances.py is
    absolute (5.7·10⁻¹⁴ below 1), so rhs·(κ/4)(1 − 10⁻⁶) is refused only while 8B·(κ/4)(10⁻⁶ − r) exceeds it."""
    r = 2.0 ** -21
    K = 1.0 + 2.0 ** -30
    return AutomatonPair(np.array([1.0]), np.array([[0, 0]]), np.array([[r, 1 - r]]),
                         np.array([[r * (1 + K), 1 - r * (1 + K)]]), np.array([1.0]), 1)


def boundary_martingale_pair() -> TabularPair:
    """X = 1, V = 2, T = 2 (prefixes: empty, 0, 1): π_roll = (0.21, 0.79) then (0.23, 0.77) after token 1, π_θ = twice
    the rare probability at both, so u = 1 (the largest u²/φ(u) on [−1, 1]) at the rare tokens; no mismatch after
    token 0. E|Σm| / (2 sqrt(A)) = 0.79106 (a search over V = 2, T ≤ 3 and V = 3, T = 2 found 0.79126 at most)."""
    roll = np.array([[[0.21, 0.79], [0.5, 0.5], [0.23, 0.77]]])
    theta = np.array([[[0.42, 0.58], [0.5, 0.5], [0.46, 0.54]]])
    return TabularPair(roll, theta, np.zeros((1, 4)), np.array([1.0]))


def escape_tree(eps: float = 1e-12) -> TabularPair:
    """X = 1, V = 2, T = 3 (prefixes: empty, 0, 1, 00, 01, 10, 11). π_θ writes 0, 1, 1 deterministically; π_roll
    writes 0 or 1 with ½ each, then after 0 writes 0 (1 in ε) and after 01 writes 0 (1 in ε), after 1 writes ½/½, then
    (⅔, ⅓) after 10 and 1 (0 in ε) after 11; after 00 both are (½, ½). In the limit ε → 0: D_TV^seq = 1, E|Σu| = 1
    (Σu = 1/ε on 010, of roll mass ε/2, and −3 on 100, of mass ⅙), sup_R|Error| = ½E|M − 1 − Σu| = 4/3, ratio 8/9.
    π_roll has full support, as the worst case over rewards requires."""
    roll = np.array([[[0.5, 0.5], [1 - eps, eps], [0.5, 0.5], [0.5, 0.5], [1 - eps, eps], [2 / 3, 1 / 3],
                      [eps, 1 - eps]]])
    theta = np.array([[[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.5, 0.5], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0]]])
    return TabularPair(roll, theta, np.zeros((1, 8)), np.array([1.0]))
