"""The CPU dispatch launcher of .ci/run (tests/dispatch.py): what each level disables, and that a run
which collects nothing fails."""
import subprocess

from tests import dispatch


def test_each_level_holds_every_library():
    targets = dispatch.numpy_dispatch_targets()
    default, avx2, avx512 = (dispatch.environment(level) for level in ("default", "avx2", "avx512"))
    assert set(default["NPY_DISABLE_CPU_FEATURES"].split()) == set(targets)
    assert not avx512["NPY_DISABLE_CPU_FEATURES"]
    assert set(avx2["NPY_DISABLE_CPU_FEATURES"].split()) == {t for t in targets if t not in dispatch.NUMPY_KEEPS["avx2"]}
    for env, aten in ((default, "default"), (avx2, "avx2"), (avx512, "avx512")):
        assert env["ATEN_CPU_CAPABILITY"] == aten and env["TRM_DISPATCH_LEVEL"] == aten
        assert env["NUMBA_CPU_NAME"] and env["OPENBLAS_CORETYPE"] and env["MKL_ENABLE_INSTRUCTIONS"]


def test_nothing_collected_is_a_failure(monkeypatch):
    """pytest's exit code 5 (no test selected) must not pass for a clean run; the marker is selected when
    no test file is named, and the level's environment reaches the child."""
    seen = {}

    def fake_run(command, env):
        seen.update(command=command, env=env)
        return subprocess.CompletedProcess(command, seen.get("code", 5))

    monkeypatch.setattr(dispatch.subprocess, "run", fake_run)
    monkeypatch.setattr(dispatch, "cpu_flags", lambda: {"avx2", "fma"})
    assert dispatch.main(["avx2", "-q"]) == 1
    assert seen["command"][-3:] == ["-m", "float_sensitive", "-q"] and seen["env"]["ATEN_CPU_CAPABILITY"] == "avx2"
    seen["code"] = 0
    assert dispatch.main(["default", "tests/test_dispatch.py"]) == 0
    assert "float_sensitive" not in seen["command"]
    assert dispatch.main(["avx512", "-q"]) == 0 and seen["env"]["ATEN_CPU_CAPABILITY"] == "default"   # skipped


def test_unknown_level_is_refused():
    assert dispatch.main(["sse"]) == 2
