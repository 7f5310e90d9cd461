"""Mutation rows for the proof kernel's own soundness (docs/proofs.md, "Soundness of the kernel"): the three
classes that survived the mutation audit, each now with the tests that kill it.

1. ``lemma_*``: a cited lemma weakened to a false statement whose violation needs the lemma's equality or
   extremal case (scaled by 1 − 10⁻⁶ or 1 − 10⁻³, moved by 10⁻⁹), killed by the lemma's own test through its
   explicit @example cases (tests/proofs/test_cited_lemmas.py, test_second_moment_lemmas.py).
2. ``z3_*``: a defining constraint of the z3 encoding (proofs/kernel/z3_axioms.py) flipped to a false one, or its
   guard or domain widened, killed by the numeric check of the construct's constraints
   (tests/proofs/test_z3_axioms.py) and by the kernel refusing the false claim it would prove
   (tests/proofs/test_z3_claims.py).
3. ``worst_case_*``: a worst-case input formula (proofs/bounds.py) with an exponent off by one, killed by the
   attainment and admissibility tests (tests/numerics/test_worst_case_attainment.py).

Each row is a dict of :class:`tests.mutations.catalog.Mutation` fields (catalog.py builds the rows).
"""
from __future__ import annotations

from dataclasses import replace

import sympy as sp

CITED = "tests/proofs/test_cited_lemmas.py"
SECOND = "tests/proofs/test_second_moment_lemmas.py"
AXIOMS = "tests/proofs/test_z3_axioms.py"
CLAIMS = "tests/proofs/test_z3_claims.py"
ATTAIN = "tests/numerics/test_worst_case_attainment.py"


# --- class 1: cited lemmas weakened to false statements

def _scaled_rhs(factor):
    def patch(lemma):
        return replace(lemma, rhs=lemma.rhs * factor)
    return patch


def _shifted_rhs(amount):
    def patch(lemma):
        return replace(lemma, rhs=lemma.rhs + amount)
    return patch


def _raised_lhs(amount):
    def patch(lemma):
        return replace(lemma, lhs=lemma.lhs + amount)
    return patch


SCALE_DOWN = 1 - sp.Rational(1, 10**6)
SCALE_UP = 1 + sp.Rational(1, 10**6)


def _lemma(name, description, patch, test=None):
    return dict(id=f"lemma_{name}", description=description, target="proofs.lemmas:LEMMAS", key=name.rsplit("__", 1)[0],
                patch=patch, killers=(test or f"{CITED}::test_{name.rsplit('__', 1)[0]}",))


def _chi2_lemma(name, description, old, new):
    """The χ² family's lemmas are cited when proofs.second_moment_proofs builds its derivations: mutate the citation."""
    return dict(id=f"lemma_{name}", description=description, target="proofs.second_moment_proofs:_cite_lemmas",
                old=old, new=new, killers=(f"{SECOND}::test_{name}",))


