"""verl's ``rollout_corr/*`` metrics, accumulated over chunks of rows into verl's whole-batch values,
and the whole rollout-correction step (decision, then every metric)."""
from __future__ import annotations

import math

import numpy as np

from audit.dialects.verl.config import MASKED_MEAN_EPS, READINGS, RolloutIS, RolloutRS, parse_rollout_rs
from audit.dialects.verl.decision import OptionDecision, decide, masked_row_mean, masked_row_sum
from audit.token_stats import SAFETY_BOUND, TokenStats
from numerics.errors import TRMInputError


class _Extremes:
    def __init__(self):
        self.max, self.min = -math.inf, math.inf

    def add(self, values: np.ndarray, mask: np.ndarray) -> None:
        if mask.any():
            v = values[mask]
            self.max = max(self.max, float(v.max()))
            self.min = min(self.min, float(v.min()))


def _std(values: np.ndarray) -> float:
    """torch.Tensor.std (unbiased) of a 1-D array with at least 2 entries."""
    return float(np.std(values, ddof=1))


class RSMetrics:
    """Accumulates compute_rollout_rejection_mask's and compute_rs_metrics's metrics over chunks."""

    def __init__(self, rs: RolloutRS):
        self.rs = rs
        k = len(rs.options)
        self.N = 0.0
        self.sum_stat = np.zeros(k)
        self.sum_clamped = np.zeros(k)
        self.sum_clamped_sq = np.zeros(k)
        self.tok_high = np.zeros(k)
        self.tok_low = np.zeros(k)
        self.tok_rejected = np.zeros(k)
        self.extremes = [_Extremes() for _ in range(k)]
        self.seq_values: list[list[np.ndarray]] = [[] for _ in range(k)]
        self.seq_keep: list[list[np.ndarray]] = [[] for _ in range(k)]
        self.seq_valid: list[np.ndarray] = []
        self.final_rejected = 0.0
        self.final_seq_masked = 0.0
        self.rows = 0

    def add(self, st: TokenStats, final_keep: np.ndarray, decisions: list[OptionDecision]) -> None:
        mask = st.mask
        self.N += float(mask.sum())
        self.rows += mask.shape[0]
        valid_rows = st.count > 0
        self.seq_valid.append(valid_rows)
        for j, d in enumerate(decisions):
            opt = d.option
            upper_m = opt.upper_log if opt.is_k1 else opt.upper
            lower_m = opt.lower_log if opt.is_k1 else 0.0
            if opt.level == "token":
                stat = d.token_stat
                seq_values = masked_row_mean(stat, mask)
                self.tok_high[j] += float((mask & (stat > upper_m)).sum())
                if opt.is_k1:
                    self.tok_low[j] += float((mask & (stat < lower_m)).sum())
                self.extremes[j].add(stat, mask)
            else:
                seq_values = d.seq_stat
                stat = np.broadcast_to(seq_values[:, None], mask.shape)
            self.sum_stat[j] += float(np.where(mask, stat, 0.0).sum())
            clamped = np.clip(stat, lower_m, upper_m) if opt.is_k1 else np.clip(stat, 0.0, upper_m)
            self.sum_clamped[j] += float(np.where(mask, clamped, 0.0).sum())
            self.sum_clamped_sq[j] += float(np.where(mask, clamped * clamped, 0.0).sum())
            self.tok_rejected[j] += float((mask & ~d.token_keep).sum())
            self.seq_values[j].append(np.asarray(seq_values, np.float64))
            self.seq_keep[j].append(~(mask & ~d.token_keep).any(-1))
        self.final_rejected += float((mask & ~final_keep).sum())
        self.final_seq_masked += float((mask & ~final_keep).any(-1).sum())

    def metrics(self) -> dict:
        out = {}
        N = self.N
        denom = N + MASKED_MEAN_EPS
        valid = np.concatenate(self.seq_valid)
        for j, opt in enumerate(self.rs.options):
            p = f"rollout_rs_{opt.name}"
            upper_m = opt.upper_log if opt.is_k1 else opt.upper
            lower_m = opt.lower_log if opt.is_k1 else 0.0
            seq_all = np.concatenate(self.seq_values[j])
            seq_v = seq_all[valid]
            out[f"{p}_mean"] = self.sum_stat[j] / denom
            if opt.level == "sequence" and seq_v.size:
                out[f"{p}_max"] = float(seq_v.max())
                out[f"{p}_min"] = float(seq_v.min())
                out[f"{p}_fraction_high"] = float((seq_v > upper_m).mean())
                out[f"{p}_fraction_low"] = float((seq_v < lower_m).mean()) if opt.is_k1 else 0.0
            else:
                out[f"{p}_max"] = self.extremes[j].max
                out[f"{p}_min"] = self.extremes[j].min
                out[f"{p}_fraction_high"] = self.tok_high[j] / denom
                out[f"{p}_fraction_low"] = self.tok_low[j] / denom if opt.is_k1 else 0.0
            if N > 1:
                m1 = self.sum_clamped[j] / denom
                m2 = self.sum_clamped_sq[j] / denom
                out[f"{p}_std"] = math.sqrt(max(m2 - m1 * m1, 0.0))
            else:
                out[f"{p}_std"] = 0.0
            if seq_v.size:
                out[f"{p}_seq_mean"] = float(seq_v.mean())
                out[f"{p}_seq_std"] = _std(seq_v) if seq_v.size > 1 else 0.0
                out[f"{p}_seq_max"] = float(seq_v.max())
                out[f"{p}_seq_min"] = float(seq_v.min())
                out[f"{p}_seq_max_deviation"] = float(np.abs(seq_v).max())
                out[f"{p}_seq_fraction_high"] = float((seq_v > upper_m).mean())
                if opt.is_k1:
                    out[f"{p}_seq_fraction_low"] = float((seq_v < lower_m).mean())
            else:  # pragma: no cover - a batch has at least one valid row (checked on input)
                for key in ("seq_mean", "seq_std", "seq_max", "seq_min", "seq_max_deviation", "seq_fraction_high",
                            "seq_fraction_low"):
                    out[f"{p}_{key}"] = 0.0
            out[f"rollout_rs_{opt.name}_masked_fraction"] = self.tok_rejected[j] / denom
            keep = np.concatenate(self.seq_keep[j])
            n_valid = float(valid.sum())
            out[f"rollout_rs_{opt.name}_seq_masked_fraction"] = (
                float((~keep & valid).sum()) / n_valid if n_valid > 0 else 0.0)
        out["rollout_rs_masked_fraction"] = self.final_rejected / denom
        out["rollout_rs_seq_masked_fraction"] = self.final_seq_masked / self.rows
        return out


