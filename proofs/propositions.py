"""Two propositions: sequence-level KL does not control the token maximum, and the worst-case
reward (THEORY §7, issue "worst-case reward").

Worst case: Error(R) = E_roll[R f] with f = Π_t ρ_t − 1 − Σ_t(ρ_t − 1) and E_roll[f] = 0, so
sup_(R∈[0,1]) |Error| = E_roll[f⁺] = ½ E_roll|f|, attained by R = 1[f > 0].
"""
import sympy as sp

from proofs.derivation import Derivation, Step, numeric

TESTS = "tests/numerics/test_bounds_hold.py"
s = sp.Symbol("s", positive=True)


def _seq_kl_insufficient() -> Derivation:
    p = sp.Symbol("p", positive=True)   # roll-probability of the one bad context
    steps = (
        Step(-sp.log(4 * (sp.exp(-2) / 4)) / 2, "==", 1,
             "context with π_roll = (½, ½), π_θ = (a, 1 − a), 4a(1 − a) = e^(−2): D_KL = −½ log(4a(1 − a)) = 1"),
        Step(p * 1 + (1 - p) * 0, "==", p, "reached with roll-probability p, KL 0 elsewhere: D_KL^seq = p, δ = 1"),
        Step(sp.Limit(p, p, 0, "+"), "==", 0,
             "D_KL^seq → 0 while δ = 1: no f with f(0+) = 0 gives D_KL^(tok,max) ≤ f(D_KL^seq)"),
        numeric("the explicit family on the exact engine: kl_seq = p, kl_tok_max = 1", "dynamic programme",
                f"{TESTS}::test_sequence_kl_does_not_control_token_max"),
    )
    return Derivation("seq_kl_insufficient", "no function of D_KL^seq bounds D_KL^(tok,max)", "THEORY §7", steps)


def _worst_case_reward() -> Derivation:
    p1, q1 = sp.symbols("p1 q1", positive=True)
    p2, q2 = 1 - p1, 1 - q1
    rho = {0: q1 / p1, 1: q2 / p2}
    prob = {0: p1, 1: p2}
    mean_f = sum(prob[a] * prob[b] * (rho[a] * rho[b] - 1 - (rho[a] - 1) - (rho[b] - 1)) for a in (0, 1) for b in (0, 1))
    A, B = sp.symbols("A B", nonnegative=True)
    R = 1 / (1 + sp.Symbol("z", positive=True))   # R ∈ (0, 1)
    steps = (
        Step(mean_f, "==", 0, "E_roll[f] = 0 (T = 2, one state, V = 2): E_roll[Πρ] = 1 and E_roll[ρ_t] = 1"),
        Step((s + sp.Abs(s)) / 2, "==", s, "f⁺ = (f + |f|)/2 where f = s > 0"),
        Step((-s + sp.Abs(-s)) / 2, "==", 0, "f⁺ = (f + |f|)/2 where f = −s < 0"),
        Step(((A + B) / 2).subs(B, A), "==", A, "E f⁺ − E f⁻ = E f = 0 ⇒ E f⁺ = ½(E f⁺ + E f⁻) = ½ E|f|"),
        Step(R * s, "<=", s, "R f ≤ f⁺ where f = s > 0 and R ≤ 1 …"),
        Step(R * (-s), "<=", 0, "… and R f ≤ 0 = f⁺ where f < 0: so Error(R) ≤ E f⁺, with equality at R = 1[f > 0]"),
        numeric("sup_R |Error| = ½ E_roll|f| attained by R = 1[f > 0]", "enumeration over all sequences",
                f"{TESTS}::test_worst_case_reward_attains_the_supremum"),
    )
    return Derivation("worst_case_reward", "sup_(R∈[0,1]) |Error| = ½ E_roll|Π_t ρ_t − 1 − Σ_t(ρ_t − 1)|",
                      "THEORY §2 (linearity of Error in R)", steps)


DERIVATIONS = (_seq_kl_insufficient(), _worst_case_reward())
