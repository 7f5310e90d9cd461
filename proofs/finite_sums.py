"""Finite sums by induction over their length (the lemmas the closed forms and the advantage routes use).

    triangle_sums      |Σ_{t≤n} a_t| ≤ Σ_{t≤n} |a_t|
    gauss_sum          Σ_{t≤n} t = n(n + 1)/2
    sqrt_sum_upper     Σ_{t≤n} sqrt(t − 1) ≤ (2/3) n^{3/2}
    sqrt_sum_lower     (2/3)(n − 1)^{3/2} ≤ Σ_{t≤n} sqrt(t − 1)
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from proofs import quantities as q
from proofs.kernel import EXPAND, NUMERIC_LIMITS, Chain, Derivation, Induction, Rewrite, Sign, Subst, Z3, peel
from proofs.lemmas import derived
from proofs.symbols import t

n = q.n
a_fn = sp.Function("a", real=True)
THREE_HALVES = sp.Rational(3, 2)


def _triangle() -> Derivation:
    lhs, rhs = sp.Abs(sp.Sum(a_fn(t), (t, 1, n))), sp.Sum(sp.Abs(a_fn(t)), (t, 1, n))
    m = n + 1
    base = Chain(lhs.xreplace({n: 1})).eq(rhs.xreplace({n: 1}), Rewrite(NUMERIC_LIMITS))
    step = (Chain(lhs.xreplace({n: m}))
            .eq(sp.Abs(sp.Sum(a_fn(t), (t, 1, n)) + a_fn(m)), Rewrite(peel(m)))
            .le(sp.Abs(sp.Sum(a_fn(t), (t, 1, n))) + sp.Abs(a_fn(m)), Z3(), "|x + y| ≤ |x| + |y|")
            .le(rhs + sp.Abs(a_fn(m)), Z3("IH"))
            .eq(rhs.xreplace({n: m}), Rewrite(peel(m))))
    chain = Chain(lhs).le(rhs, Induction(n, 1, base, step))
    return Derivation("triangle_sums", "|Σ_(t≤n) a_t| ≤ Σ_(t≤n) |a_t| for every n ≥ 1", "triangle inequality",
                      chain, hypotheses=(sp.Ge(n, 1),))


def _gauss() -> Derivation:
    lhs, rhs = sp.Sum(t, (t, 1, n)), n * (n + 1) / 2
    m = n + 1
    base = Chain(lhs.xreplace({n: 1})).eq(rhs.xreplace({n: 1}), Rewrite(NUMERIC_LIMITS))
    step = (Chain(lhs.xreplace({n: m}))
            .eq(lhs + m, Rewrite(peel(m)))
            .eq(rhs + m, Subst("IH"))
            .eq(rhs.xreplace({n: m}), Rewrite(EXPAND)))
    chain = Chain(lhs).eq(rhs, Induction(n, 1, base, step))
    return Derivation("gauss_sum", "Σ_(t≤n) t = n(n + 1)/2", "Gauss", chain, hypotheses=(sp.Ge(n, 1),))


def _sqrt_upper() -> Derivation:
    lhs, rhs = sp.Sum(sp.sqrt(t - 1), (t, 1, n)), sp.Rational(2, 3) * n ** THREE_HALVES
    m = n + 1
    base = (Chain(lhs.xreplace({n: 1})).eq(0, Rewrite(NUMERIC_LIMITS)).le(rhs.xreplace({n: 1}), Sign()))
    step = (Chain(lhs.xreplace({n: m}))
            .eq(lhs + sp.sqrt(n), Rewrite(peel(m)))
            .le(rhs + sp.sqrt(n), Z3("IH"))
            .le(rhs.xreplace({n: m}), Z3(), "sqrt(k) ≤ ∫_k^(k+1) sqrt(x) dx: (2/3)k^(3/2) + sqrt(k) ≤ (2/3)(k+1)^(3/2)"))
    chain = Chain(lhs).le(rhs, Induction(n, 1, base, step))
    return Derivation("sqrt_sum_upper", "Σ_(k<n) sqrt(k) ≤ (2/3) n^(3/2)", "THEORY §5, §8", chain,
                      hypotheses=(sp.Ge(n, 1),))


def _sqrt_lower() -> Derivation:
    lhs, rhs = sp.Rational(2, 3) * (n - 1) ** THREE_HALVES, sp.Sum(sp.sqrt(t - 1), (t, 1, n))
    m = n + 1
    base = Chain(lhs.xreplace({n: 1})).eq(rhs.xreplace({n: 1}), Rewrite(NUMERIC_LIMITS))
    step = (Chain(lhs.xreplace({n: m}))
            .le(lhs + sp.sqrt(n), Z3(), "(2/3)k^(3/2) ≤ (2/3)(k−1)^(3/2) + sqrt(k): sqrt(k) ≥ ∫_(k−1)^k sqrt(x) dx")
            .le(rhs + sp.sqrt(n), Z3("IH"))
            .eq(rhs.xreplace({n: m}), Rewrite(peel(m))))
    chain = Chain(lhs).le(rhs, Induction(n, 1, base, step))
    return Derivation("sqrt_sum_lower", "(2/3)(n − 1)^(3/2) ≤ Σ_(k<n) sqrt(k)", "THEORY §5", chain,
                      hypotheses=(sp.Ge(n, 1),))


@lru_cache(maxsize=None)
def basic_derivations() -> tuple[Derivation, ...]:
    out = []
    for d, variables in ((_triangle(), (a_fn, n)), (_gauss(), (n,)), (_sqrt_upper(), (n,)),
                         (_sqrt_lower(), (n,))):
        derived(d, variables)
        out.append(d)
    return tuple(out)
