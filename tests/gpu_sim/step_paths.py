"""The check shared by the tests of the finite-state step's executions (compiled CPU loop, Triton kernel,
torch ops): on ``device``, every kernel named runs the same pairs, batch, blocks and generator seed; all
must draw identical samples and agree on every statistic (equal table look-ups and token counts, sums to
rounding) and on every criterion's decisions. Run as a script (``python -m tests.gpu_sim.step_paths``)
under TRITON_INTERPRET=1 it checks the Triton kernel on the CPU against the compiled loop and the torch ops."""
from __future__ import annotations

import sys

import numpy as np
import torch

from gpu_sim import finite_state
from gpu_sim.criteria import parse_criterion
from gpu_sim.finite_state import FiniteStateFamily
from gpu_sim.running import RunningStats
from numerics.generators import MismatchModel, random_automaton
from numerics.pair import AutomatonPair

#: with only sequence criteria the compiled steps reduce each block themselves (RunningStats.update_reduced);
#: a token mask or LN-TRM makes them write the token-level blocks for RunningStats.update (the Triton step
#: then hands the chunk to the torch ops)
CRITERIA = {"reduced": ("trm_max:0.05", "seq_mean_k3:0.01", "trm_chi2:0.5"),
            "blocks": ("token_k2:0.02", "ln_trm:0.01", "trm_max:0.05")}
CHECKPOINTS = [7, 20]


def pairs():
    yield random_automaton(np.random.default_rng(0), states=7, vocab=5, T=40, prompts=3,
                           mismatch=MismatchModel("dense", sigma=0.8))
    yield random_automaton(np.random.default_rng(1), states=4, vocab=3, T=24, prompts=2, time_dependent=True,
                           mismatch=MismatchModel("flips", rate=0.3, flip_sigma=2.0))
    # zeros: π_θ = 0 < π_roll (log ratio −inf), π_roll = 0 < π_θ, a deterministic row (accept = 1)
    roll = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    theta = np.array([[0.5, 0.3, 0.2], [0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    yield AutomatonPair(np.array([0.5, 0.5, 0.0]), np.array([[1, 2, 0], [0, 1, 2], [2, 0, 1]]), roll, theta,
                        np.array([0.0, 0.5, 1.0]), 30)


def compare(device: torch.device, kernels: tuple[str, ...], mode: str = "reduced", batch: int = 200,
            block: int = 16) -> int:
    """Returns the number of (pair, draw kind) cases checked; raises AssertionError on a disagreement.
    ``mode``: the criteria of :data:`CRITERIA` to decide."""
    cases = 0
    limit = finite_state.ALIAS_BUILD_LIMIT
    try:
        for alias in (True, False):
            finite_state.ALIAS_BUILD_LIMIT = limit if alias else 0          # alias or inverse-CDF draws
            for pair in pairs():
                runs = {}
                for kernel in kernels:
                    family = FiniteStateFamily(pair, device, kernel=kernel)
                    assert family.kernel == kernel and family.use_alias == alias
                    running = RunningStats(pair.T, CHECKPOINTS, [parse_criterion(c) for c in CRITERIA[mode]], 0.05,
                                           device)
                    assert running.needs_blocks == (mode == "blocks")
                    R = family.run_chunk(batch, pair.T, running, torch.Generator(device=device).manual_seed(3),
                                         block=block)
                    runs[kernel] = (R, running)
                (Ra, a), = [runs[kernels[0]]]
                for kernel in kernels[1:]:
                    Rb, b = runs[kernel]
                    what = f"{kernels[0]} vs {kernel}, alias = {alias}, S = {pair.S}"
                    assert torch.equal(Ra[0], Rb[0]) and torch.equal(Ra[1], Rb[1]), what
                    for key in a.s:
                        if key in ("n", "max_kl", "max_tv", "max_chi2"):          # table look-ups on every path
                            assert torch.equal(a.s[key], b.s[key]), (key, what)
                        elif key in ("max_k2", "max_k3"):
                            # the step tables hold numpy's expm1; the torch ops compute torch's (on CUDA another
                            # rounding)
                            assert torch.allclose(a.s[key], b.s[key], rtol=1e-14, atol=0), (key, what)
                        else:
                            # sums: token by token in the compiled steps, per block in torch, ρ − 1 read from the
                            # table instead of expm1(ℓ), W from M − 1 kept alongside instead of expm1 of a
                            # cumulative sum of ℓ: the same quantities, equal to rounding
                            assert torch.allclose(a.s[key], b.s[key], rtol=1e-12, atol=1e-13), (key, what)
                    for name in ("pos_kl", "pos_tv", "pos_chi2"):
                        assert torch.allclose(getattr(a, name), getattr(b, name), rtol=1e-13, atol=0), (name, what)
                    for name in ("max_kl_seen", "max_tv_seen", "max_chi2_seen"):
                        assert torch.equal(getattr(a, name), getattr(b, name)), (name, what)
                    assert torch.equal(a.accepted, b.accepted), what
                    assert torch.equal(a.reference_accepted, b.reference_accepted), what
                    assert a.accepted.sum() > 0, what
                    assert not torch.equal(Ra[0], Ra[1]) or pair.S == 3, what    # the θ-chain leaves the roll-chain
                cases += 1
    finally:
        finite_state.ALIAS_BUILD_LIMIT = limit
    return cases


if __name__ == "__main__":
    kernels = tuple(sys.argv[1:]) or ("triton", "fused", "torch")
    cases = sum(compare(torch.device("cpu"), kernels, mode) for mode in CRITERIA)
    print(f"{cases} cases agree: {', '.join(kernels)}")
