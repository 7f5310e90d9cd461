"""The dump: key resolution, validation and chunks of validated float64 rows."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from audit.dialects import role_keys
from audit.readers.common import DEFAULT_MEMORY, FORMATS, LOGPROB_SLACK, WORK_ARRAYS_PER_TOKEN
from audit.readers.divergences import exact_divergences
from audit.readers.npz import NpzSource
from audit.readers.parquet import ParquetSource
from audit.readers.pt import PtSource
from audit.readers.safetensors_file import SafetensorsSource
from numerics.errors import TRMInputError

#: Names no dialect claims: the suite's own (distributions, lengths, step) and generic ones. The
#: frameworks' names come from their dialects (audit.dialects: each module's KEYS), tried first.
BASE_KEYS = {
    "old": (),
    "rollout": ("rollout_per_token_logps",),
    "mask": (),
    "lengths": ("lengths",),
    "scores": ("scores", "rewards"),
    "advantages": ("advantages",),
    "step": ("global_step", "step"),
    "old_full": ("old_log_probs_full",),
    "rollout_full": ("rollout_log_probs_full",),
    "old_topk": ("old_topk_log_probs",),
    "rollout_topk": ("rollout_topk_log_probs",),
}
#: role → names, first match wins (as the dialects found at import stand; Dump asks the registry anew).
ROLE_KEYS = role_keys(BASE_KEYS)


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
        self.source = {".npz": NpzSource, ".safetensors": SafetensorsSource, ".pt": PtSource,
                       ".parquet": ParquetSource}[suffix](self.path)
        self.cols = self.source.columns()
        self.roles = self._resolve(keys or {})
        self.all_valid = all_valid
        self.info = self._describe()

    # -- key resolution ------------------------------------------------------------------------
    def _resolve(self, overrides: dict) -> dict:
        known = role_keys(BASE_KEYS)
        roles = {}
        for role, name in overrides.items():
            if role not in known:
                raise TRMInputError(f"--keys: unknown role {role!r}; roles are {', '.join(known)}")
            if name not in self.cols:
                self._refuse_unreadable(name)
                raise TRMInputError(f"{self.path}: --keys {role}={name}: no such key; the file has "
                                    f"{', '.join(sorted(self.cols)) or 'no arrays'}")
            roles[role] = name
        for role, candidates in known.items():
            if role in roles:
                continue
            for name in candidates:
                if name in self.cols and name not in roles.values():
                    roles[role] = name
                    break
        for role in ("old", "rollout"):
            if role not in roles:
                for name in known[role]:
                    self._refuse_unreadable(name)
                raise TRMInputError(f"{self.path}: missing the {role} log-probs: none of "
                                    f"{', '.join(known[role])} is present (keys: {', '.join(sorted(self.cols))}); "
                                    f"name it with --keys {role}=KEY")
        return roles

    def _refuse_unreadable(self, name: str) -> None:
        """A one-line error when ``name`` holds objects the .pt reader left unpickled."""
        cls = getattr(self.source, "unreadable", lambda _: None)(name)
        if cls is not None:
            raise TRMInputError(f"{self.path}: {name!r} holds {cls} objects, which torch.load(weights_only=True) "
                                "refuses and the audit does not unpickle; save it as a tensor (or a list of 1-D "
                                "tensors)")

    def _describe(self) -> DumpInfo:
        p, cols, roles = self.path, self.cols, self.roles
        known = role_keys(BASE_KEYS)
        old, roll = cols[roles["old"]], cols[roles["rollout"]]
        notes = list(getattr(self.source, "notes", ()))
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
        if "extra_mask" in roles:
            m = cols[roles["extra_mask"]]
            if m.ragged != self.ragged or (not self.ragged and m.shape != old.shape) or (self.ragged and m.shape[0] != B) \
                    or (self.ragged and not np.array_equal(self.source.lengths(roles["extra_mask"]), self.row_lengths)):
                raise TRMInputError(f"{p}: shape mismatch: {roles['extra_mask']} {list(m.shape)} against {roles['old']} "
                                    f"{list(old.shape)}")
        if "mask" not in roles and "lengths" in roles:
            m = cols[roles["lengths"]]
            if m.shape != (B,) or m.ragged:
                raise TRMInputError(f"{p}: {roles['lengths']} has shape {list(m.shape)}; expected [{B}] (one length per row)")
        elif "mask" not in roles and not self.ragged and not self.all_valid:
            if "extra_mask" in roles:
                raise TRMInputError(f"{p}: {roles['extra_mask']} alone is no response mask: give response_mask [B, L] "
                                    "or response_lengths [B] with it")
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
                raise TRMInputError(f"{p}: {a or b} needs its partner ({known['old_' + kind][0] if a is None else known['rollout_' + kind][0]})")
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

    def no_valid_token_message(self) -> str:
        """The one-line refusal of a dump whose rows are all masked (found once its rows are read)."""
        r = self.roles
        what = (f"{r['mask']}: every entry is 0" if "mask" in r else f"{r['lengths']}: every length is 0"
                if "lengths" in r else f"{r['old']}: every row is empty")
        return f"{self.path}: {what} (no valid token in {self.info.rows} rows)"

    # -- chunks --------------------------------------------------------------------------------
    def rows_per_chunk(self) -> int:
        per_token = WORK_ARRAYS_PER_TOKEN * 8
        if self.info.distributions:
            per_token += 16 * 8 * self.dist_width     # the [b, L, K] arrays of exact_divergences
        return max(1, int(self.memory // (per_token * self.info.length)))

    def chunks(self, rows: int | None = None):
        rows = rows or self.rows_per_chunk()
        B, roles = self.info.rows, self.roles
        names = [roles[r] for r in ("old", "rollout", "mask", "extra_mask", "lengths", "scores", "advantages", "old_full",
                                    "rollout_full", "old_topk", "rollout_topk") if r in roles]
        if isinstance(self.source, ParquetSource):
            self.source.start(names, rows)
        a = 0
        while a < B:
            b = min(B, a + rows)
            if isinstance(self.source, ParquetSource):
                raw = self.source.next_rows()
                b = a + len(raw[names[0]])
            else:
                raw = {n: self.source.rows(n, a, b) for n in names}
            yield self._chunk(a, raw)
            a = b

    def _zero_one(self, m, key, L, start) -> np.ndarray:
        m = self._dense(m, L) if isinstance(m, list) else np.asarray(m)
        if m.dtype != np.bool_:
            bad = ~((m == 0) | (m == 1))
            if bad.any():
                i, j = np.argwhere(bad)[0]
                raise TRMInputError(f"{self.path}: {key}[{start + i}, {j}] = {m[i, j].item()!r}: a mask holds 0 or 1 only")
        return m.astype(bool)

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
        for role in ("mask", "extra_mask"):
            if role in roles:
                mask &= self._zero_one(raw[roles[role]], roles[role], L, start)
        if "mask" not in roles and "lengths" in roles:
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
