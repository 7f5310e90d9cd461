"""The policy: a small mixture-of-experts language model, held for R independent runs at once.

Next-token logits from the last ``window`` tokens (the prompt token pads the start):
    x   = [e(y_{t−W}), …, e(y_{t−1})]                      embeddings, [W·D]
    h   = tanh(x W₁ + b₁)                                   [H]
    r   = h W_r                                             router logits, [E]
    S   = the top-k experts by r;  g_e = softmax_{e∈S}(r_e) gates (0 off S)
    z   = h + Σ_{e∈S} g_e tanh(h A_e + a_e)                 mixture-of-experts layer with a residual
    logits = z W_o + b_o                                    [V]
Top-k routing is discontinuous in h: where two router logits nearly tie, a rounding of r changes S
and the token's distribution jumps by g_e (expert e − expert e′), however small the rounding.

Every parameter carries a leading run axis R, so one batched product serves every run (each run
has its own weights, optimiser state and gradients; the sum of the runs' losses has the runs'
gradients as its blocks). Matrix products go through :class:`Arithmetic`, the trainer's in
float32 and a rollout engine's in its own precision (router and the rest separately).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from gpu_sim.training.precision import Arithmetic
from numerics.errors import TRMInputError

MATRICES = ("embed", "w1", "router", "experts", "out")      # stored in the engine's weight format
BIASES = ("b1", "experts_b", "out_b")                        # stored in its output format


@dataclass(frozen=True)
class PolicyShape:
    vocab: int = 16
    window: int = 2
    embed: int = 16
    hidden: int = 32
    experts: int = 4
    top_k: int = 2

    def __post_init__(self):
        for name in ("vocab", "window", "embed", "hidden", "experts", "top_k"):
            if getattr(self, name) < 1:
                raise TRMInputError(f"{name} = {getattr(self, name)}: must be at least 1")
        if self.top_k > self.experts:
            raise TRMInputError(f"top_k = {self.top_k}: cannot route to more than experts = {self.experts}")


def init_params(shape: PolicyShape, runs: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Weights for ``runs`` runs drawn on the CPU from ``generator`` (scale fan_in^−½; biases 0.1)."""
    V, W, D, H, E = shape.vocab, shape.window, shape.embed, shape.hidden, shape.experts

    def normal(*dims, fan_in):
        return torch.randn(runs, *dims, generator=generator) * fan_in ** -0.5

    return {"embed": normal(V, D, fan_in=1), "w1": normal(W * D, H, fan_in=W * D), "b1": normal(1, H, fan_in=100),
            "router": normal(H, E, fan_in=H), "experts": normal(H, E * H, fan_in=H),
            "experts_b": normal(1, E * H, fan_in=100), "out": normal(H, V, fan_in=H), "out_b": normal(1, V, fan_in=100)}


def prepare(params: dict[str, torch.Tensor], main: Arithmetic, router: Arithmetic) -> dict[str, torch.Tensor]:
    """The weights an engine computes with: matrices in its weight format, biases in its output
    format, each rounded once (the router's matrix by the router's arithmetic)."""
    out = {name: (router if name == "router" else main).weight(params[name]) for name in MATRICES}
    out.update({name: main.out(params[name]) for name in BIASES})
    return out


def forward(prepared: dict[str, torch.Tensor], context: torch.Tensor, shape: PolicyShape,
            main: Arithmetic = Arithmetic(), router: Arithmetic = Arithmetic()) -> tuple[torch.Tensor, torch.Tensor]:
    """[R, N, W] context tokens → (logits [R, N, V] float32, chosen experts [R, N, k] sorted)."""
    R, N, W = context.shape
    V, D, H, E = shape.vocab, shape.embed, shape.hidden, shape.experts
    embed = prepared["embed"]
    offsets = (torch.arange(R, device=context.device) * V).view(R, 1, 1)
    x = embed.reshape(R * V, D)[context + offsets].reshape(R, N, W * D)
    h = torch.tanh(main.matmul(x, prepared["w1"]) + prepared["b1"])
    r = router.matmul(h, prepared["router"])
    top, chosen = r.topk(shape.top_k, dim=-1)
    gates = torch.zeros_like(r).scatter(-1, chosen, torch.softmax(top, dim=-1))
    o = torch.tanh(main.matmul(h, prepared["experts"]) + prepared["experts_b"]).view(R, N, E, H)
    z = h + (gates.unsqueeze(-1) * o).sum(-2)
    logits = main.out(main.matmul(z, prepared["out"]) + prepared["out_b"])
    return logits, chosen.sort(dim=-1).values


def contexts(tokens: torch.Tensor, window: int) -> torch.Tensor:
    """[R, B, T+1] tokens (column 0 the prompt) → [R, B·T, W] teacher-forcing contexts of y_1..y_T."""
    R, B, L = tokens.shape
    pad = tokens[:, :, :1].expand(R, B, window - 1)
    padded = torch.cat([pad, tokens[:, :, :-1]], dim=-1)            # [R, B, W − 1 + T]
    return padded.unfold(-1, window, 1).reshape(R, B * (L - 1), window)
