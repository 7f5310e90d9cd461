"""All numerical tolerances of the suite, in one place.

Identities are checked with float64 allclose; one-sided inequalities allow a slack scaled to
machine epsilon times the size of the terms that cancel (never a fixed absolute 1e-12).
"""
import numpy as np

EPS = np.finfo(np.float64).eps
IDENTITY_RTOL = 1e-9
IDENTITY_ATOL = 1e-12
#: One-sided slack: this many ulps of the scale of the cancelling terms.
ULPS = 256


def slack(scale) -> float:
    return ULPS * EPS * max(1.0, float(np.max(np.abs(scale))))


def assert_close(actual, expected, what: str = "", scale=1.0):
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    atol = IDENTITY_ATOL * max(1.0, float(np.max(np.abs(scale))))
    assert np.allclose(actual, expected, rtol=IDENTITY_RTOL, atol=atol), f"{what}: {actual} != {expected}"


def assert_le(smaller, larger, what: str = "", scale=1.0):
    smaller, larger = np.asarray(smaller, dtype=float), np.asarray(larger, dtype=float)
    tol = slack(np.maximum(np.abs(scale), np.maximum(np.abs(smaller), np.abs(larger))))
    assert np.all(smaller <= larger + tol), f"{what}: {smaller} > {larger} (slack {tol:.3g})"


# ---------------------------------------------------------------------------------------------
# float32 per-context divergences (torch): the rounding of the fused pass, and what a rounding of
# its log-probability inputs does to them. torch is imported inside (numerics tests never need it).

def rounding_atol(lp, lq) -> dict:
    """Per-row absolute error of the fused pass in the inputs' dtype (ε its machine epsilon), by term:
    KL  p·(expm1(d) − d) carries a few ulp of d (cancellation: relative error ε/|d| on a term of size
        p·d²/2), and (q − p) − p·d for |d| ≥ 1 a few ulp of p + q: 4ε·Σ_v [p|d| + (p + q)·1{|d| ≥ 1}];
    TV  ½Σ|q − p| from exp of each side: 4ε;  the θ mass off roll's support: 4ε;
    χ²  p·expm1(d)², no cancellation: relative error only;
    plus V times the dtype's smallest normal number for values below its range.
    ``lp``, ``lq`` [..., V]: log π_roll and log π_θ (torch tensors); returns {field: [...] float64}."""
    import torch

    eps, floor = torch.finfo(lp.dtype).eps, lp.shape[-1] * torch.finfo(lp.dtype).tiny
    p, q, d = lp.double().exp(), lq.double().exp(), (lq - lp).double()
    big = torch.isfinite(d) & (d.abs() >= 1)
    kl_scale = torch.where(torch.isfinite(d), p * d.abs(), torch.zeros_like(d)).sum(-1) + ((p + q) * big).sum(-1)
    flat = torch.full_like(kl_scale, 4 * eps + floor)
    return {"kl": 4 * eps * kl_scale + floor, "tv": flat, "chi2": torch.full_like(kl_scale, floor),
            "theta_off_roll_mass": flat}


#: Ulps (of the row's log-probability magnitude) that a float32 log-probability may move between two
#: CPUs' vector units; see :func:`logprob_rounding`.
LOGPROB_ULPS = 8


def logprob_rounding(lp, lq):
    """[...] per-row bound η on how far each float32 log-probability of a row can move when the same model
    runs on another CPU (another vector width: ATEN_CPU_CAPABILITY default / avx2 / avx512, another BLAS
    blocking).

    Model: the logits are sums of K products re-associated by the vector width, and log_softmax's max-shift
    and log-sum-exp each round once at the scale of the row's largest |log-probability|; every such
    rounding is an ulp of that scale, so η = LOGPROB_ULPS · ε₃₂ · (1 + max_v |log p_v| + max_v |log q_v|)
    (finite entries). Measured (tests/gpu_sim/test_neural_step.py, seven cases, on an AMD EPYC against a
    recording made on an Intel AVX-512 machine; ``python3 -m tests.dispatch LEVEL``): the statistics moved by
    at most 8.5% of the allowance :func:`perturbed_divergence_atol` derives from η at the default level (no
    SIMD anywhere), 3.8% at avx2 and at avx512."""
    import torch

    def largest(x):
        return torch.where(torch.isfinite(x), x.abs(), torch.zeros_like(x)).amax(-1)

    lp, lq = lp.double(), lq.double()
    return LOGPROB_ULPS * torch.finfo(torch.float32).eps * (1 + largest(lp) + largest(lq))


