"""GRPO training runs against a rollout engine whose mismatch depends on the weights.

One call trains R = (objectives × seeds) independent runs at once: every parameter has a leading
run axis (``model``), the runs' losses are summed (their gradients are the blocks of the sum's
gradient) and Adam acts elementwise, so each run evolves exactly as it would alone. Runs of the
same seed share the pretrained weights, the prompts and the sampling noise (common random numbers:
differences between objectives are not sampling luck).

Per step, for every run: the rollout engine (``engines``: the current or k-updates-old weights in
the engine's arithmetic) samples ``prompts × group`` responses of length T by Gumbel-max from
uniforms drawn per seed; rewards are group-normalised into advantages (GRPO); the float32 trainer
takes ``updates`` Adam steps on the run's objective, recomputing π_θ each time; sequence masks are
decided once per batch, with π_θ at the start of the step (as frameworks decide them once per batch).

Logged per step from the batch before its update (KL always roll ‖ θ; χ² is χ²(θ ‖ roll)):
  log_ppl_diff       mean_i (mean_t log π_roll(y_it) − mean_t log π_θ(y_it))   (verl's name and sign)
  log_ppl_abs_diff   mean_i |mean_t log π_θ(y_it) − mean_t log π_roll(y_it)|   (verl's name)
  batch_log_ppl_gap  |mean_{i,t} log π_θ(y_it) − mean_{i,t} log π_roll(y_it)|  (one batch-level gap)
  kl, k3_kl          mean over tokens of k1 = −ℓ and k3 = e^ℓ − 1 − ℓ, ℓ = log ρ (verl's names)
  kl_max, kl_mean    exact token KL over the batch's contexts (full distributions): max and mean
  tv_max, chi2_max   exact token TV and χ² maxima over the batch's contexts
  entropy            mean token entropy of π_θ (nats): how sharp the policy has become
  logit_rms          root mean square of π_θ's logits: the scale that rounding errors grow with
  logit_err          root mean square over contexts and tokens of the engine's logit error relative
                     to π_θ, shift-removed: (log π_roll − log π_θ)(v|c) minus its mean over v
  route_flips        share of tokens whose top-k experts differ between engine and trainer
  train_reward       mean reward of the batch
  acceptance/<c>     share of sequences each criterion of LOGGED_CRITERIA accepts
  kept               share of sequences the run's own objective keeps (1 for token IS and PPO)
After the update: ``surrogate`` L̂' = mean_i (R_i − R̄) Σ_t (ρ_it − 1), the plug-in bounds ``bound``
(B̂*, paper family) and ``bound_chi2`` (B_χ²-max, THEORY §10), and whether L̂' exceeds each
(``plugin_certificate``, ``plugin_certificate_chi2``: point estimates, no confidence level). The
certificate with a level (numerics.intervals.improvement_certificate, ``cfg.level``): J(π_θ) − J(π_roll) ≥
L'_lower − sup_R|Error|_upper, π_θ the updated trainer and π_roll the engine that sampled the step, logged
as ``certificate/holds``, ``certificate/improvement_lower``, ``certificate/surrogate_lower``,
``certificate/worst_case_upper`` and ``certificate/worst_case`` (the point estimate of sup_R|Error|). Its rows
are ``cfg.certify_rows`` held-out sequences per run and step, drawn from the same engine with their own
generator (so the training itself is the same with or without them) and never used for the update; with
``certify_rows = 0`` it falls back to the training batch, whose rows chose θ, so the stated level does not
hold there (``certificate_rows`` says which). ``val_reward`` is the engine's mean reward on fixed
validation prompts and noise (shared by all runs and steps), every ``val_every`` steps and before
the first. Nothing syncs with the host until the run ends.
"""
from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np
import torch

