"""`trm bench`: Benchmarks (not timed tests): exact and sim."""
from __future__ import annotations

import numpy as np


from numerics.errors import TRMInputError
from trm.common import add_limit_args, emit, horizon, int_range, limits, positive_int, seed


def run(args) -> int:
    if args.what == "sim":
        return _bench_sim(args)
    if args.what == "startup":
        return _bench_startup(args)
    if args.what != "exact":
        raise TRMInputError(f"bench {args.what!r}: unknown benchmark; choose 'exact', 'sim' or 'startup'")
    from numerics.benchmarks import bench_exact, benchmark_pair, roofline, thread_settings

    _check_exact_bench_size(args)
    records = [r for V in (args.vocab or [64])
               for r in bench_exact(args.states, V, args.T or [4096, 65536, 1048576, 10**7], args.repeats, args.seed,
                                    time_dependent=args.time_dependent, baseline_max_T=args.baseline_max_T)]
    if args.command:
        from trm.process_bench import bench_exact_command

        for r in records:
            r.update(bench_exact_command(benchmark_pair(r["S"], r["V"], r["T"], args.seed, args.time_dependent),
                                         args.repeats))
            r["command_over_engine"] = r["command_seconds"] / r["suite_seconds"]
            r["in_process_over_engine"] = r["command_in_process_seconds"] / r["suite_seconds"]
    payload = {"benchmark": "exact engine vs a vectorised numpy loop and the per-step DP",
               "threads": thread_settings(), "roofline": roofline(), "records": records}

    def human(p):
        _print_machine(p)
        print(f"{'S':>4} {'V':>4} {'T':>10} {'engine':>10} {'suite s':>9} {'ns/pos':>8} {'numpy loop s':>12} "
              f"{'per-step DP s':>13} {'× loop':>7} {'× DP':>7} {'peak MiB':>8} {'RSS MiB':>8}")
        opt = lambda v, f: "-" if v is None else format(v, f)
        for r in p["records"]:
            print(f"{r['S']:>4} {r['V']:>4} {r['T']:>10} {r['engine']:>10} {r['suite_seconds']:>9.4f} "
                  f"{r['ns_per_position']:>8.1f} {opt(r['numpy_loop_seconds'], '.4f'):>12} "
                  f"{opt(r['per_step_dp_seconds'], '.4f'):>13} {opt(r['speedup_vs_numpy_loop'], '.1f'):>7} "
                  f"{opt(r['speedup_vs_per_step_dp'], '.1f'):>7} {r['suite_peak_bytes'] / 2**20:>8.1f} "
                  f"{r['process_peak_rss_bytes'] / 2**20:>8.0f}")
        print("peak MiB: the engine's traced allocations (tracemalloc); RSS: the process's high-water mark so far")
        if any("command_seconds" in r for r in p["records"]):
            print(f"\nthe whole command, `{p['records'][0]['command']}` (a fresh process: start-up, load, engine, "
                  "second moments, every bound, output)")
            print(f"{'S':>4} {'V':>4} {'T':>10} {'engine s':>9} {'command s':>10} {'median s':>9} {'cpu s':>7} "
                  f"{'× engine':>9} {'in-process s':>12} {'× engine':>9} {'peak RSS MiB':>12}")
            for r in p["records"]:
                print(f"{r['S']:>4} {r['V']:>4} {r['T']:>10} {r['suite_seconds']:>9.3f} {r['command_seconds']:>10.3f} "
                      f"{r['command_seconds_median']:>9.3f} {r['command_cpu_seconds']:>7.3f} {r['command_over_engine']:>9.2f} "
                      f"{r['command_in_process_seconds']:>12.3f} {r['in_process_over_engine']:>9.2f} "
                      f"{r['command_peak_rss_bytes'] / 2**20:>12.0f}")
            print("command: best wall of fresh processes (cpu: their best user + system time); in-process: the same "
                  "command through trm.cli.main in this process (no interpreter start-up)")
            if not p["records"][0]["bytecode_cache"]:
                print("note: PYTHONDONTWRITEBYTECODE is set, so every run compiles the project's modules afresh")

    emit(payload, args.json, human)
    return 0


