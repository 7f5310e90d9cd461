"""Hypothesis over malformed policy-pair files: wrong keys, shapes, dtypes (complex, string, object,
structured), values (NaN, ±inf, negative, unnormalised), horizons (inf, NaN, fractions, huge),
byte-level damage (truncation, flipped bytes), a .npy renamed .npz, text and empty files.

`trm exact FILE` and `trm simulate FILE` must refuse each with one error line, or succeed with
finite output, within the harness's memory and time limits."""
import io
import os
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.fuzz.conftest import EXAMPLES, LONG_EXAMPLES
from tests.fuzz.harness import check_contract

GOOD = dict(init=np.array([1.0, 0.0, 0.0]), next_state=np.array([[0, 1], [1, 2], [2, 0]]),
            roll=np.array([[0.5, 0.5], [0.9, 0.1], [0.3, 0.7]]), theta=np.array([[0.4, 0.6], [0.8, 0.2], [0.3, 0.7]]),
            reward=np.array([0.0, 1.0, 0.5]), T=np.int64(6))

ODD_VALUES = [np.nan, np.inf, -np.inf, -0.5, 1.5, 1e308, 5e-324, 0.0, 1e300, 2.0**63, -2.0**63]
ODD_HORIZONS = [np.inf, -np.inf, np.nan, 0, -3, 2.5, 1e30, 2**62, 10**7, np.array([4, 5]), np.array([[6]]),
                np.array("6"), np.complex128(6), True]


def _odd_array(draw, name, value):
    kind = draw(st.sampled_from(["keep", "dtype", "value", "shape", "drop", "extra"]))
    value = np.array(value)
    if kind == "dtype":
        target = draw(st.sampled_from(["complex", "str", "bytes", "object", "structured", "bool", "int8", "float16",
                                       "datetime"]))
        if target == "complex":
            return value.astype(np.complex128) + 1j
        if target == "str":
            return value.astype(str)
        if target == "bytes":
            return value.astype("S8")
        if target == "object":
            return value.astype(object)
        if target == "structured":
            return np.zeros(value.shape, dtype=[("a", "f8"), ("b", "i4")])
        if target == "datetime":
            return np.zeros(value.shape, dtype="datetime64[s]")
        return value.astype(target)
    if kind == "value" and value.size:
        out = value.astype(np.float64).copy()
        out.flat[draw(st.integers(0, out.size - 1))] = draw(st.sampled_from(ODD_VALUES))
        return out
    if kind == "shape":
        shape = draw(st.lists(st.integers(0, 4), max_size=3))
        return np.full(shape, 0.5)
    if kind == "drop":
        return None
    return value


@st.composite
def pair_files(draw):
    """(file name, bytes) of a malformed pair."""
    arrays = {}
    for name, value in GOOD.items():
        if name == "T":
            arrays["T"] = np.asarray(draw(st.sampled_from([GOOD["T"]] * 4 + ODD_HORIZONS)))
            continue
        odd = _odd_array(draw, name, value)
        if odd is not None:
            arrays[name] = odd
    if draw(st.booleans()) and draw(st.booleans()):
        arrays["bonus"] = np.ones(2)
    buf = io.BytesIO()
    np.savez(buf, **arrays) if draw(st.booleans()) else np.savez_compressed(buf, **arrays)
    data = buf.getvalue()
    damage = draw(st.sampled_from(["none", "none", "truncate", "flip", "npy", "text", "empty"]))
    if damage == "truncate":
        data = data[:draw(st.integers(0, len(data) - 1))]
    elif damage == "flip":
        i = draw(st.integers(0, len(data) - 1))
        data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]
    elif damage == "npy":
        npy = io.BytesIO()
        np.save(npy, GOOD["roll"])
        data = npy.getvalue()
    elif damage == "text":
        data = b"init,roll\n1,2\n"
    elif damage == "empty":
        data = b""
    return data


def _check(worker, tmp_path_factory, data, command):
    d = tmp_path_factory.mktemp("pairs")
    path = d / "pair.npz"
    path.write_bytes(data)
    for argv in (["exact", str(path), "--json"], ["simulate", str(path), "--samples", "16", "--device", "cpu",
                                                   "--json"])[: 2 if command == "both" else 1]:
        check_contract(worker.run(argv, cwd=d), argv)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=pair_files())
def test_malformed_files_keep_the_contract(worker, tmp_path_factory, data):
    _check(worker, tmp_path_factory, data, "exact")


@pytest.mark.slow
@settings(max_examples=LONG_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=pair_files())
def test_malformed_files_keep_the_contract_long(worker, tmp_path_factory, data):
    _check(worker, tmp_path_factory, data, "both")


def test_a_zip_bomb_is_refused_from_its_headers(worker, tmp_path):
    """A small compressed archive whose roll header declares 2 GB: refused before anything is loaded."""
    path = tmp_path / "bomb.npz"
    S, V = 2**14, 2**14
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, shape, dtype in (("init", (S,), "<f8"), ("next_state", (S, V), "<i8"), ("roll", (S, V), "<f8"),
                                   ("theta", (S, V), "<f8"), ("reward", (S,), "<f8")):
            with zf.open(name + ".npy", "w", force_zip64=True) as member:
                member.write(_npy_header(shape, dtype))
                zero = bytes(1 << 20)
                for _ in range(min(64, S * (V if len(shape) > 1 else 1) * 8 >> 20)):
                    member.write(zero)
    assert os.path.getsize(path) < 2**20
    argv = ["exact", str(path), "--json"]
    result = worker.run(argv, cwd=tmp_path)
    assert check_contract(result, argv) == "refused" and "memory limit" in result.err


def _npy_header(shape, dtype) -> bytes:
    """The .npy magic and header of an array (the data is written after it)."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue()