from gpu_sim.criteria import Criterion, parse_criterion
from gpu_sim.device import resolve_device
from gpu_sim.divergence import context_divergences
from gpu_sim.training.certificate import chi2_max_bound, paper_bound
from gpu_sim.training.engines import RolloutEngine
from gpu_sim.training.model import PolicyShape, contexts, forward, init_params, prepare
from gpu_sim.training.objectives import CHI2_OBJECTIVE, criterion_known, parse_objective, run_losses, sequence_masks
from gpu_sim.training.precision import Arithmetic
from gpu_sim.training.task import SuccessorTask
from numerics.errors import TRMInputError
from numerics.intervals import DEFAULT_LEVEL, check_level, improvement_certificate
from numerics.martingale import sequence_brackets

LOGGED_CRITERIA = ("trm_max:0.05", "trm_avg:0.001", "trm_max:0.1", "trm_avg:0.002", "trm_max:0.1,trm_avg:0.002",
                   "seq_max_k2:0.05", "seq_mean_k3:0.001")
LOGGED_CRITERIA += (CHI2_OBJECTIVE,) if criterion_known(CHI2_OBJECTIVE) else ()
STEP_METRICS = ("log_ppl_diff", "log_ppl_abs_diff", "batch_log_ppl_gap", "kl", "k3_kl", "kl_max", "kl_mean", "tv_max",
                "chi2_max", "entropy", "logit_rms", "logit_err", "route_flips", "train_reward", "kept", "surrogate")
PRETRAIN_LENGTH = 64            # teacher sequences for pretraining (the policy sees a window only)
HELD_OUT_SEED = 7919            # offset of the held-out rows' generators from the run seeds
CERTIFICATE_KEYS = ("holds", "improvement_lower", "surrogate_lower", "worst_case_upper", "worst_case")


@dataclass(frozen=True)
class TrainConfig:
    objectives: tuple[str, ...] = ("ppo_clip",)
    seeds: tuple[int, ...] = (0,)
    engine: RolloutEngine = field(default_factory=RolloutEngine)
    shape: PolicyShape = field(default_factory=PolicyShape)
    T: int = 256
    prompts: int = 4
    group: int = 8
    steps: int = 60
    updates: int = 2
    lr: float = 3e-3
    pretrain_steps: int = 100
    pretrain_lr: float = 1e-2
    follow: float = 0.3
    forks: int = 4
    validation: int = 32
    val_every: int = 1
    device: str = "cpu"
    certify_rows: int = 0
    level: float = DEFAULT_LEVEL

    def __post_init__(self):
        if not self.objectives:
            raise TRMInputError("objectives: give at least one")
        for name in self.objectives:
            parse_objective(name)
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise TRMInputError(f"seeds = {self.seeds}: give at least one, without repeats")
        for name in ("T", "prompts", "group", "steps", "updates", "validation", "val_every"):
            if getattr(self, name) < 1:
                raise TRMInputError(f"{name} = {getattr(self, name)}: must be at least 1")
        if isinstance(self.certify_rows, bool) or not isinstance(self.certify_rows, int) or self.certify_rows < 0 \
                or self.certify_rows == 1:
            raise TRMInputError(f"certify_rows = {self.certify_rows!r}: 0 (certify on the training batch) or at "
                                "least 2 held-out rows (an interval needs 2)")
        check_level(self.level, "level")
        if self.pretrain_steps < 0:
            raise TRMInputError(f"pretrain_steps = {self.pretrain_steps}: must be non-negative")
        if self.group < 2:
            raise TRMInputError(f"group = {self.group}: group-normalised advantages need at least 2 samples")
        if not (self.lr > 0 and self.pretrain_lr > 0):
            raise TRMInputError(f"lr = {self.lr}, pretrain_lr = {self.pretrain_lr}: learning rates must be positive")
        SuccessorTask(self.shape.vocab, self.T, self.follow, self.forks)
        resolve_device(self.device)

    @property
    def runs(self) -> list[tuple[str, int]]:
        """(objective, seed) of every run, objective-major: run r = o·S + s."""
        return [(o, s) for o in self.objectives for s in self.seeds]

    def to_json(self) -> dict:
        out = asdict(self)
        out["objectives"], out["seeds"] = list(self.objectives), list(self.seeds)
        return out


