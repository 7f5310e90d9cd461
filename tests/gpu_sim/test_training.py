"""The training miniature: losses normalised by the whole batch, per-sequence masks, batched runs equal
to runs alone, rollout engines whose mismatch is a function of the weights, the certificate's bounds
tied to proofs/, and the error messages of bad configurations."""
import math

import numpy as np
import pytest
import sympy as sp
import torch

from gpu_sim.criteria import Clause, Criterion, parse_criterion
from gpu_sim.training.certificate import chi2_max_bound, paper_bound
from gpu_sim.training.engines import RolloutEngine
from gpu_sim.training.loop import CERTIFICATE_KEYS, LOGGED_CRITERIA, STEP_METRICS, TrainConfig, run_training
from gpu_sim.training.model import PolicyShape, contexts, forward, init_params, prepare
from gpu_sim.training.objectives import (CHI2_OBJECTIVE, CLIP_HIGH, CLIP_LOW, OBJECTIVES, PAPER_OBJECTIVES,
                                         criterion_known, loss, parse_objective, run_losses, sequence_masks)
from gpu_sim.training.precision import Arithmetic, round_bf16, round_fp8_per_run, round_fp8_rows
from gpu_sim.training.task import SuccessorTask
from numerics.bounds import BoundInputs, evaluate_bounds, pinsker_cap
from numerics.errors import TRMInputError

TINY = dict(shape=PolicyShape(vocab=8, window=2, embed=4, hidden=8, experts=4, top_k=2), T=8, prompts=2, group=2,
            steps=2, pretrain_steps=2, validation=4)


def test_masked_loss_is_normalised_by_the_whole_batch():
    log_ratio = torch.zeros(4, 5)
    adv = torch.tensor([1.0, 2.0, 3.0, 4.0])
    mask = torch.tensor([True, False, True, False])
    value = loss(parse_criterion("trm_max:0.1"), log_ratio, adv, mask)
    assert value.item() == pytest.approx(-(1 + 3) * 5 / (4 * 5))      # not divided by the kept count
    assert loss("token_is", log_ratio, adv).item() == pytest.approx(-(1 + 2 + 3 + 4) * 5 / 20)


def test_batched_losses_equal_each_runs_own_loss():
    g = torch.Generator().manual_seed(1)
    R, B, T = 3, 5, 7
    log_ratio = torch.randn(R, B, T, generator=g) * 0.5
    adv = torch.randn(R, B, generator=g)
    mask = torch.rand(R, B, generator=g) < 0.6
    objectives = ["token_is", "ppo_clip", parse_criterion("trm_max:0.1")]
    keep = torch.stack([mask[r] if r == 2 else torch.ones(B, dtype=torch.bool) for r in range(R)])
    batched = run_losses(torch.tensor([False, True, False]), log_ratio, adv, keep)
    for r, objective in enumerate(objectives):
        alone = loss(objective, log_ratio[r], adv[r], mask[r] if r == 2 else None)
        assert batched[r].item() == pytest.approx(alone.item(), rel=1e-6, abs=1e-9), r


def test_sequence_masks_are_per_sequence():
    g = torch.Generator().manual_seed(0)
    B, T = 6, 7
    kl = torch.rand(B, T, generator=g) * 0.1
    kl[2, 3] = 0.5
    masks = sequence_masks([parse_criterion("trm_max:0.2"), parse_criterion("seq_max_k2:0.01")],
                           torch.randn(B, T, generator=g) * 0.1, kl, kl * 0)
    for mask in masks.values():
        assert mask.shape == (B,) and mask.dtype == torch.bool
    assert masks["trm_max:0.2"].tolist() == [True, True, False, True, True, True]


