"""Figures: data first (printed numbers are the checked ones), the cache (reuse, invalidation,
damaged entries recomputed, interrupted writes leave nothing half-written), a fast structural check
of every figure module, and, in the slow profile, every figure rendered with --fast, cached data
equal to a fresh computation and byte-identical re-renders."""
import json
import zipfile

import numpy as np
import pytest

from figures import cache, render
from figures.build import DEFAULT_CACHE, DEFAULT_OUT, build, figure_data
from figures.config import FigureConfig
from figures.registry import FIGURES
from numerics.errors import TRMInputError

FAST = FigureConfig(fast=True, seed=0, device="cpu")
#: Figures whose --fast data takes well under a second to compute (the default profile uses them).
CHEAP = ("tables", "bounds_vs_T", "regime_map", "tightness", "estimators")


# --- every figure module, fast structural check ---------------------------------------------
@pytest.mark.parametrize("name", list(FIGURES))
def test_every_figure_module_has_compute_and_plot(name):
    module = FIGURES[name]
    assert module.NAME == name and callable(module.compute) and callable(module.plot)
    assert module.__doc__ and module.__doc__.strip(), f"{name}: the module says what the figure shows"


def test_defaults_are_in_the_working_directory_not_the_package():
    import figures

    package = str(__import__("pathlib").Path(figures.__file__).parent)
    assert not DEFAULT_OUT.is_absolute() and not str(DEFAULT_OUT.resolve()).startswith(package + "/")
    assert DEFAULT_CACHE == DEFAULT_OUT / "cache"


@pytest.fixture(scope="module")
def cheap_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cheap-cache")


def test_a_cheap_figure_renders_and_re_renders_byte_identically(tmp_path, cheap_cache):
    name = "bounds_vs_T"
    data = figure_data(FIGURES[name], FAST, cheap_cache)
    first = render.save(FIGURES[name].plot(data), tmp_path / "a", name)
    second = render.save(FIGURES[name].plot(data), tmp_path / "b", name)
    for p, q in zip(first, second):
        assert p.stat().st_size > 1000 and p.read_bytes() == q.read_bytes(), p.name
    assert not list((tmp_path / "a").glob(".tmp-*")), "no temporary files are left behind"


# --- data: the printed numbers are the checked ones ------------------------------------------
def test_printed_slopes_are_the_theoretical_exponents(cheap_cache):
    from figures import fig_bounds_vs_T as fig

    printed = fig.printed_numbers(figure_data(fig, FAST, cheap_cache))
    assert printed, "the figure prints slopes"
    for key, slope in printed.items():
        name = key.split("/")[-1]
        assert abs(slope - fig.EXPECTED_SLOPES[name]) < 0.03, (key, slope)


def test_printed_table_cells_are_the_checked_ones(cheap_cache):
    from figures import fig_tables as fig
    from numerics.tables import all_cells

    printed = fig.printed_numbers(figure_data(fig, FAST, cheap_cache))
    expected = {f"{c.table}|{c.row}|{c.column}": c.ours for c in all_cells()}
    assert printed == expected


def test_regime_map_is_the_same_for_both_constant_families(cheap_cache):
    from figures import fig_regime_map as fig

    data = figure_data(fig, FAST, cheap_cache)
    assert np.array_equal(data["paper/argmin"], data["sharp/argmin"])
    assert np.allclose(data["paper/unified"], 2 * data["sharp/unified"])


def test_length_bias_follows_independent_violations(cheap_cache):
    from figures import fig_length_bias as fig

    data = figure_data(fig, FAST, cheap_cache)
    label = "independent violations (p = 1e-3)"
    a, n = data[f"{label}/trm_max:0.05"], int(data[f"{label}/samples"])
    se = np.sqrt(data["independent"] * (1 - data["independent"]) / n)
    assert np.all(np.abs(a - data["independent"]) <= 5 * se + 1e-12)


def test_unknown_figure_is_refused(tmp_path):
    with pytest.raises(TRMInputError, match="unknown figure"):
        build(["nope"], FAST, tmp_path, tmp_path)


# --- the cache ------------------------------------------------------------------------------
@pytest.fixture
def counted(monkeypatch):
    """bounds_vs_T with a cheap, counted compute step."""
    module = FIGURES["bounds_vs_T"]
    calls = []
    monkeypatch.setattr(module, "compute", lambda cfg: calls.append(cfg) or {"T": np.arange(3) + cfg.seed})
    return module, calls


def test_the_cache_is_reused_and_invalidated_by_the_configuration(tmp_path, counted):
    module, calls = counted
    figure_data(module, FAST, tmp_path)
    figure_data(module, FAST, tmp_path)
    assert len(calls) == 1
    figure_data(module, FigureConfig(fast=True, seed=1), tmp_path)
    assert len(calls) == 2
    record = json.loads((tmp_path / "bounds_vs_T-fast.json").read_text())
    assert record["seed"] == 1 and "revision" in record and "numpy" in record["versions"] and len(record["sha256"]) == 64


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garble(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [
    lambda npz, rec: _truncate(npz),                       # interrupted while writing the data
    lambda npz, rec: npz.unlink(),
    lambda npz, rec: rec.unlink(),                          # interrupted before the record
    lambda npz, rec: rec.write_text('{"key": '),            # bad JSON
    lambda npz, rec: rec.write_text("[]"),
    lambda npz, rec: rec.write_bytes(b"\xff\xfe"),          # not UTF-8
    lambda npz, rec: _garble(npz),                          # same size, different bytes
    lambda npz, rec: npz.write_bytes(b"PK\x03\x04 not a zip"),
])
def test_a_damaged_entry_is_recomputed(tmp_path, counted, damage):
    module, calls = counted
    figure_data(module, FAST, tmp_path)
    damage(tmp_path / "bounds_vs_T-fast.npz", tmp_path / "bounds_vs_T-fast.json")
    data = figure_data(module, FAST, tmp_path)
    assert len(calls) == 2 and np.array_equal(data["T"], np.arange(3))
    assert cache.load(tmp_path, "bounds_vs_T-fast", json.loads((tmp_path / "bounds_vs_T-fast.json").read_text())["key"])


