"""Issue 14, part 8: stock SB3 PPO (MlpPolicy, onehot) learns TinyShop-v0 with the shipped zoo settings."""

import gymnasium as gym
import numpy as np
import pytest
import yaml
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

import textgym  # noqa: F401  (registers the environments)
from textgym.envs.tiny_shop import tiny_shop_dialogues
from textgym.zoo import config_path

ENV_ID = "textgym/TinyShop-v0"


def shipped_settings() -> dict:
    """TinyShop-v0's entry of textgym/zoo/ppo.yml, so the test trains with what rl_zoo3 users get."""
    return yaml.safe_load(config_path("ppo").read_text())[ENV_ID]


def evaluate(act, env_kwargs: dict) -> tuple[float, float]:  # noqa: ANN001  (obs -> action)
    """Mean return and fraction of exactly correct replies over all 108 prompts."""
    env = gym.make(ENV_ID, **env_kwargs)
    returns, correct = [], []
    for prompt in range(len(tiny_shop_dialogues())):
        obs, _ = env.reset(seed=0, options={"prompt_index": prompt})
        done, total = False, 0.0
        while not done:
            obs, reward, terminated, truncated, info = env.step(act(obs))
            total, done = total + reward, terminated or truncated
        returns.append(total)
        correct.append(info["reward_components"]["correct"])
    return float(np.mean(returns)), float(np.mean(correct))


# Margin over seeds 0-2 at 1 torch thread and seed 0 at 2 (benchmarks/results/learning_margins.json,
# 2026-12-07): lowest greedy success 0.657 against 0.25, return 1.07 against 0.6.
@pytest.mark.slow
@pytest.mark.learning
def test_stock_ppo_mlp_policy_learns_tinyshop_with_the_zoo_settings(learning_seed, check_learned) -> None:
    hp = shipped_settings()
    env_kwargs = hp.pop("env_kwargs")
    assert env_kwargs == {"observation": "onehot", "budget_as_termination": True}
    rng = np.random.default_rng(0)
    baseline, _ = evaluate(lambda obs: int(rng.integers(22)), env_kwargs)
    assert baseline < 0.02  # the first word alone is right 1 time in 22 and pays 0.5 / 6
    venv = make_vec_env(ENV_ID, n_envs=hp.pop("n_envs"), seed=learning_seed, env_kwargs=env_kwargs)
    steps = int(hp.pop("n_timesteps"))
    assert steps <= 30_000  # issue 14: "within 30k steps"
    model = PPO(hp.pop("policy"), venv, seed=learning_seed, **hp)
    model.learn(steps)
    mean_return, success = evaluate(lambda obs: int(model.predict(obs, deterministic=True)[0]), env_kwargs)
    print(f"TinyShop-v0 greedy return {mean_return:.3f}, correct {success:.3f}, random {baseline:.3f}")
    # Measured 1.09 (seed 0); the bar is far above random (0.004) and below the maximum (1.5).
    check_learned("greedy return", mean_return, ">=", 0.6)
    check_learned("greedy success", success, ">=", 0.25)
