"""Read per-token dumps of a training step, in bounded memory, in chunks of rows.

Formats (recognised from the file suffix):
    .pt            torch.save of a dict of tensors (a verl DataProto batch as a plain dict; nested
                   "batch" / "meta_info" dicts are flattened; a list of 1-D tensors is a ragged
                   column, padded here). Loaded with torch.load(weights_only=True, mmap=True), so
                   tensors stay on disk until their rows are read; torch is imported only here.
    .safetensors   the header is parsed here and every tensor memory-mapped (BF16 included).
    .npz           each member's .npy header is parsed and its rows are streamed from the zip
                   (compressed or not); nothing is loaded whole.
    .parquet       one row per sequence with list columns (pyarrow), read by batches of rows.
Keys (first match wins; override with ``keys={"old": NAME, ...}``):
    old        old_log_probs | old_log_prob | old_per_token_logps | log_probs        [B, L] trainer
    rollout    rollout_log_probs | rollout_log_prob | sampling_per_token_logps        [B, L] rollout engine
    mask       response_mask | completion_mask | loss_mask | loss_masks               [B, L] 0/1
    lengths    response_lengths | response_length | lengths                           [B] (instead of a mask)
    scores     token_level_scores | token_level_rewards | scores | rewards            [B, L] (summed) or [B]
    advantages advantages                                                            [B, L] (row mean) or [B]
    step       global_steps | global_step | step                                     scalar or [B]
    old_full, rollout_full      old_log_probs_full, rollout_log_probs_full           [B, L, V] full log-probs
    old_topk, rollout_topk      old_topk_log_probs, rollout_topk_log_probs           [B, L, K] log-probs of
                                the rollout's top-k tokens under each policy (the same K tokens)
Padded positions may hold any value (0, NaN, garbage): they are never read as data.
Refused with a message naming the file, key, row, position and value: shape mismatches between the
three tensors, NaN / +inf / positive log-probs (beyond a rounding slack of 1e-6) at valid positions,
−inf rollout log-probs (the engine sampled the token), masks that are not 0/1, empty batches.
"""
from __future__ import annotations

import ctypes
import json
import os
import struct
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from numerics.errors import TRMInputError

FORMATS = (".pt", ".safetensors", ".npz", ".parquet")
ROLE_KEYS = {
    "old": ("old_log_probs", "old_log_prob", "old_per_token_logps", "log_probs"),
    "rollout": ("rollout_log_probs", "rollout_log_prob", "sampling_per_token_logps", "rollout_per_token_logps"),
    "mask": ("response_mask", "completion_mask", "loss_mask", "loss_masks"),
    "lengths": ("response_lengths", "response_length", "lengths"),
    "scores": ("token_level_scores", "token_level_rewards", "scores", "rewards"),
    "advantages": ("advantages",),
    "step": ("global_steps", "global_step", "step"),
    "old_full": ("old_log_probs_full",),
    "rollout_full": ("rollout_log_probs_full",),
    "old_topk": ("old_topk_log_probs",),
    "rollout_topk": ("rollout_topk_log_probs",),
}
#: Log-probs up to this positive value are rounding of log_softmax and accepted as they are.
LOGPROB_SLACK = 1e-6
#: Full distributions must sum to 1 within this (in probability) before renormalisation.
NORMALISATION_TOL = 1e-3
#: Default working-memory budget of one chunk (bytes).
DEFAULT_MEMORY = 256 * 2**20
#: Float64 working arrays held per token of a chunk while it is audited.
WORK_ARRAYS_PER_TOKEN = 48


@dataclass(frozen=True)
class Column:
    name: str
    shape: tuple            # (B, ...) for dense; (B,) plus ragged=True for per-row lists
    dtype: str
    ragged: bool = False


@dataclass
class Chunk:
    """Rows [start, start + b) of a dump, float64, padded positions zeroed."""

    start: int
    old: np.ndarray                 # [b, L]
    roll: np.ndarray                # [b, L]
    mask: np.ndarray                # [b, L] bool
    scores: np.ndarray | None = None       # [b] sequence reward
    advantages: np.ndarray | None = None   # [b] sequence advantage
    exact: dict | None = None       # {"kl", "tv", "chi2": [b, L], "kind": "full" | "topk"}


