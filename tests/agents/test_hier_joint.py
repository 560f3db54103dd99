"""The joint schedule of the hierarchy: decisions recorded in the low level's turns, their semi-MDP returns."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3 import PPO as SB3PPO
from stable_baselines3.common.callbacks import BaseCallback

import agents
from agents.hier_joint import Decision, DecisionRecorder, decisions_buffer


class FixedHigh:
    """Stands in for the high level: always act 3, value 0.5, log-prob -1.25."""

    device = torch.device("cpu")

    def policy(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        assert obs.shape == (1, 12)
        return torch.tensor([3]), torch.tensor([[0.5]]), torch.tensor([-1.25])


def test_recorder_credits_each_token_to_the_oldest_open_decision() -> None:
    gamma = 0.9
    rec = DecisionRecorder(gamma=gamma, high=FixedHigh())  # type: ignore[arg-type]
    f = np.arange(12, dtype=np.float32)
    assert rec(f) == 3  # the episode's first turn
    rec.on_token(0.0, None, turn_ended=False, done=False)
    rec.on_token(0.5, None, turn_ended=False, done=False)
    rec(f + 1)  # the env samples the next turn's act inside the step that ends this turn ...
    rec.on_token(2.0, 1.0, turn_ended=True, done=False)  # ... before the callback sees that step
    rec(f + 2)  # a one-token turn ends the episode; the VecEnv's auto-reset samples the next episode's act ...
    rec.on_token(1.0, 0.0, turn_ended=True, done=True)  # ... before the callback sees the episode's end
    first, second = rec.finished
    assert first.reward == pytest.approx(0.0 + gamma * 0.5 + gamma**2 * 2.0)
    assert (first.extrinsic, first.intrinsic, first.tokens, first.done) == (2.5, 1.0, 3, False)
    assert (second.reward, second.tokens, second.done) == (1.0, 1, True)
    assert first.episode_start and not second.episode_start
    assert first.act == 3 and first.value == 0.5 and first.log_prob == -1.25
    np.testing.assert_array_equal(second.features, f + 1)
    (waiting,) = rec.open
    assert waiting.episode_start and waiting.tokens == 0  # the next episode's first decision
    assert rec.take_episodes() == [[first, second]] and rec.finished == [] and rec.open == [waiting]
    # Without an auto-reset (the episode ends, then reset() samples the next act) the start is marked too.
    rec.on_token(0.0, 0.0, turn_ended=True, done=True)
    rec(f)
    assert rec.open[0].episode_start


def test_recorder_refuses_a_token_without_a_decision() -> None:
    with pytest.raises(RuntimeError, match="no high-level decision open"):
        DecisionRecorder(gamma=0.9, high=FixedHigh()).on_token(0.0, None, False, False)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="high is not set"):
        DecisionRecorder(gamma=0.9)(np.zeros(12, dtype=np.float32))


class Features(gym.Env):
    observation_space = spaces.Box(0.0, 1.0, (12,), np.float32)
    action_space = spaces.Discrete(7)


def high_ppo(gae_lambda: float) -> SB3PPO:
    return SB3PPO("MlpPolicy", Features(), gamma=0.9, gae_lambda=gae_lambda, n_steps=8, batch_size=4)


def decision(reward: float, tokens: int, value: float, start: bool, done: bool) -> Decision:
    return Decision(np.zeros(12, np.float32), 1, value, -2.0, reward, tokens=tokens, episode_start=start, done=done)


@pytest.mark.parametrize("lam", [1.0, 0.5])
def test_decisions_buffer_semi_mdp_returns_by_hand(lam: float) -> None:
    episodes = [
        [decision(1.0, 2, 0.5, True, False), decision(2.0, 3, 0.25, False, True)],
        [decision(-1.0, 1, 0.0, True, True)],
    ]
    buffer = decisions_buffer(high_ppo(lam), episodes)
    d = 0.9**2  # the first option ran 2 tokens: the next decision's value is discounted by gamma**2
    a1 = 2.0 - 0.25  # the episode's last decision: nothing is bootstrapped
    a0 = (1.0 + d * 0.25 - 0.5) + d * lam * a1
    np.testing.assert_allclose(buffer.advantages.ravel(), [a0, a1, -1.0], rtol=1e-6)
    np.testing.assert_allclose(buffer.returns.ravel(), [a0 + 0.5, 2.0, -1.0], rtol=1e-6)
    if lam == 1.0:  # Monte Carlo: r0 + gamma**2 * r1
        assert buffer.returns[0, 0] == pytest.approx(1.0 + d * 2.0)
    np.testing.assert_allclose(buffer.discounts.ravel(), [d, 0.9**3, 0.9])
    np.testing.assert_array_equal(buffer.episode_starts.ravel(), [1, 0, 1])
    np.testing.assert_array_equal(buffer.log_probs.ravel(), [-2.0, -2.0, -2.0])


def test_decisions_buffer_refuses_unfinished_episodes() -> None:
    with pytest.raises(ValueError, match="no finished episode"):
        decisions_buffer(high_ppo(1.0), [])
    with pytest.raises(ValueError, match="must end with"):
        decisions_buffer(high_ppo(1.0), [[decision(1.0, 2, 0.0, True, False)]])


class EpisodeExtrinsic(BaseCallback):
    """Independently of the recorders: (num_timesteps, extrinsic, intrinsic) of each finished low-level episode."""

    def __init__(self) -> None:
        super().__init__()
        self.episodes: list[tuple[int, float, float]] = []

    def _on_step(self) -> bool:
        for info, done in zip(self.locals["infos"], self.locals["dones"], strict=True):
            if done:
                c = info["reward_components"]
                self.episodes.append((self.num_timesteps, c["extrinsic"], c["intrinsic"]))
        return True


def test_joint_schedule_trains_the_high_level_on_the_low_levels_own_turns() -> None:
    agent = agents.make_hierarchical(
        "HierShopHigh-v1",
        n_envs=4,
        n_high_envs=1,
        low_kwargs={"n_steps": 32, "batch_size": 64, "n_epochs": 1},
        high_kwargs={"batch_size": 16},
        schedule="joint",
    )
    before = [p.detach().clone() for p in agent.high.policy.parameters()]
    episodes = EpisodeExtrinsic()
    agent.learn(384, low_steps=128, callback=episodes)
    # Every token is a low-level PPO step: the high level ran no rollouts of its own.
    assert agent.tokens == agent.low.num_timesteps == 384 and agent.high_tokens == 0
    assert agent.high._n_updates > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, agent.high.policy.parameters(), strict=True))
    # Each round's high-level update used the episodes that finished in that round: their mean
    # extrinsic and intrinsic returns are the low level's own (from its infos, not the recorders).
    assert len(agent.high_log.history) == 3
    for i, (_, extrinsic, intrinsic) in enumerate(agent.high_log.history):
        done = [e for e in episodes.episodes if 128 * i < e[0] <= 128 * (i + 1)]
        assert done
        assert extrinsic == pytest.approx(np.mean([e[1] for e in done]), abs=1e-5)
        assert intrinsic == pytest.approx(np.mean([e[2] for e in done]))


def test_unknown_schedule_is_named() -> None:
    with pytest.raises(ValueError, match="schedule"):
        agents.make_hierarchical("HierShopHigh-v1", schedule="sometimes")


def test_joint_agent_saves_and_loads(tmp_path) -> None:
    agent = agents.make_hierarchical(
        "HierShopHigh-v1", n_envs=2, n_high_envs=1, low_kwargs={"n_steps": 8, "batch_size": 16}, schedule="joint"
    )
    agent.save(tmp_path / "agent")
    loaded = agents.HierarchicalAgent.load(tmp_path / "agent")
    assert loaded.joint and loaded.config.schedule == "joint"
    assert len(loaded._recorders) == 2 and all(r.high is loaded.high for r in loaded._recorders)
