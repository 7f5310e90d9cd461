"""Run the float-sensitive tests with every vectorised library held at one CPU dispatch level.

    python3 -m tests.dispatch LEVEL [pytest arguments]        LEVEL: default | avx2 | avx512

A test marked ``float_sensitive`` compares floats that torch, numba, numpy's SIMD loops or a BLAS computed,
exactly (same process, same machine) or within a rounding model (against a recording). Its outcome must
not depend on the CPU's vector units, so .ci/run reruns the marked tests at the levels below; each level
sets, for the child pytest only,

    ATEN_CPU_CAPABILITY        torch's elementwise and reduction kernels (default = no SIMD dispatch)
    NPY_DISABLE_CPU_FEATURES   numpy's dispatched SIMD loops above the level (read from numpy itself)
    NUMBA_CPU_NAME             the CPU numba compiles for (generic, haswell, skylake-avx512)
    OPENBLAS_CORETYPE          numpy's OpenBLAS kernels (Nehalem, Haswell, SkylakeX)
    MKL_ENABLE_INSTRUCTIONS    torch's MKL (SSE4_2, AVX2, AVX512)
    ONEDNN_MAX_CPU_ISA         torch's oneDNN (SSE41, AVX2, AVX512_CORE)

and TRM_DISPATCH_LEVEL, which tests/conftest.py reads to check that torch really runs at the level (a
mismatch stops the run) and to print the levels in the report header. With no pytest arguments the
marked tests are selected (``-m float_sensitive``) unless the arguments name test files or a marker. A level the CPU lacks is skipped with one line on
stderr (exit 0); pytest's exit code 5 (no test collected) is turned into 1.
"""
from __future__ import annotations

import os
import subprocess
import sys

#: level → (torch capability, numba CPU, OpenBLAS core, MKL instructions, oneDNN ISA, CPU flags needed)
LEVELS = {
    "default": ("default", "generic", "Nehalem", "SSE4_2", "SSE41", ()),
    "avx2": ("avx2", "haswell", "Haswell", "AVX2", "AVX2", ("avx2", "fma")),
    "avx512": ("avx512", "skylake-avx512", "SkylakeX", "AVX512", "AVX512_CORE",
               ("avx512f", "avx512bw", "avx512vl", "avx512dq")),
}
#: numpy dispatch targets each level keeps (names of numpy 1.x and of numpy ≥ 2.3); the rest are disabled
NUMPY_KEEPS = {
    "default": set(),
    "avx2": {"SSE41", "POPCNT", "SSE42", "AVX", "F16C", "FMA3", "AVX2", "X86_V2", "X86_V3"},
    "avx512": None,                     # everything the CPU has
}
#: what torch.backends.cpu.get_cpu_capability() reports at each level
TORCH_REPORTS = {"default": "DEFAULT", "avx2": "AVX2", "avx512": "AVX512"}


def cpu_flags() -> set[str]:
    """The CPU's feature flags (Linux /proc/cpuinfo); empty where unreadable."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def numpy_dispatch_targets() -> list[str]:
    """The SIMD targets numpy dispatches to at run time on this build."""
    try:
        from numpy._core import _multiarray_umath as umath
    except ImportError:                                  # numpy 1.x
        from numpy.core import _multiarray_umath as umath
    return list(umath.__cpu_dispatch__)


def environment(level: str) -> dict[str, str]:
    """The environment variables that hold every library at ``level`` (see the module docstring)."""
    aten, numba_cpu, openblas, mkl, onednn, _ = LEVELS[level]
    keeps = NUMPY_KEEPS[level]
    disabled = [] if keeps is None else [t for t in numpy_dispatch_targets() if t not in keeps]
    return {"ATEN_CPU_CAPABILITY": aten, "NPY_DISABLE_CPU_FEATURES": " ".join(disabled),
            "NUMBA_CPU_NAME": numba_cpu, "OPENBLAS_CORETYPE": openblas, "MKL_ENABLE_INSTRUCTIONS": mkl,
            "ONEDNN_MAX_CPU_ISA": onednn, "TRM_DISPATCH_LEVEL": level}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in LEVELS:
        print(f"usage: python3 -m tests.dispatch {{{'|'.join(LEVELS)}}} [pytest arguments]", file=sys.stderr)
        return 2
    level, pytest_args = argv[0], argv[1:]
    needed = LEVELS[level][-1]
    flags = cpu_flags()
    missing = [f for f in needed if f not in flags]
    if missing:
        print(f"tests.dispatch: this CPU lacks {', '.join(missing)}: level {level} skipped", file=sys.stderr)
        return 0
    env = {**os.environ, **environment(level)}
    names_tests = any(os.path.exists(a.split("::")[0]) for a in pytest_args if not a.startswith("-"))
    if "-m" not in pytest_args and not names_tests:
        pytest_args = ["-m", "float_sensitive", *pytest_args]
    result = subprocess.run([sys.executable, "-m", "pytest", *pytest_args], env=env)
    if result.returncode == 5:
        print(f"tests.dispatch: pytest collected no tests at level {level}: treated as a failure", file=sys.stderr)
        return 1
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
