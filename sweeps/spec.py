"""Sweep specifications: a small JSON or TOML grid of exact / simulate / worst-case jobs.

    {"name": "tightness_at_scale", "seed": 0,
     "jobs": [{"kind": "exact", "family": "automaton", "states": 8, "vocab": 4,
               "T": [16, 256, 4096], "sigma": [0.01, 0.1]},
              {"kind": "worst_case", "family": "tabular", "vocab": 2, "T": [2, 3, 4]}]}

or the same in TOML (``name = ...``, ``[[jobs]]`` tables). Every list-valued entry of a job is an axis
of its grid; the jobs are the Cartesian product, in the order the keys are written. A job draws its
pair with :func:`numerics.generators.random_pair` (``family`` and the generator options, the seed
being the job's ``seed``, default the spec's) or loads ``file`` (.npz); ``kind`` picks what is
computed (:mod:`sweeps.jobs`).
"""
from __future__ import annotations

import itertools
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from numerics.errors import TRMInputError

KINDS = ("exact", "simulate", "worst_case")
#: Options of every job, by kind (beyond the pair's own options in PAIR_KEYS).
KIND_KEYS = {
    "exact": {"max_memory", "max_seconds"},
    "simulate": {"samples", "chunk", "block", "criteria", "reference_delta"},
    "worst_case": {"budget"},
}
PAIR_KEYS = {"family", "file", "T", "seed", "states", "vocab", "prompts", "k", "cap", "time_dependent",
             "binary_reward", "mismatch", "sigma", "df", "rate", "flip_sigma", "tau", "fork_fraction", "peak",
             "fork_scale"}
#: Largest number of jobs one spec may expand to (a guard against a mistyped grid).
MAX_JOBS = 100_000


@dataclass(frozen=True)
class Job:
    index: int
    kind: str
    params: dict

    def describe(self) -> str:
        return f"job {self.index} ({self.kind}: " + ", ".join(f"{k}={v}" for k, v in self.params.items()) + ")"


@dataclass(frozen=True)
class SweepSpec:
    name: str
    seed: int
    jobs: tuple[Job, ...]
    source: dict = field(compare=False)

    def canonical(self) -> str:
        """The spec as canonical JSON (the cache key's input)."""
        return json.dumps(self.source, sort_keys=True)


def load_spec(path: str | Path) -> SweepSpec:
    """Read and expand a spec file (.json or .toml)."""
    path = Path(path)
    if not path.is_file():
        raise TRMInputError(f"SPEC {str(path)!r}: no such file")
    text = path.read_text()
    try:
        if path.suffix == ".toml":
            raw = tomllib.loads(text)
        elif path.suffix == ".json":
            raw = json.loads(text)
        else:
            raise TRMInputError(f"SPEC {path.name!r}: the format is read from the suffix, .json or .toml")
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise TRMInputError(f"SPEC {path.name!r}: not valid {path.suffix[1:].upper()} ({exc})") from None
    return parse_spec(raw)


def parse_spec(raw) -> SweepSpec:
    """Validate a spec (a mapping) and expand its grids into jobs."""
    if not isinstance(raw, dict):
        raise TRMInputError("spec: the top level must be a mapping with 'name', 'jobs' (and optionally 'seed')")
    unknown = set(raw) - {"name", "seed", "jobs"}
    if unknown:
        raise TRMInputError(f"spec: unknown top-level keys {sorted(unknown)}; expected name, seed, jobs")
    name = raw.get("name")
    if not isinstance(name, str) or not name or not name.replace("_", "").replace("-", "").isalnum():
        raise TRMInputError(f"spec name = {name!r}: give a non-empty name of letters, digits, '-' and '_' "
                            "(it names the cache entry)")
    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise TRMInputError(f"spec seed = {seed!r}: must be a non-negative integer")
    grids = raw.get("jobs")
    if not isinstance(grids, list) or not grids:
        raise TRMInputError("spec jobs: give a non-empty list of job grids")
    jobs = []
    for g, grid in enumerate(grids):
        jobs.extend(_expand(g, grid, seed, len(jobs)))
    return SweepSpec(name, seed, tuple(jobs), raw)


def _expand(g: int, grid, seed: int, start: int) -> list[Job]:
    where = f"jobs[{g}]"
    if not isinstance(grid, dict):
        raise TRMInputError(f"{where}: each job grid must be a mapping, got {type(grid).__name__}")
    kind = grid.get("kind")
    if kind not in KINDS:
        raise TRMInputError(f"{where}.kind = {kind!r}: choose one of {', '.join(KINDS)}")
    if ("family" in grid) == ("file" in grid):
        raise TRMInputError(f"{where}: give exactly one of 'family' (a generated pair) or 'file' (.npz)")
    allowed = PAIR_KEYS | KIND_KEYS[kind] | {"kind"}
    unknown = set(grid) - allowed
    if unknown:
        raise TRMInputError(f"{where}: unknown keys {sorted(unknown)} for kind {kind!r}; allowed: {sorted(allowed)}")
    axes = {}
    for key, value in grid.items():
        if key == "kind":
            continue
        values = value if isinstance(value, list) and key != "criteria" else [value]
        if not values:
            raise TRMInputError(f"{where}.{key}: an empty list gives no jobs")
        for v in values:
            _check_scalar(f"{where}.{key}", key, v)
        axes[key] = values
    count = math.prod(len(v) for v in axes.values())
    if start + count > MAX_JOBS:
        raise TRMInputError(f"{where}: the grids expand to more than {MAX_JOBS:,} jobs")
    jobs = []
    for combo in itertools.product(*axes.values()):
        params = dict(zip(axes, combo))
        params.setdefault("seed", seed)
        jobs.append(Job(start + len(jobs), kind, params))
    return jobs


def _check_scalar(where: str, key: str, value) -> None:
    if key == "criteria":
        if not (isinstance(value, list) and all(isinstance(c, str) for c in value)):
            raise TRMInputError(f"{where} = {value!r}: a list of criterion strings, e.g. [\"trm_max:0.05\"]")
        return
    if key in ("family", "file", "mismatch"):
        if not isinstance(value, str):
            raise TRMInputError(f"{where} = {value!r}: must be a string")
        return
    if key in ("time_dependent", "binary_reward"):
        if not isinstance(value, bool):
            raise TRMInputError(f"{where} = {value!r}: must be true or false")
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TRMInputError(f"{where} = {value!r}: must be a finite number")
