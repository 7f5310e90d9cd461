"""`trm audit`: what a training run's log-probs say, with the frameworks' semantics (audit.dialects:
one argument group per dialect) and the suite's."""
from __future__ import annotations

import math
import os
from pathlib import Path

from numerics.errors import TRMInputError
from trm import common
from trm.common import (confidence_level, emit, float_range, fmt, non_negative, output_dir, output_file, positive_int,
                        progress, seed)
from trm.positions import add_position_args, route as route_positions


def run(args) -> int:
    if args.example:
        return _write_example(args)
    from audit import dialects
    from audit.readers import Dump
    from audit.run import AuditConfig, audit_file, plan, trends

    config = AuditConfig.from_options(
        dialects.options_from_args(args), criteria=tuple(args.criterion or ()), budget=args.budget,
        level=args.level, keys=_keys(args.keys), all_valid=args.all_valid, memory=int(args.memory * 2**20))
    pl = plan(config)                 # first: a flag's optional value may have taken the only file name
    if not args.files:
        raise TRMInputError("give one or more dump files (or --example OUT to write one)")
    if args.mask_out and len(args.files) > 1:
        raise TRMInputError("--mask-out: give a single dump file (one mask per training step)")
    total = 0
    for path in args.files:
        with Dump(path, dict(config.keys), config.all_valid, config.memory) as dump:
            total += dump.info.rows
    steps = []
    with progress(total, "seq") as bar:
        for path in args.files:
            steps.append(audit_file(path, pl, mask_out=args.mask_out, progress=bar.update))
    payload = _payload(steps, trends(steps) if len(steps) > 1 else None)
    if args.report:
        from audit.report import write_report

        payload["report"] = [str(p) for p in write_report(payload, Path(args.report))]
    route_positions(payload, dict.fromkeys(("tv_pos_mean", "kl_pos_mean")), args,
                    steps=[s["suite"] for s in (payload["steps"] or [payload])])
    emit(payload, args.json, _human)
    return 0


def _keys(text):
    if not text:
        return ()
    pairs = []
    for part in text.split(","):
        role, sep, key = part.partition("=")
        if not sep or not role.strip() or not key.strip():
            raise TRMInputError(f"--keys {text!r}: give ROLE=KEY pairs, e.g. old=log_probs,mask=loss_masks")
        pairs.append((role.strip(), key.strip()))
    return tuple(pairs)


def _payload(steps, trend):
    """One step: its metrics / criteria / suite at the top. Several: each key maps to per-step lists
    (``trends`` lines up the headline numbers) and ``steps`` holds every step in full."""
    if trend is None:
        return _jsonable({**steps[0], "steps": None})
    return _jsonable({"metrics": {k: [s["metrics"].get(k) for s in steps] for k in steps[-1]["metrics"]},
                      "criteria": {k: [s["criteria"].get(k, {}).get("seq_masked_fraction") for s in steps]
                                   for k in steps[-1]["criteria"]},
                      "suite": {"trends": trend}, "steps": steps, "trends": trend,
                      "files": [s["file"] for s in steps]})


def _jsonable(x):
    import numpy as np

    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return [_jsonable(v) for v in x.tolist()]
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def _human(p):
    steps = p["steps"] or [p]
    if len(steps) > 1:
        tr = p["trends"]
        print(f"{len(steps)} steps")
        cols = [k for k in ("rollout_corr/kl", "rollout_corr/k3_kl", "rollout_corr/chi2_token",
                            "rollout_corr/log_ppl_abs_diff", "rollout_corr/rollout_rs_seq_masked_fraction",
                            "suite/B*_paper") if k in tr]
        print("  " + f"{'step':>6} " + " ".join(f"{c.split('/')[-1]:>24}" for c in cols))
        for i, label in enumerate(tr["step"]):
            print("  " + f"{label!s:>6} " + " ".join(f"{fmt(tr[c][i]):>24}" for c in cols))
        print(f"\nlast step in detail ({steps[-1]['file']}); every step with --json\n")
    _human_step(steps[-1])
    if p.get("report"):
        print(f"\nreport: {p['report'][0]}")


