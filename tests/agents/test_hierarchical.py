"""make_hierarchical: semi-MDP returns by hand, save/load round trip, the logged extrinsic/intrinsic returns."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import KVWriter, Logger

import agents
from agents.semi_mdp import SemiMDPRolloutBuffer

GAMMA = 0.9
# Four high-level decisions whose options last 1, 8, 3 and 2 tokens; the episode ends after the
# third, the fourth starts a new one that is still running at the rollout's end.
SPANS = [1, 8, 3, 2]
REWARDS = [1.0, 2.0, 0.5, 3.0]
VALUES = [0.3, -0.2, 0.1, 0.4]
STARTS = [1.0, 0.0, 0.0, 1.0]
LAST_VALUE = 2.0


def filled_buffer(gae_lambda: float) -> SemiMDPRolloutBuffer:
    buffer = SemiMDPRolloutBuffer(4, spaces.Box(0, 1, (2,)), spaces.Discrete(3), gae_lambda=gae_lambda, gamma=0.5)
    for reward, value, start, span in zip(REWARDS, VALUES, STARTS, SPANS, strict=True):
        buffer.record_discounts([{"discount": GAMMA**span}])
        buffer.add(
            np.zeros((1, 2)),
            np.zeros((1, 1)),
            np.array([reward]),
            np.array([start]),
            torch.tensor([value]),
            torch.zeros(1),
        )
    return buffer


def test_semi_mdp_monte_carlo_returns_by_hand() -> None:
    buffer = filled_buffer(gae_lambda=1.0)
    buffer.compute_returns_and_advantage(torch.tensor([[LAST_VALUE]]), np.array([False]))
    # lambda = 1: discounted sums over options, each next decision discounted by 0.9**span.
    r2 = 0.5  # the episode ends after decision 2: no bootstrap
    r1 = 2.0 + 0.43046721 * r2  # 0.9**8
    r0 = 1.0 + 0.9 * r1  # 0.9**1
    r3 = 3.0 + 0.81 * 2.0  # 0.9**2 times the last value (the episode goes on)
    np.testing.assert_allclose(buffer.returns[:, 0], [r0, r1, r2, r3], rtol=1e-6)
    np.testing.assert_allclose(buffer.advantages[:, 0], np.array([r0, r1, r2, r3]) - VALUES, rtol=1e-6)


def test_semi_mdp_one_step_returns_by_hand() -> None:
    buffer = filled_buffer(gae_lambda=0.0)
    buffer.compute_returns_and_advantage(torch.tensor([[LAST_VALUE]]), np.array([False]))
    # lambda = 0: r_t + 0.9**span_t * V(next decision), cut at the episode's end.
    expected = [1.0 + 0.9 * -0.2, 2.0 + 0.43046721 * 0.1, 0.5, 3.0 + 0.81 * 2.0]
    np.testing.assert_allclose(buffer.returns[:, 0], expected, rtol=1e-6)


def test_semi_mdp_buffer_refuses_unrecorded_discounts() -> None:
    buffer = SemiMDPRolloutBuffer(1, spaces.Box(0, 1, (2,)), spaces.Discrete(3))
    buffer.add(np.zeros((1, 2)), np.zeros((1, 1)), np.ones(1), np.ones(1), torch.zeros(1), torch.zeros(1))
    with pytest.raises(ValueError, match="discount was not recorded"):
        buffer.compute_returns_and_advantage(torch.zeros((1, 1)), np.array([True]))
    with pytest.raises(KeyError, match="discount"):
        SemiMDPRolloutBuffer(1, spaces.Box(0, 1, (2,)), spaces.Discrete(3)).record_discounts([{}])


def small_agent(seed: int = 0) -> agents.HierarchicalAgent:
    return agents.make_hierarchical(
        "HierShopHigh-v1",
        n_envs=2,
        n_high_envs=2,
        seed=seed,
        low_kwargs={"n_steps": 32, "batch_size": 32, "n_epochs": 1},
        high_kwargs={"n_steps": 8, "batch_size": 16},
    )


def test_unknown_hierarchy_is_named() -> None:
    with pytest.raises(ValueError, match="not a view of a known hierarchy"):
        agents.make_hierarchical("CatText-v0")


class Capture(KVWriter):
    """Keeps every dump of an SB3 logger."""

    def __init__(self) -> None:
        self.dumps: list[dict] = []

    def write(self, key_values: dict, key_excluded: dict, step: int = 0) -> None:
        self.dumps.append(dict(key_values))


class EpisodeInfos(BaseCallback):
    """Independently of the agent: each rollout's finished episodes' reward_components."""

    def __init__(self) -> None:
        super().__init__()
        self.rollouts: list[list[dict]] = [[]]
        self.acts: list[list[bool]] = [[]]

    def _on_step(self) -> bool:
        for info, done in zip(self.locals["infos"], self.locals["dones"], strict=True):
            if done:
                self.rollouts[-1].append({**info["reward_components"], "return": info["episode"]["r"]})
            if info.get("turn_act_correct") is not None:
                self.acts[-1].append(info["turn_act_correct"])
        return True

    def _on_rollout_end(self) -> None:
        self.rollouts.append([])
        self.acts.append([])


def test_learn_logs_extrinsic_and_intrinsic_returns_from_the_episodes() -> None:
    agent = small_agent()
    low_out, high_out = Capture(), Capture()
    agent.low.set_logger(Logger(None, [low_out]))
    agent.high.set_logger(Logger(None, [high_out]))
    infos = EpisodeInfos()
    agent.learn(300, callback=infos)
    assert agent.tokens >= 300 and agent.high_tokens > 0
    # Each dump of the low level holds the means over the episodes that finished in its rollout.
    logged = [
        (d["rollout/ep_extrinsic_mean"], d["rollout/ep_intrinsic_mean"])
        for d in low_out.dumps
        if "rollout/ep_extrinsic_mean" in d
    ]
    expected = [
        (np.mean([c["extrinsic"] for c in eps]), np.mean([c["intrinsic"] for c in eps]))
        for eps in infos.rollouts
        if eps
    ]
    assert len(logged) >= 2 and len(logged) == len(expected)
    np.testing.assert_allclose(logged, expected, rtol=1e-9)
    # The two parts add up to the episode's return (Monitor's), intrinsic weighted 1.0.
    for c in [c for eps in infos.rollouts for c in eps]:
        assert c["extrinsic"] + 1.0 * c["intrinsic"] == pytest.approx(c["return"], abs=1e-5)
    # The high level's buffer holds each decision's semi-MDP discount: 0.99 ** (a whole number of tokens >= 1).
    spans = np.log(agent.high.rollout_buffer.discounts) / np.log(0.99)
    np.testing.assert_allclose(spans, np.round(spans), atol=1e-3)
    assert (
        spans.min() >= 1 - 1e-3 and spans.max() <= agent.high.env.get_attr("unwrapped")[0].low.max_reply_tokens + 1e-3
    )
    high_logged = [d for d in high_out.dumps if "rollout/ep_extrinsic_mean" in d]
    assert high_logged and all(isinstance(d["rollout/ep_intrinsic_mean"], float) for d in high_logged)
    # The act accuracy of each low-level rollout: the fraction of its finished turns whose act was correct.
    acts = [a for a in infos.acts if a]
    assert [d["rollout/act_accuracy"] for d in low_out.dumps if "rollout/act_accuracy" in d] == pytest.approx(
        [np.mean(a) for a in acts]
    )
    np.testing.assert_allclose([h[1:] for h in agent.act_log.history], [(np.mean(a), len(a)) for a in acts])


def test_save_load_round_trip_gives_the_same_predictions(tmp_path) -> None:
    agent = small_agent()
    agent.learn(100)
    agent.save(tmp_path / "agent")
    loaded = agents.HierarchicalAgent.load(tmp_path / "agent")
    fresh = small_agent()
    assert loaded.tokens == agent.tokens and loaded.high.num_timesteps == agent.high.num_timesteps

    high_obs = np.random.default_rng(0).integers(0, 2, size=(16, 12)).astype(np.float32)

    def high_probs(a: agents.HierarchicalAgent) -> np.ndarray:
        with torch.no_grad():
            return a.high.policy.get_distribution(torch.as_tensor(high_obs)).distribution.probs.numpy()

    np.testing.assert_array_equal(high_probs(loaded), high_probs(agent))
    assert not np.allclose(high_probs(fresh), high_probs(agent))  # training moved it: the check can fail
    np.testing.assert_array_equal(loaded.predict(high_obs, deterministic=True)[0], agent.predict(high_obs, True)[0])

    env = gym.make("textgym/HierShopLow-v1")
    low_obs = [env.reset(seed=s)[0] for s in range(4)]
    batch = {k: torch.as_tensor(np.stack([o[k] for o in low_obs])) for k in low_obs[0]}

    def low_probs(a: agents.HierarchicalAgent) -> np.ndarray:
        a.low.policy.set_training_mode(False)
        with torch.no_grad():
            return a.low.policy.get_distribution(batch).distribution.probs.numpy()

    np.testing.assert_array_equal(low_probs(loaded), low_probs(agent))
    assert not np.allclose(low_probs(fresh), low_probs(agent))
    stacked = {k: v.numpy() for k, v in batch.items()}
    np.testing.assert_array_equal(
        loaded.low.predict(stacked, deterministic=True)[0], agent.low.predict(stacked, deterministic=True)[0]
    )
    with pytest.raises(FileNotFoundError, match="not a HierarchicalAgent.save folder"):
        agents.HierarchicalAgent.load(tmp_path)


def test_skill_phase_trains_the_low_level_on_uniform_acts_and_leaves_the_high_level_alone() -> None:
    agent = agents.make_hierarchical(
        "HierShopHigh-v1",
        n_envs=2,
        n_high_envs=2,
        skill_tokens=128,
        low_kwargs={"n_steps": 32, "batch_size": 32, "n_epochs": 1},
        high_kwargs={"n_steps": 8, "batch_size": 16},
    )
    before = [p.detach().clone() for p in agent.high.policy.parameters()]
    low_before = [p.detach().clone() for p in agent.low.policy.parameters()]
    consulted = []
    predict = agent.high.predict
    agent.high.predict = lambda *a, **k: consulted.append(1) or predict(*a, **k)  # type: ignore[method-assign]
    acts = EpisodeInfos()
    agent.learn(128, callback=acts)  # two rounds of 64 low-level tokens, both in the skill phase
    assert agent.tokens == 128 and agent.high_tokens == 0 and agent.high.num_timesteps == 0
    assert not consulted  # every act came from the uniform draw, not from the high level
    assert all(torch.equal(a, b) for a, b in zip(before, agent.high.policy.parameters(), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(low_before, agent.low.policy.parameters(), strict=True))
    assert sum(len(a) for a in acts.acts) > 0  # turns finished on those acts
    agent.learn(100)  # after the skill phase: the acts come from the high level, which is trained
    assert consulted and agent.high.num_timesteps > 0 and agent.high_tokens > 0


@pytest.mark.parametrize("kwargs", [{"skill_tokens": -1}, {"skill_tokens": 64, "schedule": "joint"}])
def test_bad_skill_phase_is_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="skill_tokens"):
        agents.make_hierarchical("HierShopHigh-v1", n_envs=2, **kwargs)
