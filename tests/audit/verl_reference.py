"""An independent torch transcription of verl's rollout-correction algorithm (whole batch at once).

Written from verl's description of ``compute_rollout_correction_and_rejection_mask`` and its helpers
(verl/trainer/ppo/rollout_corr_helper.py, verl/utils/torch_functional.py at commit b178a3c): every
step is the batch-wide torch operation verl performs, with none of the chunking, streaming or
numpy of :mod:`audit.dialects.verl`. The tests compare the library against this twin token for
token and metric for metric. It is test code: it trusts its inputs.
"""
from __future__ import annotations

import math

import torch

BOUND = 20.0


def mmean(x, m, dim=None):
    """masked_mean: NaN-safe masked sum over (count + 1e-8)."""
    s = torch.where(m.bool(), x, torch.zeros_like(x)) * m
    if dim is None:
        return s.sum() / (m.sum() + 1e-8)
    return s.sum(dim) / (m.sum(dim) + 1e-8)


def msum(x, m, dim=-1):
    return (torch.where(m.bool(), x, torch.zeros_like(x)) * m).sum(dim)


def parse(options_text, thresholds):
    names = []
    for raw in options_text.split(","):
        raw = raw.strip()
        if raw and raw not in names:
            names.append(raw)
    specs = [str(thresholds)] if isinstance(thresholds, (int, float)) else \
        [p.strip() for p in thresholds.split(",") if p.strip()]
    if len(specs) == 1:
        specs = specs * len(names)
    assert len(specs) == len(names)
    parsed = {}
    for name, spec in zip(names, specs):
        if name.endswith("k1"):
            if "_" in spec:
                lo, hi = spec.split("_", 1)
            else:
                hi, lo = spec, str(1.0 / float(spec))
            parsed[name] = (float(lo), float(hi))
        else:
            parsed[name] = (None, float(spec))
    return names, parsed


def rejection(log_ratio, mask, options_text, thresholds):
    """(modified response mask, metrics) of verl's rejection step."""
    names, parsed = parse(options_text, thresholds)
    safe = log_ratio.clamp(-BOUND, BOUND)
    tok = {"k1": -safe, "k2": 0.5 * safe ** 2, "k3": torch.exp(safe) - 1.0 - safe}
    mb = mask.bool()
    seq_valid = mask.sum(-1) > 0
    combined = torch.ones_like(mask, dtype=log_ratio.dtype)
    metrics = {}
    for name in names:
        lo, hi = parsed[name]
        k1 = name.endswith("k1")
        est = name[-2:]
        lo_log = math.log(lo) if k1 else None
        hi_log = math.log(hi) if k1 else None
        per_seq = None
        if name.startswith("token"):
            stat = tok[est]
            keep = (stat >= lo_log) & (stat <= hi_log) if k1 else stat <= hi
            level = "token"
        else:
            level = "sequence"
            if name.startswith("seq_sum"):
                s = msum(tok[est], mask)
            elif name.startswith("seq_mean"):
                s = mmean(tok[est], mask, -1)
            else:
                filled = tok[est].masked_fill(~mb, float("-inf")).max(-1).values
                s = torch.where(filled == float("-inf"), torch.zeros_like(filled), filled)
            keep_seq = (s >= lo_log) & (s <= hi_log) if k1 else s <= hi
            keep = keep_seq.unsqueeze(-1).expand_as(mb)
            stat = s.unsqueeze(-1).expand_as(mask)
            per_seq = s
        up_m = hi_log if k1 else hi
        lo_m = lo_log if k1 else 0.0
        keep_f = keep.to(log_ratio.dtype)
        combined = combined * keep_f
        seq_keep = (~((~keep) & mb)).all(-1)
        metrics.update(_rs_metrics(name, stat, mask, seq_valid, level, per_seq, up_m, lo_m, k1))
        metrics[f"rollout_rs_{name}_masked_fraction"] = mmean(1 - keep_f, mask).item()
        sv = seq_valid.to(log_ratio.dtype)
        metrics[f"rollout_rs_{name}_seq_masked_fraction"] = (
            ((1.0 - seq_keep.to(log_ratio.dtype)) * sv).sum() / sv.sum()).item() if sv.sum() > 0 else 0.0
    metrics["rollout_rs_masked_fraction"] = mmean(1 - combined, mask).item()
    kept = (combined > 0.5) & mb
    metrics["rollout_rs_seq_masked_fraction"] = (~kept & mb).any(-1).float().mean().item()
    return (mask * combined).to(mask.dtype), metrics


