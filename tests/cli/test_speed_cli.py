"""`trm exact` size guards and the benchmark commands' JSON contracts."""
import json

import numpy as np
import pytest

from trm.cli import main
from tests.cli.runner import run


@pytest.fixture
def long_pair(tmp_path):
    path = tmp_path / "long.npz"
    np.savez(path, init=np.array([1.0, 0.0]), next_state=np.array([[0, 1], [1, 0]]), roll=np.full((2, 2), 0.5),
             theta=np.array([[0.4, 0.6], [0.5, 0.5]]), reward=np.array([0.0, 1.0]), T=10**12)
    return path


def test_exact_refuses_before_allocating_and_names_the_flag(capsys, long_pair):
    code, out, err = run(capsys, "exact", str(long_pair))
    assert code == 2 and "--memory-limit" in err and "estimated" in err and "Traceback" not in err
    code, out, err = run(capsys, "exact", str(long_pair), "--T", "1000", "--time-limit", "1e-9")
    assert code == 2 and "--time-limit" in err
    code, out, _ = run(capsys, "exact", str(long_pair), "--T", "100000", "--memory-limit", "0.0625", "--json")
    assert code == 0 and json.loads(out)["T"] == 100000


@pytest.mark.parametrize("size", ["lots", "-3", "nan", "inf"])
def test_memory_limit_must_be_a_size(capsys, long_pair, size):
    with pytest.raises(SystemExit) as info:
        main(["exact", str(long_pair), f"--memory-limit={size}"])
    assert info.value.code == 2 and "--memory-limit" in capsys.readouterr().err


def test_bench_exact_reports_baselines_roofline_and_threads(capsys):
    code, out, _ = run(capsys, "bench", "exact", "--states", "4", "--vocab", "3", "--T", "64", "2048",
                       "--baseline-max-T", "64", "--repeats", "1", "--json")
    payload = json.loads(out)
    assert code == 0 and payload["roofline"]["gemm_GFLOPs"] > 0 and payload["roofline"]["copy_GBps"] > 0
    assert "OMP_NUM_THREADS" in payload["threads"]
    small, large = payload["records"]
    assert small["speedup_vs_per_step_dp"] > 0 and small["speedup_vs_numpy_loop"] > 0
    assert large["per_step_dp_seconds"] is None and large["suite_peak_bytes"] > 0


def test_bench_sim_reports_every_path(capsys):
    code, out, _ = run(capsys, "bench", "sim", "--batch", "32", "--T", "16", "--vocab", "8", "--baseline-T", "8",
                       "--device", "cpu", "--repeats", "1", "--neural-vocab", "64", "--neural-T", "4",
                       "--neural-batch", "4", "--json")
    payload = json.loads(out)
    record = payload["records"][0]
    assert code == 0 and payload["threads"]["torch_threads"] == 1
    for key in ("suite", "torch_distributions"):
        assert record[f"{key}_tokens_per_s"] > 0
    assert record["speedup_vs_torch_distributions"] > 0 and payload["roofline"]["copy_GBps"] > 0
    neural = payload["neural"][0]
    assert neural["vocab"] == 64 and neural["inverse_cdf_tokens_per_s"] > 0 and neural["multinomial_tokens_per_s"] > 0
