"""Hypothesis profiles (ci / dev / thorough, chosen by HYPOTHESIS_PROFILE; ci when CI is set),
the slow / gpu markers, and the CPU dispatch level of a ``python3 -m tests.dispatch`` run (checked and
shown in the report header)."""
import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=60, derandomize=True, database=None, deadline=None,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False, help="run tests marked slow")
    parser.addoption("--run-mutation", action="store_true", default=False,
                     help="run the whole mutation regression (tests marked mutation)")
    parser.addoption("--device", default=os.environ.get("TRM_TEST_DEVICE", "cpu"),
                     help="device for simulator tests (cpu, cuda); also TRM_TEST_DEVICE")


@pytest.fixture
def sim_device(request):
    """The torch device simulator tests run on (--device / TRM_TEST_DEVICE; cpu by default)."""
    from gpu_sim.device import resolve_device

    return resolve_device(request.config.getoption("--device"))


def pytest_collection_modifyitems(config, items):
    skip_slow = pytest.mark.skip(reason="slow: give --run-slow")
    cuda = _cuda_available()
    skip_gpu = pytest.mark.skip(reason="gpu: no CUDA device")
    skip_mutation = pytest.mark.skip(reason="mutation: give --run-mutation")
    for item in items:
        if "mutation" in item.keywords and not config.getoption("--run-mutation"):
            item.add_marker(skip_mutation)
        if "slow" in item.keywords and not config.getoption("--run-slow"):
            item.add_marker(skip_slow)
        if "gpu" in item.keywords and not cuda:
            item.add_marker(skip_gpu)


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def pytest_report_header(config):
    """Under ``python3 -m tests.dispatch LEVEL``: the levels torch, numpy and numba really run at; a torch
    capability other than the level's stops the run (the float-sensitive tests would test nothing new)."""
    level = os.environ.get("TRM_DISPATCH_LEVEL")
    if not level:
        return None
    import torch

    from tests.dispatch import TORCH_REPORTS, numpy_dispatch_targets

    torch_level = torch.backends.cpu.get_cpu_capability()
    if torch_level != TORCH_REPORTS[level]:
        pytest.exit(f"dispatch level {level}: torch runs at {torch_level}, not {TORCH_REPORTS[level]}", returncode=3)
    disabled = set(os.environ.get("NPY_DISABLE_CPU_FEATURES", "").split())
    kept = [t for t in numpy_dispatch_targets() if t not in disabled]
    return (f"dispatch level {level}: torch {torch_level}, numpy SIMD {' '.join(kept) or 'baseline only'}, "
            f"numba CPU {os.environ.get('NUMBA_CPU_NAME', 'host')}, OpenBLAS {os.environ.get('OPENBLAS_CORETYPE')}")
