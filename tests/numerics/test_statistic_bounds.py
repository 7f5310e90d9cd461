"""numerics.statistic_bounds: every bound that reads one statistic equals the kernel's statement of it
(proofs.statistic_bounds, proofs.path_bounds, proofs.kl_ceiling) evaluated independently by sympy; 'best' is the
smallest statistic-only bound and never the pair-dependent one; and every derivation behind a key is proved."""
import pytest
import sympy as sp

from numerics.lower_bounds import best_construction
from numerics.statistic_bounds import BOUND_KEYS, KERNEL, PAIR_KEYS, STATISTICS, best_bound, bounds_for
from proofs import kl_ceiling, path_bounds as pb, statistic_bounds as sb
from proofs.catalog import check_all
from proofs.second_moment import chi2_max as chi2_max_sym
from proofs.symbols import T as T_sym, kl_seq as kl_seq_sym, tv_seq as tv_seq_sym


def _kernel(expr, values: dict) -> float:
    return float(sp.N(expr.xreplace({k: sp.Float(v, 30) for k, v in values.items()}), 30))


@pytest.mark.parametrize("T", [1, 2, 64, 4096, 65536])
@pytest.mark.parametrize("value", [1e-6, 1e-4, 0.05, 2.0])
def test_values_are_the_kernel_statements(T, value):
    kl = bounds_for("kl", value, T)
    assert kl["sequence_kl"] == pytest.approx(T * value, rel=1e-12)
    assert kl["kl_ceiling"] == pytest.approx(_kernel(kl_ceiling.KL_SEQ_CEILING, {kl_seq_sym: T * value}), rel=1e-12)
    capped = bounds_for("kl_seq", value, T, kl_seq=0.01)
    assert capped["sequence_kl"] == pytest.approx(min(0.01, T * value), rel=1e-12)
    chi2 = bounds_for("chi2", value, T)
    assert chi2["tangent_at_zero"] == pytest.approx(
        _kernel(sb.TANGENT_AT_ZERO_CHI2_MAX, {T_sym: T, chi2_max_sym: value}), rel=1e-12)
    assert chi2["additive_tv_le_1"] == pytest.approx(
        _kernel(sb.ADDITIVE_CHI2_MAX, {T_sym: T, chi2_max_sym: value}), rel=1e-12)
    Q = T * value
    additive = bounds_for("additive", Q, T, tv_seq=0.25)
    assert additive["tangent_at_zero"] == pytest.approx(_kernel(pb.TANGENT_BOUND_AT_ZERO, {pb.q_sum: Q}), rel=1e-12)
    assert additive["additive_tv_le_1"] == pytest.approx(_kernel(sb.ADDITIVE_TV_ONE, {pb.q_sum: Q}), rel=1e-12)
    assert additive["additive"] == pytest.approx(_kernel(pb.ADDITIVE_BOUND, {pb.q_sum: Q, tv_seq_sym: 0.25}),
                                                 rel=1e-12)
    for statistic, bounds in (("kl", kl), ("kl_seq", capped), ("chi2", chi2), ("additive", additive)):
        assert set(bounds) <= set(BOUND_KEYS[statistic])


def test_best_reads_the_statistic_only():
    # the pair-dependent additive bound at a tiny D_TV^seq is the smallest value, yet never 'best'
    bounds = bounds_for("additive", 0.01, 64, tv_seq=1e-9)
    assert bounds["additive"] < bounds["tangent_at_zero"]
    assert best_bound("additive", bounds) == ("tangent_at_zero", bounds["tangent_at_zero"])
    # the tangent bound at γ = 0 never exceeds 1 + ½ sqrt(Q) (tangent_at_zero_below_additive)
    for Q in (1e-8, 1e-3, 1.0, 1e4):
        b = bounds_for("additive", Q, 8)
        assert b["tangent_at_zero"] <= b["additive_tv_le_1"]
    # given δ the ceiling is never below D_KL^seq ≤ Tδ (sequence_kl_below_ceiling)
    for delta, T in ((1e-4, 2), (1e-4, 65536), (0.5, 16)):
        b = bounds_for("kl", delta, T)
        assert b["sequence_kl"] <= b["kl_ceiling"] and best_bound("kl", b)[0] != "kl_ceiling"


@pytest.mark.parametrize("statistic, value, kl_seq", [("kl", 1e-4, None), ("kl_seq", 1e-4, 0.01), ("chi2", 2e-4, None),
                                                      ("additive", 0.8, None)])
def test_best_brackets_the_worst_case(statistic, value, kl_seq):
    """worst found ≤ best at every T: the bracket docs/lower_bounds.md reads off the figure."""
    for T in (2, 64, 4096):
        lb = best_construction(statistic, value, T, kl_seq)
        key, best = lb.best
        assert key in BOUND_KEYS[statistic] and key not in PAIR_KEYS.get(statistic, ())
        assert lb.stats.worst_case_error <= best * (1 + 1e-12)


def test_every_kernel_name_is_a_checked_derivation():
    """Each key names the kernel derivation behind it, and the kernel decides it (proved, or resting on cited
    lemmas; none failed). 'bound_family (c constants)' is the family B* takes its minimum over: bound_*_c."""
    verdicts = {r.name: r.verdict for r in check_all()}
    for statistic in STATISTICS:
        assert set(KERNEL[statistic]) == set(BOUND_KEYS[statistic])
        for name in KERNEL[statistic].values():
            if name.startswith("bound_family"):
                constants = name.split("(")[1].split()[0]
                family = [n for n in verdicts if n.startswith("bound_") and n.endswith("_" + constants)]
                assert len(family) >= 4, name
                assert all(verdicts[n] in ("proved", "cited") for n in family), name
            else:
                assert verdicts.get(name) in ("proved", "cited"), (name, verdicts.get(name))
