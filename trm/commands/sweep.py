"""`trm sweep`: run a grid of exact / simulate / worst-case jobs (process pool or Ray), cached with provenance."""
from __future__ import annotations

import math
from pathlib import Path

from trm.common import emit, fmt, positive_int, progress

#: Outputs shown per job in the human table (all of them are in --json and in the cache).
SHOWN = ("error", "worst_case_error", "error_mean", "error_se", "B_star_paper", "B_star_sharp", "seconds")


def run(args) -> int:
    from figures.build import DEFAULT_CACHE
    from sweeps.runner import cache_key, cache_name, load_cached, result_table, run_sweep, save_result
    from sweeps.spec import load_spec

    spec = load_spec(args.spec)
    cache_dir = Path(args.cache) if args.cache else DEFAULT_CACHE
    table = None if args.refresh else load_cached(spec, cache_dir)
    cached = table is not None
    backend = "cache"
    if table is None:
        bar = progress(len(spec.jobs), "job")
        try:
            result = run_sweep(spec, workers=args.workers, address=args.address, progress=lambda outcome: bar.update(1))
        finally:
            bar.close()
        save_result(result, cache_dir)
        table = result_table(result)
        backend = result.backend
    jobs = _rows(table)
    failures = [row for row in jobs if row["status"] != "ok"]
    payload = {"name": spec.name, "jobs_total": len(jobs), "failed": len(failures), "backend": backend,
               "cached": cached, "cache": str(cache_dir / f"{cache_name(spec)}.npz"), "key": cache_key(spec),
               "jobs": jobs, "failures": failures}
    emit(payload, args.json, _human)
    return 1 if failures else 0


def _rows(table: dict) -> list[dict]:
    rows = []
    for i in range(len(table["job"])):
        params, outputs = {}, {}
        for key, column in table.items():
            value = column[i].item()
            if key.startswith("param.") and value not in ("",) and not (isinstance(value, float) and math.isnan(value)):
                params[key[6:]] = value
            elif key.startswith("out.") and not (isinstance(value, float) and math.isnan(value)):
                outputs[key[4:]] = value
        rows.append({"job": int(table["job"][i]), "kind": str(table["kind"][i]), "status": str(table["status"][i]),
                     "error": str(table["error"][i]) or None, "params": params, "outputs": outputs})
    return rows


def _human(p: dict) -> None:
    source = "from the cache" if p["cached"] else f"on {p['backend']}"
    print(f"sweep {p['name']}: {p['jobs_total']} jobs {source}, {p['failed']} failed; data in {p['cache']}")
    for row in p["jobs"]:
        params = ", ".join(f"{k}={fmt(v)}" for k, v in row["params"].items())
        if row["status"] == "ok":
            shown = ", ".join(f"{k}={fmt(row['outputs'][k])}" for k in SHOWN if k in row["outputs"])
            print(f"  [{row['job']}] {row['kind']} ({params}): {shown}")
    for row in p["failures"]:
        params = ", ".join(f"{k}={fmt(v)}" for k, v in row["params"].items())
        print(f"  FAILED [{row['job']}] {row['kind']} ({params}): {row['error']}")


def add_parser(sub) -> None:
    p = sub.add_parser("sweep", help="run a grid of exact / simulate / worst-case jobs (process pool or Ray), "
                                     "results cached with provenance")
    p.add_argument("spec", help="sweep specification (.json or .toml): name, seed, jobs (grids)")
    p.add_argument("--workers", type=positive_int, default=None,
                   help="local worker processes (default: CPU count; 1 runs the jobs in this process); "
                        "with --address, the CPUs of a local Ray instance")
    p.add_argument("--address", default=None,
                   help="run through Ray: 'local' (start a local instance), 'auto' (the cluster on this node) "
                        "or ray://host:port")
    p.add_argument("--cache", default=None, help="cache directory (default: ./figures-out/cache, the figures' cache, in the working directory)")
    p.add_argument("--refresh", action="store_true", help="recompute even when the cache holds this spec's results")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