def _human_step(s):
    su = s["suite"]
    print(f"{s['file']}: step {s['step'] if s['step'] is not None else '-'}, {s['rows']} rows × {s['length']} positions, "
          f"{s['tokens']} valid tokens (lengths {su['length']['min']}–{su['length']['max']}, "
          f"median {su['length']['median']:g})")
    from audit import dialects

    for d, metrics in dialects.group_metrics(s["metrics"]):
        print(f"\n{d.NAME} metrics ({dialects.metric_names(d)})" if d else "\nmetrics")
        width = max(len(k) for k in metrics)
        for key, value in metrics.items():
            print(f"  {key:<{width}}  {fmt(value)}")
    if s["criteria"]:
        print("\ncriteria                                   masked tokens   masked rows   rows kept")
        for label, c in s["criteria"].items():
            print(f"  {label:<40} {c['token_masked_fraction']:>13.4g} {c['seq_masked_fraction']:>13.4g} "
                  f"{c['rows_accepted']:>11}")
        for label, c in s["criteria"].items():
            if c.get("near_threshold"):
                print(f"  note: {c['near_threshold']} decision(s) of {label} lie within 1e-6 (relative) of a threshold; "
                      "verl's float32 arithmetic may decide them differently")
    if su["docs_vs_code"]:
        names = list(dict.fromkeys(d.get("dialect", "verl") for d in su["docs_vs_code"]))
        print(f"\n{names[0]}'s documentation and code disagree" if len(names) == 1 else
              "\nthe frameworks' documentation and code disagree")
        for d in su["docs_vs_code"]:
            if len(names) > 1:
                print(f"  [{d.get('dialect', 'verl')}]", end="")
            if "option" in d:
                c, o = d["code"], d["docs"]
                print(f"  {d['option']}: code keeps r in [{c['keeps_ratio_in'][0]:.4g}, {c['keeps_ratio_in'][1]:.4g}] "
                      f"(masks {c['token_masked_fraction']:.4g} of tokens, {c['seq_masked_fraction']:.4g} of rows); "
                      f"docs: r in [{o['keeps_ratio_in'][0]:.4g}, {o['keeps_ratio_in'][1]:.4g}] "
                      f"({o['token_masked_fraction']:.4g}, {o['seq_masked_fraction']:.4g})")
            else:
                print(f"  {d['metric']}: code {fmt(d['code'])} ({d['code_formula']}); docs {fmt(d['docs'])} "
                      f"({d['docs_formula']})")
    print("\nsuite")
    for key, e in su["estimates"].items():
        print(f"  {key:<16} {_est(e)}")
    sm = su["sampled_maxima"]
    print(f"  largest sampled k2 {sm['k2_max']:.4g} (row, position {tuple(sm['k2_argmax'] or ())}), "
          f"k3 {sm['k3_max']:.4g} {tuple(sm['k3_argmax'] or ())}: estimates of δ, not bounds")
    if "kl_max_exact" in sm:
        print(f"  exact max KL over sampled contexts {sm['kl_max_exact']:.4g} ({sm['exact_kind']}), "
              f"TV {sm['tv_max_exact']:.4g}, χ² {sm['chi2_max_exact']:.4g}: lower estimates of δ, ε, χ²_max")
    for label, c in s["criteria"].items():
        model = [b for b in c["length_bias"]["bins"] if "independent_model" in b]
        if model:
            text = ", ".join(f"n≤{b['lengths'][1]}: {b['acceptance']:.3f} vs {b['independent_model']:.3f}" for b in model)
            print(f"  length bias {label}: kept vs (1 − p̂)^n, p̂ = {c['length_bias']['violation_rate']:.3g}: {text}")
    b = su["bounds"]
    print(f"  {b['verdict']['text']}; attained by {b['paper']['argmin']}")
    if b["chi2"].get("available"):
        print(f"  χ² family (THEORY §10): B_χ²-mixed {b['chi2']['B_chi2_mixed']:.4g}, B_χ²-max {b['chi2']['B_chi2_max']:.4g}")
    for t in su["threshold"]["by_length"]:
        print(f"  error budget {su['threshold']['budget']:g} at T = {t['T']} ({t['which']} length): δ ≤ {t['paper']:.3g} "
              f"(paper), {t['sharp']:.3g} (sharp)")
    if "surrogate" in su:
        sg = su["surrogate"]
        cert = sg.get("plugin_certificate_paper")
        print(f"  surrogate L̂' {_est(sg['estimate'])}" + ("" if cert is None else
                                                         f"; plug-in L̂' > B̂* (no level): {'yes' if cert else 'no'}"))
    _human_certified(su)
    for note in s["notes"]:
        print(f"  note: {note}")
    if s.get("mask_out"):
        print(f"\nwrote {s['mask_out']['path']} (key 'mask', {s['mask_out']['shape']})")