def _rs_metrics(name, stat, mask, seq_valid, level, per_seq, up, lo, k1):
    p = f"rollout_rs_{name}"
    mb = mask.bool()
    seqv = per_seq if per_seq is not None else mmean(stat, mask, -1)
    sv = seqv[seq_valid]
    out = {f"{p}_mean": mmean(stat, mask).item()}
    if level == "sequence" and sv.numel() > 0:
        out[f"{p}_max"] = sv.max().item()
        out[f"{p}_min"] = sv.min().item()
        out[f"{p}_fraction_high"] = (sv > up).float().mean().item()
        out[f"{p}_fraction_low"] = (sv < lo).float().mean().item() if k1 else 0.0
    else:
        out[f"{p}_max"] = stat.masked_fill(~mb, float("-inf")).max().item()
        out[f"{p}_min"] = stat.masked_fill(~mb, float("inf")).min().item()
        out[f"{p}_fraction_high"] = mmean((stat > up).float(), mask).item()
        out[f"{p}_fraction_low"] = mmean((stat < lo).float(), mask).item() if k1 else 0.0
    if mask.sum() > 1:
        c = stat.clamp(min=lo if k1 else 0.0, max=up)
        var = mmean(c.square(), mask) - mmean(c, mask).square()
        out[f"{p}_std"] = torch.sqrt(torch.clamp(var, min=0.0)).item()
    else:
        out[f"{p}_std"] = 0.0
    out[f"{p}_seq_mean"] = sv.mean().item()
    out[f"{p}_seq_std"] = sv.std().item() if sv.numel() > 1 else 0.0
    out[f"{p}_seq_max"] = sv.max().item()
    out[f"{p}_seq_min"] = sv.min().item()
    out[f"{p}_seq_max_deviation"] = sv.abs().max().item()
    out[f"{p}_seq_fraction_high"] = (sv > up).float().mean().item()
    if k1:
        out[f"{p}_seq_fraction_low"] = (sv < lo).float().mean().item()
    return out