def test_a_chi2_clause_is_decided_from_the_per_context_chi2_and_anded():
    """max_t χ²(c_t) ≤ x, AND-ed with the other clauses (built directly: works whether or not the
    parser already knows trm_chi2)."""
    B, T = 4, 5
    chi2 = torch.full((B, T), 0.01)
    chi2[1, 2] = 0.3
    kl = torch.full((B, T), 0.001)
    kl[3, 0] = 0.5
    both = Criterion("trm_chi2:0.1,trm_max:0.1", (Clause("trm_chi2", 0.1), Clause("trm_max", 0.1)))
    alone = Criterion("trm_chi2:0.1", (Clause("trm_chi2", 0.1),))
    masks = sequence_masks([both, alone], torch.zeros(B, T), kl, kl * 0, chi2)
    assert masks["trm_chi2:0.1"].tolist() == [True, False, True, True]
    assert masks["trm_chi2:0.1,trm_max:0.1"].tolist() == [True, False, True, False]
    with pytest.raises(ValueError, match="χ²"):
        sequence_masks([alone], torch.zeros(B, T), kl, kl * 0)


def test_the_chi2_objective_joins_exactly_when_the_parser_knows_it():
    assert set(PAPER_OBJECTIVES) <= set(OBJECTIVES)
    assert (CHI2_OBJECTIVE in OBJECTIVES) == criterion_known(CHI2_OBJECTIVE)
    assert (CHI2_OBJECTIVE in LOGGED_CRITERIA) == criterion_known(CHI2_OBJECTIVE)


def test_documented_clip_range_and_thresholds():
    assert (CLIP_LOW, CLIP_HIGH) == (0.8, 1.28)
    assert PAPER_OBJECTIVES == ("token_is", "ppo_clip", "trm_max:0.05", "trm_avg:0.001", "trm_max:0.1", "trm_avg:0.002",
                                "trm_max:0.1,trm_avg:0.002", "seq_max_k2:0.05", "seq_mean_k3:0.001")
    assert set(PAPER_OBJECTIVES) - {"token_is", "ppo_clip"} <= set(LOGGED_CRITERIA)


def test_ppo_clip_leaves_the_unclipped_side():
    """min(ρA, clip(ρ)A): with A < 0 and ρ > 1.28 the unclipped ρA is kept (THEORY §7)."""
    log_ratio = torch.log(torch.tensor([[2.0]])).requires_grad_()
    value = loss("ppo_clip", log_ratio, torch.tensor([-1.0]))
    value.backward()
    assert value.item() == pytest.approx(2.0) and log_ratio.grad.item() != 0


def test_without_mismatch_every_objective_gives_the_same_gradient():
    """π_roll = π_θ exactly: ρ ≡ 1, every mask keeps everything, PPO clipping is inactive."""
    g = torch.Generator().manual_seed(0)
    shape = TINY["shape"]
    params = {k: v.requires_grad_(True) for k, v in init_params(shape, 1, g).items()}
    tokens = torch.randint(0, shape.vocab, (1, 6, 13), generator=g)
    adv = torch.randn(6, generator=g)
    grads = {}
    for name in PAPER_OBJECTIVES:
        for p in params.values():
            p.grad = None
        logits, _ = forward(params, contexts(tokens, shape.window), shape)
        lq = torch.log_softmax(logits, -1).view(6, 12, -1).gather(2, tokens[0, :, 1:, None]).squeeze(-1)
        log_ratio = lq - lq.detach()
        objective = parse_objective(name)
        mask = None
        if not isinstance(objective, str):
            zeros = torch.zeros_like(lq)
            mask = sequence_masks([objective], log_ratio.detach(), zeros, zeros)[objective.text]
            assert mask.all()
        loss(objective, log_ratio, adv, mask).backward()
        grads[name] = torch.cat([p.grad.flatten() for p in params.values()])
    for name, grad in grads.items():
        assert torch.allclose(grad, grads["token_is"], rtol=1e-6, atol=1e-9), name


def test_rounding_emulation():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 7, generator=g) * 10
    assert torch.equal(round_bf16(x), x.to(torch.bfloat16).float())
    rows = round_fp8_rows(x)
    assert torch.allclose(rows.abs().amax(-1), x.abs().amax(-1))            # the row's amax maps to 448 exactly
    assert ((rows - x).abs() <= x.abs() * 2.0**-4 + 1e-6 * x.abs().amax(-1, keepdim=True)).all()
    w = torch.randn(3, 4, 5, generator=g)
    per_run = round_fp8_per_run(w)
    assert torch.allclose(per_run.abs().flatten(1).amax(-1), w.abs().flatten(1).amax(-1))
    exact = Arithmetic("float32")
    assert exact.act(x) is x and exact.weight(x) is x and exact.out(x) is x


