"""The suite's own reading of a training step's log-probs: divergence estimates with standard
errors, the length bias of masks, plug-in bounds with a verdict, and the threshold an error
budget asks for. Every sequence is one independent sample y ~ π_roll (THEORY §7, FIELD §2).

Per sequence i with n_i valid tokens, ℓ_t = log π_θ(y_t) − log π_roll(y_t) (unclamped), ρ_t = e^ℓ_t:
    D_KL^seq (KL roll ‖ θ)     k1: mean_i Σ_t −ℓ_t;   k3: mean_i Σ_t (ρ_t − 1 − ℓ_t)   (both unbiased)
    exact (with distributions) mean_i Σ_t D_KL(c_t)
    χ² per token (θ ‖ roll)    Σ_i Σ_t (ρ_t − 1)² / Σ_i n_i   (E_roll[(ρ − 1)² | c] = χ²(c)); ratio estimator,
                               standard error by the delta method with sequences as clusters
    χ²_seq                     mean_i expm1(2 Σ_t ℓ_t)  (E_roll[M_T²] − 1; heavy-tailed)
    D̄_t (per position)         (1/B) Σ_i ½|ρ_it − 1| over rows still running at t (E_roll[½|ρ − 1| | c] = D_TV(c));
                               a finished row counts 0 (after its end both policies emit padding alike)
A row that has ended is read as continuing with zero divergence, so the bounds are evaluated at
T = the longest row, with D̄_t over all B rows.

With a confidence level (numerics.intervals; rows i.i.d., π_θ ≪ π_roll):
    worst_case_error           sup_{R∈[0,1]} |Error| = E_roll[W⁻], W per row through the martingale
                               transform (numerics.martingale), with its interval
    certificate                J(π_θ) − J(π_roll) ≥ L'_lower − sup_R|Error|_upper (scores in [0, 1])
    bounds.from_means          the inputs that are means, with intervals: D_KL^seq, D_TV^seq = E[(1 − M_T)⁺],
                               Q = Σ_t E[χ²(c_t)], Σ_t D̄_t, and the linear bound C·Σ_t D̄_t at the upper end
                               of Σ_t D̄_t (the only bound of THEORY §5 whose inputs are all means)
Sampled maxima: max_t k2 and max_t k3 over the batch are NOT bounds on δ = max_c D_KL(c): each k3 is an
unbiased but noisy estimate of its own context's KL, so their maximum can sit above or below δ. With
distributions in the dump, the maximum exact D_KL over the sampled contexts is a lower estimate of δ
(a lower bound when only top-k is given, since merged cells lower every divergence).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from numerics.errors import TRMInputError
from numerics.intervals import (DEFAULT_LEVEL, bounded_mean_interval, improvement_certificate,
                                nonnegative_mean_interval, worst_case_error_interval)
from numerics.martingale import transform_increment

#: Log-spaced histogram bins for per-token statistics (values ≤ 1e-12 go to the first bin).
HIST_EDGES = np.logspace(-12, 3, 61)


def estimate(values: np.ndarray) -> dict:
    """{"mean", "se", "n"} of i.i.d. samples (se with ddof 1; inf values give inf)."""
    values = np.asarray(values, dtype=np.float64)
    n = int(values.size)
    if n == 0:
        return {"mean": None, "se": None, "n": 0}
    with np.errstate(invalid="ignore", over="ignore"):
        mean = float(values.mean())
        se = float(values.std(ddof=1) / math.sqrt(n)) if n > 1 else math.inf
    if not math.isfinite(mean):
        se = math.nan if math.isnan(mean) else math.inf
    return {"mean": mean, "se": se, "n": n}


def ratio_estimate(numerators: np.ndarray, denominators: np.ndarray) -> dict:
    """Σ a_i / Σ n_i with the clustered delta-method standard error."""
    a = np.asarray(numerators, np.float64)
    d = np.asarray(denominators, np.float64)
    B = a.size
    total = d.sum()
    if total <= 0:
        return {"mean": None, "se": None, "n": int(B)}
    r = float(a.sum() / total)
    with np.errstate(invalid="ignore", over="ignore"):
        se = float(math.sqrt(((a - r * d) ** 2).sum() / (B * (B - 1))) / (total / B)) if B > 1 else math.inf
    return {"mean": r, "se": se, "n": int(B)}


class SuiteAccumulator:
    def __init__(self, length: int):
        self.L = length
        self.rows = {k: [] for k in ("n", "k1", "k3", "x", "lr", "chi_num", "max_k2", "max_k3", "abs_x",
                                     "kl_exact", "max_kl", "max_tv", "max_chi2", "reward", "advantage", "W",
                                     "tv_exact", "chi2_exact")}
        self.pos_tv_sampled = np.zeros(length)
        self.pos_count = np.zeros(length)
        self.pos_tv_exact = np.zeros(length)
        self.pos_kl_exact = np.zeros(length)
        self.exact_kind = None
        self.hist = {k: np.zeros(len(HIST_EDGES) + 1) for k in ("k2", "k3", "abs_log_ratio")}
        self.max_k2 = (-math.inf, None)
        self.max_k3 = (-math.inf, None)
        self.max_kl = (-math.inf, None)

    def add(self, start: int, log_ratio: np.ndarray, mask: np.ndarray, exact: dict | None = None,
            scores: np.ndarray | None = None, advantages: np.ndarray | None = None) -> None:
        lr = np.where(mask, log_ratio, 0.0)
        b, L = mask.shape
        with np.errstate(over="ignore", invalid="ignore"):
            x = np.expm1(lr)
            k3 = np.where(mask, x - lr, 0.0)
            k2 = np.where(mask, 0.5 * lr * lr, 0.0)
        R = self.rows
        R["n"].append(mask.sum(-1).astype(np.float64))
        R["k1"].append(-lr.sum(-1))
        R["k3"].append(k3.sum(-1))
        R["x"].append(np.where(mask, x, 0.0).sum(-1))
        R["lr"].append(lr.sum(-1))
        with np.errstate(over="ignore", invalid="ignore"):
            R["W"].append(transform_increment(lr.T, np.zeros(b)))   # W per row (THEORY §10), padded ℓ = 0
        with np.errstate(over="ignore", invalid="ignore"):
            R["chi_num"].append(np.where(mask, x * x, 0.0).sum(-1))
        R["max_k2"].append(np.where(mask, k2, -np.inf).max(-1, initial=-np.inf))
        R["max_k3"].append(np.where(mask, k3, -np.inf).max(-1, initial=-np.inf))
        half_abs = np.where(mask, 0.5 * np.abs(x), 0.0)
        R["abs_x"].append(2 * half_abs.sum(-1))
        self.pos_tv_sampled[:L] += half_abs.sum(0)
        self.pos_count[:L] += mask.sum(0)
        for key, values in (("k2", k2), ("k3", k3), ("abs_log_ratio", np.abs(lr))):
            v = values[mask]
            self.hist[key] += np.bincount(np.searchsorted(HIST_EDGES, v), minlength=len(HIST_EDGES) + 1)
        for key, values, attr in (("k2", k2, "max_k2"), ("k3", k3, "max_k3")):
            if mask.any():
                flat = np.where(mask, values, -np.inf)
                i, j = np.unravel_index(np.argmax(flat), flat.shape)
                if flat[i, j] > getattr(self, attr)[0]:
                    setattr(self, attr, (float(flat[i, j]), (start + int(i), int(j))))
        if exact is not None:
            self.exact_kind = exact["kind"]
            kl, tv, chi2 = exact["kl"], exact["tv"], exact["chi2"]
            R["kl_exact"].append(np.where(mask, kl, 0.0).sum(-1))
            R["tv_exact"].append(np.where(mask, tv, 0.0).sum(-1))
            with np.errstate(invalid="ignore"):
                R["chi2_exact"].append(np.where(mask, chi2, 0.0).sum(-1))
            R["max_kl"].append(np.where(mask, kl, -np.inf).max(-1, initial=-np.inf))
            R["max_tv"].append(np.where(mask, tv, -np.inf).max(-1, initial=-np.inf))
            R["max_chi2"].append(np.where(mask, chi2, -np.inf).max(-1, initial=-np.inf))
            self.pos_tv_exact[:L] += np.where(mask, tv, 0.0).sum(0)
            self.pos_kl_exact[:L] += np.where(mask, kl, 0.0).sum(0)
            flat = np.where(mask, kl, -np.inf)
            if mask.any():
                i, j = np.unravel_index(np.argmax(flat), flat.shape)
                if flat[i, j] > self.max_kl[0]:
                    self.max_kl = (float(flat[i, j]), (start + int(i), int(j)))
        if scores is not None:
            R["reward"].append(np.asarray(scores, np.float64))
        if advantages is not None:
            R["advantage"].append(np.asarray(advantages, np.float64))

    def column(self, key: str) -> np.ndarray:
        return np.concatenate(self.rows[key]) if self.rows[key] else np.zeros(0)

    def result(self, budget: float = 0.1, level: float = DEFAULT_LEVEL) -> dict:
        n = self.column("n")
        B = n.size
        T = int(n.max())
        out = {"sequences": B, "tokens": int(n.sum()), "length": {"min": int(n.min()), "median": float(np.median(n)),
                                                                  "p90": float(np.quantile(n, 0.9)), "max": T}}
        out["empty_rows"] = int((n == 0).sum())
        est = {
            "kl_seq_k1": estimate(self.column("k1")),
            "kl_seq_k3": estimate(self.column("k3")),
            "kl_tok_mean_k3": ratio_estimate(self.column("k3"), n),
            "chi2_token": ratio_estimate(self.column("chi_num"), n),
        }
        with np.errstate(over="ignore"):
            est["chi2_seq"] = estimate(np.expm1(2 * self.column("lr")))
        exact = self.exact_kind is not None
        if exact:
            est["kl_seq_exact"] = estimate(self.column("kl_exact"))
        out["estimates"] = est
        out["sampled_maxima"] = {
            "k2_max": self.max_k2[0], "k2_argmax": self.max_k2[1],
            "k3_max": self.max_k3[0], "k3_argmax": self.max_k3[1],
            "reading": "maxima over sampled tokens: each k3 is unbiased for its context's KL but noisy, so the "
                       "maximum is an estimate of δ, neither a lower nor an upper bound",
        }
        if exact:
            out["sampled_maxima"].update({
                "kl_max_exact": float(self.column("max_kl").max()), "kl_argmax": self.max_kl[1],
                "tv_max_exact": float(self.column("max_tv").max()),
                "chi2_max_exact": float(self.column("max_chi2").max()),
                "exact_kind": self.exact_kind,
                "exact_reading": ("maxima of the exact per-context divergences over the sampled contexts: lower "
                                  "estimates of δ, ε and χ²_max" if self.exact_kind == "full" else
                                  "top-k only: per-context LOWER bounds (the rest of the vocabulary merged), so "
                                  "these maxima are lower estimates of lower bounds"),
            })
        out["tv_pos_mean"] = (self.pos_tv_exact if exact else self.pos_tv_sampled)[:T] / B
        out["tv_pos_mean_source"] = "exact" if exact else "sampled ½|ρ − 1|"
        out["kl_pos_mean"] = self.pos_kl_exact[:T] / B if exact else None
        out["bounds"] = self._bounds(out, est, T, exact, budget)
        out["threshold"] = self._thresholds(out, budget)
        out["bounds"]["from_means"] = self._from_means(level, exact)
        reward = self.column("reward")
        if reward.size == B and B > 1:
            out["surrogate"] = self._surrogate(reward, out["bounds"])
        out["worst_case_error"], out["certificate"] = self._certified(reward if reward.size == B else None, level)
        out["histograms"] = {"edges": HIST_EDGES.tolist(), **{k: v.tolist() for k, v in self.hist.items()}}
        return out

    def _bounds(self, out, est, T, exact, budget):
        from numerics.bounds import BoundInputs, evaluate_bounds, pinsker_cap

        sm = out["sampled_maxima"]
        notes = []
        if exact:
            delta, eps = sm["kl_max_exact"], sm["tv_max_exact"]
            kl_seq = max(0.0, est["kl_seq_exact"]["mean"])
            notes.append("δ̂, ε̂: maxima of the exact per-context KL and TV over the sampled contexts (lower estimates)")
        else:
            delta = max(0.0, sm["k3_max"])
            eps = math.sqrt(delta / 2) if delta < 2 else 1.0
            kl_seq = max(0.0, est["kl_seq_k3"]["mean"]) if math.isfinite(est["kl_seq_k3"]["mean"]) else math.inf
            notes.append("δ̂: the largest sampled k3 (an estimate, not a bound); ε̂ = min(1, sqrt(δ̂/2)) (Pinsker, "
                         "its worst case given δ̂)")
        notes.append("D_KL^seq: the sample mean; D_TV^seq: its Pinsker cap min(1, sqrt(D_KL^seq/2)); D̄_t: "
                     + out["tv_pos_mean_source"] + " averaged over all rows; T = the longest row")
        dbar = np.minimum(np.asarray(out["tv_pos_mean"], np.float64), max(eps, 0.0)) if not exact else \
            np.asarray(out["tv_pos_mean"], np.float64)
        inputs = BoundInputs(T, delta, eps, kl_seq, pinsker_cap(kl_seq), dbar)
        result = {"inputs": {"T": T, "kl_tok_max": delta, "tv_tok_max": eps, "kl_seq": kl_seq,
                             "tv_seq": pinsker_cap(kl_seq)},
                  "paper": evaluate_bounds(inputs, "paper"), "sharp": evaluate_bounds(inputs, "sharp"),
                  "notes": notes}
        if not exact:
            notes.append("D̄_t capped at ε̂ (D̄_t ≤ ε holds for the true quantities)")
        chi2 = self._chi2_family(T, out, est) if exact else None
        result["chi2"] = chi2 if chi2 is not None else {
            "available": False, "why": "needs the per-context χ² (full or top-k distributions in the dump)"}
        best = min(result["paper"]["unified"], result["sharp"]["unified"])
        result["reading"] = ("plug-in: point estimates with no confidence level. δ̂, ε̂ (and χ̂²_max) are maxima over the "
                             "sampled contexts, lower estimates of maxima over all reachable contexts; an upper "
                             "confidence bound on a maximum needs an assumption about the contexts never sampled, "
                             "which the suite does not make. bounds.from_means has the inputs that are means, with "
                             "intervals, and the one bound built from means alone (linear)")
        result["verdict"] = {
            "vacuous": bool(result["paper"]["unified"] >= 1.0),
            "vacuous_sharp": bool(result["sharp"]["unified"] >= 1.0),
            "definition": ("vacuous: B* ≥ 1 + |L'| with L' taken as 0 (a small step): J(π_θ) − J(π_roll) ∈ [−1, 1] for a "
                           "reward in [0, 1] then says as much; |Error| itself can exceed 1 (L' is not bounded by 1), "
                           "and suite.certificate weighs the step's own L'"),
            "text": (f"plug-in B* = {result['paper']['unified']:.3g} (paper constants), {result['sharp']['unified']:.3g}"
                     " (sharp): " + ("vacuous for a small step (≥ 1 + |L'| at L' = 0)" if best >= 1.0 else
                                     "below 1: informative even for a small step")),
        }
        return result

    def _chi2_family(self, T, out, est):
        chi2_max = out["sampled_maxima"]["chi2_max_exact"]
        chi2_seq = est["chi2_seq"]["mean"]
        if chi2_seq is None or not math.isfinite(chi2_seq) or not math.isfinite(chi2_max):
            return {"available": False, "why": "χ²_seq or χ²_max is infinite in this batch"}
        chi2_seq = max(0.0, chi2_seq)
        t = np.arange(1, T + 1, dtype=np.float64)
        shift = _chi2_shift()
        values = {}
        for name in ("chi2_max", "chi2_mixed"):
            terms = np.broadcast_to(shift[name](t, chi2_max, chi2_seq), (T,))
            values[f"B_{name}"] = 0.5 * math.sqrt(chi2_max * float(np.sum(terms))) if np.all(np.isfinite(terms)) \
                else math.inf
        return {"available": True, "inputs": {"chi2_tok_max": chi2_max, "chi2_seq": chi2_seq}, **values,
                "unified": min(values.values()),
                "reading": "THEORY §10 (this suite's own result, not the paper's): B_χ² = ½ sqrt(χ²_max Σ_t shift_t)"}

    def _thresholds(self, out, budget):
        from numerics.bounds import threshold

        res = {"budget": budget, "by_length": []}
        for label in ("median", "p90", "max"):
            T = max(1, int(round(out["length"][label])))
            res["by_length"].append({"which": label, "T": T, "paper": threshold(T, budget, "paper"),
                                     "sharp": threshold(T, budget, "sharp")})
        res["reading"] = ("the largest δ = max token KL whose worst-case B* (every other input at its worst case "
                          "given δ) stays within the budget at that length (trm threshold)")
        return res

    def _surrogate(self, reward, bounds):
        x = self.column("x")
        in_range = bool(np.all((reward >= 0) & (reward <= 1)))
        b = reward.mean()
        s = estimate((reward - b) * x)
        res = {"estimate": s, "reward_in_unit_interval": in_range,
               "reading": "L̂' = mean((R − R̄) Σ_t (ρ_t − 1)) with R the row's score (baseline control variate)"}
        if in_range and s["mean"] is not None:
            res["plugin_certificate_paper"] = bool(s["mean"] > bounds["paper"]["unified"])
            res["plugin_certificate_sharp"] = bool(s["mean"] > bounds["sharp"]["unified"])
            res["plugin_reading"] = ("plug-in: L̂' > B̂* compares point estimates (B̂* from sampled maxima, lower "
                                     "estimates of δ and ε); no confidence level. The certificate with a level is "
                                     "suite.certificate")
        return res

    def _certified(self, reward, level):
        """(worst_case_error, certificate): intervals at ``level``, or {"available": False, "why"} where the
        batch cannot give them (one row; scores missing or outside [0, 1])."""
        W, S = self.column("W"), self.column("x")
        try:
            worst = worst_case_error_interval(W, level)
        except TRMInputError as exc:
            why = {"available": False, "why": str(exc)}
            return why, why
        if reward is None:
            return worst.to_json(), {"available": False, "why": "no scores in the dump (the certificate needs R ∈ [0, 1])"}
        if not np.all((reward >= 0) & (reward <= 1)):
            return worst.to_json(), {"available": False, "why": "scores outside [0, 1]: sup_R|Error| is over R ∈ [0, 1]"}
        return worst.to_json(), improvement_certificate(reward, S, W, level, worst=worst)

    def _from_means(self, level, exact):
        """The bound inputs that are means over rows, each with an interval at ``level``; the linear bound
        C·Σ_t D̄_t at the upper end of Σ_t D̄_t. Maxima over contexts (δ, ε, χ²_max) are not here: the sample
        gives lower estimates of them, and an upper confidence bound on a maximum needs assumptions about the
        contexts never sampled, which the suite does not make."""
        from numerics.bounds import BoundInputs, evaluate_bounds

        n = self.column("n")
        if n.size < 2:
            return {"available": False, "why": f"{n.size} row: an interval needs at least 2 rows"}
        with np.errstate(over="ignore", invalid="ignore"):
            tv_rows = self.column("tv_exact") if exact else 0.5 * self.column("abs_x")
            chi2_rows = self.column("chi2_exact") if exact else self.column("chi_num")
            kl_rows = self.column("kl_exact") if exact else self.column("k3")
            gap = np.maximum(-np.expm1(self.column("lr")), 0.0)              # (1 − M_T)⁺ ∈ [0, 1]
        source = "exact per-context divergences" if exact else "sampled tokens (k3; ½|ρ − 1|; (ρ − 1)²)"
        out = {"level": level, "source": source}
        for key, rows, what in (("kl_seq", kl_rows, "D_KL^seq = E_roll[Σ_t D_KL(c_t)]"),
                                ("chi2_sum", chi2_rows, "Q = Σ_t E_roll[χ²(c_t)] (THEORY §11)"),
                                ("tv_sum", tv_rows, "Σ_t D̄_t = E_roll[Σ_t D_TV(c_t)]")):
            if np.isfinite(rows).all():      # each is ≥ 0 mathematically: a rounding below 0 is clipped
                out[key] = {**nonnegative_mean_interval(np.maximum(rows, 0.0), level, what).to_json(), "what": what}
            else:
                out[key] = {"available": False, "why": f"{what}: a row's value is not finite"}
        out["tv_seq"] = {**bounded_mean_interval(gap, 1.0, level).to_json(),
                         "what": "D_TV^seq = E_roll[(1 − Π_t ρ_t)⁺] (E_roll[Π_t ρ_t] = 1 when π_θ ≪ π_roll)"}
        if out["tv_sum"].get("upper") is not None and np.isfinite(out["tv_sum"]["upper"]):
            T = max(1, int(n.max()))
            upper = out["tv_sum"]["upper"]
            # the linear bound depends on the D̄_t only through their sum: evaluated from proofs/ on a flat profile
            flat = BoundInputs(T, 0.0, 0.0, 0.0, 0.0, np.full(T, upper / T))
            out["linear_bound"] = {"paper": evaluate_bounds(flat, "paper")["linear"],
                                   "sharp": evaluate_bounds(flat, "sharp")["linear"], "level": level,
                                   "reading": "an upper confidence bound on sup_R|Error| at the stated level (one-sided, "
                                              "α/2): the linear bound C·Σ_t D̄_t (THEORY §5) at the upper end of Σ_t D̄_t"}
        return out


@lru_cache(maxsize=None)
def _chi2_shift():
    import sympy as sp

    from proofs.second_moment import CHI2_SHIFT, chi2_max, chi2_seq
    from proofs.symbols import t

    mods = [{"expm1": np.expm1, "log1p": np.log1p}, "numpy"]
    return {name: sp.lambdify([t, chi2_max, chi2_seq], expr, modules=mods) for name, expr in CHI2_SHIFT.items()}


def length_bias(lengths: np.ndarray, accepted: np.ndarray, violation_rate: float | None) -> dict:
    """Acceptance per length bin (powers of two) against (1 − p̂)^n for a token-wise rule.

    p̂ = the share of valid tokens that fail the rule's per-token test; under independent violations a
    row of n tokens survives with probability (1 − p̂)^n (THEORY §7, length bias).
    """
    lengths = np.asarray(lengths)
    top = max(1, int(lengths.max()))
    edges = [0, 1]
    while edges[-1] < top:
        edges.append(edges[-1] * 2)
    bins = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (lengths > lo) & (lengths <= hi) if lo > 0 else (lengths <= hi)
        if not sel.any():
            continue
        entry = {"lengths": [int(lo) + 1 if lo > 0 else 0, int(hi)], "rows": int(sel.sum()),
                 "mean_length": float(lengths[sel].mean()), "acceptance": float(accepted[sel].mean())}
        if violation_rate is not None:
            entry["independent_model"] = float(np.mean((1.0 - violation_rate) ** lengths[sel]))
        bins.append(entry)
    return {"bins": bins, "violation_rate": violation_rate}
