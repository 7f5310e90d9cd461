"""A small proof kernel: derivations are chains e0 R1 e1 R2 … en whose every link is checked.

A :class:`Derivation` states its hypotheses (sympy assumptions on the symbols plus explicit side
conditions such as 1 ≤ t ≤ T), the facts it uses (instances of registered lemmas), optional
definitions (notation, unfolded by a rewrite), and one :class:`Chain`. Each link ``a R b`` with
R ∈ {=, ≤, <} carries exactly one justification, and the kernel checks it:

    Rewrite(*transforms)    equality by targeted sympy transforms (expand, together, cancel, powsimp,
                            peeling the last term of a sum, linearity of finite sums, …); never a
                            blanket simplify
    Z3(using=…)             (in)equality decided by z3's nonlinear real arithmetic: the hypotheses,
                            the named facts and the negation of the link must be unsatisfiable.
                            sqrt, rational and symbolic powers, min, max, abs, exp and log become
                            auxiliary variables with their defining constraints; every square root,
                            logarithm and denominator must be provably well defined; an unsupported
                            construct, a timeout or "unknown" is a failure
    Sign(*transforms)       (in)equality from sympy's sign facts on rhs − lhs
    Termwise(inner)         Σ_s f R Σ_s g from f R g under the summation range
    Congruence(inner)       F(…a…) = F(…b…) from a = b (substitution of equals)
    ByLemma(name, sub)      the link is an instance of a registered lemma (structural check; the
                            lemma's hypotheses must follow from the context)
    Subst(fact)             replace the left side of an equational fact by its right side
    Induction(n, start, base, step)   base and step are themselves checked chains; the step may use
                            the induction hypothesis as the fact "IH"

A link whose two sides are structurally identical is an error of the derivation (raised when the
link is built), and so is a link that restates a hypothesis or a fact. Verdicts: "proved" (checked,
resting only on proved lemmas), "cited" (checked, but resting on a lemma from the literature, see
:mod:`proofs.lemmas`), "failed". Nothing that rests on a citation is reported as proved.

Rooms: :mod:`~proofs.kernel.base` (relations, facts, context, outcomes), :mod:`~proofs.kernel.rewrite` (the
transforms, Rewrite, Sign), :mod:`~proofs.kernel.z3_encoding` (the encoding, Z3), :mod:`~proofs.kernel.structural`
(Termwise, Congruence), :mod:`~proofs.kernel.instances` (the lemma table, Instance, ByLemma, Subst, Induction),
:mod:`~proofs.kernel.chain` (Link, Chain, Derivation) and :mod:`~proofs.kernel.report` (reports, summarise).
The lemma registry (:mod:`proofs.lemmas`) registers into ``LEMMA_TABLE``; the kernel never imports it.
"""

from proofs.kernel.base import (KINDS, RELATIONS, Z3_TIMEOUT_MS, Context, DerivationError, Fact, Justification, Outcome,
                                compose, implies, relational, show)
from proofs.kernel.chain import Chain, Derivation, Link
from proofs.kernel.instances import LEMMA_TABLE, ByLemma, Induction, Instance, Subst
from proofs.kernel.report import DerivationReport, StepReport, summarise
from proofs.kernel.rewrite import (CANCEL, EMPTY, EXP_LOG_POWER, EXPAND, EXPAND_LOG, FACTOR, FAULHABER, LIMIT, LINEAR_SUMS,
                                   NUMERIC_LIMITS, POWDENEST, POWSIMP, RADSIMP, SPLIT_PRODUCTS, SUM_CONSTANT, TEXTBOOK,
                                   TOGETHER, UNFOLD, Rewrite, Sign, Transform, peel, reindex, reverse, split_at, unfold)
from proofs.kernel.structural import Congruence, Termwise
from proofs.kernel.z3_encoding import Z3, Unsupported, z3_decide, z3_satisfiable

__all__ = ["ByLemma", "CANCEL", "Chain", "Congruence", "Context", "Derivation", "DerivationError", "DerivationReport",
           "EMPTY", "EXPAND", "EXPAND_LOG", "EXP_LOG_POWER", "FACTOR", "FAULHABER", "Fact", "Induction", "Instance",
           "Justification", "KINDS", "LEMMA_TABLE", "LIMIT", "LINEAR_SUMS", "Link", "NUMERIC_LIMITS", "Outcome",
           "POWDENEST", "POWSIMP", "RADSIMP", "RELATIONS", "Rewrite", "SPLIT_PRODUCTS", "SUM_CONSTANT", "Sign",
           "StepReport", "Subst", "TEXTBOOK", "TOGETHER", "Termwise", "Transform", "UNFOLD", "Unsupported", "Z3",
           "Z3_TIMEOUT_MS", "compose", "implies", "peel", "reindex", "relational", "reverse", "show", "split_at",
           "summarise", "unfold", "z3_decide", "z3_satisfiable"]
