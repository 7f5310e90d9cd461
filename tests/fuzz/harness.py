"""Run `trm` under bounded memory and time, and check its contract.

Contract (what every fuzz case asserts): either exit code 2 with exactly one line on stderr of the
form ``trm <command>: error: <message>`` (no traceback, no control characters), or exit code 0
with output that is finite: strict JSON (no NaN, no bare Infinity; +inf only as the string
"Infinity") when --json is given, and no "nan" in a human table.

Memory is bounded by RLIMIT_AS on the child process (:data:`ADDRESS_SPACE`), time by a timeout per
command line (:data:`TIMEOUT`); the command's own guards run with small limits
(TRM_MEMORY_LIMIT_GB, TRM_TIME_LIMIT_S) so that a size the guards let through stays small.
"""
from __future__ import annotations

import json
import math
import os
import re
import resource
import select
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Address space of a child (torch alone maps about 0.7 GB).
ADDRESS_SPACE = 3 * 2**30
#: Seconds one command line may take.
TIMEOUT = 60.0
#: The guards' limits inside the child: refuse estimated work above 1 GB or 3 s.
GUARD_ENV = {"TRM_MEMORY_LIMIT_GB": "1", "TRM_TIME_LIMIT_S": "3"}
ERROR_LINE = re.compile(r"^trm( [a-z][a-z-]*)?: (error: .+|interrupted)$")


@dataclass
class Result:
    code: int
    out: str
    err: str
    seconds: float = 0.0


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def child_env(extra: dict | None = None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), **GUARD_ENV)
    env.pop("CI", None)
    env.update(extra or {})
    return env


def run_process(argv, *, cwd, timeout: float = TIMEOUT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                env: dict | None = None) -> Result:
    """`python -m trm argv` in a fresh, memory-limited process."""
    proc = subprocess.run([sys.executable, "-m", "trm", *argv], cwd=cwd, env=child_env(env), stdin=stdin,
                          stdout=stdout, stderr=subprocess.PIPE, timeout=timeout, preexec_fn=_limit_memory,
                          check=False)
    out = proc.stdout.decode("utf-8", "replace") if isinstance(proc.stdout, bytes) else ""
    return Result(proc.returncode, out, proc.stderr.decode("utf-8", "replace"))


class Worker:
    """One memory-limited `trm` process serving many command lines (see tests/fuzz/worker.py)."""

    def __init__(self):
        self.proc = None

    def _start(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.fuzz.worker"], cwd=ROOT, env=child_env(),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     preexec_fn=_limit_memory, text=True, bufsize=1)

    def run(self, argv, cwd, timeout: float = TIMEOUT) -> Result:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        self.proc.stdin.write(json.dumps({"argv": [str(a) for a in argv], "cwd": str(cwd)}) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.close()
            raise AssertionError(f"trm {' '.join(map(str, argv))!r} ran longer than {timeout} s")
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            self.close()
            raise AssertionError(f"trm {' '.join(map(str, argv))!r} killed the process (exit {code}; memory limit?)")
        answer = json.loads(line)
        return Result(answer["code"], answer["out"], answer["err"], answer["seconds"])

    def close(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
            self.proc = None


def _strict_constant(name):
    raise AssertionError(f"non-standard JSON constant {name} in the output")


def check_finite(value, path="$"):
    """Every number in a parsed JSON value is finite ("Infinity" strings are the documented +inf)."""
    if isinstance(value, dict):
        for k, v in value.items():
            check_finite(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check_finite(v, f"{path}[{i}]")
    elif isinstance(value, float):
        assert math.isfinite(value), f"{path} = {value}"


def check_contract(result: Result, argv) -> str:
    """'refused' or 'ok' when the result keeps the contract; an AssertionError naming the case otherwise."""
    case = " ".join(map(str, argv))
    assert "Traceback" not in result.err, f"trm {case!r}: traceback\n{result.err[-3000:]}"
    assert "ran out of memory" not in result.err, f"trm {case!r}: the size estimate let an allocation fail"
    if result.code == 0:
        if "--json" in argv and result.out.strip():
            payload = json.loads(result.out, parse_constant=_strict_constant)
            check_finite(payload)
            assert "undefined" not in payload, f"trm {case!r}: undefined values {payload['undefined']}"
        else:
            assert not re.search(r"\bnan\b", result.out, re.IGNORECASE), f"trm {case!r}: nan in the output"
        return "ok"
    lines = result.err.splitlines()
    assert result.code == 2, f"trm {case!r}: exit {result.code}\n{result.err[-2000:]}"
    assert len(lines) == 1, f"trm {case!r}: {len(lines)} lines on stderr:\n{result.err[-2000:]}"
    assert ERROR_LINE.match(lines[0]), f"trm {case!r}: stderr is not one error line: {lines[0]!r}"
    assert not re.search(r"[\x00-\x1f\x7f]", lines[0]), f"trm {case!r}: control characters on stderr"
    return "refused"
