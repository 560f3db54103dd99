"""CleanRL's DQN (dqn.py) on TinyCat-v0: CleanRL's single-file layout, episode logging that works under Gymnasium 1.x.

As in examples/cleanrl_ppo.py, the changes for a textgym id are `import textgym` and
`gym.make(env_id, observation="onehot", budget_as_termination=True)`. Under Gymnasium 1.x the
vector env no longer returns `infos["final_observation"]`: with same-step autoreset the
finished episode's last observation is `infos["final_obs"]` (masked by `_final_obs`), which
is what goes into the replay buffer as `next_obs` of a final transition.

    python examples/cleanrl_dqn.py            # ~1.5 min
    python examples/cleanrl_dqn.py --smoke    # < 20 s
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import time
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from stable_baselines3.common.buffers import ReplayBuffer
from torch import nn, optim

import textgym  # noqa: F401  (registers the ids)


@dataclass
class Args:
    env_id: str = "textgym/TinyCat-v0"
    total_timesteps: int = 20_000
    learning_rate: float = 1e-3
    num_envs: int = 1
    buffer_size: int = 10_000
    gamma: float = 1.0  # undiscounted: at most 5 tokens
    tau: float = 1.0
    target_network_frequency: int = 500
    batch_size: int = 128
    start_e: float = 1.0
    end_e: float = 0.05
    exploration_fraction: float = 0.5
    learning_starts: int = 1000
    train_frequency: int = 4
    seed: int = 1
    out: str = "."  # folder for the learning-curve plot
    smoke: bool = False


def parse_args() -> Args:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for field in dataclasses.fields(Args):
        flag = "--" + field.name.replace("_", "-")
        if isinstance(field.default, bool):
            parser.add_argument(flag, action="store_true", default=field.default)
        else:
            parser.add_argument(flag, type=type(field.default), default=field.default)
    args = Args(**vars(parser.parse_args()))
    return dataclasses.replace(args, total_timesteps=3000) if args.smoke else args


def make_env(env_id: str):  # noqa: ANN201
    def thunk() -> gym.Env:
        env = gym.make(env_id, observation="onehot", budget_as_termination=True)
        return gym.wrappers.RecordEpisodeStatistics(env)

    return thunk


def episode_stats(infos: dict) -> list[tuple[float, int]]:
    """(return, length) of each episode that ended in this step, under Gymnasium 1.x's vector info."""
    source = infos.get("final_info", infos)  # SAME_STEP autoreset nests the finished episodes' info
    if "episode" not in source:
        return []
    ep = source["episode"]
    return [(float(ep["r"][i]), int(ep["l"][i])) for i in np.flatnonzero(source["_episode"])]


class QNetwork(nn.Module):
    def __init__(self, envs: gym.vector.VectorEnv):
        super().__init__()
        self.network = nn.Sequential(
            nn.Linear(int(np.array(envs.single_observation_space.shape).prod()), 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, envs.single_action_space.n),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x)


def linear_schedule(start_e: float, end_e: float, duration: int, t: int) -> float:
    slope = (end_e - start_e) / duration
    return max(slope * t + start_e, end_e)


if __name__ == "__main__":
    args = parse_args()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)  # a tiny MLP: threads cost more than they save

    # --- env setup: same-step autoreset, so that final transitions keep their real next_obs ---
    envs = gym.vector.SyncVectorEnv(
        [make_env(args.env_id) for _ in range(args.num_envs)], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
    )
    assert isinstance(envs.single_action_space, gym.spaces.Discrete), "only discrete action space is supported"
    q_network = QNetwork(envs)
    optimizer = optim.Adam(q_network.parameters(), lr=args.learning_rate)
    target_network = QNetwork(envs)
    target_network.load_state_dict(q_network.state_dict())
    rb = ReplayBuffer(
        args.buffer_size,
        envs.single_observation_space,
        envs.single_action_space,
        "cpu",
        n_envs=args.num_envs,
        handle_timeout_termination=False,
    )

    # --- the training loop ---
    start_time, curve = time.time(), []
    obs, _ = envs.reset(seed=args.seed)
    for global_step in range(args.total_timesteps):
        epsilon = linear_schedule(
            args.start_e, args.end_e, int(args.exploration_fraction * args.total_timesteps), global_step
        )
        if random.random() < epsilon:
            actions = np.array([envs.single_action_space.sample() for _ in range(envs.num_envs)])
        else:
            q_values = q_network(torch.Tensor(obs))
            actions = torch.argmax(q_values, dim=1).cpu().numpy()
        next_obs, rewards, terminations, truncations, infos = envs.step(actions)
        for episodic_return, episodic_length in episode_stats(infos):
            curve.append((global_step, episodic_return))
            if len(curve) % 500 == 0:
                print(f"global_step={global_step}, episodic_return={episodic_return:.2f}, length={episodic_length}")

        # A finished slot's next_obs is already the next episode's start: store its final one.
        real_next_obs = next_obs.copy()
        for idx in np.flatnonzero(infos.get("_final_obs", np.zeros(envs.num_envs, dtype=bool))):
            real_next_obs[idx] = infos["final_obs"][idx]
        rb.add(obs, real_next_obs, actions, rewards, terminations, infos)
        obs = next_obs

        # --- learn: one TD step every train_frequency steps, the target net synced periodically ---
        if global_step > args.learning_starts:
            if global_step % args.train_frequency == 0:
                data = rb.sample(args.batch_size)
                with torch.no_grad():
                    target_max, _ = target_network(data.next_observations).max(dim=1)
                    td_target = data.rewards.flatten() + args.gamma * target_max * (1 - data.dones.flatten())
                old_val = q_network(data.observations).gather(1, data.actions).squeeze()
                loss = F.mse_loss(td_target, old_val)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            if global_step % args.target_network_frequency == 0:
                for target_param, q_param in zip(target_network.parameters(), q_network.parameters(), strict=True):
                    target_param.data.copy_(args.tau * q_param.data + (1.0 - args.tau) * target_param.data)
    envs.close()
    print(f"{args.total_timesteps} steps in {time.time() - start_time:.0f} s")

    # --- report: the greedy policy on each of the 4 prompts, against a uniformly random policy ---
    env = gym.make(args.env_id, observation="onehot", budget_as_termination=True)
    greedy = []
    for prompt in range(4):
        o, _ = env.reset(seed=0, options={"prompt_index": prompt})
        done, total = False, 0.0
        while not done:
            with torch.no_grad():
                a = int(q_network(torch.Tensor(o)).argmax())
            o, r, terminated, truncated, info = env.step(a)
            total, done = total + r, terminated or truncated
        greedy.append(total)
        print(f"{info['prompt']!r} -> {info['completion']!r}")
    print(f"greedy mean return {np.mean(greedy):.3f} (max 1.5; a random policy: about 0.03)")
    steps, rets = zip(*curve, strict=True)
    window = min(200, len(rets))
    smooth = np.convolve(rets, np.ones(window) / window, mode="valid")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(steps[window - 1 :], smooth)
    ax.set(xlabel="environment steps", ylabel=f"episodic return (mean of {window})", title="CleanRL DQN on TinyCat-v0")
    fig.tight_layout()
    png = Path(args.out) / "cleanrl_dqn.png"
    fig.savefig(png)
    print(f"plot saved to {png}")
