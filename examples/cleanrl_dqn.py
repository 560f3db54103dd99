"""CleanRL's DQN (dqn.py) on TinyCat-v0: CleanRL's single-file layout, episode logging that works under Gymnasium 1.x.

As in examples/cleanrl_ppo.py, the changes for a textgym id are `import textgym` and
`gym.make(env_id, observation="onehot", budget_as_termination=True)`. Under Gymnasium 1.x the
vector env no longer returns `infos["final_observation"]`: with same-step autoreset the
finished episode's last observation is `infos["final_obs"]` (masked by `_final_obs`), which
is what goes into the replay buffer as `next_obs` of a final transition.

At the end the script shows what the greedy policy writes from each prompt, and
`agents.evaluate_policy_text` scores it and a uniformly random policy on the same seeded
episodes; `--out` gets `cleanrl_dqn.png` (and its numbers, `cleanrl_dqn.json`): the training
episodes' mean return per `log_frequency` steps, and the two scores.

    python examples/cleanrl_dqn.py            # ~1.5 min
    python examples/cleanrl_dqn.py --smoke    # < 20 s
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from stable_baselines3.common.buffers import ReplayBuffer
from torch import nn, optim

import agents
import textgym  # noqa: F401  (registers the ids)
from textgym.plotting import Curve, Panel, plot_panels
from textgym.script_args import parse_args


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
    log_frequency: int = 1000  # steps per point of the plotted training curve
    eval_episodes: int = 100  # seeded episodes scoring the greedy and the random policy at the end
    seed: int = 1
    out: str = "."  # folder for the plot and its numbers
    smoke: bool = False


# --smoke: checks the pipeline in seconds
SMOKE = dict(total_timesteps=3000, eval_episodes=50)


def make_env(env_id: str, record_stats: bool = True):  # noqa: ANN201
    def thunk() -> gym.Env:
        env = gym.make(env_id, observation="onehot", budget_as_termination=True)
        return gym.wrappers.RecordEpisodeStatistics(env) if record_stats else env

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
    args = parse_args(Args, __doc__, smoke=SMOKE)
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
    start_time = time.time()
    episodic_returns: list[float] = []  # every finished training episode, in order
    curve, logged = [], 0  # (steps, mean return of the episodes finished since the last point)
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
            episodic_returns.append(episodic_return)
            if len(episodic_returns) % 500 == 0:
                print(f"global_step={global_step}, episodic_return={episodic_return:.2f}, length={episodic_length}")
        if (global_step + 1) % args.log_frequency == 0 and len(episodic_returns) > logged:
            curve.append((global_step + 1, float(np.mean(episodic_returns[logged:]))))
            logged = len(episodic_returns)

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

    # --- report: what the greedy policy writes from each of the 4 prompts ---
    env = make_env(args.env_id, record_stats=False)()
    for prompt in range(4):
        o, _ = env.reset(seed=0, options={"prompt_index": prompt})
        done, total = False, 0.0
        while not done:
            with torch.no_grad():
                a = int(q_network(torch.Tensor(o)).argmax())
            o, r, terminated, truncated, info = env.step(a)
            total, done = total + r, terminated or truncated
        print(f"{info['prompt']!r} -> {info['completion']!r} (return {total:.2f}, max 1.5)")

    # --- evaluation: the greedy policy and a uniformly random one on the same seeded episodes ---
    rng = np.random.default_rng(args.seed)
    n_actions = int(envs.single_action_space.n)

    @torch.no_grad()
    def greedy(obs_batch: np.ndarray) -> np.ndarray:
        return q_network(torch.Tensor(obs_batch)).argmax(dim=-1).numpy()

    def evaluate(act) -> dict:  # noqa: ANN001
        # episode j is reset with seed 10_000 + j, so both policies see the same prompts
        env_fn = make_env(args.env_id, record_stats=False)
        return agents.evaluate_policy_text(act, env_fn, n_episodes=args.eval_episodes, seed=10_000)

    random_result = evaluate(lambda obs_batch: rng.integers(n_actions, size=len(obs_batch)))
    greedy_result = evaluate(greedy)
    print(agents.describe("random policy", random_result, "return"))
    print(agents.describe("DQN (greedy)", greedy_result, "return"))

    # --- plot ---
    steps, rets = zip(*curve, strict=True)
    png = plot_panels(
        [
            Panel(
                curves={"DQN (epsilon-greedy training episodes)": Curve.from_points(steps, rets)},
                baselines={"random policy": random_result["mean_reward"]},
                ylabel=f"mean episodic return per {args.log_frequency} steps",
            ),
            Panel(
                bars={"random policy": random_result["mean_reward"], "DQN (greedy)": greedy_result["mean_reward"]},
                ylabel=f"mean return ({args.eval_episodes} seeded episodes)",
            ),
        ],
        Path(args.out) / "cleanrl_dqn.png",
        title=f"CleanRL DQN on {args.env_id}",
    )
    print(f"plot saved to {png} (numbers in {png.with_suffix('.json')})")
