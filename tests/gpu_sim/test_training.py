"""The training miniature: normalisation by the whole batch, per-sequence masks, equal gradients
without mismatch, the documented clip range and thresholds."""
import pytest
import torch

from gpu_sim.criteria import parse_criterion
from gpu_sim.training.loop import LOGGED_CRITERIA, TrainConfig, run_training
from gpu_sim.training.model import PolicyLM
from gpu_sim.training.objectives import CLIP_HIGH, CLIP_LOW, PAPER_OBJECTIVES, loss, parse_objective, sequence_masks
from gpu_sim.training.task import TargetShareTask
from numerics.errors import TRMInputError
from numerics.generators import MismatchModel


def test_masked_loss_is_normalised_by_the_whole_batch():
    log_ratio = torch.zeros(4, 5)
    adv = torch.tensor([1.0, 2.0, 3.0, 4.0])
    mask = torch.tensor([True, False, True, False])
    criterion = parse_criterion("trm_max:0.1")
    value = loss(criterion, log_ratio, adv, mask)
    assert value.item() == pytest.approx(-(1 + 3) * 5 / (4 * 5))      # not divided by the kept count
    assert loss("token_is", log_ratio, adv).item() == pytest.approx(-(1 + 2 + 3 + 4) * 5 / 20)


def test_sequence_masks_are_per_sequence():
    torch.manual_seed(0)
    B, T = 6, 7
    kl = torch.rand(B, T) * 0.1
    kl[2, 3] = 0.5
    masks = sequence_masks([parse_criterion("trm_max:0.2"), parse_criterion("seq_max_k2:0.01")],
                           torch.randn(B, T) * 0.1, kl, kl * 0)
    for mask in masks.values():
        assert mask.shape == (B,) and mask.dtype == torch.bool
    assert masks["trm_max:0.2"].tolist() == [True, True, False, True, True, True]


def test_without_mismatch_every_objective_gives_the_same_gradient():
    """Rollout in float32 with no noise: ρ ≡ 1, every mask keeps everything, PPO clipping is inactive."""
    g = torch.Generator().manual_seed(0)
    task = TargetShareTask(8, 12)
    model = PolicyLM(8, 16, g)
    tokens = torch.randint(0, 8, (6, 13), generator=g)
    adv = torch.randn(6, generator=g)
    grads = {}
    for name in PAPER_OBJECTIVES:
        model.zero_grad()
        logq = torch.log_softmax(model(tokens[:, :-1]), -1)
        lq = logq.gather(2, tokens[:, 1:, None]).squeeze(-1)
        log_ratio = lq - lq.detach()                                   # π_roll = π_θ exactly
        objective = parse_objective(name)
        mask = None
        if not isinstance(objective, str):
            zeros = torch.zeros_like(lq)
            mask = sequence_masks([objective], log_ratio.detach(), zeros, zeros)[objective.text]
            assert mask.all()
        loss(objective, log_ratio, adv, mask).backward()
        grads[name] = torch.cat([p.grad.flatten() for p in model.parameters()])
    reference = grads["token_is"]
    for name, grad in grads.items():
        assert torch.allclose(grad, reference, rtol=1e-6, atol=1e-9), name
    assert task.reward(tokens[:, 1:]).shape == (6,)


def test_documented_clip_range_and_thresholds():
    assert (CLIP_LOW, CLIP_HIGH) == (0.8, 1.28)
    assert {"trm_max:0.05", "trm_avg:0.001", "trm_max:0.1", "trm_avg:0.002", "trm_max:0.1,trm_avg:0.002"} <= set(
        PAPER_OBJECTIVES)
    assert set(PAPER_OBJECTIVES) - {"token_is", "ppo_clip"} <= set(LOGGED_CRITERIA)


def test_ppo_clip_leaves_the_unclipped_side():
    """min(ρA, clip(ρ)A): with A < 0 and ρ > 1.28 the unclipped ρA is kept (THEORY §7)."""
    log_ratio = torch.log(torch.tensor([[2.0]])).requires_grad_()
    value = loss("ppo_clip", log_ratio, torch.tensor([-1.0]))
    value.backward()
    assert value.item() == pytest.approx(2.0) and log_ratio.grad.item() != 0


def test_a_short_run_logs_every_quantity_and_is_reproducible():
    cfg = TrainConfig(objective="trm_max:0.05", T=8, hidden=8, prompts=2, group=2, steps=2, pretrain_steps=2,
                      validation=4)
    a, b = run_training(cfg), run_training(cfg)
    for key in ("log_ppl_gap", "kl_max", "kl_mean", "val_reward", "kept", "surrogate", "bound", "certificate_holds",
                "improved"):
        assert key in a and (a[key] == b[key]).all(), key
    assert len(a["val_reward"]) == 3 and all(f"acceptance/{c}" in a for c in LOGGED_CRITERIA)


def test_float32_rollout_without_noise_has_no_mismatch():
    cfg = TrainConfig(objective="token_is", T=8, hidden=8, prompts=2, group=2, steps=1, pretrain_steps=1,
                      validation=4, rollout_dtype="float32", mismatch=MismatchModel("none"))
    log = run_training(cfg)
    assert log["kl_max"][0] < 1e-6 and log["log_ppl_gap"][0] < 1e-5


@pytest.mark.parametrize("kwargs, message", [
    (dict(objective="token_k2:0.1"), "sequence criterion"),
    (dict(objective="nope"), "unknown name"),
    (dict(group=1), "group"),
    (dict(vocab=3), "vocab"),
    (dict(rollout_dtype="int8"), "rollout_dtype"),
    (dict(device="tpu"), "device"),
])
def test_bad_training_configurations(kwargs, message):
    with pytest.raises(TRMInputError, match=message):
        TrainConfig(**kwargs)


@pytest.mark.gpu
def test_a_short_run_on_cuda():
    cfg = TrainConfig(objective="trm_max:0.05", T=8, hidden=8, prompts=2, group=2, steps=2, pretrain_steps=2,
                      validation=4, device="cuda")
    log = run_training(cfg)
    assert len(log["val_reward"]) == 3 and (log["kl_max"] >= 0).all()
