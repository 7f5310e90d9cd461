"""Cases that need a `trm` process of its own: a FIFO as input, Ctrl-C, standard output closed,
full or cut off. Each runs `python -m trm` with an address-space limit and a timeout."""
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.fuzz.harness import ROOT, _limit_memory, check_contract, child_env, run_process


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pair.npz"
    os.mkfifo(fifo)
    argv = ["exact", str(fifo)]
    result = run_process(argv, cwd=tmp_path, timeout=60)
    assert check_contract(result, argv) == "refused" and "FIFO" in result.err


def _interruptible():
    """As a terminal's foreground job: SIGINT at its default (a test runner started in the background
    inherits it ignored, and Python then installs no KeyboardInterrupt handler)."""
    _limit_memory()
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_is_one_line_and_exit_130(tmp_path):
    argv = ["tightness", "--samples", "100000", "--time-limit", "0"]
    proc = subprocess.Popen([sys.executable, "-m", "trm", *argv], cwd=tmp_path, env=child_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_interruptible)
    time.sleep(3.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    lines = err.decode().splitlines()
    assert len(lines) == 1 and lines[0] in ("trm tightness: interrupted", "trm: interrupted"), lines


def test_closed_stdout_is_one_error_line(tmp_path):
    argv = ["bounds", "--T", "8", "--kl-max", "1e-3"]
    proc = subprocess.run([sys.executable, "-m", "trm", *argv], cwd=tmp_path, env=child_env(), stderr=subprocess.PIPE,
                          preexec_fn=lambda: (_limit_memory(), os.close(1)), timeout=60, check=False)
    lines = proc.stderr.decode().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "standard output is closed" in lines[0], lines


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_full_stdout_is_one_error_line(tmp_path):
    argv = ["bounds", "--T", "8", "--kl-max", "1e-3", "--json"]
    with open("/dev/full", "w") as full:
        result = run_process(argv, cwd=tmp_path, stdout=full)
    assert check_contract(result, argv) == "refused" and "No space left" in result.err


def test_a_closed_pipe_ends_quietly(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "trm", "bounds", "--T", "8", "--kl-max", "1e-3"], cwd=tmp_path,
                            env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_limit_memory)
    proc.stdout.close()                      # the reader goes away before anything is written
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 0 and err == ""


def test_the_console_entry_point_is_the_same_contract():
    result = run_process(["bounds", "--T", "0", "--kl-max", "1e-3"], cwd=ROOT)
    assert check_contract(result, ["bounds"]) == "refused" and "--T" in result.err
