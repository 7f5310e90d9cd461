"""Expectations of path monomials by dynamic programming: the recursions of proofs.path_recursions, run
over an automaton's states (THEORY §11; this suite's own quantities, not the paper's).

For a recursion with monomials μ_0 … μ_(n−1) (e.g. 1, S, H, S², SH, H²) whose one-step update is
μ_i' = Σ_j c_ij(u, h) μ_j (u = ρ − 1, h = ρ − 1 − log ρ of the emitted token; the table is proved in the
kernel), the forward measures x_i,t(s) = E_roll[μ_i,t · Π_(τ≤t) ω_τ ; s_t = s] obey

    x_i,t+1(s') = Σ_j Σ_(s, v : n(s,v) = s') π_roll(v|s) ω(s, v) c_ij(u(s, v), h(s, v)) x_j,t(s),

one S×S operator per non-zero coefficient (numerics.transition.forward_matrix), stacked into an nS×nS
block operator A (x_(t+1) = x_t A, row vectors). E_roll[μ_i,T Π ω] = Σ_s x_i,T(s). ω ≡ 1 gives plain moments.

Engines: for a time-homogeneous pair with nS ≤ DENSE_STATE_LIMIT, x_T = x_0 A^T by binary powering
(O(n³S³ log T); A is block upper triangular, so each squaring takes n(n+1)(n+2)/6 S×S×S products rather
than (nS)³, 56 against 216 for n = 6; or T vector-matrix products when that is cheaper); a larger homogeneous
pair takes T products with the sparse block operator (O(T · n² · S · V)); a time-dependent pair one step per position with
the per-position weights built a chunk of positions at a time (O(T · n² · S · V) work, O(chunk · S · V)
memory). Per-token u and h come from the difference of the laws (numerics.divergence's accuracy
habits): u = (π_θ − π_roll)/π_roll, h = u − log1p(u) by its series where |u| < 1e-3. Tokens π_roll cannot
emit carry weight 0. Overflow gives +inf (a NaN from inf − inf inside a product is reported as +inf).

The coefficient table, the monomials and their initial values are proofs.path_recursions', read through the
generated table (:func:`numerics.formulas.active`, ``python3 -m numerics.codegen``); scipy is imported only
by the sparse engine.
"""
from __future__ import annotations

import math

import numpy as np

from numerics import formulas
from numerics.pair import AutomatonPair
from numerics.transition import DENSE_STATE_LIMIT, forward_matrix, sparse_forward_matrix

#: Positions whose per-token weights are built at once in the sequential sweep (elements of [chunk, S, V]).
_CHUNK_ELEMENTS = 2**20


