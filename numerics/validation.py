"""Checks at the library's boundaries, made before any work starts.

- Arrays: the dtype must be real numeric (bool, integer or float); complex, string, object,
  structured and date-time arrays are refused instead of being cast (a complex array would lose its
  imaginary part, a string array would be parsed).
- Files: only regular files are read (a FIFO would block forever, a directory or device is not a
  pair); an .npz archive is inspected through the headers of its members (``numpy.lib.format``)
  before anything is loaded, so its shapes, dtypes and size are known in advance; a .npy file renamed
  .npz and a damaged archive are refused with what they are.
- Sizes: memory and time are estimated from the sizes before anything is allocated, and refused
  above a limit with the flag that raises it. The estimates are upper-side approximations of the
  peak working set of each computation (the coefficients are measured, see the functions).
- Paths in messages are quoted with control characters escaped, so a file name cannot break the
  one-line error or inject terminal escapes.
- Output files are written whole or not at all (:func:`atomic_output`): a temporary file in the
  target directory, flushed, then renamed over the target with ``os.replace``.
Every refusal raises :class:`numerics.errors.TRMInputError`.
"""
from __future__ import annotations

import contextlib
import math
import os
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass

import numpy as np

from numerics.errors import TRMInputError

#: Seeds are integers in [0, 2^63) (what numpy and torch generators both accept).
SEED_LIMIT = 2**63
#: Default memory limit of one command, bytes (the command-line flag --memory-limit overrides it).
DEFAULT_MEMORY_LIMIT = 4 * 2**30
#: Default time limit of one command, seconds (--time-limit overrides it; 0 disables the check).
DEFAULT_TIME_LIMIT = 3600.0
#: Largest number of members an .npz pair file may hold (the formats use at most six).
MAX_NPZ_MEMBERS = 64
#: dtype kinds accepted as real numbers: bool, signed and unsigned integers, floats.
REAL_KINDS = "biuf"
_KIND_NAMES = {"c": "complex", "U": "string", "S": "byte-string", "O": "object (pickled)", "V": "structured",
               "M": "date-time", "m": "time-delta"}


# ---------------------------------------------------------------------------------------------
# messages
def quote_path(path) -> str:
    """A path for a one-line message: in quotes, control characters (newline, escape, DEL, C1)
    written as \\n, \\t, \\xNN, so nothing in a file name reaches the terminal raw."""
    return "'" + escape_controls(os.fspath(path) if not isinstance(path, str) else path) + "'"


