"""Exact per-context divergences from full log-probabilities, in torch (KL always roll ‖ θ)."""
from __future__ import annotations

from typing import NamedTuple

import torch

from numerics.errors import TRMInputError

_INF = float("inf")
#: on the CPU, rows are processed in blocks of about this many entries (1 MiB of float32 per temporary)
CPU_BLOCK_ELEMENTS = 1 << 18


def kl_tv_from_log_probs(logp_roll: torch.Tensor, logq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(D_KL(roll ‖ θ), D_TV) over the last axis.

    Each KL term p·(expm1(d) − d), d = log q − log p, is ≥ 0 and keeps relative accuracy for nearly
    equal laws; where d is large it is evaluated as the equal (q − p) − p·d, which cannot overflow
    (and gives q where p underflows to 0, the mass of θ outside π_roll's support).
    """
    p, q = logp_roll.exp(), logq.exp()
    d = logq - logp_roll
    small = d.abs() < 1.0
    near = p * (torch.expm1(torch.where(small, d, torch.zeros_like(d))) - torch.where(small, d, torch.zeros_like(d)))
    far = (q - p) - torch.where(p > 0, p * d, torch.zeros_like(p))
    kl = torch.where(small, near, far).sum(-1)
    return kl, 0.5 * (q - p).abs().sum(-1)


def chi2_from_log_probs(logp_roll: torch.Tensor, logq: torch.Tensor) -> torch.Tensor:
    """χ²(θ ‖ roll) = Σ_v p·expm1(d)², d = log q − log p, over the last axis (every term ≥ 0; THEORY §10).

    +inf where p = 0 < q (θ puts mass where the rollout engine cannot sample); 0-probability tokens
    under both laws contribute 0. Computed in the inputs' dtype; accumulate in float64 downstream.
    """
    p, q = logp_roll.exp(), logq.exp()
    on_support = p > 0
    d = torch.where(on_support, logq - logp_roll, torch.zeros_like(logq))
    terms = torch.where(on_support, p * torch.expm1(d) ** 2,
                        torch.where(q > 0, torch.full_like(p, float("inf")), torch.zeros_like(p)))
    return terms.sum(-1)


class ContextDivergences(NamedTuple):
    """What :func:`context_divergences` returns; every field has the inputs' leading shape [...]."""

    #: D_KL(π_roll ‖ π_θ) = Σ_v p (log p − log q), in the inputs' dtype
    kl: torch.Tensor
    #: D_TV = ½ Σ_v |q − p|
    tv: torch.Tensor
    #: χ²(π_θ ‖ π_roll) = Σ_v p·expm1(d)²; +inf where p = 0 < q for some token
    chi2: torch.Tensor
    #: bool: some token has log π_roll = −inf < log π_θ (θ puts mass where the rollout cannot sample)
    theta_off_roll: torch.Tensor
    #: bool: some token has log π_θ = −inf < log π_roll
    roll_off_theta: torch.Tensor
    #: Σ_v π_θ(v) over the tokens with log π_roll(v) = −inf (0 where there are none)
    theta_off_roll_mass: torch.Tensor


def context_divergences(logp_roll: torch.Tensor, logq: torch.Tensor, p_roll: torch.Tensor | None = None,
                        q_theta: torch.Tensor | None = None) -> ContextDivergences:
    """D_KL(roll ‖ θ), D_TV, χ²(θ ‖ roll) and the support facts of each context in one pass over the
    vocabulary (THEORY §3 and §10; KL is roll ‖ θ, χ² is θ ‖ roll).

    ``logp_roll``, ``logq`` [..., V]: log π_roll and log π_θ (log_softmax outputs; −inf allowed).
    ``p_roll``, ``q_theta`` (optional, [..., V]): their exponentials when the caller already has them
    (the sampler draws from p); they are read, never written. Returns :class:`ContextDivergences` [...].

    With p = exp(log p), q = exp(log q) and d = log q − log p formed once, every term is the one
    :func:`kl_tv_from_log_probs` and :func:`chi2_from_log_probs` evaluate, term by term the same floats:
    KL terms p·(expm1(d) − d) for |d| < 1 and (q − p) − p·d beyond (each ≥ 0, relative accuracy for
    nearly equal laws, no overflow, q where p underflows to 0); χ² terms p·expm1(d)², with +inf where
    p = 0 < q and 0 where both are 0; TV = ½ Σ |q − p|. A token with log p = log q = −inf contributes
    nothing. NaN inputs give a NaN TV (and KL).

    Rows in which p or q has a zero (a −inf log-probability or an underflow) need guarded terms
    (0·∞ → 0 in p·d, the χ² mask, the support facts). On an accelerator every row takes the guarded
    evaluation (no data-dependent shapes, so no host synchronisation); on the CPU the rows go through
    the unguarded evaluation in blocks of about ``CPU_BLOCK_ELEMENTS`` entries (the temporaries stay in
    the core's cache), and only the rows with a zero are evaluated again, guarded. The two agree term
    by term on the rows without a zero. Four [..., V] temporaries of the inputs' dtype (one block's
    worth on the CPU) and up to three boolean masks; nothing is cast to float64. Not differentiable
    (it writes into its temporaries): inputs that require grad are refused while grad mode is on.
    """
    _check_log_probs(logp_roll, logq, p_roll, q_theta)
    p = logp_roll.exp() if p_roll is None else p_roll
    q = logq.exp() if q_theta is None else q_theta
    if p.device.type != "cpu":
        return _context_terms(logp_roll, logq, p, q, guarded=True)
    lead, V = logp_roll.shape[:-1], logp_roll.shape[-1]
    flat = [x.reshape(-1, V) for x in (logp_roll, logq, p, q)]
    n, step = flat[0].shape[0], max(1, CPU_BLOCK_ELEMENTS // V)
    if n <= step:
        out, has_zero = _unguarded_block(*flat)
    else:       # blocks of rows whose temporaries stay in the core's cache
        parts = [_unguarded_block(*(x[i:i + step] for x in flat)) for i in range(0, n, step)]
        out = ContextDivergences(*(torch.cat(field) for field in zip(*(part[0] for part in parts))))
        has_zero = torch.cat([part[1] for part in parts])
    rows = has_zero.nonzero().squeeze(1)
    if rows.numel():
        fixed = _context_terms(*(x[rows] for x in flat), guarded=True)
        for field, value in zip(out, fixed):
            field[rows] = value
    return ContextDivergences(*(field.reshape(lead) for field in out))


def _check_log_probs(logp_roll, logq, p_roll, q_theta) -> None:
    for name, x in (("logp_roll", logp_roll), ("logq", logq), ("p_roll", p_roll), ("q_theta", q_theta)):
        if x is None:
            continue
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TRMInputError(f"{name}: expected a floating-point tensor of log-probabilities [..., V], "
                                f"got {type(x).__name__}{'' if not isinstance(x, torch.Tensor) else ' of ' + str(x.dtype)}")
        if x.requires_grad and torch.is_grad_enabled():
            raise TRMInputError(f"{name} requires grad: context_divergences is not differentiable; call it under "
                                "torch.no_grad(), or use kl_tv_from_log_probs / chi2_from_log_probs")
        if x.ndim == 0 or x.shape[-1] == 0:
            raise TRMInputError(f"{name} of shape {tuple(x.shape)}: needs a non-empty vocabulary axis [..., V]")
        if x.shape != logp_roll.shape or x.dtype != logp_roll.dtype or x.device != logp_roll.device:
            raise TRMInputError(f"{name} of shape {tuple(x.shape)}, {x.dtype} on {x.device}: must match logp_roll "
                                f"({tuple(logp_roll.shape)}, {logp_roll.dtype} on {logp_roll.device})")


def _unguarded_block(lp, lq, p, q) -> tuple[ContextDivergences, torch.Tensor]:
    """Unguarded terms of a block of rows [n, V] and which rows hold a zero of p or q [n] (those must
    be evaluated again, guarded)."""
    return _context_terms(lp, lq, p, q, guarded=False), (p.amin(-1) == 0) | (q.amin(-1) == 0)


def _context_terms(lp, lq, p, q, guarded: bool) -> ContextDivergences:
    """The per-token terms and their sums over the last axis, with four [..., V] temporaries
    (d, q − p, expm1(d), one scratch) and one boolean mask (three when guarded).

    Unguarded assumes p > 0 and q > 0 everywhere (no −inf, no underflow): then d is finite and
    0·∞ never occurs; the support facts are all false there."""
    d = lq - lp
    if guarded:
        d.nan_to_num_(nan=0.0, posinf=_INF, neginf=-_INF)      # −inf − (−inf): a token neither law has
    w = q - p
    s = w.abs()
    tv = 0.5 * s.sum(-1)
    e = torch.expm1(d)
    torch.mul(e, e, out=s).mul_(p)                               # χ² terms p·expm1(d)²
    if guarded:
        zero = p == 0
        chi2 = s.masked_fill_(zero, 0.0).sum(-1)
        chi2 = torch.where(torch.mul(q, zero, out=s).sum(-1) > 0, _INF, chi2)
        theta_off, roll_off = d.amax(-1) == _INF, d.amin(-1) == -_INF
        off_mass = torch.mul(q, torch.isposinf(d), out=s).sum(-1)
    else:
        chi2 = s.sum(-1)
        theta_off = torch.zeros(tv.shape, dtype=torch.bool, device=tv.device)
        roll_off, off_mass = theta_off.clone(), torch.zeros_like(tv)
    torch.mul(p, d, out=s)
    if guarded:
        s.nan_to_num_(nan=0.0, posinf=_INF, neginf=-_INF)     # 0·(±∞) where p = 0: no p·d term
    w.sub_(s)                                                    # (q − p) − p·d
    e.sub_(d).mul_(p)                                            # p·(expm1(d) − d)
    small = torch.abs(d, out=s) < 1.0
    kl = torch.where(small, e, w, out=s).sum(-1)
    kl = torch.where(torch.isnan(tv), tv, kl)
    return ContextDivergences(kl, tv, chi2, theta_off, roll_off, off_mass)