def perturbed_divergence_atol(lp, lq) -> dict:
    """Per-row bound on how far each statistic of a context moves when every log-probability moves by at
    most η = :func:`logprob_rounding` (p → p·e^a, q → q·e^b, |a|, |b| ≤ η, so d = log q − log p moves by
    Δ, |Δ| ≤ 2η), derived term by term from the forms the fused pass evaluates, plus the pass's own
    rounding (:func:`rounding_atol`) on top:
    log-ratio at the sampled token   2η
    KL  Σ p·φ(d), φ(d) = expm1(d) − d:  |φ(d + Δ) − φ(d)| ≤ |Δ|·|expm1(d)| + ½Δ²·e^(d + |Δ|), so
        ΔKL ≤ expm1(η)·KL + e^η·Σ_v [2η·p|expm1(d)| + 2η²e^(2η)·q]  (p|expm1(d)| = |q − p|; a token with
        p = 0 < q contributes q, which moves by expm1(η)·q)
    TV  ½Σ|q − p|:  expm1(η)·½Σ(p + q)
    χ²  Σ p·expm1(d)²:  expm1(d + Δ) − expm1(d) = e^d·expm1(Δ), so
        Δχ² ≤ expm1(η)·χ² + e^η·expm1(2η)·Σ_v q·(2|expm1(d)| + (q/p)·expm1(2η))
    θ mass off roll's support  Σ_(p = 0) q:  expm1(η)·(that mass)
    The bound is first principles given η; η is the model. A constant shift of a row's log-probabilities
    (an unnormalised log_softmax) moves KL and χ² only in second order, and the bound respects that: it is
    small where p ≈ q. ``lp``, ``lq`` [..., V] float32 (torch); returns {name: [...] float64}."""
    import torch

    eta = logprob_rounding(lp, lq)
    em1, grow = torch.expm1(eta), eta.exp()
    zero = torch.zeros((), dtype=torch.float64)
    p, q = lp.double().exp(), lq.double().exp()
    support = lp.exp() > 0                       # the float32 support the pass sees
    off = ~support & (q > 0)
    d = torch.where(support, (lq - lp).double(), zero)
    gap = torch.where(support, (q - p).abs(), zero)                # p·|expm1(d)|
    kl = torch.where(support, p * (torch.expm1(d) - d), zero).sum(-1)
    chi2_terms = torch.where(support, p * torch.expm1(d) ** 2, zero)
    ratio = torch.where(support, q * q / torch.where(support, p, torch.ones_like(p)), zero)   # q²/p
    off_mass = torch.where(off, q, zero).sum(-1)
    e2 = torch.expm1(2 * eta)
    own = rounding_atol(lp, lq)
    return {
        "log_ratio": 2 * eta,
        "kl": em1 * kl + grow * (2 * eta[..., None] * gap + 2 * eta[..., None] ** 2 * torch.exp(2 * eta)[..., None]
                                 * q).sum(-1) + em1 * off_mass + own["kl"],
        "tv": em1 * 0.5 * (p.sum(-1) + q.sum(-1)) + own["tv"],
        "chi2": em1 * chi2_terms.sum(-1) + grow * e2 * (2 * (q * torch.expm1(d)).abs().where(support, zero).sum(-1)
                                                        + e2 * ratio.sum(-1)) + own["chi2"],
        "theta_off_roll_mass": em1 * off_mass + own["theta_off_roll_mass"],
    }
