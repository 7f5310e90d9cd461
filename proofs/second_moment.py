"""The second-moment (χ²) bound family: this suite's own result, not the paper's (THEORY §10).

With u_t = ρ_t − 1, M_t = Π_{s≤t} ρ_s and W = M_T − 1 − Σ_t u_t, Error = E_roll[R·W] and, when π_θ
has no mass off π_roll's support, sup_{R∈[0,1]} |Error| = ½ E_roll|W| ≤ ½ sqrt(E_roll[W²]), with
E[W²] = Σ_t E_roll[(M_{t−1} − 1)² χ²(c_t)] (martingale transform, orthogonal increments) and
E[(M_{t−1} − 1)²] ≤ min(χ²_seq, (1 + χ²_max)^{t−1} − 1). Hence, with the constant ½:
    B_χ²-exact = ½ sqrt(E[W²])
    B_χ²-mixed = ½ sqrt(χ²_max · Σ_{t=1}^T min(χ²_seq, (1 + χ²_max)^{t−1} − 1))
    B_χ²-max   = ½ sqrt(χ²_max · Σ_{t=1}^T ((1 + χ²_max)^{t−1} − 1)) = ½ sqrt((1 + χ²_max)^T − 1 − T χ²_max)
χ²(c) = Σ_v π_θ(v|c)²/π_roll(v|c) − 1 (θ against roll), χ²_max its maximum over reachable contexts,
χ²_seq = E_roll[M_T²] − 1. The derivations of these bounds are in :mod:`proofs.second_moment_proofs`, which
reads the expressions below (so that a changed expression is caught there). The context-shift factor (1 + χ²_max)^{t−1} − 1 is written
expm1((t − 1)·log1p(χ²_max)), equal by definition and free of cancellation when evaluated in floats.

Related work: the exponentiated Rényi-2 divergence 1 + χ²_seq bounds the variance of the full
sequence importance-sampling estimator in POIS (Metelli et al., NeurIPS 2018); here the same second
moment bounds the bias of the per-token surrogate.
"""
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from proofs.symbols import T, t

chi2_max = sp.Symbol("chi2_max", nonnegative=True)        # χ²_max = max over reachable contexts of χ²(c)
chi2_seq = sp.Symbol("chi2_seq", nonnegative=True)        # χ²_seq = E_roll[M_T²] − 1
second_moment = sp.Symbol("E_W2", nonnegative=True)       # E_roll[W²]

#: ½: the constant of the whole family (sup_R |E[R W]| = ½ E|W| ≤ ½ sqrt(E[W²])).
CHI2_CONSTANT = sp.Rational(1, 2)

#: E[(M_{t−1} − 1)²] ≤ this, per position t (the context-shift factor of each χ² bound).
CHI2_SHIFT = {
    "chi2_max": expm1((t - 1) * log1p(chi2_max)),
    "chi2_mixed": sp.Min(chi2_seq, expm1((t - 1) * log1p(chi2_max))),
}

CHI2_BOUND_NAMES = ("chi2_max", "chi2_mixed", "chi2_exact")


def chi2_bound_expr(name: str) -> sp.Expr:
    """The bound as a sympy expression of (T, χ²_max, χ²_seq, E[W²]); sums over t unevaluated."""
    if name == "chi2_exact":
        return CHI2_CONSTANT * sp.sqrt(second_moment)
    return CHI2_CONSTANT * sp.sqrt(chi2_max * sp.Sum(CHI2_SHIFT[name], (t, 1, T)))