LEMMA_ROWS = [
    _lemma("pinsker", "Pinsker TV ≤ sqrt(KL/2) → ≤ (1 − 10⁻³)·sqrt(KL/2) (needs the near-equality regime)",
           _scaled_rhs(1 - sp.Rational(1, 1000))),
    _lemma("pinsker__shift", "Pinsker TV ≤ sqrt(KL/2) → ≤ sqrt(KL/2) − 10⁻⁹ (needs equal laws)",
           _shifted_rhs(-sp.Rational(1, 10**9))),
    _lemma("seq_pinsker", "D_TV^seq ≤ sqrt(D_KL^seq/2) → ≤ (1 − 10⁻³)·sqrt(D_KL^seq/2)", _scaled_rhs(1 - sp.Rational(1, 1000))),
    _lemma("tv_at_most_one", "TV ≤ 1 → TV ≤ 1 − 10⁻⁶ (needs disjoint supports)", _scaled_rhs(SCALE_DOWN)),
    _lemma("tv_duality", "|E_P f − E_Q f| ≤ TV·osc f → ≤ (1 − 10⁻⁶)·TV·osc f (needs f = 1[P > Q])",
           _scaled_rhs(SCALE_DOWN)),
    _lemma("holder_sup", "|E[XY]| ≤ E|X| sup|Y| → (1 − 10⁻⁶)·… (needs Y = sign(X)·c)", _scaled_rhs(SCALE_DOWN)),
    _lemma("coupling_recursion", "TV(d_t) ≤ Σ_(s<t) D̄_s → (1 − 10⁻⁶)·Σ (needs t = 2 on a prefix tree)",
           _scaled_rhs(SCALE_DOWN)),
    _lemma("data_processing_tv", "TV(d_t) ≤ D_TV^seq → (1 − 10⁻⁶)·D_TV^seq (needs a deterministic continuation)",
           _scaled_rhs(SCALE_DOWN)),
    _lemma("bounded_by_max", "a value ≤ its maximum → ≤ (1 − 10⁻⁶)·maximum (needs the maximising context)",
           _scaled_rhs(SCALE_DOWN)),
    _lemma("value_at_most_one", "a value ≤ 1 → ≤ 1 − 10⁻⁶ (needs a reward of 1)", _scaled_rhs(SCALE_DOWN)),
    _lemma("value_nonnegative", "0 ≤ a value → 10⁻⁹ ≤ a value (needs a reward of 0)", _raised_lhs(sp.Rational(1, 10**9))),
    _lemma("kl_chain_rule", "KL of the prefix laws = Σ E[D_KL] → (1 + 10⁻⁶)·Σ", _scaled_rhs(SCALE_UP)),
    _lemma("abs_dev_is_twice_tv", "E_roll|ρ_t − 1| = 2 D̄_t → 2(1 + 10⁻⁶) D̄_t", _scaled_rhs(SCALE_UP)),
    _chi2_lemma("cauchy_schwarz", "E|W| ≤ sqrt(E[W²]) → ≤ (1 − 10⁻³)·sqrt(E[W²]) (needs constant |W|)",
                'q.EabsW, "<=", sp.sqrt(q.EW2)', 'q.EabsW, "<=", sp.sqrt(q.EW2) * sp.Rational(999, 1000)'),
    _chi2_lemma("increment_bound", "E[(M_(t−1) − 1)² χ²(c_t)] ≤ χ²_max E[(M_(t−1) − 1)²] → (1 − 10⁻³)·… "
                "(needs a constant χ²)", 'q.increment(t), "<=", cmax * q.var_M(t - 1)',
                'q.increment(t), "<=", sp.Rational(999, 1000) * cmax * q.var_M(t - 1)'),
    _chi2_lemma("second_moment_recursion", "E[M_t²] ≤ (1 + χ²_max) E[M_(t−1)²] → (1 + (1 − 10⁻³)χ²_max)·…",
                'q.m2(t), "<=", (1 + cmax) * q.m2(t - 1)', 'q.m2(t), "<=", (1 + sp.Rational(999, 1000) * cmax) * q.m2(t - 1)'),
    _chi2_lemma("chi2_data_processing", "E[(M_t − 1)²] ≤ χ²_seq → ≤ (1 − 10⁻⁶)·χ²_seq (needs t = T)",
                'q.var_M(n), "<=", chi2_seq', 'q.var_M(n), "<=", chi2_seq * sp.Rational(999999, 10**6)'),
]


# --- class 2: defining constraints of the z3 encoding flipped, unguarded, or with a widened domain

def _z3(construct, name, description, old, new, target=None, killers=None):
    return dict(id=f"z3_{construct}_{name}", description=description,
                target=target or f"proofs.kernel.z3_axioms:{construct}_axioms", old=old, new=new,
                killers=killers or (f"{AXIOMS}::test_axioms_hold_on_numeric_samples[{construct}]",
                                    f"{CLAIMS}::test_claims[{construct}]"))


