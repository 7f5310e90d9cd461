"""Exact identities of THEORY §2: sequence importance weight, telescoping (Error = −Δ), the
baseline constant, and Error = L' = 0 at equal policies.

Identities between expectations hold because they hold for the integrand of every sequence
(linearity of E_roll); the integrand identities are proved symbolically for T = 1..6 and, for all
T, by induction. The expectations themselves are checked on exact ground truth by the named tests.
"""
import sympy as sp

from proofs.derivation import Derivation, Step, numeric

MAX_T = 6
TESTS = "tests/numerics/test_identities.py"


def ratios(n: int) -> tuple[sp.Symbol, ...]:
    return sp.symbols(f"rho1:{n + 1}", positive=True)


def suffix_product(rho, t: int) -> sp.Expr:
    """Π_{j>t} ρ_j for 0-based t."""
    return sp.Mul(*rho[t + 1:])


def telescoped(rho) -> sp.Expr:
    """Σ_t (ρ_t − 1) Π_{j>t} ρ_j."""
    return sp.Add(*[(rho[t] - 1) * suffix_product(rho, t) for t in range(len(rho))])


def _telescoping() -> Derivation:
    steps = [Step(sp.Mul(*ratios(n)) - 1, "==", telescoped(ratios(n)), f"telescoping product at T = {n}; expand")
             for n in range(1, MAX_T + 1)]
    P, A, r = sp.symbols("P_T A_T rho_Tp1", positive=True)
    for n in range(1, MAX_T):
        rho = ratios(n + 1)
        steps.append(Step(telescoped(rho), "==", rho[n] * telescoped(rho[:n]) + rho[n] - 1,
                          f"recursion A_(T+1) = ρ_(T+1) A_T + ρ_(T+1) − 1 at T = {n}"))
    steps.append(Step(r * (P - 1) + r - 1, "==", r * P - 1,
                      "inductive step: A_T = P_T − 1 implies A_(T+1) = P_(T+1) − 1, so the identity holds for all T"))
    R = sp.Symbol("R", nonnegative=True)
    for n in range(1, MAX_T + 1):
        rho = ratios(n)
        error_integrand = R * (sp.Mul(*rho) - 1) - R * sp.Add(*[x - 1 for x in rho])
        delta_integrand = R * sp.Add(*[(rho[t] - 1) * (1 - suffix_product(rho, t)) for t in range(n)])
        steps.append(Step(error_integrand, "==", -delta_integrand,
                          f"Error integrand R(Πρ − 1) − RΣ(ρ − 1) equals −(Δ integrand) at T = {n}"))
    steps.append(numeric("Error = −Δ on exact pairs", "linearity of E_roll over the integrand identity",
                         f"{TESTS}::test_telescoping_error_equals_minus_delta"))
    return Derivation("telescoping", "Π_t ρ_t − 1 = Σ_t (ρ_t − 1) Π_(j>t) ρ_j, hence Error = −Δ",
                      "THEORY §2; paper Lemma (telescoping)", tuple(steps))


def _importance_weight() -> Derivation:
    steps = []
    for n in range(1, 4):
        p = sp.symbols(f"p1:{n + 1}", positive=True)
        q = sp.symbols(f"q1:{n + 1}", positive=True)
        steps.append(Step(sp.Mul(*q) / sp.Mul(*p), "==", sp.Mul(*[qi / pi for qi, pi in zip(q, p)]),
                          f"P^θ(y)/P^roll(y) = Π_t ρ_t for T = {n} (chain rule of both laws)"))
    P = sp.symbols("P1:5", positive=True)
    Q = sp.symbols("Q1:5", nonnegative=True)
    R = sp.symbols("R1:5", nonnegative=True)
    steps.append(Step(sp.Add(*[Pi * Ri * (Qi / Pi) for Pi, Qi, Ri in zip(P, Q, R)]), "==",
                      sp.Add(*[Qi * Ri for Qi, Ri in zip(Q, R)]),
                      "E_roll[R Π ρ] = E_θ[R] over any finite set of sequences with P^roll > 0 (supp θ ⊆ supp roll)"))
    steps.append(numeric("J(π_θ) − J(π_roll) = E_roll[R(Π_t ρ_t − 1)]", "importance weighting over all sequences",
                         f"{TESTS}::test_sequence_importance_weight"))
    return Derivation("importance_weight", "J(π_θ) − J(π_roll) = E_roll[R (Π_t ρ_t − 1)]", "THEORY §2",
                      tuple(steps))


def _baseline_constant() -> Derivation:
    steps = []
    q1, q2 = sp.symbols("q1 q2", positive=True)
    p1, p2 = sp.symbols("p1 p2", positive=True)
    q3, p3 = 1 - q1 - q2, 1 - p1 - p2
    steps.append(Step(p1 * (q1 / p1) + p2 * (q2 / p2) + p3 * (q3 / p3), "==", 1,
                      "E_(y~π_roll)[ρ_t | c_t] = Σ_v π_θ(v|c) = 1 (V = 3, probabilities reparametrised to sum to 1)"))
    R, b = sp.symbols("R b", real=True)
    for n in range(1, MAX_T + 1):
        rho = ratios(n)
        steps.append(Step((R - b) * sp.Add(*rho) - (R - b) * sp.Add(*[x - 1 for x in rho]), "==", n * (R - b),
                          f"(R − b)Σρ_t − (R − b)Σ(ρ_t − 1) = T(R − b) at T = {n}; so L = L' + T(J(π_roll) − b)"))
    steps.append(numeric("E_roll[(R − b) Σ_t(ρ_t − 1)] = L' for every constant b", "E_roll[ρ_t − 1] = 0 at each position",
                         f"{TESTS}::test_baseline_constant"))
    return Derivation("baseline_constant", "L = E_roll[(R − b)Σ_t ρ_t] = L' + T(J(π_roll) − b)", "THEORY §2",
                      tuple(steps))


def _equal_policies() -> Derivation:
    steps = []
    R = sp.Symbol("R", nonnegative=True)
    for n in range(1, MAX_T + 1):
        rho = ratios(n)
        ones = {x: 1 for x in rho}
        steps.append(Step((R * sp.Add(*[x - 1 for x in rho])).subs(ones), "==", 0, f"L' integrand at ρ ≡ 1, T = {n}"))
        steps.append(Step((R * (sp.Mul(*rho) - 1) - R * sp.Add(*[x - 1 for x in rho])).subs(ones), "==", 0,
                          f"Error integrand at ρ ≡ 1, T = {n}"))
    steps.append(numeric("Error = L' = 0 exactly when π_θ = π_roll", "ρ_t ≡ 1 on every sequence",
                         f"{TESTS}::test_equal_policies_give_zero"))
    return Derivation("equal_policies", "π_θ = π_roll ⇒ Error = L' = 0", "THEORY §2", tuple(steps))


DERIVATIONS = (_telescoping(), _importance_weight(), _baseline_constant(), _equal_policies())
