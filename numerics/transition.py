"""State-transition operators of an automaton under one next-token law.

For a next-token table P_t[s, v] and the transition table n[s, v], the operator M_t acts as
    forward  (push):  d_{t+1}(s') = Σ_{s, v : n(s,v) = s'} d_t(s) P_t(s, v)      (distributions)
    backward (pull):  f_t(s)      = Σ_v P_t(s, v) f_{t+1}(n(s, v))               (value functions)
Time-homogeneous laws are assembled once into an S×S matrix (dense when small, CSR otherwise),
so each step is one matrix-vector product; time-dependent laws gather/scatter per step.

The exact engine (:mod:`numerics.exact`) works with the forward matrices F[s, s'] of row vectors,
d_(t+1) = d_t F: :func:`forward_matrix` (one law, or a signed difference of laws), its per-chunk
stack :func:`forward_matrices` and CSR form :func:`sparse_forward_matrix`, and
:func:`position_expectations`, every E_(d_t)[c] for t < T of a homogeneous operator by √T-blocks.
"""
from __future__ import annotations

import math

import numpy as np

#: Largest S for which a homogeneous operator is stored as a dense S×S matrix.
DENSE_STATE_LIMIT = 2048


class TransitionOperator:
    """M_t for next-token probabilities ``probs`` ([S, V] or [T, S, V]) and ``next_state`` [S, V]."""

    def __init__(self, next_state: np.ndarray, probs: np.ndarray):
        self.next_state = next_state
        self.probs = probs
        self.S, self.V = next_state.shape
        self.homogeneous = probs.ndim == 2
        if self.homogeneous:
            if self.S <= DENSE_STATE_LIMIT:
                self.matrix = forward_matrix(next_state, probs)
                self.matrix_T = np.ascontiguousarray(self.matrix.T)
            else:
                self.matrix = sparse_forward_matrix(next_state, probs)
                self.matrix_T = self.matrix.T.tocsr()

    def push(self, d: np.ndarray, t: int) -> np.ndarray:
        """d_{t+1} from d_t ([S]) at 0-based position t."""
        if self.homogeneous:
            return self.matrix_T @ d
        weights = (d[:, None] * self.probs[t]).ravel()
        return np.bincount(self.next_state.ravel(), weights=weights, minlength=self.S)

    def pull(self, f: np.ndarray, t: int) -> np.ndarray:
        """f_t from f_{t+1} ([S]) at 0-based position t."""
        if self.homogeneous:
            return self.matrix @ f
        return np.einsum("sv,sv->s", self.probs[t], f[self.next_state])

    def pull_each(self, F_next: np.ndarray) -> np.ndarray:
        """Row t of the result is pull(F_next[t], t), for F_next of shape [T, S]."""
        if self.homogeneous:
            return np.asarray((self.matrix @ F_next.T).T)
        return np.einsum("tsv,tsv->ts", self.probs[: F_next.shape[0]], F_next[:, self.next_state])


