"""State-transition operators of an automaton under one next-token law.

For a next-token table P_t[s, v] and the transition table n[s, v], the operator M_t acts as
    forward  (push):  d_{t+1}(s') = Σ_{s, v : n(s,v) = s'} d_t(s) P_t(s, v)      (distributions)
    backward (pull):  f_t(s)      = Σ_v P_t(s, v) f_{t+1}(n(s, v))               (value functions)
Time-homogeneous laws are assembled once into an S×S matrix (dense when small, CSR otherwise),
so each step is one matrix-vector product; time-dependent laws gather/scatter per step.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

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
            rows = np.repeat(np.arange(self.S), self.V)
            matrix = sp.csr_matrix((probs.ravel(), (rows, next_state.ravel())), shape=(self.S, self.S))
            matrix.sum_duplicates()
            if self.S <= DENSE_STATE_LIMIT:
                self.matrix = matrix.toarray()
                self.matrix_T = np.ascontiguousarray(self.matrix.T)
            else:
                self.matrix = matrix
                self.matrix_T = matrix.T.tocsr()

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
