"""The neural family: a small recurrent language model whose rollout and training copies differ
the way real stacks do.

π_roll is the model run in ``rollout_dtype`` (bfloat16 by default: weights and activations rounded,
a real implementation divergence), optionally plus the synthetic logit noise of FIELD.md §3;
π_θ is the same weights in float32, optionally perturbed (staleness: θ = roll weights plus
Gaussian noise of relative scale ``stale_sigma`` on the output layer). Per-context D_KL, D_TV and
χ²(θ ‖ roll) are exact over the whole vocabulary (computed in float32 from full log-probabilities as
Σ p (expm1(d) − d), d = log q − log p, every term ≥ 0; accumulated in float64), together with the
support facts, in one fused pass (:func:`gpu_sim.divergence.context_divergences`) that shares
p = exp(log π_roll) and q = exp(log π_θ) with the draws.

Sampling is by single-uniform inverse CDF (:func:`inverse_cdf_sample`: a float64 cumulative sum and
a binary search per row, one uniform per draw from an explicit torch.Generator), a stream of three
uniforms [3, B] per position: u0 draws y ~ π_roll, u1 decides the coupling, u2 draws the θ-chain's
token when it differs. The θ-chain (for J(π_θ)) is coupled to the roll-chain by a per-step maximal
coupling while their histories agree (keep y when u1 < min(1, π_θ(y)/π_roll(y)), else draw from the
residual (π_θ − π_roll)⁺), and runs on its own afterwards; the residual and the free θ-chain's law
are formed only for the rows that need them. ``sampler = "multinomial"`` keeps the earlier step
(torch.multinomial draws over the whole batch, the two separate divergence functions, support facts
from [B, V] masks) as the benchmark's reference; both draw their uniforms from the same generator
but consume them differently, so their samples differ. Reward: the share of
tokens in the target set {v < V·target_fraction}, in [0, 1].
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from gpu_sim.divergence import CPU_BLOCK_ELEMENTS, chi2_from_log_probs, context_divergences, kl_tv_from_log_probs
from numerics.errors import TRMInputError
from numerics.generators import MismatchModel


class TinyRecurrentLM(nn.Module):
    """Embedding → GRU cell → linear read-out; logits scaled by ``logit_scale``."""

    def __init__(self, vocab: int, hidden: int, generator: torch.Generator, logit_scale: float = 4.0):
        super().__init__()
        self.vocab, self.hidden, self.logit_scale = vocab, hidden, logit_scale
        self.embed = nn.Embedding(vocab, hidden)
        self.cell = nn.GRUCell(hidden, hidden)
        self.out = nn.Linear(hidden, vocab)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=generator) / (p.shape[-1] ** 0.5 if p.ndim > 1 else 10.0))

    def initial_state(self, batch: int, device, dtype) -> torch.Tensor:
        return torch.zeros(batch, self.hidden, device=device, dtype=dtype)

    def step(self, h: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        return self.cell(self.embed(tokens), h)

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        return self.out(h).mul_(self.logit_scale)


def rollout_noise(mismatch: MismatchModel, logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The synthetic mismatch models on float32 rollout logits [B, V], drawn from ``generator``."""
    kind = mismatch.kind
    if kind == "none":
        return logits
    normal = lambda: torch.randn(logits.shape, generator=generator, device=logits.device, dtype=logits.dtype)
    if kind == "dense":
        return logits + mismatch.sigma * normal()
    if kind == "heavy":
        df = max(1, round(mismatch.df))
        chi2 = sum(normal() ** 2 for _ in range(df)) / df
        return logits + mismatch.sigma * normal() / chi2.sqrt()
    if kind == "flips":
        flip = torch.rand(logits.shape[0], 1, generator=generator, device=logits.device) < mismatch.rate
        return logits + torch.where(flip, mismatch.flip_sigma * normal(), mismatch.sigma * normal())
    return logits / mismatch.tau