def _bench_startup(args) -> int:
    from trm.process_bench import bench_startup

    payload = {"benchmark": "start-up of the light commands against python3 -c 'import numpy' (fresh processes, "
                            "run in turn)", **bench_startup(args.runs)}

    def human(p):
        print(f"{p['runs']} runs each, in turn; wall and CPU seconds median (min–max), peak RSS; ratios to "
              "`python3 -c 'import numpy'` taken run by run")
        for name, stats in p["wall_seconds"].items():
            cpu = p["cpu_seconds"][name]
            line = (f"  {name:<15} wall {stats['median']:.3f} s ({stats['min']:.3f}–{stats['max']:.3f})  "
                    f"cpu {cpu['median']:.3f} s  {p['peak_rss_bytes'][name] / 2**20:.0f} MiB")
            if name in p["over_import_numpy"]:
                w, c = p["over_import_numpy"][name], p["cpu_over_import_numpy"][name]
                line += f"   × numpy: wall {w['median']:.2f} ({w['min']:.2f}–{w['max']:.2f}), cpu {c['median']:.2f}"
            print(line)
        if not p["bytecode_cache"]:
            print("note: PYTHONDONTWRITEBYTECODE is set, so every run compiles the project's modules afresh")

    emit(payload, args.json, human)
    return 0


def _check_exact_bench_size(args) -> None:
    """Refuse, before building any pair, a benchmark whose engine plan (or time-dependent pair) would
    exceed --memory-limit / --time-limit; the baselines only run up to --baseline-max-T."""
    from numerics.exact import check_plan, plan_exact
    from numerics.pair import AutomatonPair
    from numerics.validation import check_memory

    memory_limit, time_limit = limits(args)
    S = args.states
    for V in args.vocab or [64]:
        for T in args.T or [4096, 65536, 1048576, 10**7]:
            if args.time_dependent:
                check_memory(2 * 8 * T * S * V, memory_limit, f"the time-dependent pair (T = {T:,}, S = {S}, V = {V})")
                continue
            # a uniform pair of the same sizes: the plan depends on (T, S, V) only
            probs = np.full((S, V), 1.0 / V)
            shape = AutomatonPair(np.full(S, 1.0 / S), np.zeros((S, V), dtype=np.int64), probs, probs, np.zeros(S), T)
            check_plan(plan_exact(shape), memory_limit or None, (time_limit / max(1, 2 * args.repeats)) or None)


def _print_machine(p) -> None:
    threads = ", ".join(f"{k}={v}" for k, v in p["threads"].items())
    roof = p["roofline"]
    print(f"threads: {threads}")
    print(f"roofline (same run): GEMM {roof['gemm_GFLOPs']:.1f} GFLOP/s (n = {roof['gemm_n']}), "
          f"copy {roof['copy_GBps']:.1f} GB/s ({roof['copy_MiB']} MiB)")


