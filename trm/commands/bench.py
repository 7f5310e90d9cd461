"""`trm bench`: Benchmarks (not timed tests): exact and sim."""
from __future__ import annotations


from numerics.errors import TRMInputError
from trm.common import add_limit_args, emit, horizon, int_range, limits, positive_int, seed


def run(args) -> int:
    if args.what == "sim":
        return _bench_sim(args)
    if args.what != "exact":
        raise TRMInputError(f"bench {args.what!r}: unknown benchmark; choose 'exact' or 'sim'")
    from numerics.benchmarks import bench_exact
    from numerics.validation import check_memory, check_time, dp_bytes, dp_seconds

    memory_limit, time_limit = limits(args)
    vocabs, lengths = args.vocab or [64], args.T or [4096, 16384, 65536]
    for V in vocabs:
        check_memory(dp_bytes(args.states, V, max(lengths), False), memory_limit,
                     f"the exact benchmark (--states {args.states}, --vocab {V}, --T {max(lengths):,})")
    check_time(sum(dp_seconds(args.states, V, T, False) for V in vocabs for T in lengths) * args.repeats * 2,
               time_limit, "the exact benchmark (every --vocab × --T × --repeats)")
    records = []
    for V in vocabs:
        group = bench_exact(args.states, V, lengths, args.repeats, args.seed)
        base = group[0]
        for r in group:
            r["time_ratio_vs_first"] = r["seconds"] / base["seconds"]
            r["length_ratio_vs_first"] = r["T"] / base["T"]
        records += group
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
    from numerics.validation import check_memory, check_time, simulation_bytes, simulation_seconds

    device = resolve_device(args.device)
    memory_limit, time_limit = limits(args)
    grid = [(b, t, v) for b in args.batch for t in (args.T or [4096]) for v in (args.vocab or [64, 256])]
    seconds = 0.0
    for b, t, v in grid:
        check_memory(simulation_bytes(rows=args.states, V=v, T=t, samples=b, chunk=b, block=256), memory_limit,
                     f"the simulator benchmark at --batch {b}, --T {t:,}, --vocab {v}")
        baseline_tokens = b * min(t, args.baseline_T)
        seconds += simulation_seconds(tokens=b * t, V=v, cuda=device.type == "cuda") + baseline_tokens * v / 2e7
    check_time(seconds, time_limit, "the simulator benchmark (every --batch × --T × --vocab, with the baseline)")
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
    p = sub.add_parser("bench", help="benchmarks (not timed tests): exact | sim",
                       description="Benchmarks: 'exact' times the dynamic programme for every --vocab and --T; "
                                   "'sim' compares the simulator with a per-step baseline for every --batch, --T "
                                   "and --vocab.")
    p.add_argument("what", help="exact (dynamic programme) or sim (simulator vs per-step baseline)")
    p.add_argument("--states", type=int_range(1, 2**24), default=64, help="automaton states S")
    p.add_argument("--vocab", type=int_range(1, 2**20), nargs="+", default=None,
                   help="vocabulary sizes (default 64 for exact; 64 256 for sim)")
    p.add_argument("--T", type=horizon, nargs="+", default=None,
                   help="lengths (default 4096 16384 65536 for exact; 4096 for sim)")
    p.add_argument("--batch", type=int_range(1, 2**24), nargs="+", default=[1024, 8192], help="sim: batch sizes")
    p.add_argument("--baseline-T", type=positive_int, default=512, help="sim: positions timed for the baseline")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--repeats", type=int_range(1, 1000), default=3, help="exact: best of this many runs")
    p.add_argument("--seed", type=seed, default=0, help="seed in [0, 2^63)")
    add_limit_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