def _log_f32(x: float) -> float:
    """log of x as verl takes it for the IS thresholds: torch.log(torch.tensor(x)) in float32."""
    with np.errstate(divide="ignore"):
        return float(np.log(np.float32(x)))


class ISMetrics:
    """Accumulates compute_rollout_correction_weights's / compute_is_metrics's metrics over chunks."""

    def __init__(self, cfg: RolloutIS):
        self.cfg = cfg
        self.N = 0.0
        self.sum_w = 0.0
        self.sum_wc = 0.0
        self.sum_wc_sq = 0.0
        self.high = 0.0
        self.low = 0.0
        self.extremes = _Extremes()
        self.seq_mean_w: list[np.ndarray] = []
        self.seq_log: list[np.ndarray] = []
        self.sum_trunc = 0.0
        self.seq_trunc: list[np.ndarray] = []
        self.counts: list[np.ndarray] = []

    def add(self, st: TokenStats) -> None:
        thr = float(self.cfg.threshold)
        lower = 1.0 / thr
        mask = st.mask
        self.N += float(mask.sum())
        self.counts.append(st.count)
        if self.cfg.level == "token":
            w = np.where(mask, np.exp(st.safe), 0.0)
            self.high += float((mask & (w > thr)).sum())
            self.low += float((mask & (w < lower)).sum())
            self.extremes.add(w, mask)
        else:
            s = masked_row_sum(st.log_ratio, mask)
            self.seq_log.append(s)
            w = np.where(mask, np.exp(np.clip(s, -SAFETY_BOUND, SAFETY_BOUND))[:, None], 0.0)
        self.sum_w += float(w.sum())
        wc = np.clip(w, lower, thr)
        self.sum_wc += float(np.where(mask, wc, 0.0).sum())
        self.sum_wc_sq += float(np.where(mask, wc * wc, 0.0).sum())
        self.seq_mean_w.append(w.sum(-1) / (st.count + MASKED_MEAN_EPS))
        truncated = np.minimum(w, thr)
        self.sum_trunc += float(truncated.sum())
        self.seq_trunc.append(truncated.sum(-1) / (st.count + MASKED_MEAN_EPS))

    def metrics(self) -> dict:
        thr = float(self.cfg.threshold)
        lower = 1.0 / thr
        denom = self.N + MASKED_MEAN_EPS
        out = {}
        if self.cfg.level == "sequence":
            s = np.concatenate(self.seq_log)
            out["rollout_is_max"] = math.exp(min(float(s.max()), SAFETY_BOUND))
            with np.errstate(under="ignore"):
                out["rollout_is_min"] = float(np.exp(s.min()))
            out["rollout_is_mean"] = self.sum_w / denom
            out["rollout_is_ratio_fraction_high"] = float((s > _log_f32(thr)).mean())
            out["rollout_is_ratio_fraction_low"] = float((s < _log_f32(lower)).mean())
        else:
            out["rollout_is_mean"] = self.sum_w / denom
            out["rollout_is_ratio_fraction_high"] = self.high / denom
            out["rollout_is_ratio_fraction_low"] = self.low / denom
            out["rollout_is_max"] = self.extremes.max
            out["rollout_is_min"] = self.extremes.min
        m1 = self.sum_wc / denom
        m2 = self.sum_wc_sq / denom
        out["rollout_is_std"] = math.sqrt(max(m2 - m1 * m1, 0.0)) if self.N > 1 else 0.0
        # ESS = 1 / masked_mean((wc / (m1 + 1e-8))²) = (m1 + 1e-8)² / m2
        out["rollout_is_eff_sample_size"] = (m1 + MASKED_MEAN_EPS) ** 2 / m2 if m2 > 0 else math.inf
        seq = np.concatenate(self.seq_mean_w)
        out["rollout_is_seq_mean"] = float(seq.mean())
        out["rollout_is_seq_std"] = _std(seq) if seq.size > 1 else 0.0
        out["rollout_is_seq_max"] = float(seq.max())
        out["rollout_is_seq_min"] = float(seq.min())
        out["rollout_is_seq_max_deviation"] = float(np.abs(seq - 1.0).max())
        out["rollout_is_seq_fraction_high"] = float((seq > thr).mean())
        out["rollout_is_seq_fraction_low"] = float((seq < lower).mean())
        if self.cfg.batch_normalize:
            if self.cfg.level == "token":
                mean = self.sum_trunc / denom
            else:
                seq_w = np.concatenate(self.seq_trunc)
                has = (np.concatenate(self.counts) > 0).astype(np.float64)
                mean = float((seq_w * has).sum() / max(has.sum(), 1e-8))
            out["rollout_is_batch_norm_factor"] = mean if mean > 1e-8 else 1.0
        return out


