"""Stock Stable-Baselines3 agents (PPO, A2C, DQN with MlpPolicy) on TinyCat-v0, with learning curves.

`wrap_for_stock_agents` turns textgym's token state into a flat one-hot vector and makes the
5-token budget a true end (without it SB3 bootstraps there and PPO does not learn TinyCat).
Each agent writes SB3 `Monitor` logs; `textgym.plotting` turns them into one learning-curve
PNG, with a random policy as the baseline.

    python examples/sb3_stock_agents.py            # ~2 min (three agents)
    python examples/sb3_stock_agents.py --smoke    # < 30 s
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.env_util import make_vec_env

import agents
import textgym  # noqa: F401  (registers the environments)
from textgym.plotting import plot_learning_curves
from textgym.script_args import parse_args
from textgym.wrappers import wrap_for_stock_agents


@dataclass
class Args:
    env_id: str = "textgym/TinyCat-v0"
    algos: str = "ppo,a2c,dqn"
    ppo_timesteps: int = 40_000
    a2c_timesteps: int = 40_000
    dqn_timesteps: int = 15_000
    eval_episodes: int = 200
    seed: int = 0
    out: str = "."  # folder for the Monitor logs and the plot
    smoke: bool = False


# --smoke: checks the pipeline in seconds
SMOKE = dict(ppo_timesteps=2048, a2c_timesteps=2048, dqn_timesteps=2000, eval_episodes=50)


# Hyperparameters that learn TinyCat in well under a minute each (tests/envs/test_small_vocab.py).
# gamma=1: the task is undiscounted.
ALGOS = {
    "ppo": (PPO, 8, dict(n_steps=128, batch_size=256, n_epochs=10, learning_rate=3e-4, ent_coef=0.01)),
    "a2c": (A2C, 8, dict(n_steps=8, learning_rate=1e-3, ent_coef=0.01)),
    "dqn": (
        DQN,
        1,
        dict(
            learning_starts=1000,
            exploration_fraction=0.5,
            exploration_final_eps=0.05,
            target_update_interval=500,
            learning_rate=1e-3,
        ),
    ),
}


def evaluate(act, args: Args) -> tuple[float, float]:  # noqa: ANN001
    """(success rate, mean return) of ``act`` on the same seeded episodes (episode j: seed 10_000 + j)."""
    make_env = lambda: wrap_for_stock_agents(gym.make(args.env_id), "one_hot")  # noqa: E731
    result = agents.evaluate_policy_text(act, make_env, n_episodes=args.eval_episodes, seed=10_000, deterministic=True)
    # success: a grammatical sentence about a cat (TinyCat's topic and grammar components)
    return agents.success_rate(result, ["topic", "grammar"]), result["mean_reward"]


if __name__ == "__main__":
    args = parse_args(Args, __doc__, smoke=SMOKE)
    t0 = time.time()
    torch.set_num_threads(1)  # tiny MLPs: threads cost more than they save
    out = Path(args.out)

    # --- 1. baseline: a uniformly random policy ---
    rng = np.random.default_rng(args.seed)
    random_success, random_return = evaluate(lambda obs: rng.integers(18, size=len(obs)), args)
    print(f"random policy: success {random_success:.2f}, mean return {random_return:.3f}")

    # --- 2. train each agent, logging every episode with Monitor ---
    logs = {}
    for name in args.algos.split(","):
        cls, n_envs, kwargs = ALGOS[name]
        monitor_dir = out / "sb3_stock_agents_logs" / name
        # SB3's make_vec_env asks for render_mode="rgb_array" unless told otherwise.
        venv = make_vec_env(
            args.env_id,
            n_envs=n_envs,
            seed=args.seed,
            monitor_dir=str(monitor_dir),
            wrapper_class=wrap_for_stock_agents,
            env_kwargs={"render_mode": None},
        )
        model = cls("MlpPolicy", venv, gamma=1.0, seed=args.seed, **kwargs)
        start = time.time()
        model.learn(getattr(args, f"{name}_timesteps"))
        venv.close()
        success, mean_return = evaluate(model, args)  # SB3's predict, greedy
        print(
            f"{name.upper()}: {time.time() - start:.0f} s of training; greedy success {success:.2f}, "
            f"mean return {mean_return:.3f}"
        )
        logs[f"{name.upper()} (greedy success {success:.2f})"] = monitor_dir

    # --- 3. plot the learning curves from the Monitor logs ---
    png = plot_learning_curves(
        logs,
        out / "sb3_stock_agents.png",
        window=200,
        baselines={"random policy": random_return},
        title="SB3 MlpPolicy agents on TinyCat-v0",
        ylabel="episode return (mean of the last 200)",
    )
    print(f"{time.time() - t0:.0f} s in all; plot saved to {png} (numbers in {png.with_suffix('.json')})")
