"""The neural family's step against a recording of the step as it was before the fused divergence pass
(commit e832c3d): the same seed must give the same tokens, rewards and support counts (exact: integers), and
the same sampled log-ratios, per-context D_KL, D_TV and χ²(θ ‖ roll) and θ mass off roll's support within
the rounding model of tests/tolerances.py (:func:`~tests.tolerances.perturbed_divergence_atol`).

The float statistics are not compared bit for bit: they come from float32 GEMMs, a GRU and log_softmax
whose rounding depends on the CPU's vector units (the recording was made on an Intel AVX-512 machine; an
AMD EPYC, or ATEN_CPU_CAPABILITY=default, moves the log-ratios by up to 4.8e-7). The tolerance is the
change a rounding of every log-probability by η (a few ulps of the row's scale) can cause, computed from
this run's own log-probabilities; docs/tests.md ("Portability") gives the model and the measurements.

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
from tests.tolerances import perturbed_divergence_atol

pytestmark = pytest.mark.float_sensitive

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


def record(name: str, log_probs: list | None = None) -> dict[str, np.ndarray]:
    """Run one case; return its tokens, per-context statistics, rewards and support facts. With
    ``log_probs``, every step's (log π_roll, log π_θ) [B, V] is appended to it."""
    kwargs, batch, T, block, seed, sampler = CASES[name]
    family = NeuralFamily(device=torch.device("cpu"), seed=seed, **kwargs)
    family.sampler = sampler
    if log_probs is not None:
        for attr in ("_step", "_reference_step"):
            def keeping_step(logp, logq, *rest, _step=getattr(family, attr)):
                log_probs.append((logp.clone(), logq.clone()))
                return _step(logp, logq, *rest)
            setattr(family, attr, keeping_step)
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


def assert_within(now, recorded, atol, what):
    """|now − recorded| ≤ atol + 4 ε₃₂ |recorded| elementwise (the statistic's own float32 rounding on top);
    the same entries infinite; no NaN."""
    now, recorded, atol = np.asarray(now), np.asarray(recorded), np.broadcast_to(atol, np.shape(recorded))
    assert not np.isnan(now).any(), what
    np.testing.assert_array_equal(np.isinf(now), np.isinf(recorded), err_msg=f"{what}: infinite entries")
    finite = np.isfinite(recorded)
    excess = np.abs(now[finite] - recorded[finite]) - atol[finite] - 4 * np.finfo(np.float32).eps * np.abs(recorded[finite])
    worst = int(np.argmax(excess)) if excess.size else 0
    assert not excess.size or excess[worst] <= 0, (
        f"{what}: {now[finite][worst]!r} vs recorded {recorded[finite][worst]!r}, beyond the rounding model "
        f"({atol[finite][worst]:.3g}) by {excess[worst]:.3g}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_seed_same_tokens_and_statistics(reference, name):
    log_probs = []
    now = record(name, log_probs)
    for key in ("roll_tokens", "theta_tokens", "hits"):
        np.testing.assert_array_equal(now[key], reference[f"{name}/{key}"], err_msg=f"{name}: {key}")
    # the rounding model, per position and row, from this run's own log-probabilities: [T, B]
    atol = {k: torch.stack([v[k] for v in (perturbed_divergence_atol(lp, lq) for lp, lq in log_probs)]).numpy()
            for k in ("log_ratio", "kl", "tv", "chi2", "theta_off_roll_mass")}
    stats, expected = now["stats"], reference[f"{name}/stats"]
    for i, what in enumerate(("log_ratio", "kl", "tv", "chi2")):
        assert_within(stats[i], expected[i], atol[what], f"{name}: {what}")
    support, recorded = now["support"], reference[f"{name}/support"]
    np.testing.assert_array_equal(support[:3], recorded[:3], err_msg=f"{name}: support counts")
    # θ mass off roll's support per sequence: a sum over B·T contexts / B of masses each within the model
    batch = stats.shape[2]
    assert_within(support[3], recorded[3], atol["theta_off_roll_mass"].sum() / batch, f"{name}: θ mass off support")


def test_the_rounding_model_is_not_loose(reference):
    """The allowance is small beside the values it guards. On the bf16 case (roll in bfloat16, θ in float32:
    small divergences, the hardest case for a tolerance) a 5% slip of D_KL, D_TV or χ² is rejected on every
    context where the value exceeds 1e-6 (the allowance is at most 2.3% of the value there; the measured
    moves between CPUs use at most 8.5% of the allowance, docs/tests.md), and a log-ratio of the wrong sign
    on 90% of the draws."""
    log_probs = []
    record("bf16", log_probs)
    allowed = {k: torch.stack([perturbed_divergence_atol(lp, lq)[k] for lp, lq in log_probs]).numpy()
               for k in ("log_ratio", "kl", "tv", "chi2")}
    recorded = reference["bf16/stats"]
    slack = lambda i: 4 * np.finfo(np.float32).eps * np.abs(recorded[i])
    for i, name in ((1, "kl"), (2, "tv"), (3, "chi2")):
        guarded = recorded[i] > 1e-6
        assert guarded.mean() > 0.9, name
        caught = 0.05 * recorded[i] > allowed[name] + slack(i)
        assert caught[guarded].all(), (name, float((allowed[name] / recorded[i])[guarded].max()))
    flipped = 2 * np.abs(recorded[0]) > allowed["log_ratio"] + slack(0)
    assert flipped.mean() > 0.9


def test_the_underflow_case_reaches_the_edge_cases(reference):
    """The recording must contain what the careful branches handle: χ² = +inf contexts."""
    chi2 = reference["underflow/stats"][3]
    assert np.isinf(chi2).any() and np.isfinite(chi2).any()


if __name__ == "__main__" and "--record" in sys.argv:
    REFERENCE.parent.mkdir(exist_ok=True)
    np.savez_compressed(REFERENCE, **{f"{name}/{key}": value for name in CASES for key, value in record(name).items()})