class OffPolicyMetrics:
    """Accumulates compute_offpolicy_metrics: ppl, kl, k3_kl, log_ppl_*, ppl_ratio, chi2_token/seq.

    Per-row means divide by n_i + 1e-8, so a row without valid tokens enters the batch means
    (training_ppl, ppl_ratio, log_ppl_*, chi2_seq average over ALL B rows) with perplexity 1.
    kl and k3_kl are unclamped; chi2_token clamps ℓ per token and chi2_seq clamps Σℓ, to ±20.
    """

    def __init__(self):
        self.N = 0.0
        self.sum_kl = 0.0
        self.sum_k3 = 0.0
        self.sum_rho2 = 0.0
        self.m_train: list[np.ndarray] = []
        self.m_roll: list[np.ndarray] = []
        self.seq_rho2: list[np.ndarray] = []

    def add(self, old: np.ndarray, roll: np.ndarray, st: TokenStats) -> None:
        mask = st.mask
        self.N += float(mask.sum())
        with np.errstate(invalid="ignore", over="ignore"):
            self.sum_kl += float(np.where(mask, roll - old, 0.0).sum())
            lr = st.log_ratio
            self.sum_k3 += float(np.where(mask, np.exp(lr) - lr - 1, 0.0).sum())
            rho = np.exp(st.safe)
            self.sum_rho2 += float(np.where(mask, rho * rho, 0.0).sum())
            self.m_train.append(masked_row_mean(old, mask))
            self.m_roll.append(masked_row_mean(roll, mask))
            s = masked_row_sum(lr, mask)
            self.seq_rho2.append(np.exp(2.0 * np.clip(s, -SAFETY_BOUND, SAFETY_BOUND)))

    def metrics(self) -> dict:
        denom = self.N + MASKED_MEAN_EPS
        mt, mr = np.concatenate(self.m_train), np.concatenate(self.m_roll)
        d = mr - mt
        with np.errstate(over="ignore"):
            return {
                "training_ppl": float(np.exp(-mt).mean()),
                "training_log_ppl": float((-mt).mean()),
                "kl": self.sum_kl / denom,
                "k3_kl": self.sum_k3 / denom,
                "rollout_ppl": float(np.exp(-mr).mean()),
                "rollout_log_ppl": float((-mr).mean()),
                "log_ppl_diff": float(d.mean()),
                "log_ppl_abs_diff": float(np.abs(d).mean()),
                "log_ppl_diff_max": float(d.max()),
                "log_ppl_diff_min": float(d.min()),
                "ppl_ratio": float(np.exp(d).mean()),
                "chi2_token": self.sum_rho2 / denom - 1.0,
                "chi2_seq": float(np.concatenate(self.seq_rho2).mean()) - 1.0,
            }