def _human_certified(su):
    """The worst-case interval, the certificate and the bounds from means, each with its level."""
    w, c = su["worst_case_error"], su["certificate"]
    if w.get("available") is False:
        print(f"  sup_R|Error|: no interval ({w['why']})")
    else:
        print(f"  sup_R|Error| = E[W⁻] {fmt(w['estimate'])}, {w['level']:.0%} interval [{fmt(w['lower'])}, "
              f"{fmt(w['upper'])}] (lower distribution-free; upper assumes a normal approximation for mean((W⁻)²))")
        for flag in w["flags"]:
            print(f"    flag: {flag}")
    if c.get("available") is False:
        print(f"  certificate: not available ({c['why']})")
    else:
        print(f"  certificate at level {c['level']:g}: J(π_θ) − J(π_roll) ≥ {fmt(c['surrogate_lower'])} − "
              f"{fmt(c['worst_case_upper'])} = {fmt(c['improvement_lower'])}: "
              + ("certified to improve" if c["holds"] else "not certified"))
    fm = su["bounds"].get("from_means", {})
    if "linear_bound" in fm:
        lb = fm["linear_bound"]
        print(f"  from means only ({fm['source']}): linear bound C·Σ_t D̄_t at the upper end of Σ_t D̄_t: "
              f"{fmt(lb['paper'])} (paper), {fmt(lb['sharp'])} (sharp)")


def _est(e):
    if e["mean"] is None:
        return "unavailable"
    if e["se"] is None or not math.isfinite(e["se"]) or e["se"] == 0:
        return f"{fmt(e['mean'])} ± {fmt(e['se'])} (n = {e['n']})"
    return f"{e['mean']:.4g} ± {e['se']:.2g} (n = {e['n']})"


def _write_example(args) -> int:
    import numpy as np

    from audit.example import DEFAULT_MISMATCH, example_dump
    from gpu_sim.device import resolve_device
    from audit.readers import FORMATS, write_dump

    if args.files:
        raise TRMInputError("--example writes a dump; give no input files with it")
    out = Path(args.example)
    if out.suffix.lower() not in FORMATS:
        raise TRMInputError(f"--example {out}: give a file ending in one of {', '.join(FORMATS)}")
    layout = _example_layout(args.example_layout, out, args.example_distributions)
    device = resolve_device(args.device)
    paths = [out] if args.example_steps == 1 else [out.with_name(f"{out.stem}-{k:03d}{out.suffix}")
                                                   for k in range(1, args.example_steps + 1)]
    written = []
    with progress(len(paths), "step") as bar:
        for k, path in enumerate(paths, start=1):
            data = example_dump(args.example_batch, args.example_length, args.example_vocab, seed=args.example_seed,
                                step=k, mismatch=DEFAULT_MISMATCH, stale_sigma=args.example_drift * (k - 1),
                                distributions=args.example_distributions, device=device)
            obj = layout.example(data)
            if all(isinstance(v, np.ndarray) for v in obj.values()):
                write_dump(path, obj)
            else:
                import torch

                torch.save(obj, path)
            n = data["response_mask"].sum(1)
            written.append({"path": str(path), "step": k, "rows": int(n.size), "length": int(data["response_mask"].shape[1]),
                            "lengths": {"min": int(n.min()), "median": float(np.median(n)), "max": int(n.max())},
                            "bytes": os.path.getsize(path)})
            bar.update(1)
    emit({"written": written}, args.json, lambda p: [print(
        f"wrote {w['path']} (step {w['step']}: {w['rows']} rows, lengths {w['lengths']['min']}–{w['lengths']['max']}, "
        f"median {w['lengths']['median']:g})") for w in p["written"]])
    return 0


