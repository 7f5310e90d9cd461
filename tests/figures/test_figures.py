"""Figures: data first (cache equals a fresh --fast computation; printed numbers are the checked
ones), then a smoke render of every figure and byte-identical re-renders."""
import numpy as np
import pytest

from figures import render
from figures.build import build, figure_data
from figures.config import FigureConfig
from figures.registry import FIGURES
from numerics.errors import TRMInputError

FAST = FigureConfig(fast=True, seed=0, device="cpu")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    cache = tmp_path_factory.mktemp("cache")
    paths = build(cfg=FAST, out_dir=out, cache_dir=cache)
    return out, cache, paths


def test_every_figure_renders_png_and_pdf(built):
    out, _, paths = built
    for name in FIGURES:
        for ext in ("png", "pdf"):
            path = out / f"{name}.{ext}"
            assert path in paths and path.stat().st_size > 1000
    assert (out / "tables.md").read_text().count("\n") > 40 and "\\begin{tabular}" in (out / "tables.tex").read_text()


@pytest.mark.parametrize("name", list(FIGURES))
def test_cached_data_matches_a_fresh_fast_computation(built, name):
    _, cache, _ = built
    cached = figure_data(FIGURES[name], FAST, cache)
    fresh = FIGURES[name].compute(FAST)
    assert set(cached) == set(fresh)
    for key in fresh:
        a, b = np.asarray(cached[key]), np.asarray(fresh[key])
        if a.dtype.kind in "fc":
            assert np.array_equal(a, b, equal_nan=True), key
        else:
            assert np.array_equal(a, b), key


@pytest.mark.parametrize("name", list(FIGURES))
def test_two_renders_are_byte_identical(built, tmp_path, name):
    _, cache, _ = built
    data = figure_data(FIGURES[name], FAST, cache)
    first = render.save(FIGURES[name].plot(data), tmp_path / "a", name)
    second = render.save(FIGURES[name].plot(data), tmp_path / "b", name)
    for p, q in zip(first, second):
        assert p.read_bytes() == q.read_bytes(), p.name


def test_printed_slopes_are_the_theoretical_exponents(built):
    from figures import fig_bounds_vs_T as fig

    _, cache, _ = built
    printed = fig.printed_numbers(figure_data(fig, FAST, cache))
    assert printed, "the figure prints slopes"
    for key, slope in printed.items():
        name = key.split("/")[-1]
        assert abs(slope - fig.EXPECTED_SLOPES[name]) < 0.03, (key, slope)


def test_printed_table_cells_are_the_checked_ones(built):
    from figures import fig_tables as fig
    from numerics.tables import all_cells

    _, cache, _ = built
    printed = fig.printed_numbers(figure_data(fig, FAST, cache))
    expected = {f"{c.table}|{c.row}|{c.column}": c.ours for c in all_cells()}
    assert printed == expected


def test_regime_map_is_the_same_for_both_constant_families(built):
    from figures import fig_regime_map as fig

    _, cache, _ = built
    data = figure_data(fig, FAST, cache)
    assert np.array_equal(data["paper/argmin"], data["sharp/argmin"])
    assert np.allclose(data["paper/unified"], 2 * data["sharp/unified"])


def test_length_bias_follows_independent_violations(built):
    from figures import fig_length_bias as fig

    _, cache, _ = built
    data = figure_data(fig, FAST, cache)
    label = "independent violations (p = 1e-3)"
    a, n = data[f"{label}/trm_max:0.05"], int(data[f"{label}/samples"])
    se = np.sqrt(data["independent"] * (1 - data["independent"]) / n)
    assert np.all(np.abs(a - data["independent"]) <= 5 * se + 1e-12)


def test_unknown_figure_is_refused(tmp_path):
    with pytest.raises(TRMInputError, match="unknown figure"):
        build(["nope"], FAST, tmp_path, tmp_path)


def test_the_cache_is_reused_and_invalidated_by_the_configuration(tmp_path, monkeypatch):
    module = FIGURES["bounds_vs_T"]
    calls = []
    monkeypatch.setattr(module, "compute", lambda cfg: calls.append(cfg) or {"T": np.arange(3)})
    figure_data(module, FAST, tmp_path)
    figure_data(module, FAST, tmp_path)
    assert len(calls) == 1
    figure_data(module, FigureConfig(fast=True, seed=1), tmp_path)
    assert len(calls) == 2
    record = (tmp_path / "bounds_vs_T-fast.json").read_text()
    assert '"seed": 1' in record and '"revision"' in record and '"numpy"' in record


def test_regime_map_b_double_star_never_exceeds_b_star(built):
    from figures import fig_regime_map as fig

    _, cache, _ = built
    data = figure_data(fig, FAST, cache)
    for family in ("paper", "sharp"):
        assert np.all(data[f"{family}/unified_with_chi2"] <= data[f"{family}/unified"])
        from_paper = data[f"{family}/argmin_with_chi2"] < len(fig.BOUND_NAMES)
        assert np.array_equal(data[f"{family}/unified_with_chi2"][from_paper], data[f"{family}/unified"][from_paper])


def test_tightness_at_scale_data(built):
    """Every paper bound (both constant families) and every χ² bound is at least the exact worst case of
    the dense pair; against Monte-Carlo worst cases (sparse flips, exact bounds) at least the estimate
    minus 5 standard errors; B_χ²-max is within 2× of the dense pair's worst case."""
    from figures import fig_tightness_at_scale as fig
    from numerics.bounds import BOUND_NAMES

    _, cache, _ = built
    data = figure_data(fig, FAST, cache)
    for pair, slack in (("dense", 0.0), ("sparse flips", 5.0)):
        floor = data[f"{pair}/worst"] - slack * data[f"{pair}/worst_se"]
        for family in ("paper", "sharp"):
            for name in BOUND_NAMES + ("unified", "unified_with_chi2"):
                assert np.all(data[f"{pair}/{family}/{name}"] >= floor), (pair, family, name)
        for name in ("chi2_max", "chi2_mixed", "chi2_exact"):
            assert np.all(data[f"{pair}/chi2/{name}"] >= floor), (pair, name)
    ratio = fig.ratios(data, "dense")["chi2/chi2_max"]
    assert np.all((ratio >= 1) & (ratio <= 2))
    dense_mc = np.searchsorted(data["dense/T"], data["dense/mc_T"])
    assert np.all(np.abs(data["dense/mc_mean"] - data["dense/worst"][dense_mc]) <= 5 * data["dense/mc_se"])
    printed = fig.printed_numbers(data)
    assert printed["dense/T=16/worst"] == data["dense/worst"][0]
