"""numerics.martingale: the one definition of W (THEORY §10) gives the same values on numpy arrays and torch
tensors, equals the telescoped bracket Σ_t u_t (Π_{j>t} ρ_j − 1) and M_T − 1 − Σ_t u_t, and ignores padding."""
import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from numerics.martingale import sequence_brackets, transform_increment
from tests.tolerances import assert_close

LOG_RATIOS = arrays(np.float64, st.tuples(st.integers(1, 10), st.integers(1, 4)), elements=st.floats(-3.0, 3.0))


@given(LOG_RATIOS)
def test_numpy_and_torch_agree_and_equal_the_telescoped_bracket(log_ratio):
    W, S = sequence_brackets(log_ratio)
    Wt, St = sequence_brackets(torch.tensor(log_ratio))
    assert isinstance(W, np.ndarray) and isinstance(Wt, torch.Tensor)
    u = np.expm1(log_ratio)
    suffix = np.zeros_like(log_ratio)
    for t in range(log_ratio.shape[0] - 2, -1, -1):
        suffix[t] = suffix[t + 1] + log_ratio[t + 1]
    telescoped = (u * np.expm1(suffix)).sum(axis=0)
    scale = np.abs(u).sum() * np.exp(np.abs(log_ratio).sum())
    assert_close(W, telescoped, "W (numpy)", scale=scale)
    assert_close(Wt.numpy(), W, "W (torch vs numpy)", scale=scale)
    assert_close(S, u.sum(axis=0), "Σu")
    assert_close(St.numpy(), S, "Σu (torch)")
    direct = np.expm1(log_ratio.sum(axis=0)) - u.sum(axis=0)
    assert_close(W, direct, "M_T − 1 − Σu", scale=scale)


@given(LOG_RATIOS, st.integers(1, 9))
def test_blocks_compose(log_ratio, split):
    """Two blocks with the running log-sum in between give the whole block's W."""
    split = min(split, log_ratio.shape[0])
    first = transform_increment(log_ratio[:split], np.zeros(log_ratio.shape[1]))
    second = transform_increment(log_ratio[split:], log_ratio[:split].sum(0)) if split < log_ratio.shape[0] else 0.0
    assert_close(first + second, sequence_brackets(log_ratio)[0], "W in blocks",
                 scale=np.exp(np.abs(log_ratio).sum()) * np.abs(np.expm1(log_ratio)).sum())


def test_padding_and_zero_probability():
    """Padded positions (ℓ = 0) change nothing; ℓ = −inf (π_θ = 0) gives M = 0 from there on, no NaN."""
    lr = np.array([[0.3, 0.1], [0.0, -np.inf], [-0.2, 0.2], [0.0, 0.0]])
    W, S = sequence_brackets(lr)
    W_short, S_short = sequence_brackets(lr[[0, 2]][:, :1])
    assert_close(W[0], W_short[0])
    assert_close(S[0], S_short[0])
    u = np.expm1(lr[:, 1])
    assert np.isfinite(W).all() and np.isclose(W[1], -1.0 - u.sum())
