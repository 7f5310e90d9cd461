"""The neural family's step against a recording of the step as it was before the fused divergence pass
(commit e832c3d): the same seed must give the same tokens, the same sampled log-ratios and the same
per-context D_KL, D_TV and χ²(θ ‖ roll), and the same support facts.

The recording lives in data/neural_step_reference.npz; ``python -m tests.gpu_sim.test_neural_step
--record`` rewrites it from the code in the working tree (do that only from a known-good revision)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gpu_sim.neural import NeuralFamily
from numerics.generators import MismatchModel

REFERENCE = Path(__file__).parent / "data" / "neural_step_reference.npz"

#: name → (family arguments, batch, T, block, seed, sampler); small vocabularies, CPU
CASES = {
    "bf16": (dict(vocab=64, hidden=16), 16, 20, 8, 3, "inverse_cdf"),
    "bf16_multinomial": (dict(vocab=64, hidden=16), 16, 20, 8, 3, "multinomial"),
    "fp32_dense_stale": (dict(vocab=50, hidden=8, rollout_dtype=torch.float32,
                              mismatch=MismatchModel("dense", sigma=0.5), stale_sigma=0.3), 12, 15, 64, 5,
                         "inverse_cdf"),
    "flips": (dict(vocab=97, hidden=12, mismatch=MismatchModel("flips", rate=0.3, flip_sigma=3.0),
                   target_fraction=0.5), 10, 16, 5, 7, "inverse_cdf"),
    "heavy": (dict(vocab=33, hidden=8, mismatch=MismatchModel("heavy", sigma=0.2, df=3.0)), 9, 12, 64, 11,
              "inverse_cdf"),
    "tau": (dict(vocab=40, hidden=8, mismatch=MismatchModel("temperature", tau=1.3)), 8, 12, 4, 13, "inverse_cdf"),
    # logits ±hundreds: probabilities underflow to 0 in float32 on either side, χ² = +inf on some contexts
    "underflow": (dict(vocab=40, hidden=8, logit_scale=300.0), 8, 10, 64, 17, "inverse_cdf"),
}


class _Recorder:
    """Stands in for RunningStats: keeps every block it is given."""

    def __init__(self, T: int):
        self.T, self.blocks = T, []

    def next_boundary(self, t: int) -> int:
        return self.T

    def start_chunk(self, batch: int) -> None:
        pass

    def update(self, log_ratio, kl, tv, mask=None, chi2=None, w_fed=False) -> None:
        self.blocks.append(torch.stack([log_ratio, kl, tv, chi2]).clone())

    def end_chunk(self) -> None:
        pass


def record(name: str) -> dict[str, np.ndarray]:
    """Run one case; return its tokens, per-context statistics, rewards and support facts."""
    kwargs, batch, T, block, seed, sampler = CASES[name]
    family = NeuralFamily(device=torch.device("cpu"), seed=seed, **kwargs)
    family.sampler = sampler
    calls = {"roll": [], "theta": []}
    for key, model in (("roll", family.roll_model), ("theta", family.theta_model)):
        step = model.step

        def recording_step(h, tokens, _step=step, _key=key):
            calls[_key].append(tokens.clone())
            return _step(h, tokens)
        model.step = recording_step
    running = _Recorder(T)
    hits_r, hits_q = family.run_chunk(batch, T, running, torch.Generator().manual_seed(seed), block=block)
    support = family.sampled_support()
    return {"roll_tokens": torch.stack(calls["roll"]).numpy(), "theta_tokens": torch.stack(calls["theta"]).numpy(),
            "stats": torch.cat(running.blocks, 1).numpy(), "hits": torch.stack([hits_r, hits_q]).numpy(),
            "support": np.array([support["contexts"], support["theta_off_roll_contexts"],
                                 support["roll_off_theta_contexts"], support["theta_off_roll_mass_per_sequence"]])}


@pytest.fixture(scope="module")
def reference():
    with np.load(REFERENCE) as data:
        return {key: data[key] for key in data.files}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_seed_same_tokens_and_statistics(reference, name):
    now = record(name)
    for key in ("roll_tokens", "theta_tokens"):
        np.testing.assert_array_equal(now[key], reference[f"{name}/{key}"], err_msg=f"{name}: {key}")
    stats, expected = now["stats"], reference[f"{name}/stats"]
    np.testing.assert_array_equal(stats[0], expected[0], err_msg=f"{name}: sampled log-ratios")
    # D_KL, D_TV, χ²: the same formulas term by term; allow a float32 ulp in the row sums
    np.testing.assert_allclose(stats[1:], expected[1:], rtol=1e-6, atol=0, err_msg=f"{name}: KL/TV/χ²")
    np.testing.assert_array_equal(np.isinf(stats[3]), np.isinf(expected[3]))
    np.testing.assert_array_equal(now["hits"], reference[f"{name}/hits"], err_msg=f"{name}: rewards")
    np.testing.assert_allclose(now["support"], reference[f"{name}/support"], rtol=1e-6, atol=0)


def test_the_underflow_case_reaches_the_edge_cases(reference):
    """The recording must contain what the careful branches handle: χ² = +inf contexts."""
    chi2 = reference["underflow/stats"][3]
    assert np.isinf(chi2).any() and np.isfinite(chi2).any()


if __name__ == "__main__" and "--record" in sys.argv:
    REFERENCE.parent.mkdir(exist_ok=True)
    np.savez_compressed(REFERENCE, **{f"{name}/{key}": value for name in CASES for key, value in record(name).items()})