def docs_readings(off: dict, is_metrics: dict | None, is_cfg: RolloutIS | None, seq_log_max: float | None) -> list[dict]:
    """Metrics whose documented formula differs from verl's code, with both values.

    - ppl_ratio: the usage guide writes exp(mean(log(training_ppl/rollout_ppl))) = exp(log_ppl_diff)
      (a geometric mean over sequences); the code logs mean_i exp(log_ppl_diff_i) (arithmetic).
    - rollout_is_max at sequence level: the guide calls it the "true maximum before safety bound";
      the code logs exp(min(max_i Σℓ, 20)).
    """
    out = [{"metric": "ppl_ratio", "code": off["ppl_ratio"], "docs": math.exp(off["log_ppl_diff"]),
            "code_formula": "mean over sequences of exp(log_ppl_diff_i)",
            "docs_formula": "exp(mean(log(training_ppl / rollout_ppl))) (docs/algo/rollout_corr.md)"}]
    if is_metrics is not None and is_cfg is not None and is_cfg.level == "sequence" and seq_log_max is not None \
            and seq_log_max > SAFETY_BOUND:
        with np.errstate(over="ignore"):
            out.append({"metric": "rollout_is_max", "code": is_metrics["rollout_is_max"],
                        "docs": float(np.exp(seq_log_max)),
                        "code_formula": "exp(min(max_i Σ_t ℓ, 20))",
                        "docs_formula": "unclamped: the true maximum before the safety bound"})
    return out


