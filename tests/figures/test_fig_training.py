"""The training figure's seed intervals: shares stay in [0, 1], log-axis intervals stay positive."""
import numpy as np

from figures.fig_training import interval


def test_share_intervals_stay_in_the_unit_interval():
    runs = np.array([[0.0, 0.9, 1.0], [0.0, 1.0, 1.0], [0.3, 1.0, 0.2]])
    centre, lo, hi = interval(runs, "share")
    assert (lo >= 0).all() and (hi <= 1).all() and (lo <= centre).all() and (centre <= hi).all()
    assert centre[1] == np.float64(np.mean([0.9, 1.0, 1.0]))


def test_log_intervals_are_geometric_and_positive():
    runs = np.array([[1e-4, 1e-2, 0.0], [1e-2, 1e-2, 0.0], [1e-3, 1e-2, 1e-3]])
    centre, lo, hi = interval(runs, "log")
    assert np.isclose(centre[0], 1e-3) and np.isclose(centre[1], 1e-2)
    assert (lo[:2] > 0).all() and np.isclose(lo[1], 1e-2) and np.isclose(hi[1], 1e-2)
    assert np.isclose(centre[2], 1e-3) and lo[2] == hi[2]         # zeros are left out, one seed remains


def test_linear_interval_is_the_t_interval():
    from scipy import stats

    runs = np.array([[1.0], [2.0], [4.0]])
    centre, lo, hi = interval(runs)
    half = stats.t.ppf(0.975, 2) * np.std(runs, ddof=1) / np.sqrt(3)
    assert np.isclose(centre[0], 7 / 3) and np.isclose(hi[0] - centre[0], half) and np.isclose(centre[0] - lo[0], half)


def _synthetic(steps=6, seeds=3, certify_steps=4):
    """A data dict with every key compute() writes, filled with seeded random values (no training)."""
    import json

    from figures import fig_training as fig

    g = np.random.default_rng(0)
    data = {"seeds": np.array(seeds), "objectives": np.array(fig.OBJECTIVES),
            "sources": np.array([s for s, _ in fig.SOURCES]),
            "certify_sources": np.array([s for s, _ in fig.SOURCES + (fig.CONTROL,)]),
            "certify/level": np.array(0.95), "certify/method": np.array("m")}
    for source in data["sources"]:
        data[f"{source}/val_steps"] = np.arange(0, steps + 1, 2)
        for objective in fig.OBJECTIVES:
            for metric in fig.METRICS:
                width = len(data[f"{source}/val_steps"]) if metric == "val_reward" else steps
                data[f"{source}/{objective}/{metric}"] = g.random((seeds, width)) * 0.1
    for source in data["certify_sources"]:
        data[f"certify/{source}/config"] = np.array(json.dumps({"certify_rows": 512, "lr": 3e-5}))
        for objective in fig.CERTIFIED:
            for metric in fig.CERTIFY_METRICS:
                data[f"certify/{source}/{objective}/{metric}"] = g.normal(0, 1e-3, certify_steps)
            data[f"certify/{source}/{objective}/certificate/holds"] = (g.random(certify_steps) < 0.5).astype(float)
    return data


def test_the_figure_has_four_panels_and_prints_the_certificate():
    from figures import fig_training as fig

    data = _synthetic()
    figure = fig.plot(data)
    assert len(figure.axes) == 4
    for ax in figure.axes:
        assert ax.get_title().split(")")[0] in ("(a", "(b", "(c", "(d") and "?" in ax.get_title()
        assert ax.get_legend() is None                      # one legend, outside the panels
    assert len(figure.legends) == 1
    printed = fig.printed_numbers(data)
    holds = data["certify/none/ppo_clip/certificate/holds"]
    assert printed["certify|none|ppo_clip|certified_share"] == holds.mean()
    assert "moe_router|token_is|val_reward|final" in printed and "moe_router|ppo_clip|plugin_certificate" in printed
