"""Every lemma and bound of the paper as a derivation checked by a small proof kernel.

Modules: ``kernel`` (chains, justifications, the z3 encoding), ``lemmas`` (the registry; cited lemmas
with their references and targeted tests), ``quantities`` (the opaque probabilistic quantities),
``divergences`` (Pinsker, the KL chain rule, the context-shift and future-factor routes), ``identities``
(telescoping, Error = −Δ, baseline, equal policies), ``advantage`` (advantage lemma, master inequality,
the Δ route), ``bound_family`` (the assembly of every bound, recovery, the sharp constants),
``sums`` (finite sums by induction, closed forms, growth per regime), ``guarantees`` (monotonic
improvement, threshold monotonicity, LN-TRM, SER, length bias), ``propositions`` (sequence KL vs token
maximum, worst reward), ``second_moment`` (the χ² family, THEORY §10). ``bounds`` exposes the assembled
bound terms: the one source of truth for numerics/.
"""
from __future__ import annotations

from proofs.kernel import Derivation, DerivationError, DerivationReport, StepReport, summarise


def all_derivations() -> tuple[Derivation, ...]:
    """Every derivation, in dependency order (building them registers the derived lemmas)."""
    from proofs import (advantage, bound_family, divergences, guarantees, identities, propositions, second_moment,
                        sums)

    groups = (divergences.derivations(), sums.basic_derivations(), identities.derivations(), advantage.derivations(),
              bound_family.derivations(), sums.derivations()[len(sums.basic_derivations()):],
              guarantees.derivations(), propositions.derivations(), second_moment.derivations())
    return tuple(d for group in groups for d in group)


def check_all() -> list[DerivationReport]:
    """The report of every derivation; a malformed derivation is reported as failed, not raised."""
    reports = []
    for derivation in all_derivations():
        try:
            reports.append(derivation.check())
        except DerivationError as exc:
            reports.append(DerivationReport(derivation.name, derivation.statement, derivation.reference, "failed",
                                            [], f"malformed derivation: {exc}"))
    return reports


__all__ = ["Derivation", "DerivationError", "DerivationReport", "StepReport", "all_derivations", "check_all",
           "summarise"]
