"""One training run: pretrain briefly, then GRPO steps with a mismatched rollout engine.

Per step: the rollout engine (current weights in ``rollout_dtype``, plus the optional synthetic
noise of FIELD.md §3) samples ``prompts × group`` sequences; rewards are group-normalised into
advantages (GRPO); the trainer (float32) takes ``updates`` gradient steps on the chosen objective,
recomputing π_θ and the masks each time. Logged per step (from the batch before the update unless
stated): the paper's log-perplexity gap |mean log π_θ(y) − mean log π_roll(y)|; the exact max and
mean token KL(roll ‖ θ) over the batch's contexts (full distributions); the acceptance of every
criterion in LOGGED_CRITERIA; the validation reward of the rollout engine (fixed validation
prompts and random numbers, so steps and objectives share them); and the monotonic-improvement
certificate after the update: whether the batch's L̂' exceeded the plug-in B̂* (paper constants),
and whether the validation reward then rose.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from gpu_sim.criteria import parse_criterion
from gpu_sim.device import resolve_device
from gpu_sim.divergence import kl_tv_from_log_probs
from gpu_sim.neural import rollout_noise
from gpu_sim.training.model import PolicyLM, rollout_copy
from gpu_sim.training.objectives import loss, parse_objective, sequence_masks
from gpu_sim.training.task import TargetShareTask
from numerics.bounds import BoundInputs, evaluate_bounds, pinsker_cap
from numerics.errors import TRMInputError
from numerics.generators import MismatchModel

LOGGED_CRITERIA = ("trm_max:0.05", "trm_avg:0.001", "trm_max:0.1", "trm_avg:0.002", "trm_max:0.1,trm_avg:0.002",
                   "seq_max_k2:0.05", "seq_mean_k3:0.001")


@dataclass(frozen=True)
class TrainConfig:
    objective: str = "ppo_clip"
    seed: int = 0
    vocab: int = 16
    hidden: int = 32
    T: int = 64
    prompts: int = 8
    group: int = 8
    steps: int = 40
    updates: int = 2
    lr: float = 1e-3
    pretrain_steps: int = 60
    pretrain_lr: float = 1e-2
    validation: int = 64
    rollout_dtype: str = "bfloat16"
    device: str = "cpu"
    mismatch: MismatchModel = field(default_factory=lambda: MismatchModel("flips", sigma=0.0, rate=0.005, flip_sigma=1.5))

    def __post_init__(self):
        parse_objective(self.objective)
        for name in ("vocab", "hidden", "T", "prompts", "group", "steps", "updates", "validation"):
            if getattr(self, name) < 1:
                raise TRMInputError(f"{name} = {getattr(self, name)}: must be at least 1")
        if self.vocab < 4:
            raise TRMInputError(f"vocab = {self.vocab}: the task needs at least 4 tokens")
        if self.group < 2:
            raise TRMInputError(f"group = {self.group}: group-normalised advantages need at least 2 samples")
        resolve_device(self.device)
        if self.rollout_dtype not in ("bfloat16", "float32", "float16"):
            raise TRMInputError(f"rollout_dtype = {self.rollout_dtype!r}: choose bfloat16, float16 or float32")

    def to_json(self) -> dict:
        out = asdict(self)
        out["mismatch"] = asdict(self.mismatch)
        return out


def _log_probs_of_rollout(engine: PolicyLM, prompts: torch.Tensor, T: int, mismatch: MismatchModel,
                          generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample [B, T] tokens from the rollout engine; return ([B, T+1] tokens with the prompt first,
    [B, T, V] float32 rollout log-probabilities at every context)."""
    B = prompts.shape[0]
    tokens = torch.empty(B, T + 1, dtype=torch.int64, device=prompts.device)
    tokens[:, 0] = prompts
    logps = []
    state = None
    with torch.no_grad():
        for t in range(T):
            logits, state = engine.step(tokens[:, t], state)
            logp = torch.log_softmax(rollout_noise(mismatch, logits.float(), generator), dim=-1)
            tokens[:, t + 1] = torch.multinomial(logp.exp(), 1, generator=generator).squeeze(1)
            logps.append(logp)
    return tokens, torch.stack(logps, dim=1)


def pretrain(model: PolicyLM, task: TargetShareTask, cfg: TrainConfig, generator: torch.Generator) -> None:
    """Cross-entropy on teacher sequences (drawn on the CPU from ``generator``, then moved)."""
    teacher = task.teacher(generator)
    device = next(model.parameters()).device
    opt = torch.optim.Adam(model.parameters(), lr=cfg.pretrain_lr)
    for _ in range(cfg.pretrain_steps):
        batch = task.teacher_batch(teacher, 32, generator).to(device)
        logits = model(batch[:, :-1])
        ce = torch.nn.functional.cross_entropy(logits.reshape(-1, task.vocab), batch[:, 1:].reshape(-1))
        opt.zero_grad()
        ce.backward()
        opt.step()


