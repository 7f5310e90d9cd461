"""A dump of a few hundred MB is audited in bounded memory: rows are streamed from the file in
chunks, so the peak resident set stays far below the file size (slow: run with --run-slow -s to
see the measured numbers)."""
import json
import os
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest


def write_large_npz(path, B, L, seed=0, block=256):
    """old_log_probs, rollout_log_probs (float32) and response_mask (bool), [B, L], written block by
    block into the zip so the writer itself never holds the arrays."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(L // 8, L + 1, size=B)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        for name, dtype in (("old_log_probs", "<f4"), ("rollout_log_probs", "<f4"), ("response_mask", "|b1")):
            block_rng = np.random.default_rng(seed)
            with z.open(f"{name}.npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array_header_1_0(fh, {"descr": dtype, "fortran_order": False, "shape": (B, L)})
                for a in range(0, B, block):
                    b = min(B, a + block)
                    mask = np.arange(L)[None, :] < lengths[a:b, None]
                    roll = np.log(block_rng.uniform(0.05, 1.0, (b - a, L))).astype(np.float32)
                    noise = (0.05 * block_rng.standard_normal((b - a, L))).astype(np.float32)
                    if name == "old_log_probs":
                        fh.write(np.minimum(roll + noise, 0).astype(np.float32).tobytes())
                    elif name == "rollout_log_probs":
                        fh.write(roll.tobytes())
                    else:
                        fh.write(mask.tobytes())
    return lengths


@pytest.mark.slow
def test_a_300_mb_dump_streams_in_bounded_memory(tmp_path):
    B, L = 4096, 8192
    path = tmp_path / "big.npz"
    lengths = write_large_npz(path, B, L)
    size = os.path.getsize(path)
    assert size > 300e6
    # VmHWM is the peak resident set of the audit's own address space (ru_maxrss of a child would also
    # count the pages it shared with this process between fork and exec)
    wrapper = ("import sys; from trm.cli import main; code = main(sys.argv[1:]); "
               "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]; "
               "sys.stderr.write(f'VmHWM {hwm}\\n'); raise SystemExit(code)")
    cmd = [sys.executable, "-c", wrapper, "audit", str(path), "--rollout-rs", "seq_max_k2,seq_mean_k3",
           "--rollout-rs-threshold", "0.05,0.001", "--mask-out", str(tmp_path / "mask.npz"), "--memory", "64", "--json"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    peak = int(proc.stderr.split("VmHWM")[1].split()[0]) * 1024
    payload = json.loads(proc.stdout)
    assert payload["tokens"] == int(lengths.sum())
    mask = np.load(tmp_path / "mask.npz")["mask"]
    assert mask.shape == (B, L)
    print(f"\nfile {size / 2**20:.0f} MiB, {payload['tokens']} valid tokens: peak RSS {peak / 2**20:.0f} MiB, "
          f"{seconds:.1f} s")
    assert peak < 0.5 * size