@lru_cache(maxsize=8)
def _pretrained(shape: PolicyShape, seeds: tuple[int, ...], follow: float, forks: int, steps: int, lr: float,
                device: str) -> dict[str, torch.Tensor]:
    """[S, ...] weights per seed: initialised, then trained by cross-entropy on the seed's teacher
    corpus (weights, teacher and corpus drawn on the CPU from the seed's generator)."""
    dev = torch.device(device)
    task = SuccessorTask(shape.vocab, PRETRAIN_LENGTH, follow, forks)
    generators = [torch.Generator().manual_seed(s) for s in seeds]
    per_seed = [init_params(shape, 1, g) for g in generators]
    params = {k: torch.cat([p[k] for p in per_seed]).to(dev) for k in per_seed[0]}
    corpus = torch.stack([task.teacher_batch(task.teacher(g), 256, g) for g in generators]).to(dev)   # [S, C, L+1]
    for p in params.values():
        p.requires_grad_(True)
    opt = torch.optim.Adam(params.values(), lr=lr)
    S = len(seeds)
    for _ in range(steps):
        rows = torch.stack([torch.randint(0, corpus.shape[1], (32,), generator=g) for g in generators]).to(dev)
        batch = corpus.gather(1, rows[..., None].expand(S, 32, corpus.shape[2]))
        logits, _ = forward(params, contexts(batch, shape.window), shape)
        ce = torch.nn.functional.cross_entropy(logits.reshape(-1, shape.vocab), batch[:, :, 1:].reshape(-1))
        opt.zero_grad()
        (ce * S).backward()
        opt.step()
    return {k: v.detach() for k, v in params.items()}