def escape_controls(text: str) -> str:
    """``text`` with every control character escaped (printable unicode is kept)."""
    out = []
    for ch in str(text):
        code = ord(ch)
        if ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif code < 0x20 or 0x7F <= code < 0xA0 or code in (0x2028, 0x2029):
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def human_bytes(n: float) -> str:
    if not math.isfinite(n) or n >= 2**60:
        return "astronomically many bytes (over an exabyte)"
    for unit, size in (("TB", 2**40), ("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} bytes"


def human_seconds(s: float) -> str:
    if not math.isfinite(s) or s >= 86400 * 365 * 1e6:
        return "more than a million years"
    if s >= 86400 * 365:
        return f"{s / (86400 * 365):.3g} years"
    if s >= 86400:
        return f"{s / 86400:.3g} days"
    if s >= 3600:
        return f"{s / 3600:.3g} hours"
    if s >= 60:
        return f"{s / 60:.3g} minutes"
    return f"{s:.3g} s"


# ---------------------------------------------------------------------------------------------
# arrays
def check_real_numeric(name: str, array) -> np.ndarray:
    """``array`` as an ndarray, refused unless its dtype is bool, integer or float."""
    arr = np.asarray(array) if not isinstance(array, np.ndarray) else array
    if arr.dtype.kind not in REAL_KINDS:
        kind = _KIND_NAMES.get(arr.dtype.kind, arr.dtype.kind)
        raise TRMInputError(f"{name}: dtype {arr.dtype} ({kind}) is not a real number type; "
                            "give bool, integer or float values")
    return arr


def check_finite_scalar(name: str, value, *, integer: bool = False, minimum=None, maximum=None) -> float | int:
    """A finite real scalar (refusing NaN and ±inf) within [minimum, maximum]; an integer when asked."""
    arr = np.asarray(value)
    if arr.ndim != 0:
        raise TRMInputError(f"{name}: expected a scalar, got shape {arr.shape}")
    check_real_numeric(name, arr)
    v = arr.item()
    if isinstance(v, float) and not math.isfinite(v):
        raise TRMInputError(f"{name} = {v!r}: must be a finite number")
    if integer:
        if isinstance(v, float) and v != math.floor(v):
            raise TRMInputError(f"{name} = {v!r}: must be an integer")
        v = int(v)
    if minimum is not None and v < minimum:
        raise TRMInputError(f"{name} = {v!r}: must be at least {minimum}")
    if maximum is not None and v > maximum:
        raise TRMInputError(f"{name} = {v!r}: must be at most {maximum}")
    return v


def check_seed(value, name: str = "seed") -> int:
    """An integer seed in [0, 2^63)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TRMInputError(f"{name} = {value!r}: must be an integer")
    if not 0 <= int(value) < SEED_LIMIT:
        raise TRMInputError(f"{name} = {value}: must lie in [0, 2^63)")
    return int(value)


# ---------------------------------------------------------------------------------------------
# files
def check_regular_file(path, what: str = "input") -> str:
    """The path of an existing regular file (symbolic links followed), refused otherwise without
    opening it: a FIFO or device would block or never end."""
    path = os.fspath(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise TRMInputError(f"{quote_path(path)}: no such file") from None
    except NotADirectoryError:
        raise TRMInputError(f"{quote_path(path)}: a component of the path is not a directory") from None
    except OSError as exc:
        raise TRMInputError(f"{quote_path(path)}: cannot read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise TRMInputError(f"{quote_path(path)}: is a directory, not an {what} file")
    if not stat.S_ISREG(st.st_mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode) else "not a regular file"
        raise TRMInputError(f"{quote_path(path)}: is {kind}; give a regular {what} file")
    if not os.access(path, os.R_OK):
        raise TRMInputError(f"{quote_path(path)}: permission denied")
    return path


def _label(what: str, path) -> str:
    return f"{what} {quote_path(path)}" if what else quote_path(path)


def check_output_path(path, what: str = "output") -> str:
    """A path a file can be written to: its directory exists and is writable, and the path itself is
    not a directory or a special file. The file is written exactly at this path."""
    path = os.fspath(path)
    if not path:
        raise TRMInputError(f"{what + ': ' if what else ''}the path is empty")
    if "\x00" in path:
        raise TRMInputError(f"{_label(what, path)}: a path cannot contain a NUL character")
    if path.endswith(os.sep) or os.path.isdir(path):
        raise TRMInputError(f"{_label(what, path)}: is a directory; give a file name")
    if os.path.lexists(path):
        st = os.stat(path) if os.path.exists(path) else None
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise TRMInputError(f"{_label(what, path)}: exists and is not a regular file")
    parent = os.path.dirname(path) or "."
    if not os.path.exists(parent):
        raise TRMInputError(f"{_label(what, path)}: directory {quote_path(parent)} does not exist")
    if not os.path.isdir(parent):
        raise TRMInputError(f"{_label(what, path)}: {quote_path(parent)} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise TRMInputError(f"{_label(what, path)}: directory {quote_path(parent)} is not writable")
    return path


def check_output_dir(path, what: str = "output directory") -> str:
    """A directory that exists or can be created (its nearest existing ancestor is a writable directory)."""
    path = os.fspath(path)
    if not path:
        raise TRMInputError(f"{what + ': ' if what else ''}the path is empty")
    if "\x00" in path:
        raise TRMInputError(f"{_label(what, path)}: a path cannot contain a NUL character")
    probe = os.path.abspath(path)
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if not os.path.isdir(probe):
        raise TRMInputError(f"{_label(what, path)}: {quote_path(probe)} exists and is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise TRMInputError(f"{_label(what, path)}: {quote_path(probe)} is not writable")
    return path


@contextlib.contextmanager
def atomic_output(path, mode: str = "wb"):
    """Open a temporary file beside ``path``; on success flush, fsync and ``os.replace`` it onto
    ``path`` (exactly that name), on any error remove it. Readers never see a partial file, and an
    interrupted write leaves the previous file intact."""
    path = os.fspath(path)
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".tmp-" + os.path.basename(path)[:40] + "-", dir=directory)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_npz_atomic(path, arrays: dict, what: str = "output") -> str:
    """``numpy.savez`` of ``arrays`` to exactly ``path`` (no '.npz' appended), atomically."""
    path = check_output_path(path, what)
    try:
        with atomic_output(path) as handle:
            np.savez(handle, **arrays)
    except OSError as exc:
        raise TRMInputError(f"{what} {quote_path(path)}: cannot write ({exc.strerror or exc})") from None
    return path


# ---------------------------------------------------------------------------------------------
# .npz headers
@dataclass(frozen=True)
class ArrayHeader:
    """What an .npy header says about the array it precedes."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize


NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")


def npz_headers(path, what: str = "policy-pair") -> dict[str, ArrayHeader]:
    """{key: ArrayHeader} of an .npz archive, read from the members' .npy headers only (nothing of
    the data is loaded). Refuses non-regular files, .npy files, damaged archives, members that are
    not .npy arrays, and non-real dtypes."""
    path = check_regular_file(path, what)
    q = quote_path(path)
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(NPY_MAGIC):
        raise TRMInputError(f"{q}: is a single .npy array, not an .npz archive of named arrays "
                            "(write it with numpy.savez)")
    if not head.startswith(ZIP_MAGICS):
        raise TRMInputError(f"{q}: not an .npz archive (no zip signature)")
    headers: dict[str, ArrayHeader] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_NPZ_MEMBERS:
                raise TRMInputError(f"{q}: {len(infos)} members; a pair file has at most {MAX_NPZ_MEMBERS}")
            for info in infos:
                if not info.filename.endswith(".npy"):
                    raise TRMInputError(f"{q}: member {escape_controls(info.filename)!r} is not an .npy array")
                key = info.filename[:-4]
                if key in headers:
                    raise TRMInputError(f"{q}: member {escape_controls(key)!r} appears twice")
                with archive.open(info) as member:
                    headers[key] = _read_header(member, key, q)
    except TRMInputError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, NotImplementedError,
            zlib.error) as exc:
        raise TRMInputError(f"{q}: damaged .npz archive ({escape_controls(str(exc))})") from None
    return headers


def _read_header(fp, key: str, q: str) -> ArrayHeader:
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fp)
        else:
            raise TRMInputError(f"{q}: array {key!r} uses .npy format version {version}, which pair files do not use")
    except TRMInputError:
        raise
    except (ValueError, EOFError, OSError, SyntaxError, TypeError) as exc:
        raise TRMInputError(f"{q}: array {escape_controls(key)!r} has a damaged .npy header "
                            f"({escape_controls(str(exc))})") from None
    dtype = np.dtype(dtype)
    if dtype.hasobject or dtype.kind not in REAL_KINDS:
        kind = _KIND_NAMES.get(dtype.kind, dtype.kind)
        raise TRMInputError(f"{q}: array {escape_controls(key)!r} has dtype {dtype} ({kind}); "
                            "pair files hold real numbers only")
    return ArrayHeader(key, tuple(int(n) for n in shape), dtype)