def forward_matrix(next_state: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Dense F[s, s'] = Σ_(v : n(s,v) = s') w[s, v] for ``weights`` [S, V] (signed weights allowed).

    With w = π(·|s) this is the row-stochastic operator of one step, d_(t+1) = d_t F (row vectors);
    with w = π_θ − π_roll it is the difference operator D = F^θ − F^roll, built from the
    differences of the probabilities (no cancellation between two assembled matrices).
    """
    S = next_state.shape[0]
    index = (np.arange(S)[:, None] * S + next_state).ravel()
    return np.bincount(index, weights=weights.ravel(), minlength=S * S).reshape(S, S)


def stacked_index(next_state: np.ndarray, C: int) -> np.ndarray:
    """Flat positions (c·S + s)·S + n(s, v) of the entries of a [C, S, S] stack, for :func:`forward_matrices`.
    The index of a shorter stack is a prefix of a longer one's."""
    S = next_state.shape[0]
    return ((np.arange(C)[:, None, None] * S + np.arange(S)[None, :, None]) * S + next_state[None]).ravel()


def forward_matrices(next_state: np.ndarray, weights: np.ndarray, index: np.ndarray | None = None) -> np.ndarray:
    """[C, S, S] stack of :func:`forward_matrix` for time-dependent ``weights`` [C, S, V], one bincount
    (``index`` from :func:`stacked_index` for at least C positions, reused across calls)."""
    C, S, V = weights.shape
    index = stacked_index(next_state, C) if index is None else index[: C * S * V]
    return np.bincount(index, weights=weights.ravel(), minlength=C * S * S).reshape(C, S, S)


def sparse_forward_matrix(next_state: np.ndarray, weights: np.ndarray):
    """:func:`forward_matrix` as a scipy.sparse CSR matrix, for automata with too many states for a dense S×S
    matrix (scipy is imported here, so the dense paths and the light commands never load it)."""
    import scipy.sparse as sp

    S, V = next_state.shape
    rows = np.repeat(np.arange(S), V)
    matrix = sp.csr_matrix((weights.ravel(), (rows, next_state.ravel())), shape=(S, S))
    matrix.sum_duplicates()
    return matrix


def position_expectations(init: np.ndarray, F: np.ndarray, columns: list[np.ndarray], T: int,
                          B: int | None = None) -> list[np.ndarray]:
    """[init F^t · c for t < T] for each column c [S], as [T] arrays, by blocks of B positions
    (default B = 2^⌈log2(T)/2⌉ ≈ √T, a power of two): E_(d_t)[c] for the distributions d_t = init F^t
    of a time-homogeneous dense operator F [S, S] (or any tilted operator, e.g. Σ_v π_θ²/π_roll for
    second moments).

    H[:, j] = F^j c (j < B) and the block starts init F^(kB) are built by doubling; then
    (block starts [T/B, S]) @ H [S, B] is position kB + j at [k, j]: O(S³ log T + T·S) work, O(T + √T·S)
    memory, nothing of shape [T, S]. Entries are sums of non-negative terms when F, init and c are.
    """
    if B is None:
        B = 1 << math.ceil(math.log2(T) / 2) if T > 1 else 1
    if B & (B - 1):
        raise ValueError(f"B = {B}: the block length must be a power of two")
    S = F.shape[0]
    m = len(columns)
    H = np.empty((m, S, B))
    H[:, :, 0] = np.stack(columns)
    Fk, k = F, 1                       # Fk = F^k
    while k < B:
        H[:, :, k:2 * k] = Fk @ H[:, :, :k]
        Fk = Fk @ Fk
        k *= 2
    FB = Fk if B > 1 else F            # F^B
    nb = -(-T // B)
    starts = np.empty((nb, S))
    starts[0] = init
    Gk, k = FB, 1                      # Gk = F^(kB)
    while k < nb:
        n = min(k, nb - k)
        starts[k:k + n] = starts[:n] @ Gk
        k += n
        if k < nb:
            Gk = Gk @ Gk
    out = []
    for i in range(m):
        buf = np.empty((nb, B))
        np.matmul(starts, H[i], out=buf)
        out.append(buf.reshape(-1)[:T])
    return out


def power_series(A: np.ndarray, x0: np.ndarray, T: int) -> tuple[np.ndarray, np.ndarray]:
    """(x_T, Σ_(t<T) x_t) for x_(t+1) = A x_t (column vectors), by binary powering: O(n³ log T) work for
    A [n, n], nothing of length T. Each set bit p of T (lowest first) does s ← s + G_p y, y ← M_p y with
    M_p = A^p and G_p = Σ_(j<p) A^j (so that A^m G_p = G_p A^m extends the sum of the first m powers by p
    more); each doubling G_2p = G_p + M_p G_p, M_2p = M_p M_p. Every per-position linear functional
    summed over t, c·Σ_t x_t, is then one dot product (numerics.second_moment uses it where only the
    sums, not the per-position values, are asked for)."""
    n = A.shape[0]
    y, total = np.asarray(x0, dtype=np.float64).copy(), np.zeros(n)
    M, G = A, np.eye(n)
    k = int(T)
    while k:
        if k & 1:
            total = total + G @ y
            y = M @ y
        k >>= 1
        if k:
            G = G + M @ G
            M = M @ M
    return y, total