def _example_layout(name: str, out: Path, distributions):
    """The dialect whose names and layout the example takes (``example(data)``: a dict of arrays any
    format holds, or the framework's own .pt object)."""
    from audit import dialects

    layouts = [d.NAME for d in dialects.all_dialects() if hasattr(d, "example")]
    if name not in layouts:
        raise TRMInputError(f"--example-layout {name!r}: choose one of {', '.join(layouts)}")
    d = dialects.get(name)
    if getattr(d, "EXAMPLE_FORMATS", None) and out.suffix.lower() not in d.EXAMPLE_FORMATS:
        raise TRMInputError(f"--example-layout {name}: {name} writes {', '.join(d.EXAMPLE_FORMATS)} files; "
                            f"give OUT ending in {d.EXAMPLE_FORMATS[0]} (got {out.name})")
    if distributions and getattr(d, "EXAMPLE_FORMATS", None):
        raise TRMInputError(f"--example-distributions: not in {name}'s own layout; use --example-layout verl")
    return d


def add_parser(sub) -> None:
    from audit import dialects

    p = sub.add_parser("audit", help="audit per-token log-probs dumped from a training run ("
                                     + ", ".join(d.NAME for d in dialects.all_dialects()) + ")")
    p.add_argument("files", nargs="*", metavar="FILE", help="dumps (.pt, .safetensors, .npz, .parquet); several = steps")
    dialects.add_arguments(p, common)
    g = p.add_argument_group("the suite")
    g.add_argument("--criterion", action="append", metavar="SPEC", help="suite syntax, e.g. 'trm_max:0.05' or "
                                                                        "'seq_max_k2:0.05,seq_mean_k3:0.001'; repeatable")
    g.add_argument("--budget", type=float_range(0.0, above=True), default=0.1, help="error budget for the threshold (default 0.1)")
    g.add_argument("--level", type=confidence_level, default=0.95,
                   help="confidence level of the worst-case interval and the certificate, in (0, 1) (default 0.95)")
    g = p.add_argument_group("input and output")
    g.add_argument("--keys", help="ROLE=KEY,... to name arrays, roles old, rollout, mask, lengths, scores, advantages, step")
    g.add_argument("--all-valid", action="store_true", help="no mask in the file: every position is a response token")
    g.add_argument("--memory", type=float_range(1.0, 2.0**20), default=256, help="working memory per chunk of rows, MiB (default 256)")
    g.add_argument("--mask-out", metavar="FILE.npz", type=output_file, help="write the response mask after rejection (key 'mask', [B, L])")
    g.add_argument("--report", metavar="DIR", type=output_dir, help="write DIR/report.md with figures")
    add_position_args(g, "each step's suite.tv_pos_mean and suite.kl_pos_mean, one number per position")
    g.add_argument("--json", action="store_true", help="print one JSON object (per-position arrays summarised in "
                                                        "suite.positions; see --positions-out and --json-positions)")
    g = p.add_argument_group("example dump (neural family, an EOS token so lengths vary)")
    g.add_argument("--example", metavar="OUT", help="write an example dump (suffix picks the format) and exit")
    g.add_argument("--example-steps", type=positive_int, default=1, help="write OUT-001 … OUT-N, the mismatch "
                                                                         "growing by --example-drift per step")
    g.add_argument("--example-batch", type=positive_int, default=256, help="example: rows per step")
    g.add_argument("--example-length", type=positive_int, default=256, help="example: maximum response length L")
    g.add_argument("--example-vocab", type=positive_int, default=64, help="example: vocabulary size (token V−1 ends a row)")
    g.add_argument("--example-seed", type=seed, default=0, help="example: seed")
    g.add_argument("--example-drift", type=non_negative, default=0.05, help="θ staleness added per step")
    g.add_argument("--example-distributions", help="also write full (full) or top-k (topk:K) distributions")
    g.add_argument("--example-layout", default="verl", metavar="NAME",
                   help="write the example as that framework holds it: verl, trl, slime (its train dump, .pt), openrlhf")
    g.add_argument("--device", default="cpu", help="example: auto | cpu | cuda")
    p.set_defaults(func=run)
