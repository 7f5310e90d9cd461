"""The lower-bounds figure: its data (--fast) keeps every bound above the worst case found, the kernel-proved forms
below it, the shape the docs describe (tight at T = 2, looseness growing with T for B*), and it renders."""
import numpy as np
import pytest

from figures import fig_lower_bounds as fig
from figures import render
from figures.build import figure_data
from figures.config import FigureConfig
from numerics.statistic_bounds import kl_seq_ceiling


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return figure_data(fig, FigureConfig(fast=True), tmp_path_factory.mktemp("lb-cache"))


def test_no_bound_falls_below_the_worst_case_found(data):
    for statistic in fig.PANELS:
        for key, ratio in fig.ratios(data, statistic).items():
            assert np.all(ratio >= 1 - 1e-9), (statistic, key, ratio)
        for key in fig.BOUND_KEYS[statistic]:
            assert np.all(data[f"{statistic}/search_bound/{key}"] >= data[f"{statistic}/search_worst"] * (1 - 1e-9))


def test_the_proved_forms_lie_below_the_worst_case_found(data):
    worst = data["kl/worst"]
    assert np.all(data["kl/proved_rare_limit"] <= worst * (1 + 1e-9))
    assert np.all(data["kl/proved_rare_closed_form"] <= worst * (1 + 1e-9))
    assert np.all(data["kl/symmetric_iid"] <= worst * (1 + 1e-12))
    for statistic, cap in (("kl", np.inf), ("kl_seq", fig.KL_SEQ)):
        assert np.all(data[f"{statistic}/worst"] <= data[f"{statistic}/bound/kl_ceiling"])
        for T, worst in zip(data[f"{statistic}/search_T"], data[f"{statistic}/search_worst"]):
            assert worst <= kl_seq_ceiling(min(cap, T * fig.DELTA))


def test_shape_of_the_answer(data):
    """B* (sharp) is tight at T = 2 and its looseness grows with T; B_χ²-max stays within 1.3 while Tχ² ≪ 1."""
    sharp = fig.ratios(data, "kl")["sharp/unified"]
    assert sharp[0] <= 1.001 and np.all(np.diff(sharp) > 0)
    assert np.all(fig.ratios(data, "chi2")["chi2_max"] <= 1.3)
    # the suite's best from the statistic alone brackets the worst case: within 1.92 given δ (sequence_kl = Tδ from
    # T = 4 on; 1.80 in the full figure, whose search also runs at T = 4) and 1.3 given χ²_max, at every T of the grid
    assert np.all(fig.ratios(data, "kl")["best"] <= 1.92) and np.all(fig.ratios(data, "kl_seq")["best"] <= 1.92)
    assert np.all(fig.ratios(data, "chi2")["best"] <= 1.3)
    assert [key for key, _ in fig.best_names(data, "kl")] == ["sharp/unified", "sequence_kl"]
    printed = fig.printed_numbers(data)
    assert printed["kl/T=2/sharp/unified"] == pytest.approx(sharp[0])
    assert set(k.split("/")[0] for k in printed) == set(fig.PANELS)


@pytest.mark.slow
def test_renders(data, tmp_path):
    paths = render.save(fig.plot(data), tmp_path, fig.NAME)
    assert all(p.stat().st_size > 1000 for p in paths)