Z3_ROWS = [
    _z3("sign", "positive_integer", "a positive integer atom ≥ 1 → ≥ 2", "return Axioms((v >= 1,))", "return Axioms((v >= 2,))"),
    _z3("sign", "positive", "a positive atom > 0 → ≥ 1", "return Axioms((v > 0,))", "return Axioms((v >= 1,))"),
    _z3("sign", "nonnegative", "a nonnegative atom ≥ 0 → > 0", "return Axioms((v >= 0,))", "return Axioms((v > 0,))"),
    _z3("sign", "negative", "a negative atom < 0 → ≤ −1", "return Axioms((v < 0,))", "return Axioms((v <= -1,))"),
    _z3("sign", "nonpositive", "a nonpositive atom ≤ 0 → < 0", "return Axioms((v <= 0,))", "return Axioms((v < 0,))"),
    _z3("sign", "real", "a real atom gets ≥ 0", "return Axioms(())", "return Axioms((v >= 0,))"),
    _z3("reciprocal", "sign", "r·b^n = 1 → r·b^n = −1", "r * positive_power == 1", "r * positive_power == -1"),
    _z3("reciprocal", "unguarded", "r·b^n = 1 without its guard b ≠ 0", "z3.Implies(b != 0, r * positive_power == 1)",
        "r * positive_power == 1"),
    _z3("reciprocal", "domain", "the domain b ≠ 0 dropped", "(b != 0,))", "(z3.BoolVal(True),))"),
    _z3("root", "sign", "root ≥ 0 → root ≤ 0", "root >= 0,", "root <= 0,"),
    _z3("root", "index", "root^q = b → root^(q+1) = b", "for _ in range(q - 1):", "for _ in range(q):"),
    _z3("root", "unguarded", "the root's constraints without their guard b ≥ 0",
        "z3.Implies(b >= 0, z3.And(root >= 0, power == b))", "z3.And(root >= 0, power == b)"),
    _z3("root", "domain", "b^(−p/q) defined for b ≥ 0 (not b > 0)", "b >= 0 if p > 0 else b > 0", "b >= 0"),
    _z3("root_reciprocal", "inverse", "r·b^(p/q) = 1 → r = b^(p/q)", "r * power == 1", "r == power"),
    _z3("root_reciprocal", "guard", "r·b^(p/q) = 1 guarded by b ≥ 0 (not b > 0)", "z3.Implies(b > 0,", "z3.Implies(b >= 0,"),
    _z3("power", "positive", "b^x > 0 → b^x ≥ 1", "z3.Implies(b > 0, y > 0)", "z3.Implies(b > 0, y >= 1)"),
    _z3("power", "above_one", "b ≥ 1, x ≥ 0: b^x ≥ 1 → ≤ 1", "x >= 0), y >= 1)", "x >= 0), y <= 1)"),
    _z3("power", "below_one", "b ≤ 1, x ≥ 0: b^x ≤ 1 → ≥ 1", "b <= 1, x >= 0), y <= 1)", "b <= 1, x >= 0), y >= 1)"),
    _z3("power", "zero_exponent", "b^0 = 1 → b^0 = b", "x == 0), y == 1)", "x == 0), y == b)"),
    _z3("power", "bernoulli", "Bernoulli b^x ≥ 1 + x(b − 1) (x ≥ 1) flipped", "x >= 1), y >= 1 + x * (b - 1)",
        "x >= 1), y <= 1 + x * (b - 1)"),
    _z3("power", "reverse_bernoulli", "b^x ≤ 1 + x(b − 1) (0 ≤ x ≤ 1) flipped", "x <= 1), y <= 1 + x * (b - 1)",
        "x <= 1), y >= 1 + x * (b - 1)"),
    _z3("power", "domain", "b^x defined for b ≥ 0 (not b > 0)", "(b > 0,))", "(b >= 0,))"),
    _z3("power_shift", "swapped", "b^x = b^(x−k)·b^k with the roles swapped",
        "y == y2 * factor if k >= 0 else y2 == y * factor", "y2 == y * factor if k >= 0 else y == y2 * factor"),
    _z3("power_shift", "factor", "the shift factor b^|k| → b^(|k|+1) (in the encoder)",
        "factor = self._pow(base, sp.Integer(abs(k)))", "factor = self._pow(base, sp.Integer(abs(k) + 1))",
        target="proofs.kernel.z3_encoding:_Encoder._pow", killers=(f"{CLAIMS}::test_claims[power_shift]",)),
    _z3("power_order", "unguarded", "powers ordered as their exponents for every b > 0 (not b ≥ 1)",
        "z3.And(b >= 1, x <= x2), y <= y2", "z3.And(b > 0, x <= x2), y <= y2"),
    _z3("power_order", "flip_le", "x ≤ x2 ⇒ b^x ≤ b^x2 flipped", "x <= x2), y <= y2", "x <= x2), y >= y2"),
    _z3("power_order", "flip_ge", "x ≥ x2 ⇒ b^x ≥ b^x2 flipped", "x >= x2), y >= y2", "x >= x2), y <= y2"),
    _z3("exp", "positive", "exp(x) > 0 → ≥ 1", "(y > 0, ", "(y >= 1, "),
    _z3("exp", "tangent", "exp(x) ≥ 1 + x flipped", "y >= 1 + x", "y <= 1 + x"),
    _z3("exp", "zero", "exp(0) = 1 → 2", "z3.Implies(x == 0, y == 1)", "z3.Implies(x == 0, y == 2)"),
    _z3("exp", "premise", "x ≤ 0 ⇒ exp(x) ≤ 1 → x ≥ 0 ⇒ exp(x) ≤ 1", "z3.Implies(x <= 0, y <= 1)",
        "z3.Implies(x >= 0, y <= 1)"),
    _z3("exp_order", "flip_le", "x ≤ x2 ⇒ exp(x) ≤ exp(x2) flipped", "z3.Implies(x <= x2, y <= y2)",
        "z3.Implies(x <= x2, y >= y2)"),
    _z3("exp_order", "flip_ge", "x ≥ x2 ⇒ exp(x) ≥ exp(x2) flipped", "z3.Implies(x >= x2, y >= y2)",
        "z3.Implies(x >= x2, y <= y2)"),
    _z3("log", "upper", "log(x) ≤ x − 1 flipped", "l <= x - 1", "l >= x - 1"),
    _z3("log", "lower", "log(x)·x ≥ x − 1 flipped", "l * x >= x - 1", "l * x <= x - 1"),
    _z3("log", "one", "log(1) = 0 → 1", "z3.Implies(x == 1, l == 0)", "z3.Implies(x == 1, l == 1)"),
    _z3("log", "above_one", "x ≥ 1 ⇒ log(x) ≥ 0 → x ≤ 1 ⇒ …", "z3.Implies(x >= 1, l >= 0)", "z3.Implies(x <= 1, l >= 0)"),
    _z3("log", "below_one", "0 < x ≤ 1 ⇒ log(x) ≤ 0 → x ≥ 1 ⇒ …", "z3.And(x > 0, x <= 1), l <= 0", "z3.And(x > 0, x >= 1), l <= 0"),
    _z3("log", "domain", "log(x) defined for x ≥ 0 (not x > 0)", "(x > 0,))", "(x >= 0,))"),
    _z3("log_order", "flip_le", "x ≤ x2 ⇒ log(x) ≤ log(x2) flipped", "x <= x2), l <= l2", "x <= x2), l >= l2"),
    _z3("log_order", "flip_ge", "x ≥ x2 ⇒ log(x) ≥ log(x2) flipped", "x >= x2), l >= l2", "x >= x2), l <= l2"),
    _z3("min", "flip", "min ≤ each argument → ≥", "tuple(m <= a for a in args)", "tuple(m >= a for a in args)"),
    _z3("min", "all_equal", "min equals one argument → all of them", "z3.Or(*[m == a", "z3.And(*[m == a"),
    _z3("max", "flip", "max ≥ each argument → ≤", "tuple(m >= a for a in args)", "tuple(m <= a for a in args)"),
    _z3("max", "all_equal", "max equals one argument → all of them", "z3.Or(*[m == a", "z3.And(*[m == a"),
    _z3("abs", "above", "|x| ≥ x → ≤", "(a >= x, ", "(a <= x, "),
    _z3("abs", "above_negative", "|x| ≥ −x → ≤", "a >= -x,", "a <= -x,"),
    _z3("abs", "both", "|x| equals x or −x → both", "z3.Or(a == x, a == -x)", "z3.And(a == x, a == -x)"),
    _z3("encoding", "rational", "a rational constant p/q encoded as q/p", "z3.Q(int(e.p), int(e.q))",
        "z3.Q(int(e.q), int(e.p))", target="proofs.kernel.z3_encoding:_Encoder._enc",
        killers=(f"{AXIOMS}::test_arithmetic_is_encoded_exactly",)),
    _z3("encoding", "integer_power", "b^n encoded as b^(n+1)", "for _ in range(n):", "for _ in range(n + 1):",
        target="proofs.kernel.z3_encoding:_Encoder._pow", killers=(f"{AXIOMS}::test_arithmetic_is_encoded_exactly",)),
    _z3("encoding", "strict", "a strict relation a < b encoded as a ≤ b", "sp.Lt: lambda a, b: a < b",
        "sp.Lt: lambda a, b: a <= b", target="proofs.kernel.z3_encoding:_Encoder.rel",
        killers=(f"{AXIOMS}::test_relations_are_encoded_exactly", f"{CLAIMS}::test_claims[sign]")),
    _z3("encoding", "domain_unchecked", "z3_decide skips the well-definedness check", "if enc.domain:", "if False:",
        target="proofs.kernel.z3_encoding:z3_decide", killers=(f"{CLAIMS}::test_claims[log]",)),
]


