"""One-step recursions of path moments: the algebra the dynamic programmes of numerics.path_moments run
(THEORY §11; this suite's own result, not the paper's).

Along a sequence, per token with u = ρ_t − 1 (ρ_t = π_θ/π_roll) and h = k3(ρ_t) = ρ_t − 1 − log ρ_t, two pairs
of running variables are updated:

    path       S ← S + u,              H ← H + h                  (S = Σ_t u_t, H = Σ_t k3(ρ_t))
    transform  m ← m·(1 + u) + u,      W ← W + m·u                (m = M_t − 1, W = the bracket)

(the transform pair is the martingale transform of THEORY §10: M_t − 1 = (M_{t−1} − 1)ρ_t + u_t and
W_t − W_{t−1} = (M_{t−1} − 1)u_t). Each recursion's monomials (1, S, H, S², SH, H² and 1, m, W, m², Wm, W²)
are closed under its update: every monomial after the step is Σ_j c_j(r, ℓ)·(monomial j before the step),
a polynomial identity. The coefficients are polynomials in (u, h), never in ρ: numerics evaluates u = (π_θ −
π_roll)/π_roll and h from the difference of the laws, so that nearly equal laws lose nothing to cancellation
(ρ² − 2ρ + 1 would). :func:`transition_table` produces the coefficients c_j by expansion, and
:func:`derivations` proves each row in the kernel (a rewrite), so the table numerics runs is the checked
algebra. Averaging a row over the next token under π_roll (times a weight ω, for the weighted second
moment) gives the forward operator of one step: E[monomial_t; state s'] = Σ_j Σ_(s, v → s')
π_roll(v|s) ω(s, v) c_j(u(s, v), h(s, v)) E[monomial_j, t−1; state s].
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from proofs.kernel import EXPAND, Chain, Derivation, Rewrite
from proofs.lemmas import DerivationList

#: u = ρ − 1 and h = ρ − 1 − log ρ of the token just emitted (the coefficients' arguments).
u = sp.Symbol("u", real=True)
h = sp.Symbol("h", nonnegative=True)

S_run, H_run = sp.symbols("S H", real=True)          # running Σ u_t and Σ k3(ρ_t)
m_run, W_run = sp.symbols("m W", real=True)          # running M_t − 1 and W_t

#: name: (update of each running variable, monomials in order, the value of each running variable before t = 1)
RECURSIONS = {
    "path": ({S_run: S_run + u, H_run: H_run + h},
             (sp.Integer(1), S_run, H_run, S_run**2, S_run * H_run, H_run**2), {S_run: 0, H_run: 0}),
    "transform": ({m_run: m_run * (1 + u) + u, W_run: W_run + m_run * u},
                  (sp.Integer(1), m_run, W_run, m_run**2, W_run * m_run, W_run**2), {m_run: 0, W_run: 0}),
    "sum": ({S_run: S_run + u}, (sp.Integer(1), S_run, S_run**2), {S_run: 0}),   # S alone: Q = E[S²], no k3
    "mass": ({}, (sp.Integer(1),), {}),        # E_roll[Π_t ω_t] alone (the Bhattacharyya coefficient at ω = √ρ)
}


def monomials(name: str) -> tuple:
    return RECURSIONS[name][1]


def initial_values(name: str) -> tuple[sp.Expr, ...]:
    """Each monomial's value before the first token (all running variables start at 0)."""
    _, mons, start = RECURSIONS[name]
    return tuple(sp.sympify(mono).xreplace(start) for mono in mons)


@lru_cache(maxsize=None)
def transition_table(name: str) -> tuple[tuple[sp.Expr, ...], ...]:
    """coefficients[i][j]: monomial i after the step = Σ_j coefficients[i][j] · monomial j before it, each a
    polynomial in (u, h). Raises if the monomials are not closed under the update."""
    update, mons, _ = RECURSIONS[name]
    running = tuple(update)
    if not running:
        return ((sp.Integer(1),),)
    rows = []
    for mono in mons:
        after = sp.Poly(sp.expand(sp.sympify(mono).xreplace(update)), *running)
        row = [sp.Integer(0)] * len(mons)
        for powers, coeff in after.terms():
            source = sp.Mul(*[v**k for v, k in zip(running, powers)])
            if source not in mons:
                raise ValueError(f"{name}: {mono} after the step needs {source}, outside the monomials {mons}")
            row[mons.index(source)] += coeff
        rows.append(tuple(sp.expand(c) for c in row))
    return tuple(rows)


def _row_derivation(name: str, i: int) -> Derivation | None:
    """The kernel's check of row i, or None where sympy builds both sides as the same object (a linear
    monomial: S + (r − 1) is already S + r − 1), so that there is nothing to prove."""
    update, mons, _ = RECURSIONS[name]
    after = sp.sympify(mons[i]).xreplace(update)
    table = transition_table(name)
    combination = sp.Add(*[table[i][j] * mons[j] for j in range(len(mons))])
    if after == combination:
        return None
    chain = Chain(after).eq(combination, Rewrite(EXPAND), "expand the updated monomial in the old ones")
    return Derivation(f"recursion_{name}_{i}", f"{name} recursion: ({mons[i]})' = Σ_j c_j(u, h) · monomial_j",
                      "THEORY §11 (the dynamic programme's one step)", chain)


@lru_cache(maxsize=None)
def derivations() -> tuple[Derivation, ...]:
    out = DerivationList()
    for name, (_, mons, _) in RECURSIONS.items():
        for i in range(len(mons)):
            derivation = _row_derivation(name, i)
            if derivation is not None:
                out.add(derivation)
    return tuple(out)
