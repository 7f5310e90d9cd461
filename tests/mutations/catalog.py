"""The standing mutation regression: a curated list of plausible bugs, each applied in memory (never by
editing a file) and each with the tests that must kill it.

A mutation is a row of ``MUTATIONS``: ``target`` is ``package.module:Qualified.name``; a source
mutation replaces the snippet ``old`` (which must occur exactly once in the target's source) by ``new``
and rebinds the recompiled function or method; a value mutation replaces the target (or its item
``key``) by ``patch(current value)``. ``killers`` are pytest ids run with the mutation applied (by the
plugin tests/mutations/plugin.py, selected with the environment variable TRM_MUTATION); they must
fail. ``fast`` rows also run in the default pytest. ``equivalent`` rows are documented, not run: the
mutant computes the same numbers on every valid input, for the reason given.

The rows of the kernel's own soundness (weakened cited lemmas, flipped constraints of the z3 encoding,
worst-case inputs off by one in an exponent) live in tests/mutations/soundness_rows.py.

When code moves, re-target the row: ``tests/mutations/test_mutations.py::test_catalog_is_well_formed``
fails with the row's id when a target or snippet is no longer found.
"""
from __future__ import annotations

import __future__
import importlib
import inspect
import textwrap
from dataclasses import dataclass
from typing import Any, Callable

import sympy as sp

from tests.mutations.soundness_rows import SOUNDNESS_ROWS

BOUNDS_HOLD = "tests/numerics/test_bounds_hold.py"
BOUNDARIES = "tests/numerics/test_boundaries.py"
CRITERIA = "tests/gpu_sim/test_criteria_boundaries.py"
#: the neural family's fused pass, bit for bit against the separate functions
FUSED_VS_SEPARATE = "tests/gpu_sim/test_fused_divergence.py::test_fused_pass_equals_the_separate_functions"
#: the compiled finite-state step reads k2 and k3 from its tables
STEP_TABLE_ESTIMATORS = "tests/gpu_sim/test_sampling_paths.py::test_step_tables_hold_the_sampled_estimators"
DERIVATIONS = "tests/proofs/test_derivations.py::test_every_derivation_passes_the_kernel"
HEADLINE = "tests/numerics/test_tables.py::test_the_headline_numbers"
TABLE_CELLS = "tests/numerics/test_tables.py::test_every_printed_cell_agrees_or_is_an_explained_slip"
DP_VS_ENUMERATION = "tests/numerics/test_exact_vs_enumeration.py::test_dynamic_programme_agrees_with_enumeration"
#: the block-operator engine (time-homogeneous pairs) forced, against enumeration
BLOCK_VS_ENUMERATION = "tests/numerics/test_exact_engines.py::test_both_engines_agree_with_enumeration"
PATH_ASSEMBLY = "tests/proofs/test_path_assembly.py"
PATH_BOUNDS = "tests/numerics/test_path_bounds.py"


class MutationTargetError(LookupError):
    """The target or its snippet is not where the row says: re-target the row."""


@dataclass(frozen=True)
class Mutation:
    id: str
    description: str
    target: str
    killers: tuple[str, ...]
    old: str | None = None
    new: str | None = None
    patch: Callable[[Any], Any] | None = None
    key: Any = None
    fast: bool = False
    equivalent: str | None = None


def resolve(target: str):
    """(owner, attribute name, object) for ``module:Qualified.name``."""
    module_name, _, qualname = target.partition(":")
    try:
        owner = importlib.import_module(module_name)
        obj = owner
        for part in qualname.split("."):
            owner, obj = obj, getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise MutationTargetError(f"{target}: {exc}") from None
    return owner, qualname.split(".")[-1], obj


def mutant_source(mutation: Mutation) -> str:
    _, _, obj = resolve(mutation.target)
    source = textwrap.dedent(inspect.getsource(obj))
    count = source.count(mutation.old)
    if count != 1:
        raise MutationTargetError(f"{mutation.id}: {mutation.old!r} occurs {count} times in {mutation.target}")
    return source.replace(mutation.old, mutation.new)


