"""Whole-process benchmarks of the command line: `trm exact --json` against the engine alone, and the start-up
of the light commands against ``python3 -c "import numpy"``.

Each command runs as a fresh ``python3 ...`` process (its start-up, imports and output included), its output
thrown away; wall seconds are a monotonic clock around the process. Peak memory is the child's own high-water
mark: on Linux VmHWM of /proc/self/status, read by the child as it exits (``ru_maxrss`` of a child started by
fork and exec also counts the parent's high-water mark at the fork, which here is the benchmark's own arrays);
elsewhere ``ru_maxrss`` from ``os.wait4``. Commands of one comparison run in turn (A B A B ...) so a drift of
the machine's speed hits both; medians are reported with min and max. Nothing here prints
(trm/commands/bench.py does).
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


#: run by the child in front of ``-m``/``-c``: at exit it writes its VmHWM (kB) to the file TRM_BENCH_HWM names
_REPORT_PEAK = ("import atexit, os\n"
                "def _peak():\n"
                "    with open('/proc/self/status') as f:\n"
                "        kb = next(line.split()[1] for line in f if line.startswith('VmHWM'))\n"
                "    with open(os.environ['TRM_BENCH_HWM'], 'w') as f:\n"
                "        f.write(kb)\n"
                "atexit.register(_peak)\n")


def _wrapped(args: list[str]) -> list[str]:
    """``args`` (``-m module ...`` or ``-c code``) preceded by the VmHWM report."""
    if args[0] == "-c":
        return ["-c", _REPORT_PEAK + args[1], *args[2:]]
    module, rest = args[1], args[2:]
    code = _REPORT_PEAK + f"import runpy, sys\nsys.argv = [{module!r}, *sys.argv[1:]]\n" \
                          f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)\n"
    return ["-c", code, *rest]


def run_process(args: list[str], env: dict | None = None) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds (user + system), peak RSS bytes, exit code) of ``python3 args`` run once, its
    output discarded. On a shared machine wall time includes waiting for a core; CPU time does not."""
    linux = os.path.exists("/proc/self/status")
    env = dict(os.environ if env is None else env)
    with tempfile.TemporaryDirectory() as tmp:
        hwm = Path(tmp) / "hwm"
        env["TRM_BENCH_HWM"] = str(hwm)
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, *(_wrapped(args) if linux else args)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        cpu = usage.ru_utime + usage.ru_stime
        proc.returncode = os.waitstatus_to_exitcode(status)
        if linux and hwm.exists():
            rss = int(hwm.read_text()) * 1024
        else:
            rss = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return wall, cpu, rss, proc.returncode


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
    cpus = {name: [] for name in walls}
    rss = {name: [] for name in walls}
    ratios = {name: [] for name in STARTUP_COMMANDS}
    cpu_ratios = {name: [] for name in STARTUP_COMMANDS}
    for _ in range(runs):
        base, base_cpu, base_rss, _ = run_process(BASELINE, env)
        walls["import numpy"].append(base)
        cpus["import numpy"].append(base_cpu)
        rss["import numpy"].append(base_rss)
        for name, args in STARTUP_COMMANDS.items():
            wall, cpu, peak, code = run_process(args, env)
            if code != 0:
                raise RuntimeError(f"{name} exited with {code}")
            walls[name].append(wall)
            cpus[name].append(cpu)
            rss[name].append(peak)
            ratios[name].append(wall / base)
            cpu_ratios[name].append(cpu / base_cpu if base_cpu > 0 else float("inf"))
    return {"runs": runs, "commands": {name: " ".join(["python3", *(STARTUP_COMMANDS.get(name) or BASELINE)])
                                       for name in walls},
            "bytecode_cache": not sys.dont_write_bytecode,
            "wall_seconds": {name: _stats(v) for name, v in walls.items()},
            "cpu_seconds": {name: _stats(v) for name, v in cpus.items()},
            "peak_rss_bytes": {name: max(v) for name, v in rss.items()},
            "over_import_numpy": {name: _stats(v) for name, v in ratios.items()},
            "cpu_over_import_numpy": {name: _stats(v) for name, v in cpu_ratios.items()}}


def bench_exact_command(pair, repeats: int = 3, extra: tuple[str, ...] = ("--json",)) -> dict:
    """`python3 -m trm exact PAIR.npz --json` on ``pair`` (written to a temporary file): best and median wall
    seconds over ``repeats`` fresh processes and the largest peak RSS of one; and the best time of the same
    command run in this process (the `exact` subcommand's own parser and ``run``, its output discarded, imports
    already done): the command's own work without the interpreter's start-up."""
    import contextlib
    import io

    from numerics.io import save_pair
    from trm.commands import exact as exact_command
    from trm.common import CommandParser

    parser = CommandParser(prog="trm")
    exact_command.add_parser(parser.add_subparsers(dest="command", parser_class=CommandParser))

    env = _environment()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pair.npz"
        save_pair(path, pair)
        argv = ["exact", str(path), "--memory-limit", "0", "--time-limit", "0", *extra]
        walls, cpus, peaks, inside = [], [], [], []
        for _ in range(repeats):
            wall, cpu, peak, code = run_process(["-m", "trm", *argv], env)
            if code != 0:
                raise RuntimeError(f"trm exact exited with {code} (T = {pair.T})")
            walls.append(wall)
            cpus.append(cpu)
            peaks.append(peak)
            start = time.perf_counter()
            args = parser.parse_args(argv)
            with contextlib.redirect_stdout(io.StringIO()):
                args.func(args)
            inside.append(time.perf_counter() - start)
    return {"command": "python3 -m trm exact PAIR.npz " + " ".join(extra), "command_seconds": min(walls),
            "command_seconds_median": statistics.median(walls), "command_cpu_seconds": min(cpus),
            "command_peak_rss_bytes": max(peaks), "bytecode_cache": not sys.dont_write_bytecode,
            "command_in_process_seconds": min(inside)}