def test_an_interrupted_save_leaves_the_previous_entry(tmp_path, monkeypatch):
    cache.save(tmp_path, "x", {"a": np.arange(4)}, {"key": "k"})
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def interrupted(handle, **arrays):
        handle.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cache.save(tmp_path, "x", {"a": np.arange(5)}, {"key": "k2"})
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert np.array_equal(cache.load(tmp_path, "x", "k")["a"], np.arange(4))


def test_an_unwritable_cache_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(TRMInputError, match="cannot create"):
        cache.save(blocker / "cache", "x", {"a": np.arange(2)}, {"key": "k"})


def test_figures_cli_json(tmp_path, capsys, counted, monkeypatch):
    from figures.cli import main

    module, _ = counted
    monkeypatch.setattr(module, "plot", lambda data: render.new_figure(figsize=(1, 1))[0])
    assert main(["--only", "bounds_vs_T", "--fast", "--out", str(tmp_path / "o"), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["figures"] == ["bounds_vs_T"] and payload["cache"] == str(tmp_path / "o" / "cache")
    assert all((tmp_path / "o").joinpath(p.split("/")[-1]).exists() for p in payload["written"])
    with zipfile.ZipFile(next((tmp_path / "o" / "cache").glob("*.npz"))) as zf:
        assert zf.testzip() is None


def test_regime_map_b_double_star_never_exceeds_b_star(tmp_path):
    from figures import fig_regime_map as fig

    data = figure_data(fig, FAST, tmp_path)
    for family in ("paper", "sharp"):
        assert np.all(data[f"{family}/unified_with_chi2"] <= data[f"{family}/unified"])
        from_paper = data[f"{family}/argmin_with_chi2"] < len(fig.BOUND_NAMES)
        assert np.array_equal(data[f"{family}/unified_with_chi2"][from_paper], data[f"{family}/unified"][from_paper])


def test_tightness_at_scale_data(tmp_path):
    """Every recorded bound of every automaton regime (exact DP inputs) is at least the Monte-Carlo worst case minus
    5 standard errors; best is the minimum of the recorded bounds and below B* and χ²-exact; the printed numbers are
    the data's."""
    from figures import fig_tightness_at_scale as fig

    data = figure_data(fig, FAST, tmp_path)
    for pair in fig.REGIMES:
        floor = data[f"{pair}/worst"] - 5.0 * data[f"{pair}/worst_se"]
        for key in fig.KEYS:
            values = data[f"{pair}/{key}"]
            assert np.all(np.isnan(values) | (values >= floor)), (pair, key)
        stacked = np.vstack([data[f"{pair}/{key}"] for key in fig.KEYS if key != "best"])
        assert np.allclose(data[f"{pair}/best"], np.nanmin(stacked, axis=0))
    for pair in fig.PAIRS:
        assert np.all(data[f"{pair}/best"] <= data[f"{pair}/unified"])
        assert np.all(data[f"{pair}/best"] <= data[f"{pair}/chi2_exact"])
    printed = fig.printed_numbers(data)
    assert printed["dense/T=256/worst"] == data["dense/worst"][-1]
    assert printed["dense/max_best_ratio"] == np.nanmax(data["dense/best"] / data["dense/worst"])


# --- slow profile: everything rendered ----------------------------------------------------------
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    cache_dir = tmp_path_factory.mktemp("cache")
    paths = build(cfg=FAST, out_dir=out, cache_dir=cache_dir)
    return out, cache_dir, paths


@pytest.mark.slow
def test_every_figure_renders_png_and_pdf(built):
    out, _, paths = built
    for name in FIGURES:
        for ext in ("png", "pdf"):
            path = out / f"{name}.{ext}"
            assert path in paths and path.stat().st_size > 1000
    assert (out / "tables.md").read_text().count("\n") > 40 and "\\begin{tabular}" in (out / "tables.tex").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FIGURES))
def test_cached_data_matches_a_fresh_fast_computation(built, name):
    _, cache_dir, _ = built
    cached = figure_data(FIGURES[name], FAST, cache_dir)
    fresh = FIGURES[name].compute(FAST)
    assert set(cached) == set(fresh)
    for key in fresh:
        a, b = np.asarray(cached[key]), np.asarray(fresh[key])
        if a.dtype.kind in "fc":
            assert np.array_equal(a, b, equal_nan=True), key
        else:
            assert np.array_equal(a, b), key


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FIGURES))
def test_two_renders_are_byte_identical(built, tmp_path, name):
    _, cache_dir, _ = built
    data = figure_data(FIGURES[name], FAST, cache_dir)
    first = render.save(FIGURES[name].plot(data), tmp_path / "a", name)
    second = render.save(FIGURES[name].plot(data), tmp_path / "b", name)
    for p, q in zip(first, second):
        assert p.read_bytes() == q.read_bytes(), p.name