def check(mutation: Mutation) -> None:
    """Resolve the target (and find the snippet) without applying anything."""
    if mutation.old is not None:
        mutant_source(mutation)
    else:
        _, _, obj = resolve(mutation.target)
        if mutation.key is not None and mutation.key not in obj:
            raise MutationTargetError(f"{mutation.id}: {mutation.key!r} is not in {mutation.target}")


def mutant(mutation: Mutation):
    """(owner, attribute or key, replacement, is_item) of the mutation, without applying it."""
    owner, attr, obj = resolve(mutation.target)
    if mutation.old is not None:
        module = inspect.getmodule(obj)
        code = compile(mutant_source(mutation), f"<mutant {mutation.id}>", "exec",
                       flags=__future__.annotations.compiler_flag, dont_inherit=True)
        namespace: dict = {}
        exec(code, module.__dict__, namespace)
        return owner, attr, namespace[attr], False
    if mutation.key is not None:
        return obj, mutation.key, mutation.patch(obj[mutation.key]), True
    return owner, attr, mutation.patch(obj), False


def apply(mutation: Mutation, monkeypatch=None) -> None:
    """Apply the mutation for the rest of the process, or through a pytest monkeypatch (undone later)."""
    holder, name, value, is_item = mutant(mutation)
    if monkeypatch is None:
        if is_item:
            holder[name] = value
        else:
            setattr(holder, name, value)
    elif is_item:
        monkeypatch.setitem(holder, name, value)
    else:
        monkeypatch.setattr(holder, name, value)


# ------------------------------------------------------------------------------------------------
# replacements built from the proofs' own objects

def _cap_two(term):
    from proofs.bounds import pinsker_cap
    from proofs.symbols import kl_seq

    return term.xreplace({pinsker_cap(kl_seq): sp.Min(2, sp.sqrt(kl_seq / 2))})


def _shift(expr_symbol_map):
    def patch(term):
        return term.xreplace(expr_symbol_map())
    return patch


def _t_plus_one():
    from proofs.symbols import t
    return {t: t + 1}


def _future_minus_one(term):
    from proofs.symbols import T
    return term.xreplace({T: T - 1})


def _future_plus_one(weight_fn):
    from proofs.symbols import T

    return lambda: weight_fn().xreplace({T: T + 1})


def _one_token_short(fn):
    from proofs.symbols import T
    return lambda p, horizon=T: fn(p, horizon - 1)


def _swapped(fn):
    return lambda roll, theta: fn(theta, roll)


def _weaken(rhs):
    def patch(lemma):
        from dataclasses import replace
        return replace(lemma, rhs=rhs(lemma))
    return patch


def _path_symbol(name):
    from proofs import path_bounds
    return getattr(path_bounds, name)


def _transform_late(recursions):
    """The martingale transform with M_t − 1 in place of M_(t−1) − 1: W ← W + m·(1 + u)·u."""
    from proofs.path_recursions import W_run, m_run, u
    out = dict(recursions)
    update, monomials, start = out["transform"]
    out["transform"] = ({**update, W_run: W_run + m_run * (1 + u) * u}, monomials, start)
    return out


def _chi2_index(shift):
    from proofs.symbols import t
    return shift.xreplace({t: t + 1})