# --- class 3: worst-case input formulas with an exponent off by one

def _shift_exponent(expr, symbol, k):
    """expr with every power of ``symbol`` raised by k (symbol^p → symbol^(p + k); a bare symbol is symbol^1)."""
    if expr == symbol:
        return symbol ** (1 + k)
    if expr.is_Pow and expr.base == symbol:
        return symbol ** (expr.exp + k)
    if not expr.args:
        return expr
    return expr.func(*[_shift_exponent(a, symbol, k) for a in expr.args])


def _eps_exponent(k):
    def patch(fn):
        from proofs.symbols import delta

        wrong = _shift_exponent(fn(), delta, k)
        return lambda d=delta: wrong.xreplace({delta: d})
    return patch


def _kl_seq_exponent(which, k):
    def patch(fn):
        from proofs.symbols import T, delta

        wrong = _shift_exponent(fn(), {"T": T, "delta": delta}[which], k)
        return lambda d=delta, horizon=T: wrong.xreplace({delta: d, T: horizon})
    return patch


def _tv_seq_exponent(k):
    def patch(fn):
        from proofs.symbols import kl_seq

        wrong = _shift_exponent(fn(), kl_seq, k)
        return lambda kl=kl_seq: wrong.xreplace({kl_seq: kl})
    return patch


