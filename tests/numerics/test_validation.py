"""The library's boundary checks (numerics.validation): dtypes, files, .npz headers, sizes, paths,
atomic outputs; and the threshold search that never returns a δ above its budget."""
import io
import math
import os

import numpy as np
import pytest

from numerics.bounds import threshold, worst_case_unified
from numerics.errors import TRMInputError
from numerics.io import load_pair, save_pair
from numerics.generators import random_automaton
from numerics.validation import (atomic_output, check_memory, check_output_path, check_real_numeric, check_time,
                                 dp_bytes, escape_controls, load_numbers, npz_headers, quote_path, write_npz_atomic)


def test_quote_path_escapes_control_characters():
    assert quote_path("a\nb\x1b[31m\x7f\u2028") == "'a\\nb\\x1b[31m\\x7f\\u2028'"
    assert escape_controls("δ ≤ ε\t") == "δ ≤ ε\\t"


@pytest.mark.parametrize("value", [np.ones(2, complex), np.array(["0.5"]), np.array([0.5], dtype=object),
                                   np.zeros(2, dtype="datetime64[s]"), np.zeros(1, dtype=[("a", "f8")])])
def test_non_real_dtypes_are_refused(value):
    with pytest.raises(TRMInputError, match="not a real number type"):
        check_real_numeric("roll", value)


@pytest.mark.parametrize("value", [np.ones(2, bool), np.ones(2, np.int8), np.ones(2, np.float32), [0.5, 0.5]])
def test_real_dtypes_pass(value):
    check_real_numeric("roll", value)


def _pair_file(tmp_path, **change):
    pair = random_automaton(np.random.default_rng(0), states=3, vocab=2, T=4)
    arrays = dict(init=pair.init, next_state=pair.next_state, roll=pair.roll, theta=pair.theta, reward=pair.reward,
                  T=np.int64(4))
    arrays.update(change)
    path = tmp_path / "p.npz"
    np.savez(path, **arrays)
    return path


def test_headers_describe_the_arrays_without_loading(tmp_path):
    headers = npz_headers(_pair_file(tmp_path))
    assert headers["roll"].shape == (3, 2) and headers["roll"].dtype == np.float64 and headers["T"].shape == ()


@pytest.mark.parametrize("change, match", [
    (dict(roll=np.ones((3, 2), complex)), "complex"),
    (dict(theta=np.full((3, 2), "x")), "string"),
    (dict(roll=np.ones((4, 2)) / 2), r"roll: expected shape \(3, 2\)"),
    (dict(reward=np.ones(5)), "reward"),
    (dict(T=np.float64(np.inf)), "finite"),
    (dict(T=np.float64(2.5)), "finite integer"),
    (dict(T=np.array([4, 5])), "T"),
])
def test_bad_files_are_refused_by_name(tmp_path, change, match):
    with pytest.raises(TRMInputError, match=match):
        load_pair(_pair_file(tmp_path, **change))


def test_special_and_renamed_files_are_refused(tmp_path):
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)
    with pytest.raises(TRMInputError, match="FIFO"):
        load_pair(fifo)
    with pytest.raises(TRMInputError, match="directory"):
        load_pair(tmp_path)
    np.save(tmp_path / "a.npy", np.ones(3))
    os.replace(tmp_path / "a.npy", tmp_path / "a.npz")
    with pytest.raises(TRMInputError, match="single .npy"):
        load_pair(tmp_path / "a.npz")
    good = _pair_file(tmp_path)
    good.write_bytes(good.read_bytes()[:200])
    with pytest.raises(TRMInputError, match="damaged|not a readable"):
        load_pair(good)


def test_a_damaged_deflate_stream_is_refused(tmp_path):
    """A compressed member whose deflate stream is garbage raises zlib.error inside zipfile (found by the long
    fuzz of tests/fuzz/test_files.py): one TRMInputError naming the file, not a traceback."""
    path = tmp_path / "bad.npz"
    np.savez_compressed(path, init=np.array([1.0, 0.0]), roll=np.full((2, 2), 0.5))
    data = bytearray(path.read_bytes())
    name, extra = int.from_bytes(data[26:28], "little"), int.from_bytes(data[28:30], "little")
    start = 30 + name + extra                                   # the first member's compressed bytes
    data[start:start + 4] = b"\xff\xff\xff\xff"
    path.write_bytes(bytes(data))
    with pytest.raises(TRMInputError, match="bad.npz.*damaged .npz archive"):
        npz_headers(path, "pair")
    with pytest.raises(TRMInputError, match="damaged .npz archive"):
        load_pair(path)


def test_memory_is_checked_from_the_headers(tmp_path):
    path = tmp_path / "big.npz"
    with __import__("zipfile").ZipFile(path, "w") as zf:
        with zf.open("roll.npy", "w", force_zip64=True) as member:
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (2**20, 2**10)})
            member.write(header.getvalue())
    with pytest.raises(TRMInputError, match="memory limit"):
        load_pair(path, memory_limit=2**20)


def test_load_numbers_reads_text_npy_and_npz(tmp_path):
    (tmp_path / "a.txt").write_text("# D̄_t\n0.1, 0.2\n0.3\n")
    np.save(tmp_path / "b.npy", np.array([[0.1], [0.2], [0.3]]))
    np.savez(tmp_path / "c.npz", x=np.array([0.1, 0.2, 0.3]))
    for name in ("a.txt", "b.npy", "c.npz"):
        assert np.allclose(load_numbers(tmp_path / name, "--tv-pos"), [0.1, 0.2, 0.3])
    (tmp_path / "d.txt").write_text("0.1 nan\n")
    with pytest.raises(TRMInputError, match="finite"):
        load_numbers(tmp_path / "d.txt", "--tv-pos")
    np.save(tmp_path / "e.npy", np.ones((2, 2)))
    with pytest.raises(TRMInputError, match="one number per position"):
        load_numbers(tmp_path / "e.npy", "--tv-pos")


def test_outputs_go_exactly_where_asked_and_whole(tmp_path):
    pair = random_automaton(np.random.default_rng(0), states=3, vocab=2, T=4)
    assert save_pair(tmp_path / "name", pair) == str(tmp_path / "name")
    assert (tmp_path / "name").is_file() and not (tmp_path / "name.npz").exists()
    assert load_pair(tmp_path / "name").S == 3
    with pytest.raises(TRMInputError, match="is a directory"):
        write_npz_atomic(tmp_path, {"a": np.ones(1)})
    with pytest.raises(TRMInputError, match="does not exist"):
        check_output_path(tmp_path / "missing" / "x.npz")
    target = tmp_path / "keep.npz"
    target.write_bytes(b"previous")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as handle:
            handle.write(b"half")
            raise RuntimeError("interrupted")
    assert target.read_bytes() == b"previous" and sorted(p.name for p in tmp_path.iterdir()) == ["keep.npz", "name"]


def test_size_guards_name_the_flag():
    with pytest.raises(TRMInputError, match="--memory-limit"):
        check_memory(dp_bytes(8, 4, 10**9, False), 4 * 2**30, "the DP")
    with pytest.raises(TRMInputError, match="--time-limit"):
        check_time(1e9, 3600, "the run")
    check_memory(1e30, 0, "no limit")


@pytest.mark.parametrize("T, budget", [(4096, 1e-300), (1, 1e-300), (64, 1e-310), (4096, 1e-250)])
def test_threshold_never_returns_a_delta_above_its_budget(T, budget):
    try:
        d = threshold(T, budget)
    except TRMInputError as exc:
        assert "budget" in str(exc)
        return
    assert math.isinf(d) or worst_case_unified(T, d) <= budget