def load_npz_checked(path, memory_limit: int | None = None, what: str = "policy-pair",
                     precheck=None) -> dict[str, np.ndarray]:
    """Every array of an .npz archive, after :func:`npz_headers` and a size check: the arrays plus
    their float64 working copies must fit ``memory_limit`` bytes. ``precheck(headers)`` may refuse
    the file from its shapes before the data is read."""
    headers = npz_headers(path, what)
    if precheck is not None:
        precheck(headers)
    limit = DEFAULT_MEMORY_LIMIT if memory_limit is None else memory_limit
    need = sum(h.nbytes + 8 * h.size for h in headers.values()) * 2
    check_memory(need, limit, f"loading {quote_path(path)} "
                              f"({', '.join(f'{k} {list(h.shape)}' for k, h in headers.items())})")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, zlib.error) as exc:
        raise TRMInputError(f"{quote_path(path)}: not a readable .npz archive ({escape_controls(str(exc))})") from None


def load_numbers(path, name: str, memory_limit: int | None = None) -> np.ndarray:
    """A 1-D float64 array from .npy, .npz (exactly one array) or text (numbers separated by white
    space, commas or new lines; '#' starts a comment). Refuses non-regular files, non-real dtypes,
    more than one dimension of length > 1, NaN and ±inf."""
    path = check_regular_file(path, name)
    q = quote_path(path)
    limit = DEFAULT_MEMORY_LIMIT if memory_limit is None else memory_limit
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(NPY_MAGIC):
        with open(path, "rb") as f:
            header = _read_header(f, name, q)
        check_memory(header.nbytes + 8 * header.size, limit, f"{name} {q}")
        try:
            values = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise TRMInputError(f"{q}: not a readable .npy array ({escape_controls(str(exc))})") from None
    elif head.startswith(ZIP_MAGICS):
        headers = npz_headers(path, name)
        if len(headers) != 1:
            raise TRMInputError(f"{q}: an .npz of {name} must hold exactly one array, found {sorted(headers)}")
        values = load_npz_checked(path, limit, name).popitem()[1]
    else:
        check_memory(16 * size, limit, f"{name} {q}")
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except UnicodeDecodeError:
            raise TRMInputError(f"{q}: neither .npy, .npz nor UTF-8 text") from None
        tokens = [tok for line in text.splitlines() for tok in line.split("#", 1)[0].replace(",", " ").split()]
        try:
            values = np.array([float(tok) for tok in tokens], dtype=np.float64)
        except ValueError as exc:
            raise TRMInputError(f"{q}: {escape_controls(str(exc))}") from None
    values = check_real_numeric(f"{name} {q}", values)
    squeezed = values.reshape(-1) if sum(n > 1 for n in values.shape) <= 1 else None
    if squeezed is None:
        raise TRMInputError(f"{name} {q}: expected one number per position, got shape {values.shape}")
    out = squeezed.astype(np.float64)
    bad = ~np.isfinite(out)
    if bad.any():
        i = int(np.argmax(bad))
        raise TRMInputError(f"{name} {q}: value {i} is {out[i]!r}; values must be finite")
    return out