MUTATIONS: dict[str, Mutation] = {m.id: m for m in [
    # --- the three survivors of the earlier suite
    Mutation("mixed_kl_cap_two", "Mixed-KL cap min(1, sqrt(D_KL^seq/2)) → min(2, ·)", "proofs.bounds:BOUND_TERMS",
             (f"{BOUNDARIES}::test_tv_factors_never_exceed_one",), patch=_cap_two, key="mixed_kl", fast=True),
    Mutation("trm_max_strict", "TRM-Max acceptance max_t KL ≤ δ → < δ", "gpu_sim.running:RunningStats._sequence_accept",
             (f"{CRITERIA}::test_trm_max_accepts_kl_equal_to_delta",),
             old='return s["max_kl"] <= clause.threshold', new='return s["max_kl"] < clause.threshold', fast=True),
    Mutation("worst_case_kl_seq_delta", "worst-case D_KL^seq = δ instead of Tδ", "proofs.bounds:worst_case_kl_seq",
             (f"{BOUNDARIES}::test_worst_case_inputs_dominate_every_pair",),
             patch=lambda fn: (lambda d, horizon=None: d), fast=True),
    # --- criterion boundaries
    Mutation("reference_strict", "reference TRM-Max KL ≤ δ → < δ", "gpu_sim.running:RunningStats._decide",
             (f"{CRITERIA}::test_reference_accepts_kl_equal_to_delta",),
             old='reference = self.s["max_kl"] <= self.reference_delta',
             new='reference = self.s["max_kl"] < self.reference_delta'),
    Mutation("trm_avg_strict", "TRM-Avg mean KL ≤ δ → < δ", "gpu_sim.running:RunningStats._sequence_accept",
             (f"{CRITERIA}::test_trm_avg_accepts_mean_kl_equal_to_delta",),
             old='return s["sum_kl"] / T_c <= clause.threshold', new='return s["sum_kl"] / T_c < clause.threshold'),
    Mutation("ser_normaliser", "SER divides by T + 1 instead of T", "gpu_sim.running:RunningStats._sequence_accept",
             ("tests/gpu_sim/test_criteria.py::test_ln_trm_and_ser",),
             old='return s["sum_absx"] / T_c <= clause.threshold', new='return s["sum_absx"] / (T_c + 1) <= clause.threshold'),
    # --- estimator formulas
    Mutation("k3_inverted", "k3 of 1/r (expectation χ² − KL) instead of r − 1 − log r", "gpu_sim.running:sampled_estimators",
             (f"{CRITERIA}::test_k3_is_the_unbiased_roll_estimator", STEP_TABLE_ESTIMATORS),
             old="k3 = torch.expm1(lr) - lr", new="k3 = torch.expm1(-lr) + lr"),
    Mutation("k2_without_half", "k2 = (log r)² instead of ½(log r)²", "gpu_sim.running:sampled_estimators",
             (f"{CRITERIA}::test_k2_is_half_the_squared_log_ratio", STEP_TABLE_ESTIMATORS),
             old="k2 = 0.5 * lr * lr", new="k2 = lr * lr"),
    Mutation("k1_mirrored", "the k1 band compared with −log r (a mirrored ratio band)",
             "gpu_sim.running:RunningStats._sequence_accept", (f"{CRITERIA}::test_k1_band_is_on_the_ratio_as_written",),
             old='value = s["sum_lr"] / (T_c if name == "seq_mean_k1" else 1)',
             new='value = -s["sum_lr"] / (T_c if name == "seq_mean_k1" else 1)'),
    Mutation("mean_k3_as_sum", "seq_mean_k3 compares the sum instead of the mean",
             "gpu_sim.running:RunningStats._sequence_accept", (f"{CRITERIA}::test_k3_is_the_unbiased_roll_estimator",),
             old='return (total / T_c if agg == "mean" else total) <= clause.threshold',
             new='return (total if agg == "mean" else total) <= clause.threshold'),
    Mutation("clamp_thirty", "log-ratio clamp ±20 → ±30", "gpu_sim.criteria:LOG_RATIO_CLAMP",
             ("tests/gpu_sim/test_criteria.py::test_log_ratio_is_clamped_for_sampled_statistics",), patch=lambda v: 30.0),
    # --- constants
    Mutation("paper_constant_three", "paper constant C = 4 → 3", "proofs.bounds:CONSTANTS", (HEADLINE,),
             patch=lambda c: sp.Integer(3), key="paper"),
    Mutation("sharp_constant_below_two", "sharp constant C = 2 → 1.9", "proofs.bounds:CONSTANTS",
             (f"{BOUNDS_HOLD}::test_sharp_constant_is_attained",), patch=lambda c: sp.Rational(19, 10), key="sharp"),
    Mutation("advantage_factor_one", "the paper's advantage factor |g| ≤ 2 D_TV → ≤ D_TV in the assembly",
             "proofs.bound_family:FAMILY_FACTOR", (HEADLINE,), patch=lambda a: sp.Integer(1), key="paper"),
    # --- caps, index shifts and lemma statements
    Mutation("classical_index", "classical term ε²(t − 1) → ε² t", "proofs.bounds:BOUND_TERMS", (HEADLINE,),
             patch=_shift(_t_plus_one), key="classical"),
    Mutation("pinsker_marginal_index", "Pinsker-Marginal-KL context shift (t − 1) → t", "proofs.bounds:BOUND_TERMS",
             (HEADLINE,), patch=_shift(_t_plus_one), key="pinsker_marginal_kl"),
    Mutation("adaptive_future_short", "Adaptive-TV future factor over T − t → T − t − 1 tokens",
             "proofs.bounds:BOUND_TERMS", (f"{BOUNDS_HOLD}::test_sharp_constant_is_attained",),
             patch=_future_minus_one, key="adaptive_tv"),
    Mutation("ln_weight_long", "LN-TRM weight over T − t + 1 tokens instead of T − t",
             "proofs.bounds:length_neutral_weight",
             ("tests/proofs/test_assembly.py::test_ln_weight_is_the_adaptive_future_factor",), patch=_future_plus_one),
    Mutation("lemma_tv_le_two", "cited lemma TV ≤ 1 weakened to TV ≤ 2 (every cap then lacks a reason)",
             "proofs.lemmas:LEMMAS", (DERIVATIONS,), patch=_weaken(lambda lemma: sp.Integer(2)), key="tv_at_most_one"),
    Mutation("lemma_pinsker_without_half", "cited Pinsker TV ≤ sqrt(KL/2) weakened to sqrt(KL)", "proofs.lemmas:LEMMAS",
             (DERIVATIONS,), patch=_weaken(lambda lemma: sp.sqrt(lemma.rhs ** 2 * 2)), key="pinsker"),
    Mutation("chi2_shift_index", "χ² shift factor (1 + χ²)^(t−1) − 1 → (1 + χ²)^t − 1", "proofs.second_moment:CHI2_SHIFT",
             (DERIVATIONS,), patch=_chi2_index, key="chi2_max"),
    Mutation("length_bias_exponent", "TRM-Max acceptance (1 − p)^T → (1 − p)^(T−1)", "proofs.bounds:independent_acceptance",
             (TABLE_CELLS,), patch=lambda fn: _one_token_short(fn)),
    # --- KL direction and d^θ vs d^roll
    Mutation("kl_direction", "token KL(θ ‖ roll) instead of KL(roll ‖ θ)", "numerics.divergence:token_kl",
             ("tests/numerics/test_lemmas.py::test_kl_chain_rule",), patch=_swapped),
    Mutation("dbar_under_theta", "D̄_t (and the per-position KL) averaged over d_t^θ instead of d_t^roll",
             "numerics.exact:_block_sweep", (BLOCK_VS_ENUMERATION,),
             old="position_expectations(auto.init, F_roll, columns, T, B)",
             new="position_expectations(auto.init, F_theta, columns, T, B)"),
    Mutation("surrogate_under_theta", "L' accumulated along d_t^θ (the performance difference) instead of d_t^roll",
             "numerics.exact:_block_sweep", (BLOCK_VS_ENUMERATION,),
             old="power = _Triangular(F_roll, D, np.zeros((S, S)), -D, F_seen)",
             new="power = _Triangular(F_theta, D, np.zeros((S, S)), -D, F_seen)"),
    # --- the worst case over rewards and the telescoped bracket
    Mutation("worst_reward_sign", "worst reward 1[f > 0] → 1[f < 0]", "numerics.enumeration:worst_case_error",
             (f"{BOUNDS_HOLD}::test_worst_case_reward_attains_the_supremum",),
             old="reward = ((f > 0) & (P_roll > 0))", new="reward = ((f < 0) & (P_roll > 0))"),
    Mutation("worst_reward_half", "sup_R |Error| = ½ E|f| → E|f|", "numerics.enumeration:worst_case_error",
             (f"{BOUNDS_HOLD}::test_sharp_constant_is_attained",),
             old="return WorstCase(float(0.5 * (P_roll * np.abs(f)).sum())",
             new="return WorstCase(float(1.0 * (P_roll * np.abs(f)).sum())"),
    Mutation("suffix_index", "Π_(j>t) ρ_j accumulated from j ≥ t", "numerics.enumeration:suffix_ratio_minus_one",
             ("tests/numerics/test_identities.py::test_telescoping_error_equals_minus_delta",),
             old="tail[t] = tail[t + 1] + logs[t + 1]", new="tail[t] = tail[t + 1] + logs[t]"),
    Mutation("master_factor_one", "master inequality with osc(g_t) ≤ ‖g_t‖∞ instead of 2‖g_t‖∞",
             "proofs.advantage:_master_inequality", (DERIVATIONS,),
             old=".le(sp.Sum(2 * G_SUP * q.TV_d(t), (t, 1, T))", new=".le(sp.Sum(G_SUP * q.TV_d(t), (t, 1, T))"),
    # --- the neural family's fused divergence pass (gpu_sim/divergence.py)
    Mutation("fused_tv_without_half", "fused pass D_TV = Σ|q − p| instead of ½Σ|q − p|",
             "gpu_sim.divergence:_context_terms", (FUSED_VS_SEPARATE,),
             old="tv = 0.5 * s.sum(-1)", new="tv = s.sum(-1)"),
    Mutation("fused_kl_far_sign", "fused pass far KL term (q − p) + p·d instead of (q − p) − p·d",
             "gpu_sim.divergence:_context_terms", (FUSED_VS_SEPARATE,), old="w.sub_(s)", new="w.add_(s)"),
    Mutation("fused_zero_rows_unguarded", "fused pass keeps the unguarded terms of rows where p or q has a zero",
             "gpu_sim.divergence:context_divergences", (FUSED_VS_SEPARATE,),
             old="if rows.numel():", new="if False:"),
    # --- intervals with a level and the one definition of W (numerics/intervals.py, numerics/martingale.py)
    Mutation("w_prefix_includes_t", "W += (M_t − 1)·u_t instead of (M_(t−1) − 1)·u_t", "numerics.martingale:transform_increment",
             ("tests/numerics/test_martingale.py::test_numpy_and_torch_agree_and_equal_the_telescoped_bracket",
              "tests/gpu_sim/test_worst_case.py::test_martingale_accumulation_equals_the_telescoped_bracket"),
             old="xp.cumsum(log_ratio[:-1], 0)], 0) + log_sum_before",
             new="xp.cumsum(log_ratio[1:], 0)], 0) + log_sum_before", fast=True),
    Mutation("betting_lower_is_the_mean", "the betting lower bound returns the sample mean",
             "numerics.intervals:betting_lower_bound", ("tests/numerics/test_intervals.py::test_betting_lower_bound_covers",),
             old="    return lo * top ", new="    return float(x.mean()) * top "),
    Mutation("worst_case_tail_dropped", "the worst-case upper end without E[(W⁻)²]/(4c)",
             "numerics.intervals:worst_case_error_interval",
             ("tests/numerics/test_intervals.py::test_worst_case_interval_covers_a_known_mean",),
             old="second_upper / (4.0 * c)", new="0.0 * second_upper"),
    Mutation("certificate_union_dropped", "the L' lower end at α instead of α/2 (no union bound)",
             "numerics.intervals:improvement_certificate",
             ("tests/gpu_sim/test_interval_coverage.py::test_coverage_at_the_nominal_level",),
             old="surrogate_lower_bound(r, sum_u, alpha / 2)", new="surrogate_lower_bound(r, sum_u, 0.5)"),
    # --- the path-moment family (THEORY §11): constants, exponents, caps, index shifts, recursions
    Mutation("path_sequence_kl_half", "sup_R|Error| ≤ D_KL^seq → ≤ D_KL^seq/2", "proofs.path_bounds:SEQUENCE_KL_BOUND",
             (f"{PATH_ASSEMBLY}::test_each_bound_is_a_derived_conclusion",
              "tests/cli/test_path_bounds_cli.py::test_threshold_best_and_kl_avg"), patch=lambda e: e / 2),
    Mutation("path_tangent_constant", "tangent bound ½(m + sqrt s) → ⅓(m + sqrt s)", "proofs.path_bounds:TANGENT_BOUND",
             (f"{PATH_ASSEMBLY}::test_each_bound_is_a_derived_conclusion", DERIVATIONS),
             patch=lambda e: e * sp.Rational(2, 3)),
    Mutation("path_tangent_cross_term", "tangent second moment 2γ(1 − γ)E[SH] → γ(1 − γ)E[SH]",
             "proofs.path_bounds:TANGENT_SECOND", (DERIVATIONS,),
             patch=lambda e: e.xreplace({_path_symbol("sh_moment"): _path_symbol("sh_moment") / 2})),
    Mutation("path_tangent_kappa_sign", "κ_γ = 1 − γ + γ log γ → 1 − γ − γ log γ", "proofs.path_bounds:TANGENT_KAPPA",
             (DERIVATIONS,), patch=lambda e: e.xreplace({sp.log(_path_symbol("gamma")): -sp.log(_path_symbol("gamma"))})),
    Mutation("path_tangent_zero_exponent", "½(1 + sqrt(1 + Q)) → ½(1 + (1 + Q)^(1/4))",
             "proofs.path_bounds:TANGENT_BOUND_AT_ZERO", (f"{PATH_ASSEMBLY}::test_each_bound_is_a_derived_conclusion",),
             patch=lambda e: sp.Rational(1, 2) * (1 + (1 + _path_symbol("q_sum")) ** sp.Rational(1, 4))),
    Mutation("path_additive_half_dropped", "additive D_TV^seq + ½ sqrt(Q) → D_TV^seq + ¼ sqrt(Q)",
             "proofs.path_bounds:ADDITIVE_BOUND", (f"{PATH_ASSEMBLY}::test_each_bound_is_a_derived_conclusion",),
             patch=lambda e: e.xreplace({sp.Rational(1, 2): sp.Rational(1, 4)})),
    Mutation("path_weighted_mass_dropped", "weighted χ² ½ sqrt(E[W²/Πω] E[Πω]) → ½ sqrt(E[W²/Πω])",
             "proofs.path_bounds:WEIGHTED_CHI2_BOUND", (f"{PATH_ASSEMBLY}::test_each_bound_is_a_derived_conclusion",),
             patch=lambda e: e.xreplace({_path_symbol("weight_mass"): 1})),
    Mutation("path_le_cam_exponent", "Le Cam sqrt(1 − BC²) → sqrt(1 − BC)", "proofs.path_bounds:LE_CAM_TV",
             (f"{PATH_ASSEMBLY}::test_each_bound_is_a_derived_conclusion",
              f"{PATH_BOUNDS}::test_closed_forms_are_the_proofs_expressions"),
             patch=lambda e: sp.sqrt(1 - _path_symbol("bc_seq"))),
    Mutation("path_transform_index", "martingale transform W += (M_t − 1)u_t instead of (M_(t−1) − 1)u_t",
             "proofs.path_recursions:RECURSIONS",
             ("tests/numerics/test_path_moments.py::test_weighted_second_moment_agrees_with_enumeration",),
             patch=_transform_late),
    Mutation("path_weight_not_inverted", "E[W²·Πω] instead of E[W²/Πω]", "numerics.path_moments:weighted_second_moment",
             ("tests/numerics/test_path_moments.py::test_weighted_second_moment_agrees_with_enumeration",),
             old="return 1.0 / omega(u, roll)", new="return omega(u, roll)"),
    Mutation("path_k3_series_sign", "k3 series u²(½ − u/3 …) → u²(½ + u/3 …)", "numerics.path_recursion:token_u_h",
             ("tests/numerics/test_path_moments.py::test_k3_series_matches_direct_form",),
             old="0.5 - us * (1 / 3", new="0.5 + us * (1 / 3"),
    Mutation("path_block_product_band", "block-triangular product C_ac = Σ_(a≤b<c) instead of Σ_(a≤b≤c) (b = c dropped)",
             "numerics.path_recursion:block_triangular_product",
             ("tests/numerics/test_path_moments.py::test_block_triangular_product_is_the_dense_product",
              "tests/numerics/test_path_moments.py::test_binary_powering_agrees_with_one_step_per_position"),
             old="P[rows, a * S:(c + 1) * S], Q[a * S:(c + 1) * S, c", new="P[rows, a * S:c * S], Q[a * S:c * S, c"),
    Mutation("path_split_not_centred", "large part u·1_B instead of u·1_B − a(c) (not a martingale difference)",
             "numerics.split_moments:split_columns",
             ("tests/proofs/test_path_lemmas.py::test_split_large_sum",
              "tests/numerics/test_split_moments.py::test_split_columns_are_mean_zero_parts"),
             old="p * np.abs(u - a)", new="p * np.abs(u)"),
    Mutation("path_split_small_sign", "small part's second moment (u − a)² instead of (u + a)²",
             "numerics.split_moments:split_columns",
             ("tests/proofs/test_path_lemmas.py::test_split_orthogonal",
              "tests/numerics/test_split_moments.py::test_split_columns_are_mean_zero_parts"),
             old="p * (u + a) ** 2", new="p * (u - a) ** 2"),
    Mutation("path_best_is_max", "best = the largest bound instead of the smallest", "numerics.path_bounds:with_path_bounds",
             (f"{PATH_BOUNDS}::test_best_is_the_minimum_and_names_it",),
             old="name = min(candidates, key=candidates.__getitem__)",
             new="name = max(candidates, key=candidates.__getitem__)"),
    Mutation("path_tangent_zero_dropped", "the tangent search without γ = 0", "numerics.path_bounds:tangent_bound",
             (f"{PATH_BOUNDS}::test_only_q_gives_the_tangent_at_zero",),
             old="best = (float(table.tangent_bound_at_zero(Q)) if math.isfinite(Q) else math.inf, 0.0)",
             new="best = (math.inf, 0.0)"),
    # --- documented equivalent mutants
    Mutation("coupling_cap_dropped", "Coupling min(1, ε) → ε", "proofs.bounds:BOUND_TERMS", (),
             patch=lambda term: term, key="coupling",
             equivalent="ε is a TV, so ε ≤ 1 on every valid input (BoundInputs.worst_case caps it at min(1, sqrt(δ/2)), "
                        "an exact pair's ε is a TV): min(1, ε) = ε"),
    Mutation("mixed_tv_cap_dropped", "Mixed-TV min(1, D_TV^seq) → D_TV^seq", "proofs.bounds:BOUND_TERMS", (),
             patch=lambda term: term, key="mixed_tv",
             equivalent="D_TV^seq is a TV (≤ 1) whether exact or its Pinsker cap min(1, sqrt(D_KL^seq/2)): "
                        "min(1, D_TV^seq) = D_TV^seq"),
    # --- the kernel's own soundness: weakened cited lemmas, flipped z3 constraints, off-by-one worst cases
    *[Mutation(**row) for row in SOUNDNESS_ROWS],
]}
