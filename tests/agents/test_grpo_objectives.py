"""GRPO's GSPO, CISPO and REINFORCE++ options: the maths against hand-computed values, and training."""

import math

import numpy as np
import pytest
import torch

import agents
from agents.grpo import group_advantages
from agents.grpo_objectives import policy_loss, reinforce_pp_advantages, sequence_log_ratio


# ----- GSPO: the length-normalised sequence ratio -----
def test_sequence_log_ratio_is_each_episodes_mean_on_its_tokens() -> None:
    log_ratio = torch.tensor([0.1, 0.2, 0.3, -0.4, 0.0])
    # episode 0: (0.1 + 0.2 + 0.3) / 3 = 0.2; episode 1: (-0.4 + 0.0) / 2 = -0.2
    got = sequence_log_ratio(log_ratio, torch.tensor([3, 2]))
    torch.testing.assert_close(got, torch.tensor([0.2, 0.2, 0.2, -0.2, -0.2]))
    with pytest.raises(ValueError, match="do not split 5 tokens"):
        sequence_log_ratio(log_ratio, torch.tensor([3, 3]))


def _log_probs(log_ratio: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
    # old log-probs of -1 everywhere; the new ones differ from them by log_ratio
    old = torch.full((len(log_ratio),), -1.0)
    return (old + torch.tensor(log_ratio)).requires_grad_(True), old


def test_gspo_clips_one_ratio_per_sequence() -> None:
    # episode 0: log-ratios 0.1, 0.2, 0.3, mean 0.2, s = e^0.2 = 1.2214 > 1.2, A = +1:
    #   min(1.2214, 1.2) = 1.2 on each token, clipped, no gradient
    # episode 1: log-ratios -0.5, -0.5, s = e^-0.5 = 0.6065 < 0.8, A = -1:
    #   min(-0.6065, -0.8) = -0.8, loss +0.8 on each token, clipped, no gradient
    # episode 2: log-ratios 0.1, -0.1, s = e^0 = 1, A = 2: loss -2 on each token; the
    #   d/d log pi_t of its two tokens' summed losses is 2 * (-A * s / 2) = -2 on each token
    lp, old = _log_probs([0.1, 0.2, 0.3, -0.5, -0.5, 0.1, -0.1])
    adv = torch.tensor([1.0, 1.0, 1.0, -1.0, -1.0, 2.0, 2.0])
    out = policy_loss(lp, old, adv, torch.tensor([3, 2, 2]), "clip", "sequence", 0.2, 0.2)
    torch.testing.assert_close(out.per_token, torch.tensor([-1.2, -1.2, -1.2, 0.8, 0.8, -2.0, -2.0]))
    torch.testing.assert_close(out.ratio[[0, 3, 5]], torch.tensor([math.exp(0.2), math.exp(-0.5), 1.0]))
    assert out.clipped.tolist() == [True] * 5 + [False] * 2
    out.per_token.sum().backward()
    torch.testing.assert_close(lp.grad, torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0, -2.0, -2.0]))


def test_token_level_sampling_is_unchanged_ppo() -> None:
    # the same tokens with their own ratios, eps 0.2: episode 0's r = e^0.1 = 1.1052 (kept),
    # e^0.2 = 1.2214 and e^0.3 = 1.3499 (both clipped at 1.2, A = +1); episode 2's
    # r = e^0.1 and e^-0.1, inside the range: gradient -A * r_t = -2.2103, -1.8097
    lp, old = _log_probs([0.1, 0.2, 0.3, 0.1, -0.1])
    adv = torch.tensor([1.0, 1.0, 1.0, 2.0, 2.0])
    out = policy_loss(lp, old, adv, torch.tensor([3, 2]), "clip", "token", 0.2, 0.2)
    want = [-math.exp(0.1), -1.2, -1.2, -2 * math.exp(0.1), -2 * math.exp(-0.1)]
    torch.testing.assert_close(out.per_token, torch.tensor(want))
    assert out.clipped.tolist() == [False, True, True, False, False]
    out.per_token.sum().backward()
    torch.testing.assert_close(lp.grad, torch.tensor([-math.exp(0.1), 0, 0, -2 * math.exp(0.1), -2 * math.exp(-0.1)]))


# ----- CISPO: a clipped, stop-gradient IS weight on A * log pi -----
def test_cispo_weights_log_pi_by_the_clipped_ratio_without_stopping_gradients() -> None:
    # pi:     0.5    0.25   0.8    0.05
    # pi_old: 0.25   0.25   0.5    0.5
    # r:      2      1      1.6    0.1    -> w = min(r, 1.2): 1.2, 1, 1.2, 0.1 (no lower bound)
    # A:      1      -1     2      -1
    # loss = -w A log pi: -1.2 log 0.5 = 0.8318, log 0.25 = -1.3863,
    #        -2.4 log 0.8 = 0.5355, 0.1 log 0.05 = -0.2996
    # gradient = -w A: -1.2, 1, -2.4, 0.1 (PPO's would be 0 on token 0: A > 0, r > 1.2)
    lp = torch.tensor([0.5, 0.25, 0.8, 0.05]).log().requires_grad_(True)
    old = torch.tensor([0.25, 0.25, 0.5, 0.5]).log()
    adv = torch.tensor([1.0, -1.0, 2.0, -1.0])
    out = policy_loss(lp, old, adv, torch.tensor([4]), "cispo", "token", 0.2, 0.2)
    want = [-1.2 * math.log(0.5), math.log(0.25), -2.4 * math.log(0.8), 0.1 * math.log(0.05)]
    torch.testing.assert_close(out.per_token, torch.tensor(want))
    assert out.clipped.tolist() == [True, False, True, False]
    out.per_token.sum().backward()
    torch.testing.assert_close(lp.grad, torch.tensor([-1.2, 1.0, -2.4, 0.1]))
    ppo_lp = lp.detach().clone().requires_grad_(True)
    policy_loss(ppo_lp, old, adv, torch.tensor([4]), "clip", "token", 0.2, 0.2).per_token.sum().backward()
    assert ppo_lp.grad[0] == 0