def importance(log_ratio, mask, level, thr, batch_normalize=False):
    """Metrics of verl's IS-weight step (weights before truncation enter the metrics)."""
    if level == "token":
        lr_m = log_ratio
        w = torch.exp(log_ratio.clamp(-BOUND, BOUND))
    else:
        lr_m = msum(log_ratio, mask).unsqueeze(-1)
        w = torch.exp(lr_m.clamp(-BOUND, BOUND)).expand_as(log_ratio)
    w = w * mask
    out = {}
    low = 1.0 / thr
    lu = torch.log(torch.tensor(thr))
    ll = torch.log(torch.tensor(low))
    if level == "sequence":
        out["rollout_is_max"] = torch.exp(torch.clamp(lr_m.max(), max=BOUND)).item()
        out["rollout_is_min"] = torch.exp(lr_m.min()).item()
        out["rollout_is_mean"] = mmean(w, mask).item()
        out["rollout_is_ratio_fraction_high"] = (lr_m > lu).float().mean().item()
        out["rollout_is_ratio_fraction_low"] = (lr_m < ll).float().mean().item()
    else:
        out["rollout_is_mean"] = mmean(w, mask).item()
        out["rollout_is_ratio_fraction_high"] = mmean((w > thr).float(), mask).item()
        out["rollout_is_ratio_fraction_low"] = mmean((w < low).float(), mask).item()
        out["rollout_is_max"] = w.masked_fill(~mask.bool(), float("-inf")).max().item()
        out["rollout_is_min"] = w.masked_fill(~mask.bool(), float("inf")).min().item()
    c = w.clamp(min=low, max=thr)
    if mask.sum() > 1:
        var = mmean(c.square(), mask) - mmean(c, mask).square()
        out["rollout_is_std"] = torch.sqrt(torch.clamp(var, min=0.0)).item()
    else:
        out["rollout_is_std"] = 0.0
    norm = c / (mmean(c, mask) + 1e-8)
    out["rollout_is_eff_sample_size"] = 1.0 / mmean(norm.square(), mask).item()
    sm = mmean(w, mask, -1)
    out["rollout_is_seq_mean"] = sm.mean().item()
    out["rollout_is_seq_std"] = sm.std().item() if sm.numel() > 1 else 0.0
    out["rollout_is_seq_max"] = sm.max().item()
    out["rollout_is_seq_min"] = sm.min().item()
    out["rollout_is_seq_max_deviation"] = (sm - 1.0).abs().max().item()
    out["rollout_is_seq_fraction_high"] = (sm > thr).float().mean().item()
    out["rollout_is_seq_fraction_low"] = (sm < low).float().mean().item()
    if batch_normalize:
        t = w.clamp(max=thr)
        if level == "token":
            mean = mmean(t, mask)
        else:
            sw = mmean(t, mask, -1)
            sm_ = (mask.sum(-1) > 0).to(t.dtype)
            mean = (sw * sm_).sum() / sm_.sum().clamp_min(1e-8)
        out["rollout_is_batch_norm_factor"] = mean.item() if mean > 1e-8 else 1.0
    return out


def offpolicy(old, roll, mask):
    out = {}
    mt = mmean(old, mask, -1)
    out["training_ppl"] = torch.exp(-mt).mean().item()
    out["training_log_ppl"] = (-mt).mean().item()
    out["kl"] = mmean(roll - old, mask).item()
    lr = old - roll
    out["k3_kl"] = mmean(torch.exp(lr) - lr - 1, mask).item()
    mr = mmean(roll, mask, -1)
    out["rollout_ppl"] = torch.exp(-mr).mean().item()
    out["rollout_log_ppl"] = (-mr).mean().item()
    d = mr - mt
    out["log_ppl_diff"] = d.mean().item()
    out["log_ppl_abs_diff"] = d.abs().mean().item()
    out["log_ppl_diff_max"] = d.max().item()
    out["log_ppl_diff_min"] = d.min().item()
    out["ppl_ratio"] = torch.exp(d).mean().item()
    rho = torch.exp(lr.clamp(-BOUND, BOUND))
    out["chi2_token"] = (mmean(rho.square(), mask) - 1.0).item()
    s = msum(lr, mask)
    out["chi2_seq"] = (torch.exp(2.0 * s.clamp(-BOUND, BOUND)).mean() - 1.0).item()
    return out


def correction(old, roll, mask, rollout_is=None, rollout_is_threshold=2.0, batch_normalize=False,
               rollout_rs=None, rollout_rs_threshold=None):
    """(modified response mask, {'rollout_corr/<name>': value}) for one batch."""
    lr = old - roll
    metrics = {}
    if rollout_is is not None:
        metrics.update(importance(lr, mask, rollout_is, rollout_is_threshold, batch_normalize))
    out_mask = mask.clone()
    if rollout_rs is not None:
        out_mask, rs = rejection(lr, mask, rollout_rs, rollout_rs_threshold)
        metrics.update(rs)
    metrics.update(offpolicy(old, roll, mask))
    return out_mask, {f"rollout_corr/{k}": v for k, v in metrics.items()}
