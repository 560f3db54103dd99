"""Issue 14, part 5: rl_zoo3's train and enjoy on textgym ids with the shipped hyperparameters (textgym/zoo)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import yaml

import textgym  # noqa: F401  (registers the environments)
from textgym.zoo import available_algos, config_path
from textgym.zoo.__main__ import main as zoo_main

sys.path.append(str(Path(__file__).resolve().parents[2] / "benchmarks"))
import ecosystem_rows  # noqa: E402  (docs/ecosystem.md's table rows: the commands this file runs)

REPO = Path(__file__).resolve().parents[2]


def test_config_path_and_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert "ppo" in available_algos()
    assert config_path("ppo").is_file()
    assert zoo_main(["ppo"]) == 0
    assert capsys.readouterr().out.strip() == str(config_path("ppo"))
    with pytest.raises(ValueError, match="'nope'"):
        config_path("nope")
    assert zoo_main(["nope"]) == 2


@pytest.mark.parametrize("algo", available_algos())
def test_every_entry_is_a_registered_id_whose_env_kwargs_fit_the_policy(algo: str) -> None:
    hyperparams = yaml.safe_load(config_path(algo).read_text())
    for env_id, params in hyperparams.items():
        assert env_id in gym.registry, env_id
        env = gym.make(env_id, **params["env_kwargs"])
        # MlpPolicy needs a flat Box observation; the budget must end episodes as termination.
        assert params["policy"] == "MlpPolicy"
        assert isinstance(env.observation_space, gym.spaces.Box) and len(env.observation_space.shape) == 1
        env.reset(seed=0)
        # Never the stop token, so the episode runs into the token budget.
        word = (env.unwrapped.tokenizer.eos_token_id + 1) % env.action_space.n
        done = terminated = False
        while not done:
            _, _, terminated, truncated, info = env.step(word)
            done = terminated or truncated
        assert terminated and info["budget_exhausted"]


def random_return(episodes: int, seed: int) -> float:
    env = gym.make("textgym/TinyCat-v0")
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    returns = []
    for _ in range(episodes):
        done, total = False, 0.0
        while not done:
            _, reward, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
            total, done = total + reward, terminated or truncated
        returns.append(total)
        env.reset()
    return float(np.mean(returns))


def greedy_return(model: object, env_kwargs: dict, env_id: str = "textgym/TinyCat-v0") -> float:
    """Mean return of the greedy policy over TinyCat's 4 prompts (deterministic given the prompt)."""
    env = gym.make(env_id, **env_kwargs)
    returns = []
    for prompt in range(4):
        obs, _ = env.reset(seed=0, options={"prompt_index": prompt})
        done, total = False, 0.0
        while not done:
            obs, reward, terminated, truncated, _ = env.step(int(model.predict(obs, deterministic=True)[0]))
            total, done = total + reward, terminated or truncated
        returns.append(total)
    return float(np.mean(returns))


def run_zoo(module: str, args: list[str], cwd: Path, env_id: str = "textgym/TinyCat-v0") -> str:
    # PYTHONPATH: the subprocess imports this checkout's textgym (what --gym-packages imports).
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", module, "--algo", "ppo", "--env", env_id, "--gym-packages", "textgym"] + args,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


# Margin over seeds 0-2 at 1 torch thread and seed 0 at 2 (benchmarks/results/learning_margins.json,
# 2026-12-07): greedy and enjoy return 1.5 (the maximum) against 1.0.
@pytest.mark.slow
@pytest.mark.learning
def test_rl_zoo3_train_and_enjoy_learn_tinycat(tmp_path: Path, learning_seed, check_learned) -> None:
    pytest.importorskip("rl_zoo3")
    from stable_baselines3 import PPO

    baseline = random_return(1000, seed=0)
    assert baseline < 0.1  # a random writer almost never finishes a cat sentence (success pays 1.5)
    # The shipped file verbatim (its n_timesteps: 40k), as the docs' command runs it.
    conf = str(config_path("ppo"))
    run_zoo("rl_zoo3.train", ["-conf", conf, "--seed", str(learning_seed), "-f", "logs", "--eval-freq", "-1"], tmp_path)
    model_file = tmp_path / "logs" / "ppo" / "textgym-TinyCat-v0_1" / "textgym-TinyCat-v0.zip"
    model = PPO.load(model_file, device="cpu")
    env_kwargs = yaml.safe_load(Path(conf).read_text())["textgym/TinyCat-v0"]["env_kwargs"]
    learned = greedy_return(model, env_kwargs)
    check_learned("greedy return", learned, ">=", 1.0)

    # enjoy reads env_kwargs back from the run's saved config; 40 steps = 8 five-token episodes.
    out = run_zoo(
        "rl_zoo3.enjoy", ["-f", "logs", "--exp-id", "1", "-n", "40", "--no-render", "--deterministic"], tmp_path
    )
    match = re.search(r"Mean reward: ([-0-9.]+)", out)
    assert match is not None, out[-2000:]
    check_learned("enjoy's mean reward", float(match.group(1)), ">=", 1.0)


#: docs/ecosystem.md's commands for the teaching id, character for character (issue 29), from the
#: table's rows: rl_zoo3's own "default" hyperparameters (SB3's defaults, MlpPolicy), no -conf, the eval callback on.
ZOO_V1_TRAIN, ZOO_V1_ENJOY = ecosystem_rows.ZOO_TRAIN, ecosystem_rows.ZOO_ENJOY


def test_the_v1_commands_are_the_documented_ones() -> None:
    docs = (REPO / "docs" / "ecosystem.md").read_text()
    assert ZOO_V1_TRAIN in docs and ZOO_V1_ENJOY in docs


# Seeds 0-2 at 1 and 2 torch threads (benchmarks/results/learning_margins.json, 2026-12-08): greedy and enjoy
# return 1.5 (the maximum) against 1.0 in every run.
@pytest.mark.slow
@pytest.mark.learning
def test_rl_zoo3_documented_commands_learn_tinycat_v1(tmp_path: Path, learning_seed, check_learned) -> None:
    pytest.importorskip("rl_zoo3")
    # Both documented commands verbatim (``python`` is this interpreter), plus only --seed on train.
    result = ecosystem_rows.run_zoo(learning_seed, tmp_path)
    print(f"rl_zoo3 TinyCat-v1: {result}")
    check_learned("greedy return", float(np.mean(result["greedy_returns"])), ">=", 1.0)
    check_learned("enjoy's mean reward", result["enjoy_mean_reward"], ">=", 1.0)
