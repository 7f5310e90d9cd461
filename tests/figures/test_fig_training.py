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
