"""`trm audit --report DIR`: a Markdown report of an audit with its figures (Agg, the committed
style, deterministic PNGs): acceptance against length with the independent-violation model
(1 − p̂)^n, per-token divergence histograms, the worst-case bound against the error budget with the
run's own δ̂ and plug-in B̂*, and (several steps) trends over steps."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from audit import dialects
from figures.render import PNG_METADATA, new_figure, plt

TREND_PANELS = (("rollout_corr/kl", "kl"), ("rollout_corr/k3_kl", "k3_kl"), ("rollout_corr/chi2_token", "chi2_token"),
                ("rollout_corr/log_ppl_abs_diff", "log_ppl_abs_diff"))


def _save(fig, path: Path) -> Path:
    fig.savefig(path, metadata=PNG_METADATA)
    plt.close(fig)
    return path


def acceptance_vs_length(step: dict, path: Path) -> Path:
    fig, ax = new_figure()
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    k = 0
    for label, c in step["criteria"].items():
        bins = c["length_bias"]["bins"]
        if not bins:
            continue
        x = [b["mean_length"] for b in bins]
        color = colors[k % len(colors)]
        ax.plot(x, [b["acceptance"] for b in bins], "o-", color=color, label=label)
        if c["length_bias"]["violation_rate"] is not None:
            ax.plot(x, [b["independent_model"] for b in bins], "--", color=color, alpha=0.7,
                    label=f"(1 − p̂)^n, p̂ = {c['length_bias']['violation_rate']:.2g}")
        k += 1
    if k == 0:
        ax.text(0.5, 0.5, "no masking rule given", ha="center", va="center", transform=ax.transAxes)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("response length n (mean of the bin)")
    ax.set_ylabel("share of rows kept")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Acceptance against length")
    if k:
        ax.legend(loc="lower left")
    return _save(fig, path)


def divergence_histograms(step: dict, path: Path) -> Path:
    h = step["suite"]["histograms"]
    edges = np.asarray(h["edges"])
    fig, ax = new_figure()
    lo = np.concatenate([[edges[0] / 10], edges, [edges[-1] * 10]])
    for key, label in (("abs_log_ratio", "|ℓ| = |log π_θ/π_roll|"), ("k2", "k2 = ½ℓ²"), ("k3", "k3 = e^ℓ − 1 − ℓ")):
        counts = np.asarray(h[key], dtype=float)
        if counts.sum() == 0:
            continue
        ax.stairs(counts / counts.sum(), lo, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("per-token value (outer bins: ≤ 1e-12 and > 1e3)")
    ax.set_ylabel("share of valid tokens")
    ax.set_title("Per-token divergence estimators")
    ax.legend()
    return _save(fig, path)


def bound_vs_budget(step: dict, path: Path) -> Path:
    from numerics.bounds import worst_case_unified

    su = step["suite"]
    T = su["length"]["max"]
    budget = su["threshold"]["budget"]
    deltas = np.logspace(-10, 1, 45)
    fig, ax = new_figure()
    for constants, style in (("paper", "-"), ("sharp", "--")):
        ax.plot(deltas, [worst_case_unified(T, float(d), constants) for d in deltas], style,
                label=f"worst-case B*(δ) at T = {T} ({constants})")
    ax.axhline(budget, color="k", lw=0.8, label=f"budget {budget:g}")
    ax.axhline(1.0, color="0.5", lw=0.6, ls=":", label="1 (vacuous above for a small step, L' ≈ 0)")
    d_hat = su["bounds"]["inputs"]["kl_tok_max"]
    if d_hat > 0:
        ax.axvline(d_hat, color="C3", lw=0.8, label=f"δ̂ = {d_hat:.2g}")
        ax.plot([d_hat], [su["bounds"]["paper"]["unified"]], "o", color="C3", label="plug-in B̂* (paper)")
    thr = [t for t in su["threshold"]["by_length"] if t["which"] == "max"][0]["paper"]
    if math.isfinite(thr):
        ax.axvline(thr, color="k", lw=0.6, ls="--", label=f"threshold δ = {thr:.2g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("δ = max token KL(π_roll ‖ π_θ)")
    ax.set_ylabel("bound on |Error|")
    ax.set_title("Bound against the error budget")
    ax.legend(loc="upper left")
    return _save(fig, path)


def trends(payload: dict, path: Path) -> Path:
    tr = payload["trends"]
    x = tr["step"]
    fig, axes = new_figure(1, 3, figsize=(10.5, 3.4))
    for key, label in TREND_PANELS:
        if key in tr:
            axes[0].plot(x, tr[key], "o-", label=label)
    axes[0].set_title("mismatch metrics")
    shown = [v for key, _ in TREND_PANELS if key in tr for v in tr[key]]
    axes[0].set_yscale("log" if shown and min(shown) > 0 else "symlog", **({} if shown and min(shown) > 0
                                                                            else {"linthresh": 1e-4}))
    axes[0].legend()
    for key, values in tr.items():
        if key.startswith("acceptance/"):
            axes[1].plot(x, values, "o-", label=key.split("/", 1)[1])
    axes[1].set_title("rows kept")
    axes[1].set_ylim(-0.02, 1.02)
    if any(k.startswith("acceptance/") for k in tr):
        axes[1].legend()
    axes[2].plot(x, tr["suite/B*_paper"], "o-", label="plug-in B̂* (paper)")
    axes[2].plot(x, tr["suite/B*_sharp"], "o--", label="plug-in B̂* (sharp)")
    axes[2].axhline(1.0, color="0.5", lw=0.6, ls=":")
    axes[2].set_yscale("log")
    axes[2].set_title("bound")
    axes[2].legend()
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.set_xlabel("step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return _save(fig, path)


def write_report(payload: dict, out_dir: Path) -> list[Path]:
    """Write out_dir/report.md and its PNGs; returns [report.md, figures...]."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    steps = payload["steps"] or [payload]
    step = steps[-1]
    figs = [acceptance_vs_length(step, out_dir / "acceptance_vs_length.png"),
            divergence_histograms(step, out_dir / "divergence_histograms.png"),
            bound_vs_budget(step, out_dir / "bound_vs_budget.png")]
    if len(steps) > 1:
        figs.append(trends(payload, out_dir / "trends.png"))
    report = out_dir / "report.md"
    report.write_text(_markdown(payload, steps, [f.name for f in figs]))
    return [report] + figs


