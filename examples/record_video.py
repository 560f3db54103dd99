"""Record a video of a trained agent writing on TinyCat-v0, each token coloured by the agent's probability of it.

Trains SB3 PPO with `MlpPolicy` (the settings of examples/sb3_stock_agents.py), then plays a few
greedy episodes under Gymnasium's `RecordVideo`. The env draws the prompt and the completion
(`render_mode="rgb_array"`); `set_token_values` gives each written token the policy's
probability of it, and the env colours the episode's tokens from red (the least likely of
them) to green (the most likely). Needs the `video` extra (moviepy).

`--out` gets the videos (`videos/tinycat-ppo-episode-*.mp4`), the last frame
(`record_video_last_frame.png`) and `record_video.png` (and its numbers, `record_video.json`):
the training curve (`agents.RewardCurve`, one point per rollout) and each recorded episode's return.

    python examples/record_video.py            # ~1 min: 30k steps of PPO, then the video
    python examples/record_video.py --smoke    # < 30 s, an untrained-looking agent
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from PIL import Image
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

import agents
import textgym  # noqa: F401  (registers the environments)
from textgym.plotting import Panel, plot_panels
from textgym.script_args import parse_args
from textgym.wrappers import wrap_for_stock_agents


@dataclass
class Args:
    env_id: str = "textgym/TinyCat-v0"
    timesteps: int = 30_000
    episodes: int = 4  # greedy episodes in the video, one per prompt
    seed: int = 0
    out: str = "."  # folder for the videos, a PNG of the last frame and the plot
    smoke: bool = False


# --smoke: checks the pipeline in seconds (2 rollouts of 8 envs x 128 steps, 2 episodes recorded)
SMOKE = dict(timesteps=2048, episodes=2)


class ColourByValue(gym.Wrapper):
    """Give each written token a value (set before the step) for the env's render colours.

    It sits *inside* RecordVideo, so the frame recorded after a step already shows the new
    token in its colour.
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.values: list[float] = []
        self.next_value = 0.0

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        self.values = []
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        out = self.env.step(action)
        self.values.append(self.next_value)
        self.env.unwrapped.set_token_values(self.values)
        return out


if __name__ == "__main__":
    args = parse_args(Args, __doc__, smoke=SMOKE)
    t0 = time.time()
    torch.set_num_threads(1)  # a tiny MLP: threads cost more than they save
    out = Path(args.out)

    # --- 1. train: stock PPO on the one-hot observation, the token budget as a terminal ---
    venv = make_vec_env(
        args.env_id, n_envs=8, seed=args.seed, wrapper_class=wrap_for_stock_agents, env_kwargs={"render_mode": None}
    )
    model = PPO(
        "MlpPolicy",
        venv,
        gamma=1.0,
        seed=args.seed,
        n_steps=128,
        batch_size=256,
        n_epochs=10,
        learning_rate=3e-4,
        ent_coef=0.01,
    )
    curve = agents.RewardCurve()  # mean return of the last 100 training episodes, after each rollout
    model.learn(args.timesteps, callback=curve)
    venv.close()
    print(f"trained {args.timesteps} steps in {time.time() - t0:.0f} s")

    # --- 2. record: greedy episodes, every token coloured by the policy's probability of it ---
    colours = ColourByValue(gym.make(args.env_id, render_mode="rgb_array"))
    env = gym.wrappers.RecordVideo(
        wrap_for_stock_agents(colours),
        str(out / "videos"),
        name_prefix="tinycat-ppo",
        episode_trigger=lambda e: True,
        disable_logger=True,
    )
    recorded = {}  # episode label -> greedy return
    for episode in range(args.episodes):
        obs, info = env.reset(seed=args.seed, options={"prompt_index": episode % 4})
        done, episode_return = False, 0.0
        while not done:
            action = int(model.predict(obs, deterministic=True)[0])
            with torch.no_grad():
                dist = model.policy.get_distribution(model.policy.obs_to_tensor(obs)[0])
                colours.next_value = float(dist.distribution.probs[0, action])
            obs, reward, terminated, truncated, info = env.step(action)
            episode_return += float(reward)
            done = terminated or truncated
        print(f"{info['prompt']!r} -> {info['completion']!r}: return {episode_return:.2f}")
        recorded[f"episode {episode}"] = episode_return
    last_frame = colours.render()
    env.close()

    # --- 3. save the last frame as a PNG next to the videos ---
    png = out / "record_video_last_frame.png"
    Image.fromarray(last_frame).save(png)
    print(f"{time.time() - t0:.0f} s in all; videos in {out / 'videos'}, last frame {png}")

    # --- 4. plot: the training curve and the recorded episodes' returns ---
    png = plot_panels(
        [
            Panel(curves={"PPO (training, last 100 episodes)": curve.curve}, ylabel="mean episode return"),
            Panel(bars={"greedy return": recorded}, ylabel="return of the recorded episode"),
        ],
        out / "record_video.png",
        title=f"SB3 PPO on {args.env_id}, recorded",
    )
    print(f"plot saved to {png} (numbers in {png.with_suffix('.json')})")