@dataclass
class DumpInfo:
    path: str
    format: str
    rows: int
    length: int
    keys: dict
    step: int | None
    file_bytes: int
    distributions: str | None = None       # "full" | "topk" | None
    notes: list = field(default_factory=list)


def available_memory() -> int:
    """MemAvailable from /proc/meminfo (bytes), or a conservative 2 GiB where it cannot be read."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 2 * 2**30


def _check_fits(path: str, nbytes: int, why: str) -> None:
    budget = available_memory() // 2
    if nbytes > budget:
        raise TRMInputError(f"{path}: {why} must be loaded whole ({nbytes / 2**20:.0f} MiB), more than half the "
                            f"available memory ({budget / 2**20:.0f} MiB); re-save it as described in the README "
                            "(plain C-ordered tensors) so it can be streamed")


# ---------------------------------------------------------------------------------------------
# Format back-ends: columns() and rows(name, a, b) (sequential a, increasing)
# ---------------------------------------------------------------------------------------------

class _NpzSource:
    def __init__(self, path: str):
        self.path = path
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise TRMInputError(f"{path}: not a readable .npz archive ({exc})") from None
        self.members = {}
        for info in self.zip.infolist():
            if info.filename.endswith(".npy"):
                self.members[info.filename[:-4]] = info
        self.headers = {}
        for name, info in self.members.items():
            with self.zip.open(info) as fh:
                self.headers[name] = self._header(fh, name)
        self.streams = {}
        self.loaded = {}

    def _header(self, fh, name):
        try:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            else:
                shape, fortran, dtype = np.lib.format._read_array_header(fh, version)
        except ValueError as exc:
            raise TRMInputError(f"{self.path}: member {name!r} is not a .npy array ({exc})") from None
        if dtype.hasobject:
            raise TRMInputError(f"{self.path}: {name!r} is an object array (ragged rows?); pad it to [B, L] and give "
                                "a response_mask, or use .pt / .parquet for ragged rows")
        return shape, fortran, dtype, fh.tell()

    def columns(self):
        return {n: Column(n, tuple(h[0]), str(h[2])) for n, h in self.headers.items()}

    def scalar(self, name):
        return self.rows(name, 0, None)

    def rows(self, name, a, b):
        shape, fortran, dtype, offset = self.headers[name]
        if len(shape) == 0 or b is None:
            return self._whole(name)
        if fortran:
            return self._whole(name)[a:b]
        row_items = int(np.prod(shape[1:], dtype=np.int64))
        stream = self.streams.get(name)
        if stream is None or stream[1] > a:
            if stream is not None:
                stream[0].close()
            fh = self.zip.open(self.members[name])
            fh.read(offset)
            stream = [fh, 0]
            self.streams[name] = stream
        fh = stream[0]
        if stream[1] < a:
            _skip(fh, (a - stream[1]) * row_items * dtype.itemsize)
        data = fh.read((b - a) * row_items * dtype.itemsize)
        stream[1] = b
        return np.frombuffer(data, dtype=dtype).reshape((b - a,) + tuple(shape[1:]))

    def _whole(self, name):
        if name not in self.loaded:
            shape, _, dtype, _ = self.headers[name]
            _check_fits(self.path, int(np.prod(shape, dtype=np.int64)) * dtype.itemsize,
                        f"{name!r} (Fortran-ordered)" if len(shape) else name)
            with self.zip.open(self.members[name]) as fh:
                self.loaded[name] = np.lib.format.read_array(fh, allow_pickle=False)
        return self.loaded[name]

    def close(self):
        for fh, _ in self.streams.values():
            fh.close()
        self.zip.close()


def _skip(fh, nbytes):
    while nbytes > 0:
        got = fh.read(min(nbytes, 1 << 24))
        if not got:
            break
        nbytes -= len(got)


_ST_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.uint16, "I64": np.int64,
              "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


class _SafetensorsSource:
    def __init__(self, path: str):
        self.path = path
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise TRMInputError(f"{path}: too short for a .safetensors file")
            n = struct.unpack("<Q", head)[0]
            if n > min(size - 8, 100 * 2**20):
                raise TRMInputError(f"{path}: corrupt .safetensors header (length {n})")
            try:
                header = json.loads(fh.read(n))
            except json.JSONDecodeError as exc:
                raise TRMInputError(f"{path}: corrupt .safetensors header ({exc})") from None
        self.meta = header.pop("__metadata__", None) or {}
        self.arrays = {}
        self.kinds = {}
        for name, spec in header.items():
            code = spec.get("dtype")
            if code not in _ST_DTYPES:
                raise TRMInputError(f"{path}: tensor {name!r} has dtype {code}, which the audit does not read")
            begin, end = spec["data_offsets"]
            shape = tuple(spec["shape"])
            dtype = np.dtype(_ST_DTYPES[code])
            if end - begin != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize or 8 + n + end > size:
                raise TRMInputError(f"{path}: tensor {name!r} has inconsistent offsets in the header")
            self.arrays[name] = (shape, dtype, 8 + n + begin)
            self.kinds[name] = code

    def columns(self):
        return {n: Column(n, shape, "bfloat16" if self.kinds[n] == "BF16" else str(dtype))
                for n, (shape, dtype, _) in self.arrays.items()}

    def scalar(self, name):
        shape, dtype, offset = self.arrays[name]
        return self._convert(name, self._map(name, offset, shape, dtype))

    def rows(self, name, a, b):
        """Rows [a, b), mapped for this read only (the resident set stays one chunk)."""
        shape, dtype, offset = self.arrays[name]
        b = min(b, shape[0])
        row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        return self._convert(name, self._map(name, offset + a * row_bytes, (b - a,) + tuple(shape[1:]), dtype))

    def _map(self, name, offset, shape, dtype):
        if int(np.prod(shape, dtype=np.int64)) == 0:
            return np.zeros(shape, dtype)
        m = np.memmap(self.path, dtype=dtype, mode="r", offset=offset, shape=shape)
        out = np.array(m)
        del m
        return out

    def _convert(self, name, x):
        if self.kinds[name] == "BF16":
            return (x.astype(np.uint32) << 16).view(np.float32)
        return x

    def close(self):
        self.arrays.clear()


def _madvise():
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return fn


_MADVISE = _madvise()


class _PtSource:
    def __init__(self, path: str):
        import torch

        self.path = path
        self.mmapped = True
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:
            if "mmap" not in str(exc):
                raise TRMInputError(f"{path}: torch.load(weights_only=True) failed: {exc}") from None
            _check_fits(path, os.path.getsize(path), "a file in torch's legacy (non-zip) format")
            obj = self._load_plain(torch, path)
            self.mmapped = False
        except Exception as exc:  # pickle.UnpicklingError and friends: an unsafe or foreign object
            raise TRMInputError(f"{path}: torch.load(weights_only=True) refused the file ({type(exc).__name__}: "
                                f"{str(exc).splitlines()[0]}); save a dict of tensors") from None
        if not isinstance(obj, dict):
            raise TRMInputError(f"{path}: expected a dict of tensors, got {type(obj).__name__}")
        self.items = {}
        for key, value in obj.items():
            if isinstance(value, dict) and key in ("batch", "meta_info", "tensors"):
                for k2, v2 in value.items():
                    if k2 in obj or k2 in self.items:
                        raise TRMInputError(f"{path}: key {k2!r} appears both at the top and in {key!r}")
                    self.items[k2] = v2
            else:
                self.items[key] = value
        self.torch = torch

    @staticmethod
    def _load_plain(torch, path):
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise TRMInputError(f"{path}: torch.load(weights_only=True) failed: {exc}") from None

    def columns(self):
        cols = {}
        for name, v in self.items.items():
            if isinstance(v, self.torch.Tensor):
                cols[name] = Column(name, tuple(v.shape), str(v.dtype).replace("torch.", ""))
            elif isinstance(v, (list, tuple)) and v and all(isinstance(t, self.torch.Tensor) and t.ndim == 1 for t in v):
                cols[name] = Column(name, (len(v),), str(v[0].dtype).replace("torch.", ""), ragged=True)
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                cols[name] = Column(name, (), "int64" if isinstance(v, int) else "float64")
        return cols

    def lengths(self, name):
        return np.array([len(t) for t in self.items[name]], dtype=np.int64)

    def scalar(self, name):
        v = self.items[name]
        return np.asarray(v.numpy() if isinstance(v, self.torch.Tensor) else v)

    def rows(self, name, a, b):
        v = self.items[name]
        if isinstance(v, self.torch.Tensor):
            part = v[a:b]
            out = (part.float() if part.dtype in (self.torch.bfloat16, self.torch.float16) else part).numpy().copy()
            self._release(part)
            return out
        rows = [self._np(t) for t in v[a:b]]
        for t in v[a:b]:
            self._release(t)
        return rows

    def _np(self, t):
        return (t.float() if t.dtype in (self.torch.bfloat16, self.torch.float16) else t).numpy().copy()

    def _release(self, t):
        """Drop the memory-mapped file pages of rows already read (clean, read-only pages: a later
        access would read them from the file again), so the resident set stays one chunk."""
        if not (self.mmapped and _MADVISE is not None and t.is_contiguous() and t.numel()):
            return
        start = t.data_ptr()
        end = start + t.numel() * t.element_size()
        page = os.sysconf("SC_PAGE_SIZE")
        aligned = start - start % page
        _MADVISE(ctypes.c_void_p(aligned), ctypes.c_size_t(end - aligned), 4)     # MADV_DONTNEED

    def close(self):
        self.items.clear()


class _ParquetSource:
    def __init__(self, path: str):
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise TRMInputError(f"{path}: reading .parquet needs pyarrow (pip install pyarrow)") from None
        self.path = path
        try:
            self.file = pq.ParquetFile(path)
        except Exception as exc:
            raise TRMInputError(f"{path}: not a readable parquet file ({exc})") from None
        self.schema = self.file.schema_arrow
        self.B = self.file.metadata.num_rows
        self._iter = None
        self._buffer = None

    def columns(self):
        import pyarrow as pa

        cols = {}
        for f in self.schema:
            t = f.type
            if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
                if pa.types.is_list(t.value_type) or pa.types.is_large_list(t.value_type):
                    cols[f.name] = Column(f.name, (self.B, None, None), str(t.value_type), ragged=True)
                else:
                    cols[f.name] = Column(f.name, (self.B,), str(t.value_type), ragged=True)
            else:
                cols[f.name] = Column(f.name, (self.B,), str(t))
        return cols

    def lengths(self, name):
        import pyarrow.compute as pc

        out = []
        for batch in self.file.iter_batches(batch_size=65536, columns=[name]):
            col = batch.column(0)
            if col.null_count:
                raise TRMInputError(f"{self.path}: column {name!r} has null rows")
            out.append(pc.list_value_length(col).to_numpy(zero_copy_only=False))
        return np.concatenate(out).astype(np.int64) if out else np.zeros(0, np.int64)

    def scalar(self, name):
        for batch in self.file.iter_batches(batch_size=1, columns=[name]):
            return np.asarray(batch.column(0).to_numpy(zero_copy_only=False)[0])
        return np.asarray(0)

    def start(self, names, rows):
        self._names = list(names)
        self._iter = self.file.iter_batches(batch_size=rows, columns=self._names)

    def next_rows(self):
        import pyarrow.compute as pc

        batch = next(self._iter)
        cols = self.columns()
        out = {}
        for i, name in enumerate(self._names):
            col = batch.column(i)
            if col.null_count:
                raise TRMInputError(f"{self.path}: column {name!r} has null rows")
            if cols[name].ragged:
                lens = pc.list_value_length(col).to_numpy(zero_copy_only=False).astype(np.int64)
                flat = pc.list_flatten(col).to_numpy(zero_copy_only=False)
                starts = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
                out[name] = [flat[s:s + n] for s, n in zip(starts, lens)]
            else:
                out[name] = col.to_numpy(zero_copy_only=False)
        return out

    def close(self):
        self._iter = None


# ---------------------------------------------------------------------------------------------
# The dump: key resolution, validation, chunks
# ---------------------------------------------------------------------------------------------

class Dump:
    """One dump file. ``info`` describes it; ``chunks()`` yields validated float64 :class:`Chunk` s."""

    def __init__(self, path, keys: dict | None = None, all_valid: bool = False, memory: int = DEFAULT_MEMORY):
        self.path = str(path)
        suffix = Path(self.path).suffix.lower()
        if suffix not in FORMATS:
            raise TRMInputError(f"{self.path}: unknown format {suffix or '(no suffix)'}; give one of {', '.join(FORMATS)}")
        if not os.path.isfile(self.path):
            raise TRMInputError(f"{self.path}: no such file")
        if memory < 2**20:
            raise TRMInputError(f"memory = {memory}: give at least 1 MiB per chunk")
        self.memory = memory
        self.suffix = suffix
        self.source = {".npz": _NpzSource, ".safetensors": _SafetensorsSource, ".pt": _PtSource,
                       ".parquet": _ParquetSource}[suffix](self.path)
        self.cols = self.source.columns()
        self.roles = self._resolve(keys or {})
        self.all_valid = all_valid
        self.info = self._describe()

    # -- key resolution ------------------------------------------------------------------------
    def _resolve(self, overrides: dict) -> dict:
        roles = {}
        for role, name in overrides.items():
            if role not in ROLE_KEYS:
                raise TRMInputError(f"--keys: unknown role {role!r}; roles are {', '.join(ROLE_KEYS)}")
            if name not in self.cols:
                raise TRMInputError(f"{self.path}: --keys {role}={name}: no such key; the file has "
                                    f"{', '.join(sorted(self.cols)) or 'no arrays'}")
            roles[role] = name
        for role, candidates in ROLE_KEYS.items():
            if role in roles:
                continue
            for name in candidates:
                if name in self.cols and name not in roles.values():
                    roles[role] = name
                    break
        for role in ("old", "rollout"):
            if role not in roles:
                raise TRMInputError(f"{self.path}: missing the {role} log-probs: none of "
                                    f"{', '.join(ROLE_KEYS[role])} is present (keys: {', '.join(sorted(self.cols))}); "
                                    f"name it with --keys {role}=KEY")
        return roles

    def _describe(self) -> DumpInfo:
        p, cols, roles = self.path, self.cols, self.roles
        old, roll = cols[roles["old"]], cols[roles["rollout"]]
        notes = []
        self.ragged = old.ragged
        if old.ragged != roll.ragged:
            raise TRMInputError(f"{p}: {roles['old']} and {roles['rollout']} must both be [B, L] arrays or both "
                                "per-row lists")
        if self.ragged:
            if len(old.shape) != 1:
                raise TRMInputError(f"{p}: {roles['old']}: nested lists; give one list of log-probs per row")
            B = old.shape[0]
            self.row_lengths = self.source.lengths(roles["old"])
            other = self.source.lengths(roles["rollout"])
            if roll.shape[0] != B or not np.array_equal(other, self.row_lengths):
                bad = int(np.flatnonzero(other != self.row_lengths)[0]) if other.shape == self.row_lengths.shape else None
                raise TRMInputError(f"{p}: {roles['old']} and {roles['rollout']} differ in length"
                                    + (f" at row {bad}: {self.row_lengths[bad]} vs {other[bad]}" if bad is not None
                                       else f": {B} vs {roll.shape[0]} rows"))
            L = int(self.row_lengths.max()) if B else 0
        else:
            if len(old.shape) != 2 or old.shape != roll.shape:
                raise TRMInputError(f"{p}: shape mismatch: {roles['old']} {list(old.shape)} and {roles['rollout']} "
                                    f"{list(roll.shape)} must be equal and [B, L]")
            B, L = old.shape
        if "mask" in roles:
            m = cols[roles["mask"]]
            if m.ragged != self.ragged or (not self.ragged and m.shape != old.shape) or (self.ragged and m.shape[0] != B):
                raise TRMInputError(f"{p}: shape mismatch: {roles['mask']} {list(m.shape)} against {roles['old']} "
                                    f"{list(old.shape)}")
            if self.ragged and not np.array_equal(self.source.lengths(roles["mask"]), self.row_lengths):
                raise TRMInputError(f"{p}: {roles['mask']} and {roles['old']} differ in row lengths")
        elif "lengths" in roles:
            m = cols[roles["lengths"]]
            if m.shape != (B,) or m.ragged:
                raise TRMInputError(f"{p}: {roles['lengths']} has shape {list(m.shape)}; expected [{B}] (one length per row)")
        elif not self.ragged and not self.all_valid:
            raise TRMInputError(f"{p}: no response mask: give response_mask [B, L] or response_lengths [B] "
                                "(or --all-valid when no position is padding)")
        if B == 0 or L == 0:
            raise TRMInputError(f"{p}: empty batch ({B} rows of length {L})")
        for role in ("scores", "advantages"):
            if role in roles:
                c = cols[roles[role]]
                ok = (c.shape == (B,) and (not c.ragged or self.ragged)) or (not self.ragged and c.shape == (B, L))
                if not ok:
                    raise TRMInputError(f"{p}: {roles[role]} has shape {list(c.shape)}; expected [{B}] or [{B}, {L}]")
        distributions = None
        for kind in ("full", "topk"):
            a, b = roles.get(f"old_{kind}"), roles.get(f"rollout_{kind}")
            if (a is None) != (b is None):
                raise TRMInputError(f"{p}: {a or b} needs its partner ({ROLE_KEYS['old_' + kind][0] if a is None else ROLE_KEYS['rollout_' + kind][0]})")
            if a is not None and distributions is None:
                ca, cb = cols[a], cols[b]
                if self.ragged or ca.ragged or len(ca.shape) != 3 or ca.shape != cb.shape or ca.shape[:2] != (B, L):
                    raise TRMInputError(f"{p}: {a} {list(ca.shape)} and {b} {list(cb.shape)} must both be [{B}, {L}, K] "
                                        "dense arrays")
                distributions = kind
                self.dist_width = ca.shape[2]
        step = None
        if "step" in roles:
            value = np.asarray(self.source.scalar(roles["step"])).ravel()
            if value.size:
                step = int(value[0])
                if not np.all(value == value[0]):
                    notes.append(f"{roles['step']} is not the same on every row; the first row's {step} is used")
        return DumpInfo(p, self.suffix[1:], int(B), int(L), dict(roles), step, os.path.getsize(p), distributions, notes)

    # -- chunks --------------------------------------------------------------------------------
    def rows_per_chunk(self) -> int:
        per_token = WORK_ARRAYS_PER_TOKEN * 8
        if self.info.distributions:
            per_token += 16 * 8 * self.dist_width     # the [b, L, K] arrays of exact_divergences
        return max(1, int(self.memory // (per_token * self.info.length)))

    def chunks(self, rows: int | None = None):
        rows = rows or self.rows_per_chunk()
        B, roles = self.info.rows, self.roles
        names = [roles[r] for r in ("old", "rollout", "mask", "lengths", "scores", "advantages", "old_full",
                                    "rollout_full", "old_topk", "rollout_topk") if r in roles]
        if isinstance(self.source, _ParquetSource):
            self.source.start(names, rows)
        a = 0
        while a < B:
            b = min(B, a + rows)
            if isinstance(self.source, _ParquetSource):
                raw = self.source.next_rows()
                b = a + len(raw[names[0]])
            else:
                raw = {n: self.source.rows(n, a, b) for n in names}
            yield self._chunk(a, raw)
            a = b

    def _dense(self, value, L, fill=0.0):
        if isinstance(value, list):
            out = np.full((len(value), L), fill, dtype=np.float64)
            for i, row in enumerate(value):
                out[i, :len(row)] = row
            return out
        return np.asarray(value, dtype=np.float64)

    def _chunk(self, start: int, raw: dict) -> Chunk:
        p, roles, L = self.path, self.roles, self.info.length
        b = len(raw[roles["old"]])
        if self.ragged:
            lens = np.array([len(r) for r in raw[roles["old"]]])
            mask = np.arange(L)[None, :] < lens[:, None]
        else:
            mask = np.ones((b, L), dtype=bool)
        if "mask" in roles:
            m = raw[roles["mask"]]
            m = self._dense(m, L) if isinstance(m, list) else np.asarray(m)
            if m.dtype != np.bool_:
                bad = ~((m == 0) | (m == 1))
                if bad.any():
                    i, j = np.argwhere(bad)[0]
                    raise TRMInputError(f"{p}: {roles['mask']}[{start + i}, {j}] = {m[i, j].item()!r}: a mask holds 0 or 1 only")
            mask &= m.astype(bool)
        elif "lengths" in roles:
            lens = np.asarray(raw[roles["lengths"]])
            if lens.dtype.kind not in "iu" and not np.all(lens == np.floor(lens)):
                raise TRMInputError(f"{p}: {roles['lengths']} must hold integers")
            bad = (lens < 0) | (lens > L)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise TRMInputError(f"{p}: {roles['lengths']}[{start + i}] = {lens[i].item()}: must lie in 0..{L}")
            mask &= np.arange(L)[None, :] < lens.astype(np.int64)[:, None]
        old = self._dense(raw[roles["old"]], L)
        roll = self._dense(raw[roles["rollout"]], L)
        _check_log_probs(p, roles["old"], old, mask, start, allow_minus_inf=True)
        _check_log_probs(p, roles["rollout"], roll, mask, start, allow_minus_inf=False)
        old = np.where(mask, old, 0.0)
        roll = np.where(mask, roll, 0.0)
        chunk = Chunk(start, old, roll, mask)
        if "scores" in roles:
            chunk.scores = self._per_row(raw[roles["scores"]], mask, start, roles["scores"], "sum")
        if "advantages" in roles:
            chunk.advantages = self._per_row(raw[roles["advantages"]], mask, start, roles["advantages"], "mean")
        if self.info.distributions:
            kind = self.info.distributions
            chunk.exact = exact_divergences(np.asarray(raw[roles[f"rollout_{kind}"]], np.float64),
                                            np.asarray(raw[roles[f"old_{kind}"]], np.float64), mask, kind, p,
                                            (roles[f"rollout_{kind}"], roles[f"old_{kind}"]), start)
        return chunk

    def _per_row(self, value, mask, start, key, how):
        if isinstance(value, list):
            value = self._dense(value, mask.shape[1])
        x = np.asarray(value, dtype=np.float64)
        if x.ndim == 2:
            bad = mask & ~np.isfinite(x)
            if bad.any():
                i, j = np.argwhere(bad)[0]
                raise TRMInputError(f"{self.path}: {key}[{start + i}, {j}] = {float(x[i, j])}: must be finite")
            s = np.where(mask, x, 0.0).sum(-1)
            if how == "mean":
                s = s / np.maximum(mask.sum(-1), 1)
            return s
        bad = ~np.isfinite(x)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise TRMInputError(f"{self.path}: {key}[{start + i}] = {float(x[i])}: must be finite")
        return x

    def close(self):
        self.source.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _check_log_probs(path, key, x, mask, start, allow_minus_inf):
    with np.errstate(invalid="ignore"):
        bad = mask & (np.isnan(x) | (x > LOGPROB_SLACK) | (np.isneginf(x) & (not allow_minus_inf)))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        v = float(x[i, j])
        why = ("NaN" if np.isnan(v) else "a positive log-probability" if v > 0
               else "−inf: the rollout engine sampled this token, so its log-probability is finite")
        raise TRMInputError(f"{path}: {key}[{start + i}, {j}] = {v!r} at a valid position: {why}")


def exact_divergences(roll_lp, old_lp, mask, kind, path="", keys=("rollout", "old"), start=0) -> dict:
    """Per-token KL(π_roll ‖ π_old), TV and χ²(π_old ‖ π_roll) from log-probs [b, L, K] (THEORY §3, §10).

    kind "full": K is the whole vocabulary; each row is renormalised after checking it sums to 1
    within 1e-3; the values are exact. kind "topk": the K entries are the same K tokens under both
    policies; the rest of the vocabulary is merged into one cell (masses 1 − Σ_K). Every divergence
    of the merged pair is a LOWER bound of the full one (data processing for f-divergences).
    """
    from numerics.divergence import token_chi2, token_kl, token_tv

    for key, lp in zip(keys, (roll_lp, old_lp)):
        with np.errstate(invalid="ignore"):
            bad = mask[..., None] & (np.isnan(lp) | (lp > LOGPROB_SLACK))
        if bad.any():
            i, j, k = np.argwhere(bad)[0]
            raise TRMInputError(f"{path}: {key}[{start + i}, {j}, {k}] = {float(lp[i, j, k])!r}: not a log-probability")
    lp_r = np.where(mask[..., None], roll_lp, 0.0)
    lp_o = np.where(mask[..., None], old_lp, 0.0)
    with np.errstate(under="ignore"):
        p, q = np.exp(lp_r), np.exp(lp_o)
    if kind == "full":
        for key, probs in zip(keys, (p, q)):
            total = probs.sum(-1)
            bad = mask & (np.abs(total - 1.0) > NORMALISATION_TOL)
            if bad.any():
                i, j = np.argwhere(bad)[0]
                raise TRMInputError(f"{path}: {key}[{start + i}, {j}, :] sums to {total[i, j]:.6g}, not 1 "
                                    f"(tolerance {NORMALISATION_TOL})")
        p = p / p.sum(-1, keepdims=True)
        q = q / q.sum(-1, keepdims=True)
    else:
        for key, probs in zip(keys, (p, q)):
            total = probs.sum(-1)
            bad = mask & (total > 1.0 + NORMALISATION_TOL)
            if bad.any():
                i, j = np.argwhere(bad)[0]
                raise TRMInputError(f"{path}: {key}[{start + i}, {j}, :] has top-k mass {total[i, j]:.6g} > 1")
        p = np.concatenate([p, np.clip(1.0 - p.sum(-1, keepdims=True), 0.0, None)], -1)
        q = np.concatenate([q, np.clip(1.0 - q.sum(-1, keepdims=True), 0.0, None)], -1)
    out = {"kl": token_kl(p, q), "tv": token_tv(p, q), "chi2": token_chi2(p, q), "kind": kind}
    for k in ("kl", "tv", "chi2"):
        out[k] = np.where(mask, out[k], 0.0)
    return out


# ---------------------------------------------------------------------------------------------
# Writing (the example dumps, the tests)
# ---------------------------------------------------------------------------------------------

def write_dump(path, arrays: dict, mask_key: str = "response_mask") -> None:
    """Write {name: array} in the format of ``path``'s suffix. Parquet stores one row per sequence:
    [B, L] arrays become lists cut to the row's valid length (from ``arrays[mask_key]``, which is then
    not written), [B, L, K] arrays are refused, [B] and scalars stay columns (scalars repeated)."""
    path = str(path)
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise TRMInputError(f"{path}: unknown format; give one of {', '.join(FORMATS)}")
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    if suffix == ".npz":
        np.savez(path, **arrays)
    elif suffix == ".pt":
        import torch

        torch.save({k: (torch.from_numpy(np.ascontiguousarray(v)) if v.ndim else v.item()) for k, v in arrays.items()},
                   path)
    elif suffix == ".safetensors":
        _write_safetensors(path, arrays)
    else:
        _write_parquet(path, arrays, mask_key)


def _write_safetensors(path, arrays):
    codes = {np.dtype(v): k for k, v in _ST_DTYPES.items() if k != "BF16"}
    header, offset, blobs = {}, 0, []
    for name, a in arrays.items():
        a = np.ascontiguousarray(a)
        if a.dtype not in codes:
            raise TRMInputError(f"{path}: {name} has dtype {a.dtype}, not writable to .safetensors")
        data = a.tobytes()
        header[name] = {"dtype": codes[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(text)))
        fh.write(text)
        for blob in blobs:
            fh.write(blob)


def _write_parquet(path, arrays, mask_key):
    import pyarrow as pa
    import pyarrow.parquet as pq

    mask = arrays.pop(mask_key, None)
    B = next(len(v) for v in arrays.values() if v.ndim)
    lengths = mask.astype(bool).sum(-1) if mask is not None else None
    columns = {}
    for name, a in arrays.items():
        if a.ndim == 0:
            columns[name] = pa.array(np.full(B, a.item()))
        elif a.ndim == 1:
            columns[name] = pa.array(a)
        elif a.ndim == 2:
            n = lengths if lengths is not None else np.full(B, a.shape[1])
            columns[name] = pa.array([row[:k].tolist() for row, k in zip(a, n)], type=pa.list_(pa.from_numpy_dtype(a.dtype)))
        else:
            raise TRMInputError(f"{path}: {name} has {a.ndim} dimensions; .parquet dumps hold [B] and [B, L] columns")
    pq.write_table(pa.table(columns), path)