def _f(v):
    if v is None:
        return "–"
    if isinstance(v, float):
        return "inf" if math.isinf(v) else f"{v:.6g}"
    return str(v)


def _certified_markdown(su) -> list[str]:
    """sup_R|Error| with its interval, the certificate and the bounds from means, each with its level."""
    w, c, fm = su["worst_case_error"], su["certificate"], su["bounds"].get("from_means", {})
    lines = ["### With a confidence level", ""]
    if w.get("available") is False:
        lines += [f"No interval for sup_R|Error|: {w['why']}.", ""]
    else:
        lines += [f"sup_R|Error| = E_roll[W⁻] = {_f(w['estimate'])}, {w['level']:g} interval "
                  f"[{_f(w['lower'])}, {_f(w['upper'])}] over {w['n']} rows.", "", f"Method: {w['method']}", ""]
        lines += [f"- flag: {f}" for f in w["flags"]] + ([""] if w["flags"] else [])
    if c.get("available") is False:
        lines += [f"No certificate: {c['why']}.", ""]
    else:
        lines += [f"**Certificate at level {c['level']:g}: J(π_θ) − J(π_roll) ≥ {_f(c['surrogate_lower'])} − "
                  f"{_f(c['worst_case_upper'])} = {_f(c['improvement_lower'])}: "
                  + ("certified to improve" if c["holds"] else "not certified") + ".**", "", f"Method: {c['method']}", ""]
    if fm.get("available") is not False and fm:
        lines += [f"Bound inputs that are means ({fm['source']}), level {fm['level']:g}:", "",
                  "| quantity | estimate | lower | upper |", "|---|---|---|---|"]
        lines += [f"| {fm[k]['what']} | {_f(fm[k]['estimate'])} | {_f(fm[k]['lower'])} | {_f(fm[k]['upper'])} |"
                  for k in ("kl_seq", "tv_seq", "chi2_sum", "tv_sum") if "estimate" in fm.get(k, {})]
        if "linear_bound" in fm:
            lines += ["", f"Linear bound at the upper end of Σ_t D̄_t: {_f(fm['linear_bound']['paper'])} (paper), "
                          f"{_f(fm['linear_bound']['sharp'])} (sharp); {fm['linear_bound']['reading']}."]
        lines.append("")
    return lines


