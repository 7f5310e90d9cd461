"""Every derivation, in dependency order, and the check of them all (what `trm proofs` prints).

Building a module's derivations registers its conclusions as lemmas (:func:`proofs.lemmas.derived`), so the
order matters: a derivation may cite only lemmas registered before it.
"""
from __future__ import annotations

from proofs import (advantage, bound_family, bound_relations, closed_forms, divergences, finite_sums, guarantees,
                    identities, kl_ceiling, lower_bounds, path_bound_proofs, path_recursions, propositions,
                    second_moment_proofs, statistic_bounds)
from proofs.kernel import Derivation, DerivationError, DerivationReport


def all_derivations() -> tuple[Derivation, ...]:
    """Every derivation, in dependency order (building them registers the derived lemmas)."""
    groups = (divergences.derivations(), finite_sums.basic_derivations(), identities.derivations(),
              advantage.derivations(), bound_family.derivations(), bound_relations.derivations(),
              closed_forms.derivations(), guarantees.derivations(), propositions.derivations(),
              second_moment_proofs.derivations(), path_recursions.derivations(), path_bound_proofs.derivations(),
              lower_bounds.derivations(), kl_ceiling.derivations(), statistic_bounds.derivations())
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