# ---------------------------------------------------------------------------------------------
# size and time guards
def check_memory(need_bytes: float, limit_bytes: float, what: str, flag: str = "--memory-limit") -> None:
    """Refuse when the estimate ``need_bytes`` exceeds ``limit_bytes`` (an estimate that is not a number
    counts as exceeding it); 0 or None disables the check."""
    if limit_bytes and not need_bytes <= limit_bytes:
        raise TRMInputError(f"{what} needs about {human_bytes(need_bytes)}, above the memory limit of "
                            f"{human_bytes(limit_bytes)}; reduce the sizes or raise {flag} (GB)")


def check_time(need_seconds: float, limit_seconds: float, what: str, flag: str = "--time-limit") -> None:
    """Refuse when the estimate ``need_seconds`` exceeds ``limit_seconds`` (an estimate that is not a
    number counts as exceeding it); 0 or None disables the check."""
    if limit_seconds and not need_seconds <= limit_seconds:
        raise TRMInputError(f"{what} would take about {human_seconds(need_seconds)}, above the time limit of "
                            f"{human_seconds(limit_seconds)}; reduce the sizes or raise {flag} (seconds, 0 = none)")


def dp_bytes(S: int, V: int, T: int, time_dependent: bool) -> int:
    """Peak bytes of the exact dynamic programme (numerics.exact) at horizon T: about 24 float64
    [T+1, S] tables (distributions, value functions, per-token terms, reachability), the [T, S, V]
    gathers of a time-dependent law, and the dense S×S operators of a homogeneous one."""
    per_position = 24 * 8 * (T + 1) * S
    if time_dependent:
        per_position += 6 * 8 * T * S * V
    operator = 6 * 8 * S * S if S <= 2048 else 6 * 16 * S * V
    return per_position + operator + 16 * 8 * S * V


def dp_seconds(S: int, V: int, T: int, time_dependent: bool) -> float:
    """Rough time of the dynamic programme: ≈ 15 µs per position of Python-level dispatch plus the
    array work (measured: T = 200,000 with S = 8 in 3.0 s; S = 3000, T = 2000 in 1.3 s)."""
    work = T * S * (V * 10 if time_dependent else min(S, 2048))
    return T * 1.5e-5 + work * 2e-10


def enumeration_bytes(elements: int) -> int:
    """Peak bytes of enumeration over X·V^T·T elements: about twelve float64 [T, X, V^T] tables."""
    return 12 * 8 * elements