def _worst(name, description, target, patch, *killers):
    return dict(id=f"worst_case_{name}", description=description, target=f"proofs.bounds:{target}", patch=patch,
                killers=tuple(f"{ATTAIN}::{k}" for k in killers))


EPS_KILLERS = ("test_eps_worst_case_is_approached_as_delta_vanishes", "test_trm_bounds_fills_missing_inputs_with_attained_values")
KL_SEQ_ATTAINED = "test_kl_seq_worst_case_is_attained_by_iid_pairs"
KL_SEQ_SLOPE = "test_threshold_slope_is_the_attained_worst_case"
KL_SEQ_KILLERS = (KL_SEQ_ATTAINED, "test_trm_bounds_fills_missing_inputs_with_attained_values", KL_SEQ_SLOPE)
TV_SEQ_KILLERS = ("test_tv_seq_worst_case_is_approached_by_a_one_token_mismatch",
                  "test_trm_bounds_fills_missing_inputs_with_attained_values")

WORST_CASE_ROWS = [
    _worst("eps_exponent_up", "ε worst case min(1, sqrt(δ/2)) with δ^(1/2) → δ^(3/2)", "worst_case_eps", _eps_exponent(1),
           *EPS_KILLERS, "test_every_pair_inputs_are_admitted"),
    _worst("eps_exponent_down", "ε worst case min(1, sqrt(δ/2)) with δ^(1/2) → δ^(−1/2)", "worst_case_eps",
           _eps_exponent(-1), *EPS_KILLERS),
    _worst("kl_seq_horizon_exponent", "D_KL^seq worst case Tδ → T²δ", "worst_case_kl_seq", _kl_seq_exponent("T", 1),
           *KL_SEQ_KILLERS),
    # Tδ² is not linear in δ: the kernel's assembly (numerics.codegen) refuses it, so numerics never evaluates it
    # and the tests that read numerics (trm bounds' filled values, the admissibility of real inputs) cannot see it
    _worst("kl_seq_delta_exponent", "D_KL^seq worst case Tδ → Tδ²", "worst_case_kl_seq", _kl_seq_exponent("delta", 1),
           KL_SEQ_ATTAINED, KL_SEQ_SLOPE),
    _worst("tv_seq_exponent_up", "D_TV^seq worst case min(1, sqrt(D/2)) with D^(1/2) → D^(3/2)", "worst_case_tv_seq",
           _tv_seq_exponent(1), *TV_SEQ_KILLERS, "test_every_pair_inputs_are_admitted"),
    _worst("tv_seq_exponent_down", "D_TV^seq worst case min(1, sqrt(D/2)) with D^(1/2) → D^(−1/2)", "worst_case_tv_seq",
           _tv_seq_exponent(-1), *TV_SEQ_KILLERS),
]

SOUNDNESS_ROWS = LEMMA_ROWS + Z3_ROWS + WORST_CASE_ROWS
