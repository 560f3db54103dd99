"""agents.evaluate_policy_text with a plain actor on wrapped envs, and the report helpers."""

import gymnasium as gym
import numpy as np
import pytest

import agents
import textgym  # noqa: F401  (registers the environments)
from textgym.wrappers import wrap_for_stock_agents


def make_env() -> gym.Env:
    return wrap_for_stock_agents(gym.make("textgym/TinyCat-v0"), "one_hot")


def actor(obs: np.ndarray) -> np.ndarray:
    # Deterministic but state-dependent: the index of the last hot entry, modulo the vocabulary.
    return np.array([int(np.flatnonzero(o)[-1]) % 18 if o.any() else 3 for o in obs])


def test_actor_on_an_env_factory_equals_episodes_run_by_hand() -> None:
    result = agents.evaluate_policy_text(actor, make_env, n_episodes=5, n_envs=2, seed=3)
    assert [e["index"] for e in result["episodes"]] == [0, 1, 2, 3, 4]
    env = make_env()
    for j, episode in enumerate(result["episodes"]):
        obs, _ = env.reset(seed=3 + j)  # episode j: seed + j
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, info = env.step(int(actor(obs[None])[0]))
            total, done = total + reward, terminated or truncated
        assert (episode["prompt"], episode["completion"]) == (info["prompt"], info["completion"])
        assert episode["reward"] == pytest.approx(total) and episode["components"] == info["reward_components"]
    rewards = [e["reward"] for e in result["episodes"]]
    assert result["mean_reward"] == pytest.approx(np.mean(rewards))
    assert agents.standard_error(result) == pytest.approx(np.std(rewards, ddof=1) / np.sqrt(5))
    both = [e["components"]["topic"] * e["components"]["grammar"] for e in result["episodes"]]
    assert agents.success_rate(result, ["topic", "grammar"]) == pytest.approx(np.mean(both))
    with pytest.raises(KeyError, match="no reward component \\['correct'\\]"):
        agents.success_rate(result, ["correct"])


def test_bad_arguments_and_unpaired_samples() -> None:
    with pytest.raises(ValueError, match="n_episodes must be >= 1"):
        agents.evaluate_policy_text(actor, make_env, n_episodes=0)
    with pytest.raises(ValueError, match="not an Env instance"):
        agents.evaluate_policy_text(actor, make_env(), n_episodes=4, n_envs=2)
    with pytest.raises(TypeError, match="env must be an env id, an Env or an env factory"):
        agents.evaluate_policy_text(actor, 3, n_episodes=1)
    a = agents.evaluate_policy_text(actor, make_env, n_episodes=2, n_envs=1, seed=0)
    other = {"episodes": [{**a["episodes"][0], "prompt": "another prompt"}, a["episodes"][1]]}
    with pytest.raises(ValueError, match="episode 0 is not the same prompt"):
        agents.sample_table(a, other)
    table = agents.sample_table(a, a, n=1, labels=("x", "after"))
    first = a["episodes"][0]
    assert table.splitlines() == [
        first["prompt"],
        f"  x:     {first['completion']!r} ({first['reward']:.2f})",
        f"  after: {first['completion']!r} ({first['reward']:.2f})",
    ]


def test_options_pick_episode_j_s_scenario() -> None:
    eos = gym.make("textgym/Dialogue-v0").unwrapped.eos_token_id
    result = agents.evaluate_policy_text(
        lambda obs: np.full(len(obs["input_ids"]), eos),
        "Dialogue-v0",
        n_episodes=3,
        n_envs=2,
        env_kwargs={"split": "test"},
        options=lambda j: {"prompt_index": 5 + j},
    )
    env = gym.make("textgym/Dialogue-v0", split="test").unwrapped
    for j, episode in enumerate(result["episodes"]):
        env.reset(seed=99, options={"prompt_index": 5 + j})
        _, _, _, _, info = env.step(eos)  # one empty reply, then the user asks again ... until the end
        while "prompt" not in info:
            _, _, _, _, info = env.step(eos)
        assert episode["prompt"] == info["prompt"]
