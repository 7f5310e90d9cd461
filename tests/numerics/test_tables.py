"""`trm tables`: every printed number of the paper is reproduced at its printed precision, or the
disagreement is a documented slip whose slipped formula reproduces the print."""
import pytest

from numerics.tables import agrees_at_printed_precision, all_cells, slips

CELLS = all_cells()


@pytest.mark.parametrize("cell", CELLS, ids=[f"{c.table}|{c.row}|{c.column}" for c in CELLS])
def test_every_printed_cell_agrees_or_is_an_explained_slip(cell):
    if not cell.agrees:
        assert cell.slip is not None, "a disagreement without an explanation"
        assert agrees_at_printed_precision(cell.slip_value, cell.printed), "the slip does not explain the print"


def test_the_headline_numbers():
    lookup = {(c.table, c.row, c.column): c.ours for c in CELLS}
    assert round(lookup[("v3 Table 1", "classical", "KL-only")], 3) == 1677.312
    assert round(lookup[("v3 Table 1", "coupling", "KL-only")], 3) == 113.838
    assert round(lookup[("v3 Table 1", "pinsker_marginal_kl", "KL-only")], 3) == 34.946
    assert round(lookup[("v3 Table 1", "mixed_tv", "KL+TV")], 3) == 4.096
    assert round(lookup[("v2 Table 1", "Pinsker-Marginal capped", "large")], 1) == 11581.6
    assert round(lookup[("v2 App. C", "Adaptive-KL, worst case", "δ=0.01")], 1) == 1139.5


def test_slip_cells_are_exactly_the_small_regime_closed_forms():
    slipped = {(c.table, c.row) for c in CELLS if not c.agrees}
    assert slipped == {("v3 Table 1", "pinsker_marginal_kl"), ("v3 Table 1", "pinsker_marginal_tv"),
                       ("v2 Table 1", "Pinsker-Marginal capped")}


def test_known_slips_are_listed():
    where = {s.where for s in slips()}
    assert where == {"small-regime closed forms", "MoE example", "coupling split", "k3 uniqueness"}
    moe = next(s for s in slips() if s.where == "MoE example")
    assert abs(moe.ours - 1 / 900) < 1e-15


@pytest.mark.parametrize("ours, printed, expected", [
    (1677.312, "1677", True), (1677.6, "1677", False), (34.946, "35.0", False), (34.95, "35.0", True),
    (11581.58, "11,581.6", True), (3e-8, "<1e-7", True), (2e-7, "<1e-7", False), (24.7106, "≤ 24.7", True),
])
def test_printed_precision_rule(ours, printed, expected):
    assert agrees_at_printed_precision(ours, printed) is expected
