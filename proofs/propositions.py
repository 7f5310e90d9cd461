"""Two propositions (THEORY §7, §10): sequence-level KL does not control the token maximum, and the
worst reward.

Sequence KL: a context of roll-probability p where π_roll = (½, ½) and π_θ = (a, 1 − a), KL 0
elsewhere. Its token KL is −½ log(4a(1 − a)) (= 1 when 4a(1 − a) = e^(−2)), so δ stays fixed while
D_KL^seq = p·δ → 0 as p → 0: no f with f(0+) = 0 gives D_KL^(tok,max) ≤ f(D_KL^seq).

Worst reward: Error(R) = E_roll[R f] with f = Π_t ρ_t − 1 − Σ_t(ρ_t − 1); pointwise R f ≤ f⁺ = (f + |f|)/2
for R ∈ [0, 1], with equality at R = 1[f > 0]; with E_roll[f] = 0 this gives sup_R |Error| = ½ E_roll|f|
(the lemma worst_reward, cited and tested by enumeration).
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from proofs.kernel import EXPAND, EXPAND_LOG, LIMIT, TOGETHER, Chain, Derivation, Rewrite, Z3
from proofs.lemmas import derived


def _bad_context_kl() -> Derivation:
    s = sp.Symbol("s", positive=True)
    a = 1 / (1 + s)                                     # a ∈ (0, 1), reparametrised
    half = sp.Rational(1, 2)
    kl = half * sp.log(half / a) + half * sp.log(half / (1 - a))
    chain = Chain(kl).eq(-half * sp.log(4 * a * (1 - a)), Rewrite(TOGETHER, EXPAND_LOG, EXPAND),
                         "KL((½, ½) ‖ (a, 1 − a)) = Σ ½ log(½ / π_θ)")
    return Derivation("bad_context_kl", "D_KL((½, ½) ‖ (a, 1 − a)) = −½ log(4a(1 − a)): any δ > 0 is attained",
                      "THEORY §7", chain)


def _seq_kl_insufficient() -> Derivation:
    p = sp.Symbol("p", positive=True)
    kappa = sp.Symbol("delta", positive=True)
    chain = Chain(sp.Limit(p * kappa, p, 0, "+")).eq(0, Rewrite(LIMIT),
                                                    "D_KL^seq = p·δ (one bad context of roll-probability p) → 0")
    return Derivation("seq_kl_insufficient", "D_KL^seq → 0 while D_KL^(tok,max) = δ: no function of D_KL^seq bounds "
                      "D_KL^(tok,max)", "THEORY §7", chain)


f = sp.Symbol("f", real=True)
R = sp.Symbol("R", real=True)


def _pointwise() -> Derivation:
    chain = Chain(R * f).le((f + sp.Abs(f)) / 2, Z3(), "R f ≤ f⁺ for R ∈ [0, 1]")
    return Derivation("worst_reward_pointwise", "R f ≤ f⁺ = (f + |f|)/2 for every R ∈ [0, 1]", "THEORY §10", chain,
                      hypotheses=(sp.Ge(R, 0), sp.Le(R, 1)))


def _attained() -> list[Derivation]:
    up = Chain(f).eq((f + sp.Abs(f)) / 2, Z3(), "f > 0: R = 1 attains f⁺")
    down = Chain(sp.Integer(0)).eq((f + sp.Abs(f)) / 2, Z3(), "f ≤ 0: R = 0 attains f⁺ = 0")
    return [Derivation("worst_reward_attained_up", "1·f = f⁺ where f > 0", "THEORY §10", up, hypotheses=(sp.Gt(f, 0),)),
            Derivation("worst_reward_attained_down", "0·f = f⁺ where f ≤ 0", "THEORY §10", down,
                       hypotheses=(sp.Le(f, 0),))]


@lru_cache(maxsize=None)
def derivations() -> tuple[Derivation, ...]:
    out = [_bad_context_kl(), _seq_kl_insufficient(), _pointwise()] + _attained()
    for d in out:
        derived(d)
    return tuple(out)
