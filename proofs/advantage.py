"""Per-step advantage identities and the advantage bound (THEORY §2, §4).

Q_t(c, y) = E_roll[R | c, y], V_t(c) = E_roll[R | c], A_t = Q_t − V_t, g_t(c) = E_(y~π_θ)[A_t(c, y)].
Martingale: E_(y~π_roll)[A_t] = 0. Per-token surrogate: E_(y~π_roll)[(ρ_t − 1) Q_t] = g_t(c).
Advantage bound: |g_t(c)| ≤ D_TV(c) · osc(Q_t) ≤ D_TV(c) (sharp), and the paper's ≤ 2 D_TV(c).
"""
import sympy as sp

from proofs.derivation import Derivation, Step, numeric

TESTS = "tests/numerics/test_identities.py"
LEMMAS = "tests/numerics/test_lemmas.py"

p1, p2, q1, q2 = sp.symbols("p1 p2 q1 q2", positive=True)
Q1, Q2, Q3 = sp.symbols("Q1 Q2 Q3", nonnegative=True)
P3, Q3p = 1 - p1 - p2, 1 - q1 - q2        # V = 3 laws, reparametrised to sum to 1
V_roll = p1 * Q1 + p2 * Q2 + P3 * Q3      # V_t(c) = E_(y~π_roll)[Q_t(c, y)]


def _martingale() -> Derivation:
    steps = (
        Step(p1 * (Q1 - V_roll) + p2 * (Q2 - V_roll) + P3 * (Q3 - V_roll), "==", 0,
             "E_(y~π_roll)[A_t(c, y)] = Σ_v π_roll(v) Q(v) − V(c) = 0 (V = 3)"),
        Step(q1 * Q1 + q2 * Q2 + Q3p * Q3 - V_roll, "==",
             (q1 - p1) * Q1 + (q2 - p2) * Q2 + (Q3p - P3) * Q3,
             "g_t(c) = Σ_v π_θ(v) A(v) = Σ_v (π_θ(v) − π_roll(v)) Q(v)"),
        Step(p1 * (q1 / p1 - 1) * Q1 + p2 * (q2 / p2 - 1) * Q2 + P3 * (Q3p / P3 - 1) * Q3, "==",
             q1 * Q1 + q2 * Q2 + Q3p * Q3 - V_roll,
             "per-token form: E_(y~π_roll)[(ρ − 1) Q] = g_t(c); summing over t gives L' = Σ_t E_(d_t^roll)[g_t]"),
        numeric("E_(y~π_roll)[A_t] = 0 at every reachable context", "martingale property on exact value functions",
                f"{TESTS}::test_martingale"),
        numeric("L' = Σ_t E_(d_t^roll)[g_t]", "per-token form of the surrogate on exact pairs",
                f"{TESTS}::test_per_token_surrogate"),
    )
    return Derivation("martingale", "E_(y~π_roll)[A_t] = 0 and L' = Σ_t E_(d_t^roll)[g_t]", "THEORY §2", steps)


def _performance_difference() -> Derivation:
    t, T = sp.Symbol("t", integer=True, positive=True), sp.Symbol("T", integer=True, positive=True)
    a, b = sp.Function("a"), sp.Function("b")
    steps = (
        Step(sp.Sum(a(t + 1) - a(t), (t, 1, T)), "==", a(T + 1) - a(1),
             "a(t) = E_(d_t^θ)[V_t^roll]; E_(d_t^θ)[g_t] = a(t+1) − a(t) since d_(t+1)^θ = d_t^θ ⊗ π_θ; the sum telescopes"),
        numeric("a(T+1) = J(π_θ), a(1) = J(π_roll)", "V_(T+1) = R and d_1^θ = d_1^roll = P(x)",
                f"{TESTS}::test_performance_difference"),
        Step(sp.Sum(a(t), (t, 1, T)) - sp.Sum(b(t), (t, 1, T)), "==", sp.Sum(a(t) - b(t), (t, 1, T)),
             "Error = Σ_t (E_(d_t^θ)[g_t] − E_(d_t^roll)[g_t]) (linearity of the sum)"),
    )
    return Derivation("performance_difference", "J(π_θ) − J(π_roll) = Σ_t E_(d_t^θ)[g_t]", "THEORY §2", steps)


def _advantage_bound() -> Derivation:
    a = sp.Symbol("a", real=True)   # q1 − p1 at V = 2
    m = sp.Symbol("m", real=True)
    steps = (
        Step((q1 - p1) * m + (q2 - p2) * m + (Q3p - P3) * m, "==", 0,
             "Σ_v (π_θ − π_roll)(v) · m = 0 for any constant m, so g = Σ_v (π_θ − π_roll)(v)(Q(v) − m)"),
        Step((p1 + a) * Q1 + (1 - p1 - a) * Q2 - (p1 * Q1 + (1 - p1) * Q2), "==", a * (Q1 - Q2),
             "at V = 2: g = (q1 − p1)(Q1 − Q2)"),
        Step(sp.Rational(1, 2) * (sp.Abs(a) + sp.Abs(-a)), "==", sp.Abs(a), "at V = 2: D_TV = |q1 − p1|"),
        Step(sp.Abs(a * (Q1 - Q2)), "==", sp.Abs(a) * sp.Abs(Q1 - Q2), "|g| = D_TV · |Q1 − Q2| = D_TV · osc(Q)"),
        numeric("|g_t(c)| ≤ D_TV(c) · osc(Q_t(c, ·)) ≤ D_TV(c)",
                "with m the mid-range of Q: |g| ≤ Σ_v|Δπ(v)| · osc(Q)/2 = D_TV · osc(Q), and Q ∈ [0, 1]",
                f"{LEMMAS}::test_advantage_bound"),
        Step(sp.Symbol("D_TV", nonnegative=True), "<=", 2 * sp.Symbol("D_TV", nonnegative=True),
             "the paper's |g_t| ≤ 2 D_TV follows from the sharp form"),
    )
    return Derivation("advantage_bound", "|g_t(c)| ≤ D_TV(c) (sharp) ≤ 2 D_TV(c) (paper)", "THEORY §4", steps)


DERIVATIONS = (_martingale(), _performance_difference(), _advantage_bound())