def sample(prepared: dict, prompts: torch.Tensor, gumbel: torch.Tensor, shape: PolicyShape, main: Arithmetic,
           router: Arithmetic) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sample responses token by token from an engine.

    prompts [R, B], gumbel [R, T, B, V] Gumbel noise → (tokens [R, B, T+1] with the prompt first,
    the engine's log-probabilities [R, B, T, V] float32 at every context, its experts [R, B, T, k])."""
    R, B = prompts.shape
    T, V, W = gumbel.shape[1], shape.vocab, shape.window
    buf = torch.empty(R, B, W + T, dtype=torch.int64, device=prompts.device)
    buf[..., :W] = prompts[..., None]
    logps = torch.empty(R, B, T, V, device=prompts.device)
    chosen = torch.empty(R, B, T, shape.top_k, dtype=torch.int64, device=prompts.device)
    with torch.no_grad():
        for t in range(T):
            logits, experts = forward(prepared, buf[..., t:t + W], shape, main, router)
            logp = torch.log_softmax(logits.float(), dim=-1)
            logps[:, :, t] = logp
            chosen[:, :, t] = experts
            buf[..., t + W] = (logp + gumbel[:, t]).argmax(dim=-1)
    return buf[..., W - 1:], logps, chosen


def _gumbel(u: torch.Tensor) -> torch.Tensor:
    return -torch.log(-torch.log(u))


def _masks(criteria: list[Criterion], log_ratio, kl, tv, chi2) -> dict[str, torch.Tensor]:
    R, B, T = log_ratio.shape
    flat = lambda x: x.reshape(R * B, T)
    masks = sequence_masks(criteria, flat(log_ratio), flat(kl), flat(tv), flat(chi2))
    return {k: v.view(R, B) for k, v in masks.items()}


class _StepLog:
    """Per-step values kept on the device in float64 tensors [steps, ...] allocated at first use (one
    allocation per metric, none per step)."""

    def __init__(self, steps: int):
        self.steps, self.data = steps, {}

    def put(self, key: str, step: int, value: torch.Tensor) -> None:
        if key not in self.data:
            self.data[key] = torch.full((self.steps,) + tuple(value.shape), float("nan"), dtype=torch.float64,
                                        device=value.device)
        self.data[key][step] = value

    def numpy(self) -> dict[str, np.ndarray]:
        """{key: [R, steps, ...]} on the host."""
        return {key: value.movedim(0, 1).cpu().numpy() for key, value in self.data.items()}


def _log_batch(log: _StepLog, step: int, criteria: dict, objectives: list, logits, lq, logp_roll, lq_tok, lp_tok,
               chosen, chosen_roll, reward) -> torch.Tensor:
    """Append the batch's metrics to ``log``; return [R, B] keep (each run's own sequence mask)."""
    with torch.no_grad():
        R, B, T, V = lq.shape
        log_ratio = lq_tok - lp_tok
        div = context_divergences(logp_roll, lq)
        kl, tv, chi2 = div.kl, div.tv, div.chi2
        masks = _masks(list(criteria.values()), log_ratio, kl, tv, chi2)
        ones = torch.ones(B, dtype=torch.bool, device=lq.device)
        keep = torch.stack([masks[o.text][r] if isinstance(o, Criterion) else ones for r, o in enumerate(objectives)])
        seq_diff = lp_tok.mean(-1) - lq_tok.mean(-1)                                   # [R, B], verl's sign
        diff = logp_roll - lq
        values = {
            "log_ppl_diff": seq_diff.mean(-1), "log_ppl_abs_diff": seq_diff.abs().mean(-1),
            "batch_log_ppl_gap": (lq_tok.mean((1, 2)) - lp_tok.mean((1, 2))).abs(),
            "kl": (-log_ratio).mean((1, 2)), "k3_kl": (torch.expm1(log_ratio) - log_ratio).mean((1, 2)),
            "kl_max": kl.flatten(1).max(-1).values, "kl_mean": kl.mean((1, 2)),
            "tv_max": tv.flatten(1).max(-1).values, "chi2_max": chi2.flatten(1).max(-1).values,
            "entropy": -(lq.exp() * lq).sum(-1).mean((1, 2)),
            "logit_rms": logits.square().mean((1, 2)).sqrt(),
            "logit_err": (diff - diff.mean(-1, keepdim=True)).square().mean((1, 2, 3)).sqrt(),
            "route_flips": (chosen != chosen_roll).any(-1).float().mean((1, 2)),
            "train_reward": reward.mean(-1), "kept": keep.float().mean(-1)}
        for key, value in values.items():
            log.put(key, step, value)
        for c in LOGGED_CRITERIA:
            log.put(f"acceptance/{c}", step, masks[c].float().mean(-1))
    return keep


def run_training(cfg: TrainConfig, progress=None) -> dict:
    """Train every (objective, seed) run of ``cfg``; returns numpy arrays [R, steps] per metric
    (``val_reward`` [R, validations]) plus ``objective`` and ``seed`` per run and ``val_steps``."""
    device = resolve_device(cfg.device)
    shape, engine, T = cfg.shape, cfg.engine, cfg.T
    runs = cfg.runs
    R = len(runs)
    B, V = cfg.prompts * cfg.group, shape.vocab
    task = SuccessorTask(V, T, cfg.follow, cfg.forks)
    seed_of_run = torch.tensor([cfg.seeds.index(s) for _, s in runs], device=device)
    base = _pretrained(shape, cfg.seeds, cfg.follow, cfg.forks, cfg.pretrain_steps, cfg.pretrain_lr, str(device))
    params = {k: v[seed_of_run].clone().requires_grad_(True) for k, v in base.items()}
    opt = torch.optim.Adam(params.values(), lr=cfg.lr)
    history = deque([{k: v.detach().clone() for k, v in params.items()}], maxlen=engine.lag + 1)   # stale only
    trainer = Arithmetic("float32")

    objectives = [parse_objective(o) for o, _ in runs]
    clipped = torch.tensor([o == "ppo_clip" for o in objectives], device=device)
    criteria = {c: parse_criterion(c) for c in LOGGED_CRITERIA}
    criteria.update({o.text: o for o in objectives if isinstance(o, Criterion)})
    generators = [torch.Generator(device=device).manual_seed(s) for s in cfg.seeds]

    vg = torch.Generator().manual_seed(10**6)
    val_prompts = torch.randint(0, V, (1, cfg.validation), generator=vg).expand(R, -1).to(device)
    val_gumbel = _gumbel(torch.rand(1, T, cfg.validation, V, generator=vg)).expand(R, -1, -1, -1).to(device)

    def validate() -> torch.Tensor:
        weights = prepare({k: v.detach() for k, v in params.items()}, engine.main, engine.router)
        tokens, _, _ = sample(weights, val_prompts, val_gumbel, shape, engine.main, engine.router)
        return task.reward(tokens).mean(dim=1)

    log, cert_inputs, cert_rows = _StepLog(cfg.steps), _StepLog(cfg.steps), _StepLog(cfg.steps)
    held_generators = [torch.Generator(device=device).manual_seed(s + HELD_OUT_SEED) for s in cfg.seeds]
    val_steps = [0] + [k for k in range(1, cfg.steps + 1) if k % cfg.val_every == 0]
    val = _StepLog(len(val_steps))
    val.put("val_reward", 0, validate())
    for step in range(cfg.steps):
        current = {k: v.detach() for k, v in params.items()}
        roll_weights = prepare(history[0] if engine.lag else current, engine.main, engine.router)
        prompts = torch.stack([torch.randint(0, V, (cfg.prompts,), generator=g, device=device) for g in generators])
        uniforms = torch.stack([torch.rand(T, B, V, generator=g, device=device) for g in generators])
        tokens, logp_roll, chosen_roll = sample(roll_weights, prompts.repeat_interleave(cfg.group, dim=1)[seed_of_run],
                                                _gumbel(uniforms)[seed_of_run], shape, engine.main, engine.router)
        y = tokens[..., 1:]
        reward = task.reward(tokens)                                               # [R, B]
        grouped = reward.view(R, cfg.prompts, cfg.group)
        adv = ((grouped - grouped.mean(-1, keepdim=True)) / (grouped.std(-1, keepdim=True) + 1e-6)).view(R, B)
        lp_tok = logp_roll.gather(-1, y[..., None]).squeeze(-1)                     # [R, B, T]
        if cfg.certify_rows:          # drawn before the update: the engine's weights may share storage with θ
            held = _held_out_rows(cfg, roll_weights, held_generators, seed_of_run)
        ctx = contexts(tokens, shape.window)
        for update in range(cfg.updates):
            logits, chosen = forward(params, ctx, shape, trainer, trainer)
            logq = torch.log_softmax(logits, dim=-1).view(R, B, T, V)
            lq_tok = logq.gather(-1, y[..., None]).squeeze(-1)
            log_ratio = lq_tok - lp_tok
            if update == 0:
                keep = _log_batch(log, step, criteria, objectives, logits.detach(), logq.detach(), logp_roll,
                                  lq_tok.detach(), lp_tok, chosen.view(R, B, T, -1), chosen_roll, reward)
            opt.zero_grad()
            run_losses(clipped, log_ratio, adv, keep).sum().backward()
            opt.step()
            if engine.lag:
                history.append({k: v.detach().clone() for k, v in params.items()})
        with torch.no_grad():
            logits, _ = forward(params, ctx, shape, trainer, trainer)
            lq = torch.log_softmax(logits, dim=-1).view(R, B, T, V)
            log_ratio = lq.gather(-1, y[..., None]).squeeze(-1).double() - lp_tok.double()
            x = torch.expm1(log_ratio)
            log.put("surrogate", step, ((reward - reward.mean(-1, keepdim=True)).double() * x.sum(-1)).mean(-1))
            if cfg.certify_rows:
                reward_c, log_ratio = _held_out_ratios(cfg, params, held, shape, task, trainer)
            else:
                reward_c = reward
            W_rows, S_rows = sequence_brackets(log_ratio.movedim(-1, 0))      # [R, N] each (THEORY §10)
            cert_rows.put("W", step, W_rows)
            cert_rows.put("S", step, S_rows)
            cert_rows.put("R", step, reward_c.double())
            div = context_divergences(logp_roll, lq)
            kl, tv, chi2 = div.kl, div.tv, div.chi2
            cert_inputs.put("kl_max", step, kl.flatten(1).max(-1).values)
            cert_inputs.put("tv_max", step, tv.flatten(1).max(-1).values)
            cert_inputs.put("kl_seq", step, kl.double().sum(-1).mean(-1))
            cert_inputs.put("tv_pos_mean", step, tv.double().mean(1))
            cert_inputs.put("chi2_max", step, chi2.flatten(1).max(-1).values)
        if (step + 1) % cfg.val_every == 0:
            val.put("val_reward", val_steps.index(step + 1), validate())
        if progress is not None:
            progress()

    out, c = log.numpy(), cert_inputs.numpy()
    out["bound"] = np.array([[paper_bound(T, c["kl_max"][r, k], c["tv_max"][r, k], c["kl_seq"][r, k],
                                          c["tv_pos_mean"][r, k]) for k in range(cfg.steps)] for r in range(R)])
    out["bound_chi2"] = chi2_max_bound(T, c["chi2_max"])
    out["plugin_certificate"] = (out["surrogate"] > out["bound"]).astype(np.float64)
    out["plugin_certificate_chi2"] = (out["surrogate"] > out["bound_chi2"]).astype(np.float64)
    out.update(_certificates(cert_rows.numpy(), cfg.level))
    out["certificate_rows"] = np.array("held-out" if cfg.certify_rows else "training batch (not independent of θ)")
    out["val_reward"] = val.numpy()["val_reward"]
    out["val_steps"] = np.asarray(val_steps)
    out["objective"] = np.array([o for o, _ in runs])
    out["seed"] = np.array([s for _, s in runs])
    return out


def _held_out_rows(cfg: TrainConfig, roll_weights: dict, generators: list,
                   seed_of_run: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``cfg.certify_rows`` fresh sequences per run from the step's rollout engine (prompts and Gumbel noise
    from the seed's held-out generator), drawn before the update: (tokens [R, N, T+1], log π_roll at the
    sampled tokens [R, N, T])."""
    shape, T, V, N = cfg.shape, cfg.T, cfg.shape.vocab, cfg.certify_rows
    device = seed_of_run.device
    prompts = torch.stack([torch.randint(0, V, (N,), generator=g, device=device) for g in generators])
    uniforms = torch.stack([torch.rand(T, N, V, generator=g, device=device) for g in generators])
    tokens, logp_roll, _ = sample(roll_weights, prompts[seed_of_run], _gumbel(uniforms)[seed_of_run], shape,
                                  cfg.engine.main, cfg.engine.router)
    return tokens, logp_roll.gather(-1, tokens[..., 1:, None]).squeeze(-1)


def _held_out_ratios(cfg: TrainConfig, params: dict, held: tuple, shape: PolicyShape, task: SuccessorTask,
                     trainer: Arithmetic) -> tuple[torch.Tensor, torch.Tensor]:
    """(rewards [R, N], ℓ = log π_θ − log π_roll at the held-out rows' tokens [R, N, T] float64, π_θ the
    updated trainer)."""
    tokens, lp = held
    R, N, T = lp.shape
    logits, _ = forward(params, contexts(tokens, shape.window), shape, trainer, trainer)
    lq = torch.log_softmax(logits, dim=-1).view(R, N, T, shape.vocab).gather(-1, tokens[..., 1:, None]).squeeze(-1)
    return task.reward(tokens), lq.double() - lp.double()


def _certificates(rows: dict[str, np.ndarray], level: float) -> dict[str, np.ndarray]:
    """Per run and step, the certificate of :func:`numerics.intervals.improvement_certificate` from the rows'
    rewards, Σ_t u_t and W ([R, steps, N] each): {"certificate/<field>": [R, steps]} plus its level and method."""
    R, steps, _ = rows["W"].shape
    out = {f"certificate/{key}": np.zeros((R, steps)) for key in CERTIFICATE_KEYS}
    method = ""
    for r in range(R):
        for k in range(steps):
            cert = improvement_certificate(rows["R"][r, k], rows["S"][r, k], rows["W"][r, k], level)
            for key in CERTIFICATE_KEYS[:-1]:
                out[f"certificate/{key}"][r, k] = float(cert[key])
            out["certificate/worst_case"][r, k] = float(np.maximum(-rows["W"][r, k], 0.0).mean())
            method = cert["method"]
    out["certificate_level"] = np.array(level)
    out["certificate_method"] = np.array(method)
    return out
