"""An example training-step dump for `trm audit`, drawn from the neural family.

The rollout copy of the recurrent language model (bfloat16, plus the synthetic rollout noise of
the chosen mismatch model) samples every sequence; the float32 copy (θ, optionally stale by
``stale_sigma``) scores the same tokens. Token ``V − 1`` is an end-of-sequence token: a row ends
at its first EOS (the EOS itself is a response token, as in verl), so lengths vary and the batch
is padded. A constant ``eos_bias`` on the EOS logit (the same in both copies) sets the mean length.

The dump has verl's keys: old_log_probs (θ), rollout_log_probs, response_mask [B, L], responses
(token ids), token_level_scores (the reward, the share of target tokens v < V/4 in the response,
placed at the row's last valid token), global_steps; with ``distributions="full"`` also
old_log_probs_full / rollout_log_probs_full [B, L, V], with ``"topk:K"`` the log-probs of the
rollout's K most likely tokens under both copies (old_topk_log_probs / rollout_topk_log_probs).
"""
from __future__ import annotations

import numpy as np
import torch

from gpu_sim.neural import NeuralFamily, rollout_noise
from numerics.errors import TRMInputError
from numerics.generators import MismatchModel

DEFAULT_MISMATCH = MismatchModel("flips", sigma=0.02, df=3.0, rate=0.01, flip_sigma=1.0, tau=1.0)


@torch.no_grad()
def example_dump(batch: int = 256, length: int = 256, vocab: int = 64, hidden: int = 32, seed: int = 0,
                 step: int = 1, mismatch: MismatchModel = DEFAULT_MISMATCH, stale_sigma: float = 0.0,
                 eos_bias: float = 0.0, distributions: str | None = None,
                 device: torch.device = torch.device("cpu")) -> dict:
    """{key: numpy array} of one step. Seeded: the model from ``seed``, the samples from (seed, step)."""
    for name, value, low in (("batch", batch, 1), ("length", length, 1), ("vocab", vocab, 3), ("hidden", hidden, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise TRMInputError(f"example {name} = {value!r}: must be an integer ≥ {low}")
    topk = None
    if distributions is not None:
        if distributions == "full":
            pass
        elif distributions.startswith("topk:") and distributions[5:].isdigit() and 0 < int(distributions[5:]) < vocab:
            topk = int(distributions[5:])
        else:
            raise TRMInputError(f"example distributions {distributions!r}: give full or topk:K with 0 < K < {vocab}")
    family = NeuralFamily(vocab, hidden, device=device, seed=seed, mismatch=mismatch, stale_sigma=stale_sigma)
    g = torch.Generator(device=device).manual_seed(seed * 1_000_003 + step)
    eos = vocab - 1
    bias = torch.zeros(vocab, device=device)
    bias[eos] = eos_bias
    start = torch.randint(0, vocab - 1, (batch,), generator=g, device=device)
    h_r = family.roll_model.step(family.roll_model.initial_state(batch, device, family.rollout_dtype), start)
    h_t = family.theta_model.step(family.theta_model.initial_state(batch, device, torch.float32), start)
    alive = torch.ones(batch, dtype=torch.bool, device=device)
    old = torch.zeros(batch, length)
    roll = torch.zeros(batch, length)
    mask = torch.zeros(batch, length, dtype=torch.int64)
    tokens = torch.zeros(batch, length, dtype=torch.int64)
    full_r = full_o = None
    if distributions is not None:
        width = vocab if topk is None else topk
        full_r = torch.zeros(batch, length, width)
        full_o = torch.zeros(batch, length, width)
    for t in range(length):
        logp = torch.log_softmax(rollout_noise(mismatch, family.roll_model.logits(h_r).float(), g) + bias, -1)
        logq = torch.log_softmax(family.theta_model.logits(h_t) + bias, -1)
        y = torch.multinomial(logp.exp(), 1, generator=g).squeeze(1)
        roll[:, t] = logp.gather(1, y[:, None]).squeeze(1).cpu()
        old[:, t] = logq.gather(1, y[:, None]).squeeze(1).cpu()
        mask[:, t] = alive.long().cpu()
        tokens[:, t] = torch.where(alive, y, torch.full_like(y, eos)).cpu()
        if topk is not None:
            idx = logp.topk(topk, -1).indices
            full_r[:, t] = logp.gather(1, idx).cpu()
            full_o[:, t] = logq.gather(1, idx).cpu()
        elif full_r is not None:
            full_r[:, t], full_o[:, t] = logp.cpu(), logq.cpu()
        alive &= y != eos
        if not alive.any():
            break
        h_r = family.roll_model.step(h_r, y)
        h_t = family.theta_model.step(h_t, y)
    valid = mask.bool()
    n = valid.sum(1)
    hits = ((tokens < family.target) & valid).sum(1).double()
    reward = (hits / n.clamp(min=1)).float()
    scores = torch.zeros(batch, length)
    scores[torch.arange(batch), (n - 1).clamp(min=0)] = reward
    pad = ~valid
    out = {
        "old_log_probs": old.masked_fill(pad, 0.0).numpy(),
        "rollout_log_probs": roll.masked_fill(pad, 0.0).numpy(),
        "response_mask": mask.numpy(),
        "responses": tokens.numpy(),
        "token_level_scores": scores.numpy(),
        "global_steps": np.array(step, dtype=np.int64),
    }
    if full_r is not None:
        names = ("rollout_log_probs_full", "old_log_probs_full") if topk is None else \
            ("rollout_topk_log_probs", "old_topk_log_probs")
        out[names[0]] = full_r.masked_fill(pad[..., None], 0.0).numpy()
        out[names[1]] = full_o.masked_fill(pad[..., None], 0.0).numpy()
    return out
