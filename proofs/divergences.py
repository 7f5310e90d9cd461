"""Divergence facts (THEORY §3–§4): Pinsker with its cap, the KL chain rule and its corollary,
the context-shift lemma by each route, and the master inequality.

The inequalities between expectations over a random pair are numeric steps (sympy cannot state
them); the algebra that links them is symbolic.
"""
import sympy as sp

from proofs.derivation import Derivation, Step, numeric
from proofs.symbols import delta, eps, t

LEMMAS = "tests/numerics/test_lemmas.py"


def _pinsker() -> Derivation:
    p, w = sp.symbols("p w", positive=True)
    s = sp.Symbol("s", positive=True)
    steps = (
        numeric("D_TV(P, Q) ≤ sqrt(D_KL(P‖Q)/2)", "Pinsker's inequality, checked on random and adversarial pairs",
                f"{LEMMAS}::test_pinsker"),
        Step(2 * p + w - sp.Abs(w), "==", 2 * p,
             "|q − p| ≤ q + p termwise (case q = p + w ≥ p), so D_TV = ½Σ|q − p| ≤ ½Σ(q + p) = 1"),
        Step(2 * p + w - sp.Abs(-w), "==", 2 * p, "the same in the case p = q + w ≥ q"),
        Step(sp.sqrt(delta / 2) ** 2 - (sp.sqrt(delta / 2) / sp.sqrt(1 + s)) ** 2, ">=", 0,
             "sqrt is increasing: a context with D_KL = δ/(1+s) ≤ δ has D_TV ≤ sqrt(δ/2); so ε ≤ min(1, sqrt(δ/2))"),
        numeric("ε ≤ min(1, sqrt(δ/2)) and D_TV^seq ≤ min(1, sqrt(D_KL^seq/2))", "Pinsker with cap at both levels",
                f"{LEMMAS}::test_pinsker_caps"),
    )
    return Derivation("pinsker", "D_TV ≤ min(1, sqrt(D_KL/2)) at every context and for sequences", "THEORY §3", steps)


def _kl_chain_rule() -> Derivation:
    steps = []
    for n in range(1, 5):
        p = sp.symbols(f"p1:{n + 1}", positive=True)
        q = sp.symbols(f"q1:{n + 1}", positive=True)
        steps.append(Step(sp.log(sp.Mul(*p) / sp.Mul(*q)), "==", sp.Add(*[sp.log(a / b) for a, b in zip(p, q)]),
                          f"log P^roll(y)/P^θ(y) = Σ_t log(π_roll/π_θ)(y_t|c_t) at T = {n}; "
                          "taking E_roll and the tower property gives D_KL^seq = Σ_t E_(d_t^roll)[D_KL]"))
    s_ = sp.Symbol("s", integer=True, positive=True)
    T = sp.Symbol("T", integer=True, positive=True)
    steps += [
        numeric("KL(P^roll ‖ P^θ) = Σ_t E_(d_t^roll)[D_KL(c_t)]", "chain rule on exact pairs",
                f"{LEMMAS}::test_kl_chain_rule"),
        Step(sp.Sum(delta, (s_, 1, t - 1)), "==", (t - 1) * delta,
             "each E_(d_s^roll)[D_KL] ≤ δ, so KL(d_t^roll ‖ d_t^θ) = Σ_(s<t) E[D_KL] ≤ (t − 1)δ"),
        Step(sp.Sum(delta, (s_, 1, T)), "==", T * delta, "corollary D_KL^seq ≤ Tδ"),
    ]
    return Derivation("kl_chain_rule", "D_KL^seq = Σ_t E_(d_t^roll)[D_KL(c_t)], KL(d_t^roll‖d_t^θ) ≤ (t−1)δ",
                      "THEORY §3", tuple(steps))


def _context_shift() -> Derivation:
    s_ = sp.Symbol("s", integer=True, positive=True)
    w = sp.Symbol("w", positive=True)
    steps = (
        numeric("TV(d_t^θ, d_t^roll) ≤ Σ_(s<t) D̄_s", "coupling recursion: the laws first differ at some s < t",
                f"{LEMMAS}::test_context_shift"),
        Step(sp.Sum(eps, (s_, 1, t - 1)), "==", (t - 1) * eps, "D̄_s ≤ ε gives the (t − 1)ε route"),
        Step((t - 1) * delta / 2 - (t - 1) * delta * w / (2 * (1 + w)), ">=", 0,
             "Pinsker + chain rule: KL(d_t) = (t−1)δ·w/(1+w) ≤ (t−1)δ, so sqrt(KL(d_t)/2) ≤ sqrt((t−1)δ/2)"),
        numeric("TV(d_t^θ, d_t^roll) ≤ D_TV^seq and ≤ sqrt(D_KL^seq/2)",
                "data processing (prefixes are functions of sequences); Pinsker and Jensen over prompts",
                f"{LEMMAS}::test_context_shift"),
    )
    return Derivation("context_shift",
                      "TV(d_t^θ, d_t^roll) ≤ min(1, (t−1)ε, sqrt((t−1)δ/2), D_TV^seq, sqrt(D_KL^seq/2))",
                      "THEORY §4", steps)


def _master_inequality() -> Derivation:
    a, b = sp.symbols("a b", positive=True)
    g1, g2 = sp.symbols("g1 g2", real=True)
    steps = (
        Step(a * g1 + (1 - a) * g2 - (b * g1 + (1 - b) * g2), "==", (a - b) * (g1 - g2),
             "on two points: E_P g − E_Q g = (P − Q)(g1 − g2), and TV(P, Q) = |a − b|"),
        numeric("|E_P g − E_Q g| ≤ TV(P, Q) · osc(g) ≤ 2‖g‖∞ TV(P, Q)",
                "subtracting the mid-range of g, as in the advantage bound",
                f"{LEMMAS}::test_master_inequality"),
        numeric("|Error| ≤ Σ_t 2‖g_t‖∞ TV(d_t^θ, d_t^roll)", "performance difference minus the per-token surrogate",
                f"{LEMMAS}::test_master_inequality"),
    )
    return Derivation("master_inequality", "|Error| ≤ Σ_t 2‖g_t‖∞ · TV(d_t^θ, d_t^roll)", "THEORY §4", steps)


DERIVATIONS = (_pinsker(), _kl_chain_rule(), _context_shift(), _master_inequality())
