"""The criterion grammar, shared by the simulator (:mod:`gpu_sim.criteria`) and the audit of
training dumps (:mod:`audit.criteria`); parsing only, no torch.

Masking criteria: Trust Region Masking with exact KL and the sample-based criteria frameworks ship.

A criterion is a comma-separated list of ``name:threshold`` clauses, AND-ed (as verl does):
    exact KL from full distributions
        trm_max:δ            max_t D_KL(c_t) ≤ δ                          (TRM-Max)
        trm_avg:δ            (1/T) Σ_t D_KL(c_t) ≤ δ                      (TRM-Avg)
        ln_trm:δ_W[@δ]       W/Z(T) ≤ δ_W, W = Σ_t |ρ_t − 1| w_t, w_t = min(1, (T−t)ε, sqrt((T−t)δ/2)),
                             ε = sqrt(δ/2), default δ = 1e-3, Z(T) = Σ_t w_t  (LN-TRM)
        ser:δ                (1/T) Σ_t |ρ_t − 1| ≤ δ                      (SER)
        trm_chi2:x           max_t χ²(c_t) ≤ x, χ²(c) = Σ_v π_θ(v|c)²/π_roll(v|c) − 1 (θ against roll),
                             exact from full distributions (TRM-χ²; this suite's criterion, THEORY §10).
                             Guarantee: if every reachable context has χ²(c) ≤ x, then for every reward
                             R ∈ [0, 1], |Error| ≤ sup_R |Error| ≤ B_χ²-max(x) = ½ sqrt((1 + x)^T − 1 − T x)
                             (≈ T x / (2√2) while T x ≪ 1; numerics.chi2_bounds.chi2_max_bound_closed), and
                             the threshold for an error budget β is numerics.chi2_bounds.chi2_threshold(T, β)
                             (`trm threshold --divergence chi2`). Like TRM-Max, a per-sequence decision certifies
                             only the contexts it saw; the guarantee needs the condition on every context.
    sampled token only, ℓ_t = log π_θ(y_t) − log π_roll(y_t) clamped to ±20,
    k1 = −ℓ, k2 = ½ℓ², k3 = e^ℓ − 1 − ℓ (E_roll[k1] = E_roll[k3] = D_KL(roll‖θ))
        token_k1:lo_hi       per token: ratio e^ℓ ∈ [lo, hi]  (a token mask)
        token_k2:x, token_k3:x   per token: k ≤ x           (a token mask)
        seq_sum_k1:lo_hi     e^(Σ ℓ) ∈ [lo, hi];  seq_sum_k2:x, seq_sum_k3:x   Σ k ≤ x
        seq_mean_k1:lo_hi    e^(mean ℓ) ∈ [lo, hi] (geometric-mean band); seq_mean_k2/k3:x   mean k ≤ x
        seq_max_k2:x, seq_max_k3:x   max_t k ≤ x
Ratio bands are on r = π_θ/π_roll as written (not mirrored). A criterion containing a token clause
is reported as a token mask (share of tokens kept); the others mask whole sequences.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from numerics.errors import TRMInputError

EXACT = ("trm_max", "trm_avg", "ln_trm", "ser", "trm_chi2")
BAND = ("token_k1", "seq_sum_k1", "seq_mean_k1")
SCALAR = ("token_k2", "token_k3", "seq_sum_k2", "seq_sum_k3", "seq_mean_k2", "seq_mean_k3", "seq_max_k2", "seq_max_k3")
NAMES = EXACT + BAND + SCALAR
LOG_RATIO_CLAMP = 20.0
DEFAULT_LN_DELTA = 1e-3


@dataclass(frozen=True)
class Clause:
    name: str
    threshold: float = math.nan
    lower: float = math.nan
    upper: float = math.nan
    ln_delta: float = DEFAULT_LN_DELTA
    text: str = ""

    @property
    def token_level(self) -> bool:
        return self.name.startswith("token_")

    @property
    def tokenwise(self) -> bool:
        """Whether the sequence is kept iff every token passes its own test (so (1 − p)^n models it)."""
        return self.token_level or self.name.startswith("seq_max") or self.name in ("trm_max", "trm_chi2")


@dataclass(frozen=True)
class Criterion:
    text: str
    clauses: tuple[Clause, ...]

    @property
    def token_level(self) -> bool:
        return any(c.token_level for c in self.clauses)


def _number(text: str, spec: str, flag: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise TRMInputError(f"{flag} {spec!r}: {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise TRMInputError(f"{flag} {spec!r}: threshold {text} must be a finite non-negative number")
    return value


def parse_clause(spec: str, flag: str = "criterion") -> Clause:
    """'trm_max:0.05' → a Clause; ``flag`` names the option in error messages."""
    spec = spec.strip()
    name, sep, value = spec.partition(":")
    if name not in NAMES:
        raise TRMInputError(f"{flag} {spec!r}: unknown name {name!r}; choose from {', '.join(NAMES)}")
    if not sep or not value:
        form = "lower_upper" if name in BAND else "a threshold"
        raise TRMInputError(f"{flag} {spec!r}: {name} needs {form}, e.g. {name}:{'0.6_1.6' if name in BAND else '0.01'}")
    if name in BAND:
        parts = value.split("_")
        if len(parts) != 2:
            raise TRMInputError(f"{flag} {spec!r}: {name} takes a ratio band lower_upper, e.g. {name}:0.6_1.6")
        lower, upper = (_number(p, spec, flag) for p in parts)
        if not 0 < lower < upper:
            raise TRMInputError(f"{flag} {spec!r}: the band needs 0 < lower < upper, got {lower} and {upper}")
        return Clause(name, lower=lower, upper=upper, text=spec)
    if name == "ln_trm":
        text, at, delta = value.partition("@")
        if at and not delta:
            raise TRMInputError(f"{flag} {spec!r}: nothing after '@'; write {name}:δ_W@δ, e.g. {name}:0.05@0.001, "
                                f"or drop '@' for the default δ = {DEFAULT_LN_DELTA:g}")
        return Clause(name, _number(text, spec, flag),
                      ln_delta=_number(delta, spec, flag) if delta else DEFAULT_LN_DELTA, text=spec)
    return Clause(name, _number(value, spec, flag), text=spec)


def parse_criterion(text: str, flag: str = "criterion") -> Criterion:
    """'trm_max:0.05,trm_avg:0.001' → a Criterion of AND-ed clauses."""
    if not text or not text.strip():
        raise TRMInputError(f"{flag}: empty specification")
    return Criterion(text, tuple(parse_clause(part, flag) for part in text.split(",")))