def tree_nodes(V: int, T: int) -> float:
    """Σ_{k≤T} V^k, the prefixes and complete sequences of a prefix tree (inf when astronomically large)."""
    if V == 1:
        return float(T + 1)
    if T * math.log2(V) > 120:
        return math.inf
    return float((V ** (T + 1) - 1) // (V - 1))


def tabular_as_automaton_bytes(X: int, V: int, T: int) -> float:
    """Bytes of a tabular pair turned automaton (one state per prefix and per complete sequence)."""
    return 6 * 8 * X * tree_nodes(V, T) * V


def generator_bytes(family: str, *, T: int, vocab: int, states: int = 8, prompts: int = 2, k: int = 2,
                    cap: int | None = None, time_dependent: bool = False) -> tuple[float, str]:
    """(peak bytes, what drives them, naming the flags) of building a random pair of ``family``:
    about twenty float64 numbers per (context, token) (logits, noise, probabilities of both
    policies, the checks' temporaries)."""
    V = vocab
    if family == "automaton":
        contexts = states * (T if time_dependent else 1)
        what = (f"--states {states} × --T {T} (--time-dependent) contexts" if time_dependent
                else f"--states {states} contexts")
    elif family == "kgram":
        contexts = float(V**k) if k * math.log2(max(V, 2)) <= 120 else math.inf
        what = f"--vocab^--k = {V}^{k} states"
    elif family == "counter":
        contexts = (min(T, 32) if cap is None else cap) + 1
        what = f"--cap {contexts - 1} states"
    elif family == "tabular":
        # policies at every prefix (N = Σ_(k<T) V^k of them) and a reward per complete sequence
        prefixes = tree_nodes(V, T - 1)
        total = tree_nodes(V, T)
        leaves = math.inf if math.isinf(total) else total - prefixes     # inf − inf would be NaN
        what = f"--prompts {prompts} × --vocab^--T = {V}^{T} sequences and their prefixes"
        return 20 * 8 * prompts * (prefixes * V + leaves), what
    else:
        return 0, ""
    return 20 * 8 * contexts * V, f"{what}, × --vocab {V} tokens"


def simulation_bytes(*, rows: int, V: int, T: int, samples: int, chunk: int, block: int,
                     ln_clauses: int = 0, neural_hidden: int | None = None) -> int:
    """Peak bytes of a simulation: the family's tables (finite-state: about 20 float64 or int64
    entries per (row, token); neural: two copies of the model's weights and [chunk, V] working
    tensors), the per-block working set (≈ 216·block·chunk bytes), per-position sums (≈ 40·T bytes,
    plus 16·T per LN-TRM clause) and five float64 results per sequence."""
    chunk = min(chunk, samples)
    tau = min(block, T)
    family = 20 * 8 * rows * V
    if neural_hidden is not None:
        H = neural_hidden
        family = 2 * 4 * (3 * (2 * H * H + 2 * H) + V * H + H * V + V) + 16 * 4 * chunk * V + 8 * 4 * chunk * H
    return family + 216 * tau * chunk + 40 * T + 16 * T * ln_clauses + 6 * 8 * samples


def simulation_seconds(*, tokens: int, V: int, neural_hidden: int | None = None, chunk: int = 1024,
                       cuda: bool = False, compiled: bool = False) -> float:
    """Rough time, taken optimistic so that the guard never refuses a feasible run. Finite-state family:
    with its compiled step (``compiled``: the numba loop on CPU, the Triton kernel on CUDA) 2e7 tokens/s
    on one CPU core and 1.5e10 on a GPU (README, `trm bench sim`: 1.9e7 on the 2-core CPU, 1.4–1.6e10
    on an H100 at batch 65,536); with torch ops, 3e6 tokens/s on CPU and 30× that on CUDA. The neural
    family takes ≈ 0.1 s per step of a chunk on the CPU plus its [chunk, V] and [chunk, H²] work
    (measured ≈ 0.2 s per step at V = H = 64), taken 30× faster on CUDA."""
    if neural_hidden is None:
        if compiled:
            return tokens / (1.5e10 if cuda else 2e7)
        seconds = tokens / 3e6
    else:
        steps = tokens / max(1, chunk)
        seconds = steps * 0.1 + tokens * 3e-9 * (50 * V + 10 * neural_hidden**2)
    return seconds / 30 if cuda else seconds
