"""Cached figure data with a provenance record (revision, seed, package versions, device).

Data is a flat dict of numpy arrays (strings allowed as 0-d or 1-d unicode arrays), stored as .npz;
the record beside it is JSON. The data is reused when the cache key (configuration and the figure
module's source) is unchanged.
"""
from __future__ import annotations

import json
import subprocess
from importlib import metadata
from pathlib import Path

import numpy as np

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


def load(cache_dir: Path, name: str, key: str) -> dict | None:
    data_path, record_path = cache_dir / f"{name}.npz", cache_dir / f"{name}.json"
    if not (data_path.exists() and record_path.exists()):
        return None
    if json.loads(record_path.read_text()).get("key") != key:
        return None
    with np.load(data_path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def save(cache_dir: Path, name: str, data: dict, record: dict) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.savez(cache_dir / f"{name}.npz", **{k: np.asarray(v) for k, v in data.items()})
    (cache_dir / f"{name}.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
