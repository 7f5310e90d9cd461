"""The Triton finite-state step (gpu_sim/triton_step.py) draws the samples of the torch ops and of the
compiled CPU loop: on a GPU directly, and without one under Triton's interpreter (when Triton is installed)."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gpu_sim.finite_state import FiniteStateFamily, fused_available, triton_available
from numerics.errors import TRMInputError
from tests.gpu_sim.step_paths import CRITERIA, compare, pairs

ROOT = Path(__file__).resolve().parents[2]


def _interpreter_works() -> bool:
    """Triton 3.9's interpreter runs the kernel; 3.6's fails with numpy 2.5 (a scalar argument converted with
    int() of a one-element array), so older versions are not used for this check."""
    if importlib.util.find_spec("triton") is None:
        return False
    from importlib.metadata import version

    major, minor = (int(x) for x in version("triton").split(".")[:2])
    return (major, minor) >= (3, 9)


@pytest.mark.skipif(not _interpreter_works(), reason="needs Triton ≥ 3.9 (its interpreter runs the kernel on CPU)")
@pytest.mark.skipif(not fused_available(), reason="numba is not installed (the 'fast' extra)")
def test_triton_step_matches_the_compiled_loop_under_the_interpreter():
    env = dict(os.environ, TRITON_INTERPRET="1", PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    done = subprocess.run([sys.executable, "-m", "tests.gpu_sim.step_paths", "triton", "fused", "torch"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "12 cases agree" in done.stdout


@pytest.mark.gpu
@pytest.mark.parametrize("mode", sorted(CRITERIA))
def test_triton_and_torch_paths_draw_identical_samples_on_cuda(mode):
    """With "blocks" criteria the Triton family hands its chunks to the torch ops (the same step)."""
    assert compare(torch.device("cuda"), ("triton", "torch"), mode) == 6


def test_triton_kernel_is_refused_where_it_cannot_run():
    if triton_available(torch.device("cpu")):
        pytest.skip("Triton's interpreter is active")
    with pytest.raises(TRMInputError, match="kernel = 'triton'"):
        FiniteStateFamily(next(pairs()), torch.device("cpu"), kernel="triton")