class VerlAccumulator:
    """verl's whole rollout-correction step over chunks of rows: decision, then every metric.

    ``add`` returns the chunk's modified response mask; ``metrics`` the ``rollout_corr/*`` dict in
    verl's order (IS metrics, rejection metrics, off-policy metrics).
    """

    def __init__(self, rs: RolloutRS | None = None, is_cfg: RolloutIS | None = None, reading: str = "code"):
        if reading not in READINGS:
            raise TRMInputError(f"--k1-reading {reading!r}: choose code or docs")
        self.rs, self.is_cfg, self.reading = rs, is_cfg, reading
        self.rs_metrics = RSMetrics(rs) if rs is not None else None
        self.is_metrics = ISMetrics(is_cfg) if is_cfg is not None else None
        self.off = OffPolicyMetrics()
        self.seq_log_max = -math.inf

    def add(self, old: np.ndarray, roll: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, TokenStats, list]:
        st = TokenStats.from_log_probs(old, roll, np.asarray(mask, dtype=bool))
        keep, decisions = self.add_stats(st, old, roll)
        return keep, st, decisions

    def add_stats(self, st: TokenStats, old: np.ndarray, roll: np.ndarray) -> tuple[np.ndarray, list]:
        """One chunk whose :class:`TokenStats` are computed already: (kept [b, L], per-option decisions)."""
        mask = st.mask
        old = np.where(mask, np.asarray(old, np.float64), 0.0)
        roll = np.where(mask, np.asarray(roll, np.float64), 0.0)
        if self.is_metrics is not None:
            self.is_metrics.add(st)
        s = masked_row_sum(st.log_ratio, mask)
        if s.size:
            self.seq_log_max = max(self.seq_log_max, float(s.max()))
        decisions = []
        if self.rs is not None:
            # metrics always follow verl's code; the reading changes only the mask
            keep_code, decisions = decide(self.rs, st, "code")
            self.rs_metrics.add(st, keep_code, decisions)
            keep = keep_code if self.reading == "code" else decide(self.rs, st, self.reading)[0]
        else:
            keep = mask.copy()
        self.off.add(old, roll, st)
        return keep, decisions

    def metrics(self) -> dict:
        out = {}
        if self.is_metrics is not None:
            out.update(self.is_metrics.metrics())
        if self.rs_metrics is not None:
            out.update(self.rs_metrics.metrics())
        out.update(self.off.metrics())
        return {f"rollout_corr/{k}": v for k, v in out.items()}

    def docs_readings(self) -> list[dict]:
        return docs_readings(self.off.metrics(), self.is_metrics.metrics() if self.is_metrics else None,
                             self.is_cfg, self.seq_log_max if math.isfinite(self.seq_log_max) else None)


def rollout_correction(old_log_prob, rollout_log_prob, response_mask, rollout_is=None, rollout_is_threshold=2.0,
                       rollout_is_batch_normalize=False, rollout_rs=None, rollout_rs_threshold=None,
                       reading: str = "code") -> tuple[np.ndarray, dict]:
    """verl's compute_rollout_correction_and_rejection_mask on one whole batch [B, L]:
    (modified response mask [B, L] bool, {'rollout_corr/<name>': value})."""
    old = np.asarray(old_log_prob, np.float64)
    roll = np.asarray(rollout_log_prob, np.float64)
    mask = np.asarray(response_mask)
    if old.shape != roll.shape or old.shape != mask.shape or old.ndim != 2:
        raise TRMInputError(f"shapes: old_log_prob {old.shape}, rollout_log_prob {roll.shape}, response_mask "
                            f"{mask.shape} must be equal and [B, L]")
    if not mask.astype(bool).any():
        raise TRMInputError("response_mask: no valid token (every entry is 0)")
    rs = parse_rollout_rs(rollout_rs, rollout_rs_threshold) if rollout_rs is not None else None
    is_cfg = RolloutIS(rollout_is, rollout_is_threshold, rollout_is_batch_normalize) if rollout_is is not None else None
    acc = VerlAccumulator(rs, is_cfg, reading)
    keep, _, _ = acc.add(old, roll, mask)
    return keep, acc.metrics()
