"""`trm bench`: Benchmarks (not timed tests): exact and sim."""
from __future__ import annotations


from numerics.errors import TRMInputError
from trm.common import emit, positive_int


def run(args) -> int:
    if args.what == "sim":
        return _bench_sim(args)
    if args.what != "exact":
        raise TRMInputError(f"bench {args.what!r}: unknown benchmark; choose 'exact' or 'sim'")
    from numerics.benchmarks import bench_exact

    records = bench_exact(args.states, (args.vocab or [64])[0], args.T or [4096, 16384, 65536], args.repeats, args.seed)
    base = records[0]
    for r in records:
        r["time_ratio_vs_first"] = r["seconds"] / base["seconds"]
        r["length_ratio_vs_first"] = r["T"] / base["T"]
    payload = {"benchmark": "exact dynamic programme", "records": records}

    def human(p):
        print(f"{'S':>5} {'V':>5} {'T':>8} {'seconds':>9} {'ns/position':>12} {'time ×':>8} {'T ×':>6}")
        for r in p["records"]:
            print(f"{r['S']:>5} {r['V']:>5} {r['T']:>8} {r['seconds']:>9.3f} {r['ns_per_position']:>12.0f} "
                  f"{r['time_ratio_vs_first']:>8.2f} {r['length_ratio_vs_first']:>6.0f}")

    emit(payload, args.json, human)
    return 0


def _bench_sim(args) -> int:
    from gpu_sim.bench import bench_sim
    from gpu_sim.device import resolve_device

    device = resolve_device(args.device)
    grid = [(b, t, v) for b in args.batch for t in (args.T or [4096]) for v in (args.vocab or [64, 256])]
    records = bench_sim(device, grid, states=args.states, baseline_T=args.baseline_T, seed=args.seed)
    payload = {"benchmark": "finite-state simulator vs per-step baseline", "records": records}

    def human(p):
        print(f"{'device':<8} {'batch':>6} {'T':>7} {'V':>6} {'fast tok/s':>12} {'baseline tok/s':>15} {'speedup':>8} "
              f"{'device MB':>9} {'RSS MB':>7}")
        for r in p["records"]:
            peak = "-" if r["peak_device_bytes"] is None else f"{r['peak_device_bytes'] / 2**20:.0f}"
            print(f"{r['device']:<8} {r['batch']:>6} {r['T']:>7} {r['V']:>6} {r['fast_tokens_per_s']:>12.3g} "
                  f"{r['baseline_tokens_per_s']:>15.3g} {r['speedup']:>8.1f} {peak:>9} "
                  f"{r['process_peak_rss_bytes'] / 2**20:>7.0f}")
            if "achieved_bandwidth_GBps" in r:
                print(f"         achieved ≈{r['achieved_bandwidth_GBps']:.0f} GB/s of {r['copy_bandwidth_GBps']:.0f} GB/s copy bandwidth")

    emit(payload, args.json, human)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="benchmarks (not timed tests): exact | sim")
    p.add_argument("what", help="exact (dynamic programme) or sim (simulator vs per-step baseline)")
    p.add_argument("--states", type=positive_int, default=64)
    p.add_argument("--vocab", type=positive_int, nargs="+", default=None, help="default 64 (exact); 64 256 (sim)")
    p.add_argument("--T", type=positive_int, nargs="+", default=None,
                   help="default 4096 16384 65536 (exact); 4096 (sim)")
    p.add_argument("--batch", type=positive_int, nargs="+", default=[1024, 8192], help="sim: batch sizes")
    p.add_argument("--baseline-T", type=positive_int, default=512, help="sim: positions timed for the baseline")
    p.add_argument("--device", default="auto")
    p.add_argument("--repeats", type=positive_int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