def run_training(cfg: TrainConfig, progress=None) -> dict:
    """One run; returns per-step arrays (numpy) and the configuration."""
    torch_dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[cfg.rollout_dtype]
    device = resolve_device(cfg.device)
    init = torch.Generator().manual_seed(cfg.seed)               # weights and pretraining data (CPU)
    g = torch.Generator(device=device).manual_seed(cfg.seed)     # rollouts (on the device)
    task = TargetShareTask(cfg.vocab, cfg.T)
    model = PolicyLM(cfg.vocab, cfg.hidden, init).to(device)
    pretrain(model, task, cfg, init)
    objective = parse_objective(cfg.objective)
    logged = [parse_criterion(c) for c in LOGGED_CRITERIA]
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    val_prompts = torch.randint(0, cfg.vocab, (cfg.validation,), generator=torch.Generator().manual_seed(10**6)).to(device)

    def validate() -> float:
        engine = rollout_copy(model, torch_dtype)
        tokens, _ = _log_probs_of_rollout(engine, val_prompts, cfg.T, cfg.mismatch,
                                          torch.Generator(device=device).manual_seed(10**6 + 1))
        return float(task.reward(tokens[:, 1:]).mean())

    log = {key: [] for key in ("log_ppl_gap", "kl_max", "kl_mean", "train_reward", "surrogate", "bound",
                               "certificate_holds", "improved", "kept")}
    log.update({f"acceptance/{c}": [] for c in LOGGED_CRITERIA})
    val = [validate()]
    B = cfg.prompts * cfg.group
    for step in range(cfg.steps):
        engine = rollout_copy(model, torch_dtype)
        prompts = torch.randint(0, cfg.vocab, (cfg.prompts,), generator=g, device=device).repeat_interleave(cfg.group)
        tokens, logp_roll = _log_probs_of_rollout(engine, prompts, cfg.T, cfg.mismatch, g)
        y = tokens[:, 1:]
        R = task.reward(y)
        grouped = R.view(cfg.prompts, cfg.group)
        adv = ((grouped - grouped.mean(1, keepdim=True)) / (grouped.std(1, keepdim=True) + 1e-6)).view(-1)
        lp_tok = logp_roll.gather(2, y[..., None]).squeeze(-1)
        for update in range(cfg.updates):
            logq = torch.log_softmax(model(tokens[:, :-1]), dim=-1)
            lq_tok = logq.gather(2, y[..., None]).squeeze(-1)
            log_ratio = lq_tok - lp_tok
            with torch.no_grad():
                kl, tv = kl_tv_from_log_probs(logp_roll, logq)
                masks = sequence_masks(logged + ([objective] if not isinstance(objective, str) else []),
                                       log_ratio.detach(), kl, tv)
            if update == 0:
                log["log_ppl_gap"].append(float((lq_tok.detach().mean() - lp_tok.mean()).abs()))
                log["kl_max"].append(float(kl.max()))
                log["kl_mean"].append(float(kl.mean()))
                log["train_reward"].append(float(R.mean()))
                for c in LOGGED_CRITERIA:
                    log[f"acceptance/{c}"].append(float(masks[c].double().mean()))
            mask = None if isinstance(objective, str) else masks[objective.text]
            if update == 0:
                log["kept"].append(1.0 if mask is None else float(mask.double().mean()))
            opt.zero_grad()
            loss(objective, log_ratio, adv, mask).backward()
            opt.step()
        with torch.no_grad():
            logq = torch.log_softmax(model(tokens[:, :-1]), dim=-1)
            x = torch.expm1(logq.gather(2, y[..., None]).squeeze(-1) - lp_tok).double()
            kl, tv = kl_tv_from_log_probs(logp_roll, logq)
            surrogate = float(((R - R.mean()) * x.sum(1)).mean())
            D = float(kl.double().sum(1).mean())
            inputs = BoundInputs(cfg.T, float(kl.max()), float(tv.max()), D, pinsker_cap(D),
                                 tv.double().mean(0).cpu().numpy())
            bound = evaluate_bounds(inputs, "paper")["unified"]
        val.append(validate())
        log["surrogate"].append(surrogate)
        log["bound"].append(bound)
        log["certificate_holds"].append(float(surrogate > bound))
        log["improved"].append(float(val[-1] > val[-2]))
        if progress is not None:
            progress()
    out = {key: np.asarray(values, dtype=np.float64) for key, values in log.items()}
    out["val_reward"] = np.asarray(val)
    out["batch"] = np.asarray(B)
    return out