def _markdown(payload, steps, figs) -> str:
    step = steps[-1]
    su = step["suite"]
    lines = ["# Audit of a training step" if len(steps) == 1 else f"# Audit of {len(steps)} training steps", ""]
    lines += [f"File `{step['file']}` (step {_f(step['step'])}): {step['rows']} rows × {step['length']} positions, "
              f"{step['tokens']} valid tokens; lengths {su['length']['min']}–{su['length']['max']} "
              f"(median {su['length']['median']:g}). Keys: " + ", ".join(f"{r} = `{k}`" for r, k in step["keys"].items()),
              ""]
    if len(steps) > 1:
        tr = payload["trends"]
        cols = [k for k in tr if k != "step" and not k.endswith("_se")]
        lines += ["## Trends", "", "| step | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
        for i, s in enumerate(tr["step"]):
            lines.append(f"| {s} | " + " | ".join(_f(tr[c][i]) for c in cols) + " |")
        lines += ["", "![trends](trends.png)", ""]
        lines += [f"The rest of this report is the last step, `{step['file']}`.", ""]
    for d, metrics in dialects.group_metrics(step["metrics"]):
        name = d.NAME if d else "other"
        lines += [f"## {name} metrics", "", f"As {name} logs them (`{dialects.metric_names(d)}`, computed as {name}'s "
                  "code does)." if d else "", "", "| metric | value |", "|---|---|"]
        lines += [f"| `{k}` | {_f(v)} |" for k, v in metrics.items()]
        lines.append("")
    if lines[-1] == "":
        lines.pop()
    if step["criteria"]:
        lines += ["", "## Criteria", "", "| rule | masked tokens | masked rows | rows kept |", "|---|---|---|---|"]
        lines += [f"| `{k}` | {_f(c['token_masked_fraction'])} | {_f(c['seq_masked_fraction'])} | {c['rows_accepted']} |"
                  for k, c in step["criteria"].items()]
    lines += ["", "![acceptance against length](acceptance_vs_length.png)", ""]
    if su["docs_vs_code"]:
        names = list(dict.fromkeys(d.get("dialect", "verl") for d in su["docs_vs_code"]))
        lines += [f"## Where {names[0]}'s documentation and code disagree" if len(names) == 1 else
                  "## Where the frameworks' documentation and code disagree", ""]
        for d in su["docs_vs_code"]:
            who = f"{d.get('dialect', 'verl')}: " if len(names) > 1 else ""
            if "option" in d:
                lines.append(f"- {who}`{d['option']}`: the code keeps r ∈ [{d['code']['keeps_ratio_in'][0]:.4g}, "
                             f"{d['code']['keeps_ratio_in'][1]:.4g}] and masks {d['code']['seq_masked_fraction']:.4g} of "
                             f"the rows; the documented band r ∈ [{d['docs']['keeps_ratio_in'][0]:.4g}, "
                             f"{d['docs']['keeps_ratio_in'][1]:.4g}] would mask {d['docs']['seq_masked_fraction']:.4g}.")
            else:
                lines.append(f"- {who}`{d['metric']}`: code {_f(d['code'])} ({d['code_formula']}); documented "
                             f"{_f(d['docs'])} ({d['docs_formula']}).")
        lines.append("")
    lines += ["## The suite's reading", "", "| estimate | mean | standard error | n |", "|---|---|---|---|"]
    lines += [f"| {k} | {_f(e['mean'])} | {_f(e['se'])} | {e['n']} |" for k, e in su["estimates"].items()]
    sm = su["sampled_maxima"]
    lines += ["", f"Largest sampled k2 = {_f(sm['k2_max'])}, k3 = {_f(sm['k3_max'])} ({sm['reading']}).", ""]
    if "kl_max_exact" in sm:
        lines += [f"Exact maxima over the sampled contexts ({sm['exact_kind']}): KL {_f(sm['kl_max_exact'])}, "
                  f"TV {_f(sm['tv_max_exact'])}, χ² {_f(sm['chi2_max_exact'])} ({sm['exact_reading']}).", ""]
    b = su["bounds"]
    lines += ["### Plug-in bounds", "", f"**{b['verdict']['text']}.**", "",
              "| bound | paper constants | sharp constants |", "|---|---|---|"]
    lines += [f"| {k} | {_f(b['paper'][k])} | {_f(b['sharp'][k])} |" for k in b["paper"] if k != "argmin"]
    if b["chi2"].get("available"):
        lines += [f"| χ²-mixed (THEORY §10) | {_f(b['chi2']['B_chi2_mixed'])} | |",
                  f"| χ²-max (THEORY §10) | {_f(b['chi2']['B_chi2_max'])} | |"]
    lines += [""] + [f"- {n}" for n in b["notes"]] + [""]
    lines += ["### Threshold for the error budget", "", f"Budget {su['threshold']['budget']:g}: {su['threshold']['reading']}.",
              "", "| length | T | δ (paper) | δ (sharp) |", "|---|---|---|---|"]
    lines += [f"| {t['which']} | {t['T']} | {_f(t['paper'])} | {_f(t['sharp'])} |" for t in su["threshold"]["by_length"]]
    lines += ["", "![bound against budget](bound_vs_budget.png)", "", "![divergence histograms](divergence_histograms.png)",
              ""]
    if "surrogate" in su:
        sg = su["surrogate"]
        lines += [f"Surrogate L̂' = {_f(sg['estimate']['mean'])} ± {_f(sg['estimate']['se'])}"
                  + (f"; plug-in comparison L̂' > B̂* (paper, no confidence level): "
                     f"{'yes' if sg.get('plugin_certificate_paper') else 'no'}"
                     if "plugin_certificate_paper" in sg else " (scores outside [0, 1]: no certificate)") + ".", ""]
    lines += _certified_markdown(su)
    if step["notes"]:
        lines += ["## Notes", ""] + [f"- {n}" for n in step["notes"]] + [""]
    return "\n".join(lines)
