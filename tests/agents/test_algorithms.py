"""PPO ratio, KL to the reference, save/load, and learning on a small text task."""

import numpy as np
import pytest
import torch
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.logger import KVWriter, Logger
from transformers import GPT2LMHeadModel

import agents
from agents import REINFORCE
from textgym.data import story_openings
from textgym.envs import TextGenEnv
from textgym.rewards import KeywordReward


def collect(algo, n_steps):
    _, callback = algo._setup_learn(n_steps, callback=None)
    algo.collect_rollouts(algo.env, callback, algo.rollout_buffer, n_rollout_steps=n_steps)
    return algo.rollout_buffer


def test_ppo_ratio_is_one_on_first_minibatch() -> None:
    ppo = agents.make_ppo("CatText-v0", n_envs=4, n_steps=24, batch_size=32, temperature=0.8, top_k=50)
    buf = collect(ppo, 24)
    ppo.policy.set_training_mode(True)
    batch = next(buf.get(32))
    _, log_prob, _ = ppo.policy.evaluate_actions(batch.observations, batch.actions.long().flatten())
    ratio = torch.exp(log_prob - batch.old_log_prob)
    torch.testing.assert_close(ratio, torch.ones_like(ratio), atol=1e-4, rtol=0)


class Capture(KVWriter):
    def __init__(self):
        self.rows = []

    def write(self, key_values, key_excluded, step=0):
        self.rows.append(dict(key_values))


def test_kl_to_reference_is_logged_and_reference_held_once() -> None:
    ppo = agents.make_ppo("CatText-v0", n_envs=4, n_steps=16, batch_size=32, n_epochs=2, learning_rate=1e-3)
    capture = Capture()
    ppo.set_logger(Logger(folder=None, output_formats=[capture]))
    ppo.learn(3 * 64)
    kls = [row["train/kl_ref"] for row in capture.rows if "train/kl_ref" in row]
    assert len(kls) == 3  # one per update
    assert abs(kls[0]) < 1e-5  # policy == reference before the first update
    assert kls[-1] > 1e-4  # and they differ after training
    assert sum(isinstance(m, GPT2LMHeadModel) for m in ppo.policy.modules()) == 2  # policy + one reference
    assert not any(p.requires_grad for p in ppo.policy.reference.parameters())


def test_adaptive_kl_controller() -> None:
    kl = agents.KLController(0.1, target=0.05, horizon=1000)
    kl.update(kl_per_token=0.1, n_tokens=100)  # error clipped to +0.2: 0.1 * (1 + 0.2 * 0.1)
    assert kl.coef == pytest.approx(0.102)
    kl.update(kl_per_token=0.04, n_tokens=500)  # error -0.2: 0.102 * (1 - 0.2 * 0.5)
    assert kl.coef == pytest.approx(0.0918)
    fixed = agents.KLController(0.1)
    fixed.update(1.0, 100)
    assert fixed.coef == 0.1
    with pytest.raises(ValueError):
        agents.KLController(0.0, target=0.1)


def test_kl_without_attached_buffer_is_an_error() -> None:
    ppo = PPO(
        agents.LMActorCriticPolicy,
        agents.make_env("CatText-v0", n_envs=2),
        n_steps=8,
        batch_size=8,
        policy_kwargs=dict(model="tiny", kl_coef=0.1),
    )
    with pytest.raises(RuntimeError, match="KL"):
        ppo.learn(16)


def test_save_load_is_bit_exact(tmp_path) -> None:
    ppo = agents.make_ppo("CatText-v0", n_envs=2, n_steps=16, batch_size=16, n_epochs=1, learning_rate=1e-3)
    ppo.learn(32)
    ppo.save(tmp_path / "agent.zip")
    loaded = PPO.load(tmp_path / "agent.zip", device="cpu")
    a, b = ppo.policy.state_dict(), loaded.policy.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    obs = ppo.env.reset()
    torch.manual_seed(3)
    act_a, _ = ppo.predict(obs)
    torch.manual_seed(3)
    act_b, _ = loaded.predict(obs)
    np.testing.assert_array_equal(act_a, act_b)
    assert loaded.policy.sampling == ppo.policy.sampling


def cat_first_env():
    """Small task: write up to 3 tokens that contain 'cat'."""
    return TextGenEnv(story_openings("train", 64), tokenizer="tiny", reward=KeywordReward(["cat"]), max_new_tokens=3)


def success_rate(algo, n=96) -> float:
    result = agents.evaluate_policy_text(algo, cat_first_env(), n_episodes=n, n_envs=1, seed=123)
    return result["mean_reward"]


@pytest.mark.parametrize(
    ("make", "kwargs", "steps"),
    [
        (agents.make_ppo, dict(learning_rate=1e-3, n_steps=32, batch_size=256, n_epochs=4), 3072),
        (agents.make_a2c, dict(learning_rate=1e-3, n_steps=8), 4608),
        (agents.make_reinforce, dict(learning_rate=1e-3, n_steps=8), 3072),
    ],
    ids=["ppo", "a2c", "reinforce"],
)
def test_algorithms_learn_a_small_text_task(make, kwargs, steps) -> None:
    algo = make(cat_first_env, n_envs=8, seed=0, kl_coef=0.01, **kwargs)
    before = success_rate(algo)
    algo.learn(steps)
    after = success_rate(algo)
    assert before < 0.3
    assert after >= 0.7 and after > before + 0.4, (before, after)
    assert isinstance(algo, (PPO, A2C, REINFORCE))


def test_paired_difference_by_hand() -> None:
    def result(rewards: dict[int, float]) -> dict:
        return {"episodes": [{"index": i, "reward": r} for i, r in rewards.items()]}

    # episodes finish in any order; pairs follow the index: differences 1, 3, 2
    before = result({0: 1.0, 1: 0.0, 2: 2.0})
    after = result({2: 4.0, 0: 2.0, 1: 3.0})
    mean, sem, n = agents.paired_difference(before, after)
    assert (mean, n) == (2.0, 3)
    assert sem == pytest.approx(1.0 / np.sqrt(3))  # sample std of [1, 3, 2] is 1
    with pytest.raises(ValueError, match="same episodes"):
        agents.paired_difference(before, result({0: 1.0, 1: 1.0}))