def token_u_h(roll: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(u, h) per token on π_roll's support ([..., V] each; 0 off it): u = (π_θ − π_roll)/π_roll and
    h = u − log1p(u) = k3(ρ) ≥ 0 (+inf where π_θ = 0 < π_roll), by its alternating series for |u| < 1e-3."""
    on = roll > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(on, (theta - roll) / np.where(on, roll, 1.0), 0.0)
        small = np.abs(u) < 1e-3
        us = np.where(small, u, 0.0)
        series = us * us * (0.5 - us * (1 / 3 - us * (0.25 - us * (0.2 - us / 6))))
        direct = np.where(small | (u <= -1.0), 0.0, u - np.log1p(np.where(small | (u <= -1.0), 0.0, u)))
        h = np.where(small, series, np.where(u <= -1.0, np.inf, direct))
    return u, np.where(on, h, 0.0)


def _initial_vector(name: str, init: np.ndarray) -> np.ndarray:
    values = formulas.active().RECURSION_INITIAL[name]
    return np.concatenate([float(v) * init for v in values])


def _token_weights(name: str, roll: np.ndarray, u: np.ndarray, h: np.ndarray,
                   omega: np.ndarray | None) -> dict[tuple[int, int], np.ndarray]:
    """{(i, j): π_roll ω c_ij(u, h)} over [..., S, V] for every non-zero coefficient."""
    base = roll if omega is None else roll * omega
    h = np.where(np.isinf(h), 0.0, h)          # π_θ = 0 < π_roll: only at contexts π_roll never reaches (see below)
    out = {}
    for i, row in enumerate(formulas.active().RECURSION_COEFFICIENTS[name]):
        for j, fn in enumerate(row):
            if fn is not None:
                with np.errstate(invalid="ignore", over="ignore"):
                    value = np.broadcast_to(fn(u, h), u.shape)
                    out[(i, j)] = np.where(roll > 0, base * value, 0.0)
    return out


def block_triangular_product(P: np.ndarray, Q: np.ndarray, S: int) -> np.ndarray:
    """P Q for nS×nS matrices whose S×S blocks vanish below the block diagonal (block (a, b) = 0 for a > b):
    C_ac = Σ_(a≤b≤c) P_ab Q_bc, one S×(c−a+1)S by (c−a+1)S×S product per block of the upper triangle, on
    views of P and Q. n(n+1)(n+2)/6 S×S×S products (56 for n = 6) instead of the dense (nS)³ = 216 S³; the
    product is block upper triangular again, so every power of such an operator is."""
    n = P.shape[0] // S
    C = np.zeros_like(P)
    for a in range(n):
        rows = slice(a * S, (a + 1) * S)
        for c in range(a, n):
            np.matmul(P[rows, a * S:(c + 1) * S], Q[a * S:(c + 1) * S, c * S:(c + 1) * S],
                      out=C[rows, c * S:(c + 1) * S])
    return C


def _matrix_power_apply(x: np.ndarray, A: np.ndarray, T: int, S: int) -> np.ndarray:
    """x A^T by binary powering (or T products when cheaper). ``A`` is the block operator of a recursion with
    S×S blocks; when it is block upper triangular (every recursion of proofs.path_recursions is: a monomial's
    update reads monomials of its own or lower degree, x_i' = Σ_(j≤i) x_j A_ji) its powers are formed by
    :func:`block_triangular_product`."""
    n = A.shape[0]
    k_blocks = n // S
    triangular = all(not A[a * S:(a + 1) * S, :a * S].any() for a in range(k_blocks))
    square = (lambda M: block_triangular_product(M, M, S)) if triangular else (lambda M: M @ M)
    with np.errstate(over="ignore", invalid="ignore"):
        if T * n * n <= 2 * n**3 * max(1, math.ceil(math.log2(max(T, 2)))):
            for _ in range(T):
                x = x @ A
            return x
        power, k = A, T
        while k:
            if k & 1:
                x = x @ power
            k >>= 1
            if k:
                power = square(power)
    return x


def monomial_moments(auto: AutomatonPair, name: str, omega=None) -> np.ndarray:
    """E_roll[μ_i,T · Π_t ω_t] for every monomial μ_i of recursion ``name`` ([n]; +inf on overflow).

    ``omega``: None (ω ≡ 1), or a function (u [..., V], roll [..., V]) → positive weights of u's shape,
    evaluated on π_roll's support. A token with π_θ = 0 < π_roll has h = +inf; the caller must not ask for a
    recursion involving h when π_roll reaches such a token (numerics.path_moments checks): its h is set to 0
    here, which is exact where π_roll never reaches it."""
    T, S = auto.T, auto.S
    n = len(formulas.active().RECURSION_MONOMIALS[name])
    x = _initial_vector(name, auto.init.astype(np.float64))
    if not auto.time_dependent and n * S <= DENSE_STATE_LIMIT:
        u, h = token_u_h(auto.roll, auto.theta)
        w = None if omega is None else omega(u, auto.roll)
        A = np.zeros((n * S, n * S))
        for (i, j), weights in _token_weights(name, auto.roll, u, h, w).items():
            A[j * S:(j + 1) * S, i * S:(i + 1) * S] = forward_matrix(auto.next_state, weights)
        x = _matrix_power_apply(x, A, T, S)
    elif not auto.time_dependent:
        import scipy.sparse as sparse            # the sparse engine only: the light commands never load scipy

        u, h = token_u_h(auto.roll, auto.theta)
        w = None if omega is None else omega(u, auto.roll)
        blocks = [[None] * n for _ in range(n)]
        for (i, j), weights in _token_weights(name, auto.roll, u, h, w).items():
            blocks[i][j] = sparse_forward_matrix(auto.next_state, weights).T     # x_i' = F_ij^T x_j
        for i in range(n):
            blocks[i][i] = blocks[i][i] if blocks[i][i] is not None else sparse.csr_matrix((S, S))
        A_T = sparse.bmat(blocks, format="csr")
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(T):
                x = A_T @ x
    else:
        x = _sequential(auto, name, omega, x)
    totals = x.reshape(n, S).sum(axis=1)
    return np.where(np.isnan(totals), np.inf, totals)


def _sequential(auto: AutomatonPair, name: str, omega, x: np.ndarray) -> np.ndarray:
    T, S, V = auto.T, auto.S, auto.V
    n = len(formulas.active().RECURSION_MONOMIALS[name])
    flat_next = auto.next_state.ravel()
    X = x.reshape(n, S)
    chunk = max(1, _CHUNK_ELEMENTS // (S * V)) if auto.time_dependent else T
    with np.errstate(over="ignore", invalid="ignore"):
        for t0 in range(0, T, chunk):
            t1 = min(T, t0 + chunk)
            roll = auto.roll if not auto.time_dependent else auto.roll[t0:t1]
            theta = auto.theta if not auto.time_dependent else auto.theta[t0:t1]
            u, h = token_u_h(roll, theta)
            w = None if omega is None else omega(u, roll)
            weights = _token_weights(name, roll, u, h, w)
            for t in range(t0, t1):
                new = np.zeros_like(X)
                for (i, j), wt in weights.items():
                    wt_t = wt if not auto.time_dependent else wt[t - t0]
                    new[i] += np.bincount(flat_next, weights=(X[j][:, None] * wt_t).ravel(), minlength=S)
                X = new
    return X.ravel()
