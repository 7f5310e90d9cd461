"""Whole-process benchmarks of the command line: `trm exact --json` against the engine alone, and the start-up
of the light commands against ``python3 -c "import numpy"``.

Each command runs as a fresh ``python3 -m trm ...`` process (its start-up, imports and output included), its
output thrown away; wall seconds are a monotonic clock around the process, peak memory the child's own
resource accounting (``os.wait4``: ru_maxrss of that process alone). Commands of one comparison run in turn
(A B A B ...) so a drift of the machine's speed hits both; medians are reported with min and max. Nothing
here prints (trm/commands/bench.py does).
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: The light commands whose start-up is compared with importing numpy (docs/performance.md).
STARTUP_COMMANDS = {
    "trm bounds": ["-m", "trm", "bounds", "--T", "4096", "--kl-max", "1e-4"],
    "trm threshold": ["-m", "trm", "threshold", "--T", "4096", "--budget", "0.1"],
    "trm --help": ["-m", "trm", "--help"],
}
BASELINE = ["-c", "import numpy"]


def run_process(args: list[str], env: dict | None = None) -> tuple[float, int, int]:
    """(wall seconds, peak RSS bytes, exit code) of ``python3 args`` run once, its output discarded."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    rss = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return wall, rss, proc.returncode


def _stats(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": len(values)}


def _environment() -> dict:
    """This process's environment with the repository on PYTHONPATH (so ``python3 -m trm`` finds it)."""
    root = str(Path(__file__).resolve().parents[1])
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}


def bench_startup(runs: int = 10) -> dict:
    """Median wall time and peak RSS of each light command and of ``python3 -c "import numpy"``, run in turn,
    with the ratio command / numpy import taken run by run (its median)."""
    env = _environment()
    for args in [BASELINE, *STARTUP_COMMANDS.values()]:
        run_process(args, env)                                  # warm the file cache
    walls = {name: [] for name in ["import numpy", *STARTUP_COMMANDS]}
    rss = {name: [] for name in walls}
    ratios = {name: [] for name in STARTUP_COMMANDS}
    for _ in range(runs):
        base, base_rss, _ = run_process(BASELINE, env)
        walls["import numpy"].append(base)
        rss["import numpy"].append(base_rss)
        for name, args in STARTUP_COMMANDS.items():
            wall, peak, code = run_process(args, env)
            if code != 0:
                raise RuntimeError(f"{name} exited with {code}")
            walls[name].append(wall)
            rss[name].append(peak)
            ratios[name].append(wall / base)
    return {"runs": runs, "commands": {name: " ".join(["python3", *(STARTUP_COMMANDS.get(name) or BASELINE)])
                                       for name in walls},
            "wall_seconds": {name: _stats(v) for name, v in walls.items()},
            "peak_rss_bytes": {name: max(v) for name, v in rss.items()},
            "over_import_numpy": {name: _stats(v) for name, v in ratios.items()}}


def bench_exact_command(pair, repeats: int = 3, extra: tuple[str, ...] = ("--json",)) -> dict:
    """`python3 -m trm exact PAIR.npz --json` on ``pair`` (written to a temporary file): best and median wall
    seconds over ``repeats`` runs and the largest peak RSS of one run."""
    from numerics.io import save_pair

    env = _environment()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pair.npz"
        save_pair(path, pair)
        args = ["-m", "trm", "exact", str(path), "--memory-limit", "0", "--time-limit", "0", *extra]
        walls, peaks = [], []
        for _ in range(repeats):
            wall, peak, code = run_process(args, env)
            if code != 0:
                raise RuntimeError(f"trm exact exited with {code} (T = {pair.T})")
            walls.append(wall)
            peaks.append(peak)
    return {"command": "python3 -m trm exact PAIR.npz " + " ".join(extra), "command_seconds": min(walls),
            "command_seconds_median": statistics.median(walls), "command_peak_rss_bytes": max(peaks)}
