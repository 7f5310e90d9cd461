"""The torch per-context KL against numerics' float64 reference, including extreme log-ratios."""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gpu_sim.divergence import kl_tv_from_log_probs
from numerics.divergence import token_kl, token_tv
from numerics.generators import softmax

#: torch's divergences against numpy's, term by term: run at every CPU dispatch level by .ci/run (tests/dispatch.py)
pytestmark = pytest.mark.float_sensitive

logits = st.integers(2, 8).flatmap(lambda V: st.tuples(arrays(np.float64, V, elements=st.floats(-60, 60)),
                                                       arrays(np.float64, V, elements=st.floats(-60, 60))))


@given(logits)
def test_matches_the_float64_reference(pair):
    p, q = softmax(pair[0]), softmax(pair[1])
    lp = torch.log_softmax(torch.tensor(pair[0]), -1)
    lq = torch.log_softmax(torch.tensor(pair[1]), -1)
    kl, tv = kl_tv_from_log_probs(lp, lq)
    assert torch.isfinite(kl) and kl >= 0
    assert np.isclose(float(kl), token_kl(p, q), rtol=1e-9, atol=1e-14)
    assert np.isclose(float(tv), token_tv(p, q), rtol=1e-9, atol=1e-12)


def test_no_overflow_for_huge_log_ratios_in_float32():
    lp = torch.log_softmax(torch.tensor([0.0, -150.0]), -1)
    lq = torch.log_softmax(torch.tensor([-150.0, 0.0]), -1)
    kl, tv = kl_tv_from_log_probs(lp, lq)
    assert torch.isfinite(kl) and 140 < float(kl) < 160 and abs(float(tv) - 1) < 1e-6
