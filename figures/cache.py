"""Cached figure data with a provenance record (revision, seed, package versions, device).

Data is a flat dict of numpy arrays (strings allowed as 0-d or 1-d unicode arrays), stored as .npz;
the record beside it is JSON and carries the SHA-256 of the .npz bytes. Both are written atomically
(temporary file in the cache directory, then ``os.replace``), the data first and the record last,
so a run interrupted at any point leaves either the previous entry or no valid entry. An entry is
reused only when the record parses, its key matches (configuration, the figure module's source and
the source of the layers below) and the data's hash matches the record; a damaged entry (truncated
.npz, missing or unreadable .json, bad JSON, a hash that differs) counts as missing and is
recomputed.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np

from numerics.errors import TRMInputError
from numerics.validation import atomic_output, quote_path

PACKAGES = ("numpy", "scipy", "sympy", "torch", "matplotlib")


def provenance(cfg, key: str) -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        revision = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                                  cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        revision = "unknown"
    return {"key": key, "revision": revision, "seed": cfg.seed, "fast": cfg.fast, "device": cfg.device,
            "versions": versions}


def _paths(cache_dir: Path, name: str) -> tuple[Path, Path]:
    return cache_dir / f"{name}.npz", cache_dir / f"{name}.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load(cache_dir: Path, name: str, key: str) -> dict | None:
    """The cached data of ``name`` when a valid entry with this key exists, else None (missing,
    stale or damaged entries alike)."""
    data_path, record_path = _paths(Path(cache_dir), name)
    try:
        if not (data_path.is_file() and record_path.is_file()):
            return None
        record = json.loads(record_path.read_text(encoding="utf-8"))
        if not isinstance(record, dict) or record.get("key") != key:
            return None
        if record.get("sha256") != _sha256(data_path):
            return None
        with np.load(data_path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, UnicodeDecodeError, zipfile.BadZipFile, EOFError, KeyError):
        return None
    if sorted(arrays) != sorted(record.get("keys", arrays)):
        return None
    return arrays


def save(cache_dir: Path, name: str, data: dict, record: dict) -> None:
    """Write the data, then the record naming its hash, each atomically."""
    cache_dir = Path(cache_dir)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TRMInputError(f"--cache {quote_path(cache_dir)}: cannot create the directory "
                            f"({exc.strerror or exc})") from None
    data_path, record_path = _paths(cache_dir, name)
    try:
        with atomic_output(data_path) as handle:
            np.savez(handle, **{k: np.asarray(v) for k, v in data.items()})
        record = dict(record, sha256=_sha256(data_path), keys=sorted(data))
        with atomic_output(record_path, "w") as handle:
            handle.write(json.dumps(record, indent=2, sort_keys=True) + "\n")
    except OSError as exc:
        raise TRMInputError(f"--cache {quote_path(cache_dir)}: cannot write ({exc.strerror or exc})") from None
