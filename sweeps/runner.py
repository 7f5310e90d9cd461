"""Run a sweep's jobs on a local process pool (default) or a Ray cluster, and cache the results.

Every job runs in :func:`execute`, which never raises: a job that fails comes back as
``status = "failed"`` with the exception, and the sweep goes on. A worker process that dies (killed
for memory, say) fails the jobs it held; they are retried once on a fresh pool. Workers use one
BLAS/torch thread each (parallelism is across jobs).

Results land in the figure cache (:mod:`figures.cache`) as ``sweep-<name>``: a flat table with one
row per job (its parameters, its outputs, NaN where a job has no such output, its status and error)
and the provenance record (revision, seed, package versions, device) with the spec, the backend and
the failures. The cache key covers the spec and the source of proofs/, numerics/, gpu_sim/, sweeps/.
"""
from __future__ import annotations

import hashlib
import os
import socket
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from numerics.errors import TRMInputError
from sweeps.spec import Job, SweepSpec

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("proofs", "numerics", "gpu_sim", "sweeps")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class Outcome:
    job: Job
    status: str                 # "ok" or "failed"
    outputs: dict
    error: str | None
    worker: str


@dataclass
class SweepResult:
    spec: SweepSpec
    outcomes: list
    backend: str
    cached: bool = False
    record: dict = field(default_factory=dict)

    @property
    def failures(self) -> list:
        return [o for o in self.outcomes if o.status != "ok"]


def _single_thread() -> None:
    for name in THREAD_VARIABLES:
        os.environ[name] = "1"


def execute(kind: str, params: dict) -> dict:
    """Run one job in this process; never raises (a failure is returned with its message)."""
    _single_thread()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        import sys

        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(1)
        from sweeps.jobs import run_job

        return {"status": "ok", "outputs": run_job(kind, params), "error": None, "worker": worker}
    except Exception as exc:  # noqa: BLE001 — every failure is reported with the job's parameters
        return {"status": "failed", "outputs": {}, "error": f"{type(exc).__name__}: {exc}", "worker": worker}


def _outcome(job: Job, raw: dict) -> Outcome:
    return Outcome(job, raw["status"], raw["outputs"], raw["error"], raw["worker"])


def run_sweep(spec: SweepSpec, workers: int | None = None, address: str | None = None, progress=None) -> SweepResult:
    """Run every job: inline when ``workers`` is 1, on a local process pool of ``workers`` processes
    (default: the CPU count), or through Ray when ``address`` is given ("local" starts a local Ray
    instance, "auto" joins the cluster on this node, "ray://host:port" a remote one)."""
    if workers is not None and workers < 1:
        raise TRMInputError(f"--workers {workers}: must be at least 1")
    if address is not None:
        outcomes = _run_ray(spec, address, workers, progress)
        backend = f"ray ({address})"
    elif workers == 1:
        outcomes = []
        for job in spec.jobs:
            outcomes.append(_outcome(job, execute(job.kind, job.params)))
            if progress is not None:
                progress(outcomes[-1])
        backend = "inline"
    else:
        n = workers or os.cpu_count() or 1
        outcomes = _run_pool(spec, n, progress)
        backend = f"process pool ({n} workers)"
    outcomes.sort(key=lambda o: o.job.index)
    return SweepResult(spec, outcomes, backend)


def _run_pool(spec: SweepSpec, workers: int, progress) -> list:
    pending = list(spec.jobs)
    tries = {job.index: 0 for job in pending}
    outcomes = []
    while pending:
        retry = []
        with ProcessPoolExecutor(max_workers=min(workers, len(pending)), mp_context=get_context("spawn"),
                                 initializer=_single_thread) as pool:
            futures = {pool.submit(execute, job.kind, job.params): job for job in pending}
            for future in as_completed(futures):
                job = futures[future]
                try:
                    outcome = _outcome(job, future.result())
                except BrokenProcessPool:
                    tries[job.index] += 1
                    if tries[job.index] < 2:
                        retry.append(job)
                        continue
                    outcome = Outcome(job, "failed", {}, "its worker process died (twice)", "")
                outcomes.append(outcome)
                if progress is not None:
                    progress(outcome)
        pending = retry
    return outcomes


