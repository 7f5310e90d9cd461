"""Run a simulation in bounded-memory chunks and collect every estimate with its standard error.

Estimators (each an :class:`gpu_sim.stats.Estimate`, i.e. mean, standard error, n):
    J_roll          mean of R over the roll-chain
    objective_gap   J(π_θ) − J(π_roll) as the mean of R(θ-chain) − R(roll-chain) over coupled pairs
                    (common random numbers: a per-step maximal coupling, see the families)
    surrogate       L' = E_roll[R Σ_t(ρ_t − 1)] with the baseline control variate b = mean R:
                    mean of (R − b) Σ_t(ρ_t − 1) (E_roll[Σ_t(ρ_t − 1)] = 0, THEORY §2)
    error           per pair: [R(θ) − R(roll)] − (R(roll) − b) Σ_t(ρ_t − 1)
    kl_seq          D_KL^seq as the mean of Σ_t D_KL(c_t), exact per-context KL over the full vocabulary
    kl_seq_k1/_k3   the same from the sampled-token estimators Σ k1 and Σ k3 (unbiased, noisier)
    kl_tok_max_sampled  the largest exact D_KL over sampled contexts: a LOWER estimate of δ
    worst_case_error  sup_{R∈[0,1]} |Error| = E_roll[W⁻], W = Π_t ρ_t − 1 − Σ_t(ρ_t − 1) accumulated through
                    the martingale transform (gpu_sim.running); W⁻ ≤ (1 + Σ_t u_t)⁺, so its variance is at
                    most 1 + Σ_t E[χ²(c_t)] and grows linearly in T (THEORY §10; this suite's estimator)
    half_mean_abs_W ½·mean|W|, the naive estimate of the same quantity: it carries the variance of Π_t ρ_t
                    (χ²_seq, growing like exp(T χ²)) and under-reports its standard error when the tail
                    of Π_t ρ_t is never sampled; reported for comparison
    second_moment   E_roll[W²] as the mean of W² (heavy-tailed like Π_t ρ_t; plug-in for B_χ²-exact)
    worst_case_error_interval  sup_R|Error| with a confidence interval at ``config.level``
                    (numerics.intervals.worst_case_error_interval: distribution-free lower end; upper end
                    under a stated normal approximation for mean((Σ_t u_t)²))
    certificate     J(π_θ) − J(π_roll) ≥ L'_lower − sup_R|Error|_upper at ``config.level``
                    (numerics.intervals.improvement_certificate)
    chi2_tok_max_sampled  the largest exact χ²(θ ‖ roll) over sampled contexts (families that pass χ²)
The control-variate coefficient b is estimated from the same samples (bias O(1/n), far below the
standard error). Bounds are evaluated on the estimated inputs ("plug-in"): δ̂ and ε̂ are lower
estimates, D_TV^seq is replaced by the Pinsker cap of the estimated D_KL^seq.

Support violations (:mod:`gpu_sim.support`) are detected before the estimates are formed: from the
exact tables for finite-state pairs, from the full distributions of sampled contexts for the neural
family. Each estimate then carries a status (valid, infinite, biased) and the notes say why; when
π_θ has mass outside π_roll's support the control variate is switched off (it would be biased) and
no bound applies. No estimate is ever NaN: a non-finite mean or standard error is a status, not a
number.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from gpu_sim.criteria import parse_criterion
from gpu_sim.device import peak_memory_bytes
from gpu_sim.running import RunningStats
from gpu_sim.stats import Estimate
from gpu_sim.support import BIASED, INFINITE, SupportFacts, assess, finite_state_facts, merge_sampled
from numerics.bounds import BoundInputs, evaluate_bounds, pinsker_cap
from numerics.chi2_bounds import Chi2Inputs, evaluate_chi2_bounds
from numerics.errors import TRMInputError
from numerics.intervals import DEFAULT_LEVEL, check_level, improvement_certificate, worst_case_error_interval

VARIANCE_REDUCTION = ("objective gap: common random numbers (per-step maximal coupling of the roll and θ chains); "
                      "surrogate: baseline control variate b = sample mean of R; KL quantities: exact per-context "
                      "expectations over the full vocabulary")


def default_checkpoints(T: int) -> list[int]:
    """Powers of two below T, and T."""
    cps, c = [], 1
    while c < T:
        cps.append(c)
        c *= 2
    return cps + [T]


@dataclass(frozen=True)
class SimulationConfig:
    T: int
    samples: int
    seed: int = 0
    chunk: int = 1024
    block: int = 256
    criteria: tuple[str, ...] = ()
    reference_delta: float = 0.05
    checkpoints: tuple[int, ...] | None = None
    level: float = DEFAULT_LEVEL

    def __post_init__(self):
        check_level(self.level, "level")
        for name in ("T", "samples", "chunk", "block"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise TRMInputError(f"{name} = {value!r}: must be an integer ≥ 1")
        if self.samples < 2:
            raise TRMInputError(f"samples = {self.samples}: a standard error needs at least 2 samples")
        if not (math.isfinite(self.reference_delta) and self.reference_delta >= 0):
            raise TRMInputError(f"reference_delta = {self.reference_delta}: must be finite and non-negative")
        if self.checkpoints is not None:
            bad = [c for c in self.checkpoints if not 1 <= c <= self.T]
            if bad:
                raise TRMInputError(f"checkpoints {bad}: must lie in 1..T = {self.T}")


@dataclass
class SimulationResult:
    estimates: dict
    kl_tok_max_sampled: float
    tv_tok_max_sampled: float
    tv_pos_mean: np.ndarray
    kl_pos_mean: np.ndarray
    acceptance: dict
    bounds_plugin: dict
    exact: dict | None
    device: str
    seconds: float
    memory: dict
    config: SimulationConfig
    notes: list = field(default_factory=list)
    estimate_status: dict = field(default_factory=dict)
    support: SupportFacts = field(default_factory=SupportFacts)
    bounds_apply: bool = True
    chi2_tok_max_sampled: float | None = None
    chi2_pos_mean: np.ndarray | None = None
    worst_case_interval: dict | None = None
    certificate: dict | None = None

    @property
    def variance_reduction(self) -> str:
        if self.support.theta_off_roll:
            return VARIANCE_REDUCTION.replace("surrogate: baseline control variate b = sample mean of R",
                                              "surrogate: none (the baseline control variate is biased when π_θ has "
                                              "mass off π_roll's support)")
        return VARIANCE_REDUCTION

    def estimate_json(self, key: str) -> dict:
        """{"mean", "se", "n"}: mean "Infinity" and se null for an infinite KL; both null for a
        biased estimate (see ``notes``)."""
        est, status = self.estimates[key], self.estimate_status.get(key, "valid")
        if status == INFINITE:
            return {"mean": math.inf, "se": None, "n": est.n}
        if status == BIASED:
            return {"mean": None, "se": None, "n": est.n}
        return est.to_json()

    def to_json(self, positions: bool = True) -> dict:
        """The `trm simulate --json` keys; without ``positions`` the [T] arrays tv_pos_mean, kl_pos_mean and
        chi2_pos_mean are left out (the command summarises them)."""
        out = {key: self.estimate_json(key) for key in self.estimates}
        out.update({
            "T": self.config.T, "samples": self.config.samples, "seed": self.config.seed,
            "kl_tok_max_sampled": self.kl_tok_max_sampled, "tv_tok_max_sampled": self.tv_tok_max_sampled,
            "kl_tok_max_sampled_is": "a lower estimate of δ (max over sampled contexts only)",
            "acceptance": self.acceptance, "bounds_plugin": self.bounds_plugin, "exact": self.exact,
            "variance_reduction": self.variance_reduction, "device": self.device, "seconds": self.seconds,
            "memory": self.memory, "notes": self.notes, "estimate_status": self.estimate_status,
            "support": self.support.to_json(), "bounds_apply": self.bounds_apply,
            "chi2_tok_max_sampled": self.chi2_tok_max_sampled,
            "worst_case_error_is": "sup over rewards R ∈ [0, 1] of |Error| = E_roll[W⁻], estimated by the mean of "
                                   "W⁻ (variance linear in T); half_mean_abs_W is the naive ½·mean|W|; "
                                   "worst_case_error_interval adds a confidence interval at a stated level",
            "worst_case_error_interval": self.worst_case_interval, "certificate": self.certificate,
        })
        if positions:
            out.update({"tv_pos_mean": [float(v) for v in self.tv_pos_mean],
                        "kl_pos_mean": [float(v) for v in self.kl_pos_mean],
                        "chi2_pos_mean": None if self.chi2_pos_mean is None else [float(v) for v in self.chi2_pos_mean]})
        return out


def simulate(family, config: SimulationConfig, device: torch.device, exact: dict | None = None,
             progress=None, support: SupportFacts | None = None) -> SimulationResult:
    """Sample config.samples sequences of length config.T from ``family`` in chunks.

    ``support``: known support facts; by default taken from the exact tables of a finite-state
    family (``family.pair``) and, for any family, completed from what sampling sees."""
    if support is None and getattr(family, "pair", None) is not None:
        pair = family.pair if family.pair.T == config.T else family.pair.with_horizon(config.T)
        support = finite_state_facts(pair)
    criteria = [parse_criterion(text) for text in config.criteria]
    checkpoints = list(config.checkpoints) if config.checkpoints else default_checkpoints(config.T)
    running = RunningStats(config.T, checkpoints, criteria, config.reference_delta, device)
    generator = torch.Generator(device=device).manual_seed(config.seed)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    R_roll, R_theta, S, kl_sum, lr_sum, W = [], [], [], [], [], []
    done = 0
    while done < config.samples:
        batch = min(config.chunk, config.samples - done)
        r_roll, r_theta = family.run_chunk(batch, config.T, running, generator, block=config.block)
        R_roll.append(r_roll)
        R_theta.append(r_theta)
        S.append(running.s["sum_x"].clone())
        kl_sum.append(running.s["sum_kl"].clone())
        lr_sum.append(running.s["sum_lr_raw"].clone())
        W.append(running.s["W"].clone())
        done += batch
        if progress is not None:
            progress(batch)
    R, Rq, S, kl_sum, lr_sum, W = (torch.cat(v) for v in (R_roll, R_theta, S, kl_sum, lr_sum, W))
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start

    facts = merge_sampled(support, getattr(family, "sampled_support", lambda: None)(), lr_sum.cpu().numpy())
    # the control variate needs E_roll[Σ_t(ρ_t − 1)] = 0, false when π_θ has mass off π_roll's support
    b = R.mean() if not facts.theta_off_roll else torch.zeros((), dtype=R.dtype, device=R.device)
    surrogate_terms = (R - b) * S
    estimates = {
        "J_roll": _estimate(R),
        "objective_gap": _estimate(Rq - R),
        "surrogate": _estimate(surrogate_terms),
        "error": _estimate((Rq - R) - surrogate_terms),
        "kl_seq": _estimate(kl_sum),
        "kl_seq_k1": _estimate(-lr_sum),
        "kl_seq_k3": _estimate(S - lr_sum),
        "worst_case_error": _estimate((-W).clamp(min=0.0)),
        "half_mean_abs_W": _estimate(0.5 * W.abs()),
        "second_moment": _estimate(W * W),
    }
    status, notes, bounds_apply = assess(facts, estimates)
    n = running.sequences
    tv_pos = (running.pos_tv / n).cpu().numpy()
    kl_pos = (running.pos_kl / n).cpu().numpy()
    delta_hat = float(running.max_kl_seen)
    eps_hat = float(running.max_tv_seen)
    kl_seq_hat = max(0.0, estimates["kl_seq"].mean) if status["kl_seq"] != INFINITE else math.inf
    if facts.roll_off_theta:
        delta_hat = math.inf
    inputs = BoundInputs(config.T, delta_hat, eps_hat, kl_seq_hat, pinsker_cap(kl_seq_hat), tv_pos)
    bounds = {"paper": evaluate_bounds(inputs, "paper"), "sharp": evaluate_bounds(inputs, "sharp"),
              "inputs": "plug-in: δ̂, ε̂ are maxima over sampled contexts (lower estimates); D_TV^seq is the "
                        "Pinsker cap of the estimated D_KL^seq; D̄_t is the per-position sample mean"}
    chi2_hat = None
    if running.has_chi2:
        chi2_hat = float(running.max_chi2_seen)
        bounds["chi2"] = _plugin_chi2_bounds(config.T, chi2_hat, estimates["second_moment"].mean)
    chi2_pos = (running.pos_chi2 / n).cpu().numpy() if running.has_chi2 else None
    bounds["path"] = _plugin_path_bounds(config.T, kl_seq_hat, S, lr_sum, chi2_pos, float(tv_pos.sum()))
    memory = {"family_state_bytes": family.state_bytes(), "chunk": config.chunk, "block": config.block,
              "per_sequence_result_bytes": 6 * 8 * n, "peak_device_bytes": peak_memory_bytes(device)}
    if not bounds_apply:
        bounds["applies"] = False
    interval, certificate = _certified(R, S, W, config.level, facts)
    return SimulationResult(estimates, delta_hat, eps_hat, tv_pos, kl_pos, running.acceptance(), bounds, exact,
                            str(device), seconds, memory, config, notes, status, facts, bounds_apply,
                            chi2_tok_max_sampled=chi2_hat, chi2_pos_mean=chi2_pos,
                            worst_case_interval=interval, certificate=certificate)


def _certified(R: torch.Tensor, S: torch.Tensor, W: torch.Tensor, level: float, facts: SupportFacts):
    """(worst-case interval, certificate) as JSON-ready dicts; both None when π_θ has mass off π_roll's
    support (E[W⁻] is then not sup_R|Error| and no bound on |Error| applies); the certificate also None when a
    reward leaves [0, 1]."""
    if facts.theta_off_roll:
        return None, None
    r, s, w = (v.to(torch.float64).cpu().numpy() for v in (R, S, W))
    interval = worst_case_error_interval(w, level)
    certificate = None
    if np.all((r >= 0) & (r <= 1)):
        certificate = improvement_certificate(r, s, w, level, worst=interval)
    return interval.to_json(), certificate


def _plugin_chi2_bounds(T: int, chi2_hat: float, second_moment_hat: float) -> dict:
    """This suite's χ² family (THEORY §10) on estimated inputs: χ̂²_max is the maximum over sampled
    contexts (a lower estimate), χ²_seq takes its worst case given it, E[W²] is the sample mean of W²."""
    inputs = Chi2Inputs(T, chi2_hat, math.inf if math.isinf(chi2_hat) else math.expm1(min(709.0, T * math.log1p(chi2_hat))),
                        max(0.0, second_moment_hat))
    values = evaluate_chi2_bounds(inputs)
    values["inputs"] = ("plug-in: χ̂²_max is the maximum over sampled contexts (a lower estimate); χ²_seq at its "
                        "worst case given it; E[W²] the sample mean of W²; this suite's χ² family, constant ½")
    return values


def _plugin_path_bounds(T: int, kl_seq_hat: float, S: torch.Tensor, L: torch.Tensor, chi2_pos,
                        tv_pos_sum: float) -> dict:
    """This suite's path-moment family (THEORY §11) on estimated inputs: D_KL^seq from the exact per-context KL
    along the sampled contexts, Q = Σ_t of the per-position means of the exact per-context χ² (or the sample mean
    of S² without them), E[SH] and E[H²] sample means over the sequences (S = Σ_t (ρ_t − 1), H = S − Σ_t log ρ_t),
    Σ_t E|ρ_t − 1| = 2 Σ_t D̄_t from the per-position mean TV (the L1 split of the additive bound);
    D_TV^seq at the smaller of its Pinsker and Bretagnolle–Huber bounds. The weighted χ² bound needs the exact
    laws and is not estimated."""
    from numerics.path_bounds import PathInputs, evaluate_path_bounds

    S64, L64 = S.to(torch.float64), L.to(torch.float64)
    H = S64 - L64
    with np.errstate(invalid="ignore", over="ignore"):
        q_hat = float(np.sum(chi2_pos)) if chi2_pos is not None else float((S64 * S64).mean())
        sh_hat, h2_hat = float((S64 * H).mean()), float((H * H).mean())
    finite = all(math.isfinite(v) for v in (kl_seq_hat, q_hat, sh_hat, h2_hat))
    inputs = PathInputs(T, kl_seq_hat, q_hat, sh_hat if finite else None, h2_hat if finite else None,
                        splits=((0.0, 2.0 * tv_pos_sum, 0.0),))
    values, params = evaluate_path_bounds(inputs)
    defined = lambda x: None if math.isnan(x) else x          # E[SH] with H = +inf on some sequence: undefined
    values["parameters"] = {"q_sum": defined(q_hat), "sh_moment": defined(sh_hat), "h2_moment": defined(h2_hat),
                            "tangent_gamma": params["tangent_gamma"], "additive_tv": params["additive_tv"]}
    values["inputs"] = ("plug-in: D_KL^seq and Q from the exact per-context KL and χ² at sampled contexts, E[SH] and "
                        "E[H²] sample means, D_TV^seq at the smaller of its Pinsker and Bretagnolle–Huber bounds; this "
                        "suite's path-moment family (THEORY §11); weighted_chi2 needs the exact laws (trm exact)")
    return values


def _estimate(values: torch.Tensor) -> Estimate:
    """Mean and standard error; an infinite sample gives an infinite mean and standard error
    (never NaN), which :func:`gpu_sim.support.assess` then flags."""
    values = values.to(torch.float64).reshape(-1)
    finite = torch.isfinite(values)
    if bool(finite.all()):
        return Estimate.from_samples(values)
    n = values.numel()
    pos, neg = bool(torch.isposinf(values).any()), bool(torch.isneginf(values).any())
    mean = math.inf if pos and not neg else -math.inf if neg and not pos else 0.0
    return Estimate(mean, math.inf, n)


def format_estimate(est: Estimate, status: str = "valid") -> str:
    """mean ± se with the mean rounded to the precision of its standard error (2 significant digits);
    '+inf' for an infinite KL and 'not reported (biased)' for a biased estimate; never 'nan'."""
    if status == INFINITE:
        return "+inf (exact; no standard error)"
    if status == BIASED or not math.isfinite(est.mean) or math.isnan(est.se):
        return "not reported (biased; see notes)"
    if est.se == 0 or not math.isfinite(est.se):
        return f"{est.mean:.6g} ± {est.se:.2g}"
    digits = max(0, 1 - int(math.floor(math.log10(est.se))))
    return f"{est.mean:.{digits}f} ± {est.se:.2g}" if digits < 12 else f"{est.mean:.3e} ± {est.se:.2g}"