def test_objective_options_are_checked() -> None:
    lp, old = _log_probs([0.0, 0.0])
    with pytest.raises(ValueError, match="loss_type must be one of"):
        policy_loss(lp, old, torch.ones(2), torch.tensor([2]), "ppo")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="importance_sampling must be one of"):
        policy_loss(lp, old, torch.ones(2), torch.tensor([2]), "clip", "episode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="do not split 2 tokens"):
        policy_loss(lp, old, torch.ones(2), torch.tensor([3]))


# ----- REINFORCE++: batch-normalised advantages -----
REWARDS = np.array([1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0])  # two groups of 4


def test_reinforce_pp_centres_and_scales_over_the_batch() -> None:
    # batch mean 5/8 = 0.625: R - mean = 0.375 (five times) and -0.625 (three times);
    # sample variance (5 * 0.140625 + 3 * 0.390625) / 7 = 1.875 / 7, std 0.517549
    std = math.sqrt(1.875 / 7) + 1e-4
    want = np.array([0.375, -0.625, -0.625, -0.625, 0.375, 0.375, 0.375, 0.375]) / std
    np.testing.assert_allclose(group_advantages(REWARDS, 4, "reinforce++", "batch"), want, rtol=1e-12)
    # the all-ones group still moves: its baseline is the batch's
    assert (group_advantages(REWARDS, 4, "reinforce++", "batch")[4:] > 0.72).all()
    np.testing.assert_allclose(group_advantages(REWARDS, 4, "reinforce++", "none"), want * std, rtol=1e-12)
    # no groups needed: one completion per prompt works
    np.testing.assert_allclose(group_advantages(REWARDS, 1, "reinforce++", "batch"), want, rtol=1e-12)


def test_reinforce_pp_baseline_subtracts_the_group_mean_then_scales_over_the_batch() -> None:
    # group means 0.25 and 1: c = 0.75, -0.25, -0.25, -0.25, 0, 0, 0, 0 (batch mean 0);
    # sample variance (0.5625 + 3 * 0.0625) / 7 = 0.75 / 7, std 0.327327
    std = math.sqrt(0.75 / 7) + 1e-4
    want = np.array([0.75, -0.25, -0.25, -0.25, 0, 0, 0, 0]) / std
    adv = group_advantages(REWARDS, 4, "reinforce++_baseline", "batch")
    np.testing.assert_allclose(adv, want, rtol=1e-12)
    assert np.all(adv[4:] == 0.0)  # an all-equal group has exactly zero advantages
    # 0.1 * 3 / 3 is not exact in floating point; the zeros still are
    assert np.all(reinforce_pp_advantages(np.array([0.1, 0.1, 0.1, 0.7, 0.2, 0.4]), 3, True, True)[:3] == 0.0)


def test_reinforce_pp_options_are_checked() -> None:
    with pytest.raises(ValueError, match="pass scale_rewards='batch'"):
        group_advantages(REWARDS, 4, "reinforce++", "group")
    with pytest.raises(ValueError, match="group_size >= 2"):
        group_advantages(REWARDS, 1, "reinforce++_baseline", "batch")
    with pytest.raises(ValueError, match="baseline must be one of"):
        group_advantages(REWARDS, 4, "reinforce+", "batch")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="groups of 3"):
        reinforce_pp_advantages(REWARDS, 3, False, True)


# ----- the options on GRPO -----
@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"loss_type": "ppo"}, "loss_type must be one of"),
        ({"importance_sampling": "episode"}, "importance_sampling must be one of"),
        ({"baseline": "reinforce++"}, "pass scale_rewards='batch'"),
    ],
)
def test_grpo_refuses_bad_options_at_construction(options: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        agents.make_grpo("CatText-v0", n_envs=4, group_size=2, group=agents.GroupConfig(**options))


@pytest.mark.parametrize(
    "options",
    [
        {"importance_sampling": "sequence", "loss_aggregation": "sequence"},
        {"loss_type": "cispo"},
        {"baseline": "reinforce++", "scale_rewards": "batch"},
        {"baseline": "reinforce++_baseline", "scale_rewards": "batch"},
    ],
)
def test_each_new_option_trains_and_moves_the_weights(options: dict, tmp_path, monkeypatch) -> None:
    calls: list[tuple[str, str]] = []
    original = agents.grpo.policy_loss

    def spy(*args, **kwargs):  # the options GRPO.train hands the objective
        calls.append((args[4], args[5]))
        return original(*args, **kwargs)

    monkeypatch.setattr(agents.grpo, "policy_loss", spy)
    torch.manual_seed(0)
    group = agents.GroupConfig(**options)
    model = agents.make_grpo("CatText-v0", n_envs=8, group_size=4, learning_rate=1e-3, group=group)
    for key, value in options.items():
        assert getattr(model.group, key) == value
    before = model.policy.lm.lm_head.weight.detach().clone()
    model.learn(3 * 8 * 24)  # a few rollouts of 8 episodes of at most 24 tokens
    assert model._n_updates > 0
    assert torch.isfinite(model.policy.lm.lm_head.weight).all()
    assert not torch.equal(model.policy.lm.lm_head.weight, before)
    want = (options.get("loss_type", "clip"), options.get("importance_sampling", "token"))
    assert calls and set(calls) == {want}
    model.save(tmp_path / "model.zip")
    loaded = agents.GRPO.load(tmp_path / "model.zip")
    for key, value in options.items():
        assert getattr(loaded.group, key) == value