def inverse_cdf_sample(probs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """One token per row of ``probs`` [n, V] (non-negative, any positive total) from uniforms ``u`` [n]
    in [0, 1): the first v with Σ_(w≤v) p_w > u·Σ_w p_w, the sums in float64. A token of probability 0
    is drawn only if u·Σ rounds up to the total (probability ≤ 2^−53 per draw).

    On the CPU the float64 cumulative sums are formed a block of rows at a time in one reused buffer
    (about CPU_BLOCK_ELEMENTS entries), not as one fresh [n, V] float64 array; each row's sums are the
    same either way."""
    n, V = probs.shape
    if probs.device.type != "cpu" or n * V <= CPU_BLOCK_ELEMENTS:
        return _inverse_cdf_rows(probs, u, torch.cumsum(probs, -1, dtype=torch.float64))
    step = max(1, CPU_BLOCK_ELEMENTS // V)
    cdf = torch.empty((min(step, n), V), dtype=torch.float64)
    tokens = torch.empty(n, dtype=torch.long)
    for i in range(0, n, step):
        rows = probs[i:i + step]
        block = cdf[:rows.shape[0]]
        tokens[i:i + step] = _inverse_cdf_rows(rows, u[i:i + step], torch.cumsum(rows, -1, dtype=torch.float64,
                                                                                   out=block))
    return tokens


def _inverse_cdf_rows(probs: torch.Tensor, u: torch.Tensor, cdf: torch.Tensor) -> torch.Tensor:
    x = (u.to(torch.float64) * cdf[:, -1]).unsqueeze(1)
    return torch.searchsorted(cdf, x, right=True).squeeze(1).clamp_(max=probs.shape[-1] - 1)


class NeuralFamily:
    name = "neural"
    #: "inverse_cdf" (single uniform per draw, fused divergence pass) or "multinomial" (the earlier step)
    sampler = "inverse_cdf"

    def __init__(self, vocab: int = 256, hidden: int = 64, *, device: torch.device, seed: int = 0,
                 rollout_dtype: torch.dtype = torch.bfloat16, mismatch: MismatchModel = MismatchModel("none"),
                 stale_sigma: float = 0.0, logit_scale: float = 4.0, target_fraction: float = 0.25):
        if not 2 <= vocab <= 32768:
            raise TRMInputError(f"vocab = {vocab}: the neural family supports 2 … 32768 tokens")
        if hidden < 1:
            raise TRMInputError(f"hidden = {hidden}: must be at least 1")
        if not 0 < target_fraction <= 1:
            raise TRMInputError(f"target_fraction = {target_fraction}: must lie in (0, 1]")
        if stale_sigma < 0:
            raise TRMInputError(f"stale_sigma = {stale_sigma}: must be non-negative")
        g = torch.Generator().manual_seed(seed)
        base = TinyRecurrentLM(vocab, hidden, g, logit_scale)
        self.theta_model = copy.deepcopy(base).to(device=device, dtype=torch.float32).eval()
        if stale_sigma > 0:
            with torch.no_grad():
                w = self.theta_model.out.weight
                noise = torch.randn(w.shape, generator=g).to(device)
                w.add_(stale_sigma * w.abs().mean() * noise)
        self.roll_model = copy.deepcopy(base).to(device=device, dtype=rollout_dtype).eval()
        self.rollout_dtype, self.mismatch, self.device = rollout_dtype, mismatch, device
        self.V = vocab
        self.target = max(1, int(round(vocab * target_fraction)))
        self._support = None

    def sampled_support(self) -> dict:
        """Support violations seen on the full distributions of the sampled contexts so far:
        contexts with π_θ > 0 = π_roll for some token (and the θ mass there, per sequence),
        contexts with π_θ = 0 < π_roll for some token, and the number of contexts checked."""
        if self._support is None:
            return {"contexts": 0, "theta_off_roll_contexts": 0, "roll_off_theta_contexts": 0,
                    "theta_off_roll_mass_per_sequence": 0.0}
        contexts, sequences = self._support["contexts"], max(1, self._support["sequences"])
        return {"contexts": contexts,
                "theta_off_roll_contexts": int(self._support["theta_off"]),
                "roll_off_theta_contexts": int(self._support["roll_off"]),
                "theta_off_roll_mass_per_sequence": float(self._support["off_mass"]) / sequences}

    def state_bytes(self) -> int:
        return sum(p.numel() * p.element_size() for m in (self.theta_model, self.roll_model) for p in m.parameters())

    @torch.no_grad()
    def run_chunk(self, batch: int, T: int, running, generator: torch.Generator, block: int = 64):
        dev, V = self.device, self.V
        start = torch.randint(0, V, (batch,), generator=generator, device=dev)
        h_r = self.roll_model.step(self.roll_model.initial_state(batch, dev, self.rollout_dtype), start)
        h_t = self.theta_model.step(self.theta_model.initial_state(batch, dev, torch.float32), start)
        h_q = h_t.clone()
        together = torch.ones(batch, dtype=torch.bool, device=dev)
        hits_r = torch.zeros(batch, dtype=torch.float64, device=dev)
        hits_q = torch.zeros(batch, dtype=torch.float64, device=dev)
        running.start_chunk(batch)
        if self._support is None:
            zero = lambda: torch.zeros((), dtype=torch.float64, device=dev)
            self._support = {"contexts": 0, "sequences": 0, "theta_off": zero(), "roll_off": zero(),
                             "off_mass": zero(), "nan": torch.zeros((), dtype=torch.bool, device=dev)}
        sup = self._support
        t = 0
        while t < T:
            tau = min(block, running.next_boundary(t) - t)
            lr_b = torch.empty((tau, batch), dtype=torch.float64, device=dev)
            kl_b = torch.empty_like(lr_b)
            tv_b = torch.empty_like(lr_b)
            chi2_b = torch.empty_like(lr_b)
            for i in range(tau):
                logits_r = rollout_noise(self.mismatch, self.roll_model.logits(h_r).float(), generator)
                logp = torch.log_softmax(logits_r, -1)
                logq = torch.log_softmax(self.theta_model.logits(h_t), -1)
                step = self._reference_step if self.sampler == "multinomial" else self._step
                y, y_q, log_ratio, kl, tv, chi2 = step(logp, logq, h_q, together, generator)
                lr_b[i], kl_b[i], tv_b[i], chi2_b[i] = log_ratio.double(), kl.double(), tv.double(), chi2.double()
                together &= y_q == y
                hits_r += (y < self.target).double()
                hits_q += (y_q < self.target).double()
                h_r = self.roll_model.step(h_r, y)
                h_t = self.theta_model.step(h_t, y)
                h_q = self.theta_model.step(h_q, y_q)
            running.update(lr_b, kl_b, tv_b, chi2=chi2_b)
            t += tau
        running.end_chunk()
        sup["contexts"] += batch * T
        sup["sequences"] += batch
        if bool(sup["nan"]):
            raise TRMInputError("the neural family's log-probabilities became NaN (float32 overflow of the logits); "
                                "lower --logit-scale, --sigma, --flip-sigma or raise --tau")
        return hits_r / T, hits_q / T

    def _step(self, logp, logq, h_q, together, generator):
        """One position with the inverse-CDF sampler: p = exp(log π_roll) and q = exp(log π_θ) [B, V]
        formed once and shared by the draw, the fused divergence pass and the coupling's residual.
        Returns (y, y_θ, log-ratio at y, D_KL, D_TV, χ²), each [B]."""
        u = torch.rand((3, logp.shape[0]), generator=generator, dtype=torch.float64, device=logp.device)
        p = logp.exp()
        y = inverse_cdf_sample(p, u[0])
        p_y = logp.gather(1, y[:, None]).squeeze(1)
        q_y = logq.gather(1, y[:, None]).squeeze(1)
        q = logq.exp()
        div = context_divergences(logp, logq, p, q)
        # support facts from the full distributions (no host sync: checked after the chunk); a NaN
        # log-probability makes that context's TV NaN, and nothing else does
        sup = self._support
        sup["theta_off"] += div.theta_off_roll.sum()
        sup["roll_off"] += div.roll_off_theta.sum()
        sup["off_mass"] += div.theta_off_roll_mass.sum(dtype=torch.float64)
        sup["nan"] |= torch.isnan(div.tv).any()
        y_q = self._theta_token(y, p_y, q_y, p, q, h_q, together, u)
        return y, y_q, q_y - p_y, div.kl, div.tv, div.chi2

    def _reference_step(self, logp, logq, h_q, together, generator):
        """The step as it was before the fused pass (``sampler = "multinomial"``, the benchmark's
        reference): torch.multinomial draws over the whole batch, the two separate divergence functions
        and the support facts from [B, V] masks. Same returns as :meth:`_step`."""
        y = torch.multinomial(logp.exp(), 1, generator=generator).squeeze(1)
        p_y = logp.gather(1, y[:, None]).squeeze(1)
        q_y = logq.gather(1, y[:, None]).squeeze(1)
        kl, tv = kl_tv_from_log_probs(logp, logq)
        sup = self._support
        off = torch.isneginf(logp) & ~torch.isneginf(logq)
        sup["theta_off"] += off.any(-1).sum()
        sup["roll_off"] += (torch.isneginf(logq) & ~torch.isneginf(logp)).any(-1).sum()
        sup["off_mass"] += torch.where(off, logq.exp(), torch.zeros_like(logq)).sum().double()
        sup["nan"] |= torch.isnan(logp).any() | torch.isnan(logq).any()
        chi2 = chi2_from_log_probs(logp, logq)
        keep = torch.rand(y.shape[0], generator=generator, device=y.device) < torch.exp(q_y - p_y).clamp(max=1.0)
        residual = (logq.exp() - logp.exp()).clamp(min=0.0)
        residual = torch.where(residual.sum(-1, keepdim=True) > 0, residual, logq.exp())
        y_coupled = torch.where(keep, y, torch.multinomial(residual, 1, generator=generator).squeeze(1))
        own = torch.log_softmax(self.theta_model.logits(h_q), -1).exp()
        y_free = torch.multinomial(own, 1, generator=generator).squeeze(1)
        return y, torch.where(together, y_coupled, y_free), q_y - p_y, kl, tv, chi2

    def _theta_token(self, y, p_y, q_y, p, q, h_q, together, u):
        """The θ-chain's token: maximal coupling with the roll-chain's y while the histories agree
        (keep y when u[1] < min(1, π_θ(y)/π_roll(y)), else a draw from (π_θ − π_roll)⁺ with u[2]), and a
        draw from its own law π_θ(·|h_q) afterwards. ``p``, ``q`` [B, V]: the step's π_roll and π_θ."""
        keep = u[1] < torch.exp(q_y - p_y).clamp(max=1.0).double()
        if y.device.type != "cpu":
            # on an accelerator, draw for every row (no data-dependent shapes, so no host sync per step)
            residual = (q - p).clamp_(min=0.0)
            residual = torch.where(residual.sum(-1, keepdim=True) > 0, residual, q)
            y_res = inverse_cdf_sample(residual, u[2])
            y_own = inverse_cdf_sample(torch.softmax(self.theta_model.logits(h_q), -1), u[2])
            return torch.where(together, torch.where(keep, y, y_res), y_own)
        y_q = y.clone()
        redraw = (together & ~keep).nonzero().squeeze(1)
        if redraw.numel():
            q_rows = q[redraw]
            residual = (q_rows - p[redraw]).clamp_(min=0.0)
            residual = torch.where(residual.sum(-1, keepdim=True) > 0, residual, q_rows)
            y_q[redraw] = inverse_cdf_sample(residual, u[2, redraw])
        apart = (~together).nonzero().squeeze(1)
        if apart.numel():
            own = torch.softmax(self.theta_model.logits(h_q[apart]), -1)
            y_q[apart] = inverse_cdf_sample(own, u[2, apart])
        return y_q