def _engine_logit_error(params, shape, engine: RolloutEngine, context) -> float:
    ref, _ = forward(params, context, shape)
    low, _ = forward(prepare(params, engine.main, engine.router), context, shape, engine.main, engine.router)
    diff = torch.log_softmax(low, -1) - torch.log_softmax(ref, -1)
    return float((diff - diff.mean(-1, keepdim=True)).square().mean().sqrt())


@pytest.mark.parametrize("precision", ["bfloat16", "fp8"])
def test_the_precision_engines_error_grows_with_the_weights(precision):
    """Whole forward in low precision: scaling the read-out by 8 scales the logit error with it."""
    shape = PolicyShape(vocab=16, embed=8, hidden=16)
    params = init_params(shape, 1, torch.Generator().manual_seed(3))
    context = torch.randint(0, 16, (1, 2048, 2), generator=torch.Generator().manual_seed(4))
    engine = RolloutEngine("precision", precision)
    small = _engine_logit_error(params, shape, engine, context)
    scaled = {**params, "out": params["out"] * 8, "out_b": params["out_b"] * 8}
    big = _engine_logit_error(scaled, shape, engine, context)
    assert small > 0 and big > 4 * small


def test_router_rounding_flips_experts_and_the_jump_is_set_by_the_experts():
    """Router in fp8: some contexts go to other experts; the jump is zero when the experts agree."""
    shape = PolicyShape(vocab=16, embed=8, hidden=16, experts=4, top_k=2)
    params = init_params(shape, 1, torch.Generator().manual_seed(5))
    context = torch.randint(0, 16, (1, 2048, 2), generator=torch.Generator().manual_seed(6))
    engine = RolloutEngine("moe_router", "fp8")
    _, chosen = forward(params, context, shape)
    _, rounded = forward(prepare(params, engine.main, engine.router), context, shape, engine.main, engine.router)
    flipped = (chosen != rounded).any(-1)
    assert 0 < flipped.float().mean() < 0.5
    assert _engine_logit_error(params, shape, engine, context) > 0
    H, E = shape.hidden, shape.experts
    same = {**params, "experts": params["experts"][..., :H].repeat(1, 1, E),
            "experts_b": params["experts_b"][..., :H].repeat(1, 1, E)}
    assert _engine_logit_error(same, shape, engine, context) < 1e-6


def test_the_float32_engine_has_no_mismatch_and_the_stale_engine_lags():
    none = run_training(TrainConfig(objectives=("token_is",), engine=RolloutEngine("none"), **TINY))
    assert none["kl_max"].max() < 1e-9 and none["log_ppl_abs_diff"].max() < 1e-5
    stale = run_training(TrainConfig(objectives=("token_is",), engine=RolloutEngine("stale", staleness=2),
                                     **{**TINY, "steps": 3}))
    assert stale["kl_max"][0, 0] < 1e-9                   # step 1 samples from the pretrained weights: current
    assert (stale["kl_max"][0, 1:] > 1e-6).all()           # later, from weights 2 updates old


@pytest.fixture(scope="module")
def runs():
    """A batch of four runs (fp8 forward), and one of them trained alone, twice."""
    cfg = dict(engine=RolloutEngine("precision", "fp8"), **TINY)
    batch = run_training(TrainConfig(objectives=("token_is", "trm_max:0.05"), seeds=(0, 1), **cfg))
    alone = [run_training(TrainConfig(objectives=("trm_max:0.05",), seeds=(1,), **cfg)) for _ in range(2)]
    return batch, alone