def _run_ray(spec: SweepSpec, address: str, workers: int | None, progress) -> list:
    try:
        import ray
    except ImportError:
        raise TRMInputError("--address: Ray is not installed (pip install 'trm-verify[sweep]')") from None
    started = not ray.is_initialized()
    if started:
        options = {"include_dashboard": False, "log_to_driver": False}
        if address == "local":
            options["num_cpus"] = workers or os.cpu_count() or 1
        try:
            ray.init(address=None if address == "local" else address, **options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise TRMInputError(f"--address {address!r}: cannot reach a Ray cluster ({exc})") from None
    remote = ray.remote(num_cpus=1, max_retries=1)(execute)
    try:
        refs = {remote.remote(job.kind, job.params): job for job in spec.jobs}
        outcomes = []
        while refs:
            done, _ = ray.wait(list(refs), num_returns=1)
            for ref in done:
                job = refs.pop(ref)
                try:
                    outcome = _outcome(job, ray.get(ref))
                except ray.exceptions.RayError as exc:        # the worker died, or the task was lost
                    outcome = Outcome(job, "failed", {}, f"{type(exc).__name__}: {exc}", "")
                outcomes.append(outcome)
                if progress is not None:
                    progress(outcome)
        return outcomes
    finally:
        if started:
            ray.shutdown()


# ----------------------------------------------------------------------------- cache

def code_fingerprint() -> str:
    """Hash of the source of every layer a job's numbers depend on."""
    digest = hashlib.sha256()
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key(spec: SweepSpec) -> str:
    from figures.config import FigureConfig

    return FigureConfig(seed=spec.seed).key(spec.canonical() + code_fingerprint())


def cache_name(spec: SweepSpec) -> str:
    return f"sweep-{spec.name}"


def result_table(result: SweepResult) -> dict:
    """The flat table the cache stores: one row per job, its parameters, outputs, status and error."""
    import numpy as np

    outcomes = result.outcomes
    params = sorted({k for o in outcomes for k in o.job.params})
    outputs = sorted({k for o in outcomes for k in o.outputs})
    table = {"job": np.array([o.job.index for o in outcomes]), "kind": np.array([o.job.kind for o in outcomes]),
             "status": np.array([o.status for o in outcomes]),
             "error": np.array([o.error or "" for o in outcomes]),
             "worker": np.array([o.worker for o in outcomes])}
    for key in params:
        values = [o.job.params.get(key) for o in outcomes]
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            table[f"param.{key}"] = np.array(values, dtype=np.int64)
        elif all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values):
            table[f"param.{key}"] = np.array([np.nan if v is None else float(v) for v in values])
        else:
            table[f"param.{key}"] = np.array(["" if v is None else str(v) for v in values])
    for key in outputs:
        table[f"out.{key}"] = np.array([o.outputs.get(key, np.nan) for o in outcomes], dtype=np.float64)
    return table


def save_result(result: SweepResult, cache_dir: Path) -> dict:
    """Write the table and its provenance record into the figure cache; returns the record."""
    from figures import cache
    from figures.config import FigureConfig

    key = cache_key(result.spec)
    record = cache.provenance(FigureConfig(seed=result.spec.seed), key)
    record.update({"spec": result.spec.source, "backend": result.backend, "jobs": len(result.outcomes),
                   "failures": [{"job": o.job.index, "kind": o.job.kind, "params": o.job.params, "error": o.error}
                                for o in result.failures]})
    cache.save(Path(cache_dir), cache_name(result.spec), result_table(result), record)
    result.record = record
    return record


def load_cached(spec: SweepSpec, cache_dir: Path) -> dict | None:
    """The cached table of this spec when its key (spec and code) matches, else None."""
    from figures import cache

    return cache.load(Path(cache_dir), cache_name(spec), cache_key(spec))