def _bench_sim(args) -> int:
    from gpu_sim.bench import bench_neural, bench_sim, roofline, set_threads, thread_settings
    from gpu_sim.device import resolve_device
    from gpu_sim.finite_state import compiled_step_available
    from numerics.validation import check_memory, check_time, simulation_bytes, simulation_seconds

    device = resolve_device(args.device)
    memory_limit, time_limit = limits(args)
    set_threads(args.threads)
    grid = [(b, t, v) for b in args.batch for t in (args.T or [4096]) for v in (args.vocab or [64, 256])]
    seconds = 0.0
    for b, t, v in grid:
        check_memory(simulation_bytes(rows=args.states, V=v, T=t, samples=b, chunk=b, block=256), memory_limit,
                     f"the simulator benchmark at --batch {b}, --T {t:,}, --vocab {v}")
        baseline_tokens = b * min(t, args.baseline_T)
        seconds += (simulation_seconds(tokens=b * t, V=v, cuda=device.type == "cuda",
                                       compiled=compiled_step_available(device)) + baseline_tokens * v / 2e7)
    check_time(seconds, time_limit, "the simulator benchmark (every --batch × --T × --vocab, with the baseline)")
    records = bench_sim(device, grid, states=args.states, baseline_T=args.baseline_T, seed=args.seed,
                        repeats=args.repeats)
    payload = {"benchmark": "finite-state simulator vs torch ops, a numpy loop and torch.distributions",
               "threads": thread_settings(), "roofline": roofline(device), "records": records}
    if args.neural_vocab:
        payload["neural"] = [bench_neural(device, vocab=v, batch=args.neural_batch, T=args.neural_T, seed=args.seed,
                                          repeats=args.repeats) for v in args.neural_vocab]

    def human(p):
        _print_machine(p)
        opt = lambda v, f: "-" if v is None else format(v, f)
        print(f"{'device':<7} {'kernel':<6} {'batch':>6} {'T':>6} {'V':>5} {'suite tok/s':>12} {'torch ops':>10} "
              f"{'numpy loop':>10} {'torch.dist':>10} {'× ops':>6} {'× numpy':>7} {'× dist':>7} {'RSS MB':>7}")
        for r in p["records"]:
            print(f"{r['device']:<7} {r['kernel']:<6} {r['batch']:>6} {r['T']:>6} {r['V']:>5} "
                  f"{r['suite_tokens_per_s']:>12.3g} {opt(r.get('torch_ops_tokens_per_s'), '.3g'):>10} "
                  f"{opt(r.get('numpy_loop_tokens_per_s'), '.3g'):>10} "
                  f"{r['torch_distributions_tokens_per_s']:>10.3g} {opt(r['speedup_vs_torch_ops'], '.1f'):>6} "
                  f"{opt(r['speedup_vs_numpy_loop'], '.1f'):>7} {r['speedup_vs_torch_distributions']:>7.1f} "
                  f"{r['process_peak_rss_bytes'] / 2**20:>7.0f}")
        print(f"(baselines timed on {p['records'][0]['baseline_T']} positions; suite ≈ "
              f"{p['records'][-1]['achieved_GBps']:.2f} GB/s moved of {p['records'][-1]['copy_GBps']:.1f} GB/s copy)")
        for r in p.get("neural", []):
            print(f"neural V = {r['vocab']}: inverse-CDF sampler {r['inverse_cdf_tokens_per_s']:.3g} tok/s, "
                  f"torch.multinomial {r['multinomial_tokens_per_s']:.3g} tok/s, × {r['speedup']:.1f} "
                  f"(batch {r['batch']}, T = {r['T']})")

    emit(payload, args.json, human)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="benchmarks (not timed tests): exact | sim | startup",
                       description="Benchmarks: 'exact' times the dynamic programme for every --vocab and --T (with "
                                   "--command, also the whole `trm exact --json` process); 'sim' compares the "
                                   "simulator with a per-step baseline for every --batch, --T and --vocab; 'startup' "
                                   "times trm bounds, trm threshold and trm --help against importing numpy.")
    p.add_argument("what", help="exact (dynamic programme), sim (simulator vs per-step baseline) or startup")
    p.add_argument("--states", type=int_range(1, 2**24), default=64, help="automaton states S")
    p.add_argument("--vocab", type=int_range(1, 2**20), nargs="+", default=None,
                   help="vocabulary sizes (default 64 for exact; 64 256 for sim)")
    p.add_argument("--T", type=horizon, nargs="+", default=None,
                   help="lengths (default 4096 65536 1048576 10000000 for exact; 4096 for sim)")
    p.add_argument("--batch", type=int_range(1, 2**24), nargs="+", default=[1024], help="sim: batch sizes")
    p.add_argument("--baseline-T", type=positive_int, default=512, help="sim: positions timed for the baseline")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--repeats", type=int_range(1, 1000), default=3, help="exact: best of this many runs")
    p.add_argument("--threads", type=int_range(1, 1024), default=1, help="sim: torch and numba threads")
    p.add_argument("--neural-vocab", type=int_range(2, 32768), nargs="*", default=[],
                   help="sim: also compare the neural family's samplers at these vocabularies (e.g. 32768)")
    p.add_argument("--neural-batch", type=int_range(1, 2**16), default=64, help="sim: neural batch size")
    p.add_argument("--neural-T", type=int_range(1, 2**20), default=16, help="sim: neural sequence length")
    p.add_argument("--seed", type=seed, default=0, help="seed in [0, 2^63)")
    p.add_argument("--time-dependent", action="store_true", help="exact: a time-dependent pair (T, S, V)")
    p.add_argument("--baseline-max-T", type=positive_int, default=65536,
                   help="exact: longest T at which the baselines run (they hold [T, S] arrays)")
    p.add_argument("--command", action="store_true",
                   help="exact: also time `python3 -m trm exact PAIR.npz --json` on each pair as a fresh process "
                        "(wall seconds, peak RSS, and the ratio to the engine alone)")
    p.add_argument("--runs", type=int_range(1, 1000), default=10, help="startup: runs of each command")
    add_limit_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
