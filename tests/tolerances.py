"""All numerical tolerances of the suite, in one place.

Identities are checked with float64 allclose; one-sided inequalities allow a slack scaled to
machine epsilon times the size of the terms that cancel (never a fixed absolute 1e-12).
"""
import numpy as np

EPS = np.finfo(np.float64).eps
IDENTITY_RTOL = 1e-9
IDENTITY_ATOL = 1e-12
#: One-sided slack: this many ulps of the scale of the cancelling terms.
ULPS = 256


def slack(scale) -> float:
    return ULPS * EPS * max(1.0, float(np.max(np.abs(scale))))


def assert_close(actual, expected, what: str = "", scale=1.0):
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    atol = IDENTITY_ATOL * max(1.0, float(np.max(np.abs(scale))))
    assert np.allclose(actual, expected, rtol=IDENTITY_RTOL, atol=atol), f"{what}: {actual} != {expected}"


def assert_le(smaller, larger, what: str = "", scale=1.0):
    smaller, larger = np.asarray(smaller, dtype=float), np.asarray(larger, dtype=float)
    tol = slack(np.maximum(np.abs(scale), np.maximum(np.abs(smaller), np.abs(larger))))
    assert np.all(smaller <= larger + tol), f"{what}: {smaller} > {larger} (slack {tol:.3g})"