def test_a_batch_of_runs_equals_each_run_alone(runs):
    batch, (alone, _) = runs
    r = [i for i, (o, s) in enumerate(zip(batch["objective"], batch["seed"])) if o == "trm_max:0.05" and s == 1][0]
    for key in ("train_reward", "kl_max", "log_ppl_abs_diff", "surrogate", "val_reward"):
        assert np.allclose(batch[key][r], alone[key][0], rtol=1e-4, atol=1e-7), key


def test_a_short_run_logs_every_quantity_and_is_reproducible(runs):
    _, (a, b) = runs
    keys = STEP_METRICS + ("bound", "bound_chi2", "plugin_certificate", "plugin_certificate_chi2", "val_reward") + tuple(
        f"certificate/{k}" for k in CERTIFICATE_KEYS)
    for key in keys + tuple(f"acceptance/{c}" for c in LOGGED_CRITERIA):
        assert key in a and np.array_equal(a[key], b[key]), key
        assert np.isfinite(a[key]).all() or key == "bound_chi2", key
    assert a["val_reward"].shape == (1, 3) and a["kl_max"].shape == (1, 2)
    assert ((a["val_reward"] >= 0) & (a["val_reward"] <= 1)).all()


def test_verl_gap_metrics_from_their_definitions(runs):
    """log_ppl_abs_diff is the mean of per-sequence |differences|, log_ppl_diff their signed mean
    (rollout minus trainer), batch_log_ppl_gap the gap of batch means: the first bounds the others."""
    out, _ = runs
    assert (out["log_ppl_abs_diff"] >= np.abs(out["log_ppl_diff"]) - 1e-7).all()
    assert (out["log_ppl_abs_diff"] >= out["batch_log_ppl_gap"] - 1e-7).all()
    assert (out["log_ppl_abs_diff"] > 0).all() and (out["kl_mean"] > 0).all()


def test_successor_task_rewards_valid_steps_and_forks():
    task = SuccessorTask(8, 4, forks=2)
    assert task.valid.sum(1).tolist() == [2, 1, 1, 1, 2, 1, 1, 1]           # forks at 0 and 4
    tokens = torch.tensor([[0, 1, 2, 3, 4], [0, 5, 6, 0, 5], [1, 1, 1, 1, 1]])
    assert task.reward(tokens).tolist() == [1.0, 0.75, 0.0]
    teacher = task.teacher(torch.Generator().manual_seed(0))
    assert torch.allclose(teacher.sum(1), torch.ones(8))


def test_chi2_bound_is_the_proofs_expression():
    from proofs.second_moment import chi2_bound_expr, chi2_max
    from proofs.symbols import T as T_sym

    expr = chi2_bound_expr("chi2_max")
    for T, x in ((1, 0.3), (7, 0.01), (40, 0.2), (256, 1e-4)):
        exact = float(sp.N(expr.subs({T_sym: T, chi2_max: sp.nsimplify(x)}).doit(), 30))
        assert chi2_max_bound(T, x) == pytest.approx(exact, rel=1e-9)
        if T > 1:                       # the closed form cancels catastrophically at T = 1
            assert chi2_max_bound(T, x) == pytest.approx(0.5 * math.sqrt((1 + x) ** T - 1 - T * x), rel=1e-6)
    assert chi2_max_bound(256, np.array([0.0, 1e6])).tolist() == [0.0, math.inf]


def test_paper_bound_is_the_unified_bound_of_the_plug_in_inputs():
    dbar = np.linspace(0.001, 0.01, 16)
    inputs = BoundInputs(16, 0.02, 0.05, 0.1, pinsker_cap(0.1), dbar)
    assert paper_bound(16, 0.02, 0.05, 0.1, dbar) == evaluate_bounds(inputs, "paper")["unified"]


