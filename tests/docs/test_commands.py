"""Every shell command a reader can run in README.md and docs/*.md is executed here, so the docs cannot rot.

A runnable command lives in a fenced block whose info string starts with ``bash``; words after it say how the
block runs (see :mod:`tests.docs.blocks`):

    ```bash            run in the default profile, in a fresh directory shared by the page's blocks (in order)
    ```bash slow       run only with --run-slow
    ```bash repo       run from the repository root (pytest invocations, scripts under tests/)
    ```bash gpu        run only where a CUDA device is present
    ```bash ci         the quickstart: `.ci/run` runs exactly these lines (checked here), not this test

Every block must exit 0. `trm` resolves to this checkout (``python3 -m trm``), whatever is installed.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.blocks import ROOT, Block, doc_pages, fenced_blocks, inline_commands

PAGES = doc_pages()
#: set in the commands' environment: a documented `pytest --run-slow` must not recurse into this file
NESTED = "TRM_DOCS_COMMAND"
BLOCKS = [b for page in PAGES for b in fenced_blocks(page)]
#: the time one block may take (the slow ones regenerate figures or run long tests)
TIMEOUT = {"default": 120, "slow": 1800}


def _shim(tmp: Path) -> Path:
    """A bin directory whose `trm` runs this checkout's command line."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    trm = bin_dir / "trm"
    trm.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m trm "$@"\n')
    trm.chmod(0o755)
    for name, module in (("pytest", "pytest"), ("python3", None), ("python", None)):
        path = bin_dir / name
        path.write_text(f'#!/bin/sh\nexec "{sys.executable}" ' + (f"-m {module} " if module else "") + '"$@"\n')
        path.chmod(0o755)
    return bin_dir


@pytest.fixture(scope="module")
def page_dirs(tmp_path_factory):
    """One working directory per page, shared by its blocks in document order."""
    return {page: tmp_path_factory.mktemp(page.stem) for page in PAGES}


def _run(block: Block, cwd: Path, bin_dir: Path, timeout: float) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", PYTHONPATH=str(ROOT),
               MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    env.pop("CI", None)                       # commands run as a reader runs them
    env[NESTED] = "1"                         # a documented `pytest` run does not run these tests again
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block.text], cwd=cwd, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, check=False)


def _marks(block: Block):
    marks = []
    if "slow" in block.tags:
        marks.append(pytest.mark.slow)
    if "gpu" in block.tags:
        marks.append(pytest.mark.gpu)
    return marks


@pytest.mark.parametrize("block", [pytest.param(b, id=b.id, marks=_marks(b)) for b in BLOCKS if "ci" not in b.tags])
def test_documented_command_runs(block, page_dirs, tmp_path):
    if os.environ.get(NESTED):
        pytest.skip("inside a documented command")
    cwd = ROOT if "repo" in block.tags else page_dirs[block.page]
    result = _run(block, cwd, _shim(tmp_path), TIMEOUT["slow" if "slow" in block.tags else "default"])
    assert result.returncode == 0, (f"{block.id} exited {result.returncode}\n--- command\n{block.text}\n--- stderr\n"
                                    f"{result.stderr[-3000:]}\n--- stdout\n{result.stdout[-2000:]}")


def test_every_block_has_a_known_kind():
    """A fence that looks like shell but is not ``bash`` would escape this test; unknown tags are typos."""
    for page in PAGES:
        for block in fenced_blocks(page, strict=True):
            assert set(block.tags) <= {"slow", "repo", "gpu", "ci"}, f"{block.id}: unknown tags {block.tags}"


def test_the_quickstart_is_what_ci_runs():
    """README's ``bash ci`` block holds exactly two commands (install and main job; the tests), and `.ci/run`
    executes that block from the README itself."""
    (quickstart,) = [b for b in fenced_blocks(ROOT / "README.md") if "ci" in b.tags]
    commands = [line for line in quickstart.text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert len(commands) == 2, commands
    assert "pip install" in commands[0] and commands[1].split()[0] == "pytest", commands
    ci = (ROOT / ".ci" / "run").read_text()
    assert "quickstart" in ci and "README.md" in ci, ".ci/run must run the README's quickstart block"


def test_inline_commands_are_run_somewhere():
    """A complete `trm …` command quoted in the prose of a page (not a synopsis with placeholders) is also in one of
    that page's fenced blocks, so it runs here too."""
    for page in PAGES:
        fenced = "\n".join(b.text for b in fenced_blocks(page))
        missing = [c for c in inline_commands(page) if c not in fenced]
        assert not missing, f"{page.name}: inline commands not in any ```bash block: {missing}"
