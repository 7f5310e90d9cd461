"""Fixtures of the fuzz suite: one memory-limited `trm` worker per module and a directory of files."""
import os

import pytest

from tests.fuzz.harness import Worker

#: Examples per Hypothesis fuzz test: small by default (the whole default fuzz run stays under
#: 30 s), TRM_FUZZ_EXAMPLES for more; the `slow` variants (pytest --run-slow) use LONG_EXAMPLES.
EXAMPLES = int(os.environ.get("TRM_FUZZ_EXAMPLES", "8"))
LONG_EXAMPLES = int(os.environ.get("TRM_FUZZ_LONG_EXAMPLES", "300"))


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.close()