@pytest.mark.parametrize("kwargs, message", [
    (dict(objectives=("token_k2:0.1",)), "sequence criterion"),
    (dict(objectives=("nope",)), "unknown name"),
    (dict(objectives=()), "objectives"),
    (dict(seeds=(1, 1)), "seeds"),
    (dict(group=1), "group"),
    (dict(T=0), "T = 0"),
    (dict(lr=-1.0), "learning rates"),
    (dict(forks=99), "forks"),
    (dict(device="tpu"), "device"),
    (dict(shape=dict(top_k=5)), "top_k"),
    (dict(engine=dict(source="gossip")), "source"),
    (dict(engine=dict(precision="int4")), "precision"),
    (dict(engine=dict(source="stale", staleness=-1)), "staleness"),
    (dict(certify_rows=1), "certify_rows"),
    (dict(certify_rows=-3), "certify_rows"),
    (dict(level=1.0), "level"),
    (dict(level=0.0), "level"),
])
def test_bad_training_configurations(kwargs, message):
    with pytest.raises(TRMInputError, match=message):
        if "shape" in kwargs:
            kwargs = {**kwargs, "shape": PolicyShape(**kwargs["shape"])}
        if "engine" in kwargs:
            kwargs = {**kwargs, "engine": RolloutEngine(**kwargs["engine"])}
        TrainConfig(**kwargs)


@pytest.mark.gpu
def test_a_short_run_on_cuda_matches_the_cpu_in_kind():
    cfg = TrainConfig(objectives=("token_is", "trm_max:0.05"), engine=RolloutEngine("precision", "fp8"),
                      device="cuda", **TINY)
    log = run_training(cfg)
    assert log["val_reward"].shape == (2, 3) and (log["kl_max"] >= 0).all() and (log["log_ppl_abs_diff"] > 0).all()
    for key in STEP_METRICS:
        assert np.isfinite(log[key]).all(), key



@pytest.mark.slow
def test_full_size_fp8_forward_reproduces_the_documented_observations():
    """README, "The training miniature": under the fp8 forward at T = 256 the gap of token IS falls as
    the policy sharpens while it learns, and TRM-Avg 0.001 keeps no sequence and does not learn."""
    from figures.fig_training import FULL, SHAPE

    cfg = TrainConfig(objectives=("token_is", "trm_avg:0.001"), seeds=(0,), engine=RolloutEngine("precision", "fp8"),
                      shape=SHAPE, **{**FULL, "steps": 48})
    out = run_training(cfg)
    token, avg = 0, 1
    assert out["log_ppl_abs_diff"][token, -12:].mean() < 0.8 * out["log_ppl_abs_diff"][token, :12].mean()
    assert out["entropy"][token, -12:].mean() < 0.5 * out["entropy"][token, :12].mean()
    assert out["val_reward"][token, -1] > out["val_reward"][token, 0] + 0.3
    assert (out["kept"][avg] == 0).all() and abs(out["val_reward"][avg, -1] - out["val_reward"][avg, 0]) < 0.05


def test_held_out_certificate_leaves_training_alone_and_is_its_two_ends():
    """Held-out rows come from their own generator: the run is the same with and without them; the
    certificate is L'_lower − sup_R|Error|_upper at the stated level, and without mismatch (engine 'none') a
    small step is certified to improve on most steps."""
    cfg = dict(TINY, T=24, steps=3, lr=3e-5, engine=RolloutEngine("none"), objectives=("ppo_clip",))
    plain = run_training(TrainConfig(**cfg))
    held = run_training(TrainConfig(**cfg, certify_rows=128, level=0.9))
    for key in ("train_reward", "surrogate", "kl_mean", "val_reward"):
        assert np.array_equal(plain[key], held[key]), key
    assert str(held["certificate_rows"]) == "held-out" and "not independent" in str(plain["certificate_rows"])
    assert float(held["certificate_level"]) == 0.9 and "union bound" in str(held["certificate_method"])
    lower = held["certificate/surrogate_lower"] - held["certificate/worst_case_upper"]
    assert np.allclose(held["certificate/improvement_lower"], lower)
    assert np.array_equal(held["certificate/holds"] > 0, held["certificate/improvement_lower"] > 0)
    assert (held["certificate/worst_case"] <= held["certificate/worst_case_upper"]).all()
    assert held["certificate/holds"].sum() >= 2, held["certificate/improvement_lower"]
