"""The path-moment bounds numerics evaluates (proofs.path_bounds) are the conclusions the kernel derives
(proofs.path_bound_proofs), and the recursion tables numerics runs are the ones the kernel checks
(proofs.path_recursions)."""
import sympy as sp

from proofs import path_bounds as pb
from proofs import path_recursions
from proofs.catalog import all_derivations
from proofs.kernel import show
from proofs.symbols import tv_seq

DERIVED = {d.name: d for d in all_derivations()}


def _conclusion(name):
    lhs, relation, rhs = DERIVED[name].conclusion
    assert DERIVED[name].check().verdict in ("proved", "cited"), name
    return show(lhs), relation, rhs


def test_each_bound_is_a_derived_conclusion():
    expected = {
        "sequence_kl_bound": pb.SEQUENCE_KL_BOUND,
        "tangent_bound": pb.TANGENT_BOUND,
        "tangent_bound_at_zero": pb.TANGENT_BOUND_AT_ZERO,
        "additive_bound": pb.ADDITIVE_BOUND,
        "additive_split_bound": pb.ADDITIVE_SPLIT_BOUND,
        "additive_le_cam": pb.ADDITIVE_BOUND.xreplace({tv_seq: pb.LE_CAM_TV}),
        "additive_bretagnolle_huber": pb.ADDITIVE_BOUND.xreplace({tv_seq: pb.BRETAGNOLLE_HUBER_TV}),
        "weighted_chi2_bound": pb.WEIGHTED_CHI2_BOUND,
    }
    for name, bound in expected.items():
        lhs, relation, rhs = _conclusion(name)
        assert lhs == "sup_R_Error" and relation == "<=", name
        assert sp.simplify(rhs - bound) == 0, (name, rhs, bound)


def test_the_tangent_bound_is_built_from_its_mean_and_second_moment():
    assert pb.TANGENT_BOUND == pb.HALF * (pb.TANGENT_MEAN + sp.sqrt(pb.TANGENT_SECOND))
    assert _conclusion("tangent_mean")[2] == pb.TANGENT_MEAN
    assert _conclusion("tangent_second_moment")[2] == pb.TANGENT_SECOND


def test_every_recursion_row_is_checked_or_trivial():
    names = {d.name for d in path_recursions.derivations()}
    for name, (update, monomials, _) in path_recursions.RECURSIONS.items():
        table = path_recursions.transition_table(name)
        for i, mono in enumerate(monomials):
            after = sp.sympify(mono).xreplace(update)
            combination = sp.Add(*[c * m for c, m in zip(table[i], monomials)])
            assert sp.expand(combination - after) == 0, (name, mono)
            assert f"recursion_{name}_{i}" in names or after == combination, (name, mono)
