"""Every lemma and bound of the paper as a derivation whose steps are machine-checked (sympy).

Modules: ``identities`` (importance weight, telescoping, baseline, equal policies), ``advantage``
(martingale, performance difference, advantage bound), ``divergences`` (Pinsker, KL chain rule,
context shift, master inequality), ``sums`` (closed forms, growth exponents), ``bound_family``
(assembly of every bound, recovery identities, sharp constants), ``guarantees`` (monotonic
improvement, TRM, LN-TRM/SER, length bias), ``propositions`` (sequence KL vs token max, worst-case
reward). ``bounds`` holds the bound formulas themselves: the one source of truth for numerics/.
"""
from proofs.derivation import Derivation, Step


def all_derivations() -> tuple[Derivation, ...]:
    from proofs import advantage, bound_family, divergences, guarantees, identities, propositions, sums

    modules = (identities, advantage, divergences, sums, bound_family, guarantees, propositions)
    return tuple(d for module in modules for d in module.DERIVATIONS)


__all__ = ["Derivation", "Step", "all_derivations"]
