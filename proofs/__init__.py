"""Every lemma and bound of the paper as a derivation checked by a small proof kernel.

Floors, each importing only those listed before it: ``symbols`` and ``quantities`` (the symbols and the
opaque probabilistic quantities); ``kernel`` (chains, justifications, the z3 encoding; a package of rooms);
``lemmas`` (the registry: cited lemmas with their references and targeted tests, registered into the
kernel's lemma table); ``divergences`` (Pinsker, the KL chain rule, the context-shift and future-factor
routes), ``finite_sums`` (sums by induction), ``identities`` (telescoping, Error = −Δ, baseline, equal
policies); ``advantage`` (advantage lemma, master inequality, the Δ route); ``bound_family`` (the assembly
of every bound from the routes); ``bounds`` (the assembled terms: the one source of truth for numerics/);
``bound_relations`` (recovery, Adaptive-hybrid below its parents, the sharp constants attained),
``closed_forms`` (the paper's closed forms, growth per regime), ``guarantees`` (monotonic improvement,
threshold monotonicity, LN-TRM, SER, length bias), ``propositions`` (sequence KL vs token maximum, worst
reward); ``second_moment`` (the χ² family's expressions, THEORY §10) and ``second_moment_proofs`` (their
derivations); ``catalog`` (every derivation in dependency order, and ``check_all``, what `trm proofs` runs).
"""
