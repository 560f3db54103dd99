"""PPO from scratch in PyTorch (GAE, clipped objective) on TinyCat-v0, in the style of CleanRL.

Proximal Policy Optimization (Schulman et al., 2017): collect a rollout from N envs with the
current policy, estimate advantages with Generalized Advantage Estimation (Schulman et al.,
2016), then take several epochs of minibatch steps on the clipped surrogate objective,
which keeps the new policy close to the one that collected the data. Actor and critic are
small MLPs over the one-hot token state (`OneHotTokens`, latest token last).
`TerminateAtHorizon` makes the 5-token budget a true end, so nothing is bootstrapped there.

    python examples/ppo_from_scratch.py            # ~20 s
    python examples/ppo_from_scratch.py --smoke    # < 20 s
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode
from torch import nn

import agents
import textgym  # noqa: F401  (registers the environments)
from textgym.plotting import Curve, Panel, plot_panels
from textgym.script_args import parse_args
from textgym.wrappers import wrap_for_stock_agents


@dataclass
class Args:
    env_id: str = "textgym/TinyCat-v0"
    total_timesteps: int = 40_000
    num_envs: int = 8
    num_steps: int = 128  # steps per env per rollout: 1024 per update
    num_minibatches: int = 4
    update_epochs: int = 10
    learning_rate: float = 3e-4
    gamma: float = 1.0  # undiscounted: at most 5 tokens
    gae_lambda: float = 0.95
    clip_coef: float = 0.2
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    eval_episodes: int = 100
    seed: int = 0
    out: str = "."  # folder for the plot
    smoke: bool = False


# --smoke: checks the pipeline in seconds
SMOKE = dict(total_timesteps=4096, eval_episodes=50)


def layer(n_in: int, n_out: int, std: float = np.sqrt(2)) -> nn.Linear:
    """Orthogonal weights and zero biases, as in CleanRL's PPO."""
    linear = nn.Linear(n_in, n_out)
    nn.init.orthogonal_(linear.weight, std)
    nn.init.zeros_(linear.bias)
    return linear


class Agent(nn.Module):
    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 64):
        super().__init__()
        self.critic = nn.Sequential(
            layer(obs_dim, hidden), nn.Tanh(), layer(hidden, hidden), nn.Tanh(), layer(hidden, 1, std=1.0)
        )
        # A small last layer starts the policy near uniform.
        self.actor = nn.Sequential(
            layer(obs_dim, hidden), nn.Tanh(), layer(hidden, hidden), nn.Tanh(), layer(hidden, n_actions, std=0.01)
        )

    def value(self, x: torch.Tensor) -> torch.Tensor:
        return self.critic(x).squeeze(-1)

    def act(self, x: torch.Tensor, action: torch.Tensor | None = None):  # noqa: ANN201
        dist = torch.distributions.Categorical(logits=self.actor(x))
        if action is None:
            action = dist.sample()
        return action, dist.log_prob(action), dist.entropy(), self.value(x)


def make_env(env_id: str) -> gym.Env:
    return wrap_for_stock_agents(gym.make(env_id), "one_hot")


def evaluate(agent: Agent, args: Args, greedy: bool = True) -> dict:
    """The same seeded episodes each time (episode j: seed 10_000 + j), by agents.evaluate_policy_text."""

    @torch.no_grad()
    def act(obs: np.ndarray) -> np.ndarray:
        logits = agent.actor(torch.as_tensor(obs))
        return (logits.argmax(-1) if greedy else torch.distributions.Categorical(logits=logits).sample()).numpy()

    return agents.evaluate_policy_text(act, lambda: make_env(args.env_id), n_episodes=args.eval_episodes, seed=10_000)


if __name__ == "__main__":
    args = parse_args(Args, __doc__, smoke=SMOKE)
    t0 = time.time()
    batch_size = args.num_envs * args.num_steps
    minibatch_size = batch_size // args.num_minibatches
    num_updates = args.total_timesteps // batch_size
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)  # tiny MLPs: threads cost more than they save

    # --- 1. setup: N envs stepped together; finished ones restart in the same step ---
    envs = gym.vector.SyncVectorEnv(
        [lambda: make_env(args.env_id) for _ in range(args.num_envs)],
        autoreset_mode=AutoresetMode.SAME_STEP,
    )
    obs_dim = envs.single_observation_space.shape[0]
    agent = Agent(obs_dim, envs.single_action_space.n)
    optimizer = torch.optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)
    obs_buf = torch.zeros((args.num_steps, args.num_envs, obs_dim))
    actions_buf = torch.zeros((args.num_steps, args.num_envs), dtype=torch.long)
    logprobs_buf = torch.zeros((args.num_steps, args.num_envs))
    rewards_buf = torch.zeros((args.num_steps, args.num_envs))
    dones_buf = torch.zeros((args.num_steps, args.num_envs))  # 1 where the step ended an episode
    values_buf = torch.zeros((args.num_steps, args.num_envs))

    # --- 2. baseline: the untrained (near-uniform) policy, sampled ---
    untrained = evaluate(agent, args, greedy=False)
    # success: a grammatical sentence about a cat (TinyCat's topic and grammar components)
    random_success, random_return = agents.success_rate(untrained, ["topic", "grammar"]), untrained["mean_reward"]
    print(f"untrained policy (sampled): success {random_success:.2f}, mean return {random_return:.3f}")

    # --- 3. training loop ---
    history = []  # (global step, mean training episode return, greedy success)
    next_obs = torch.as_tensor(envs.reset(seed=args.seed)[0])
    episode_returns = np.zeros(args.num_envs)
    finished_returns: list[float] = []
    global_step = 0
    for _ in range(num_updates):
        # 3a. rollout
        for step in range(args.num_steps):
            global_step += args.num_envs
            obs_buf[step] = next_obs
            with torch.no_grad():
                action, logprob, _, value = agent.act(next_obs)
            obs, reward, terminated, truncated, _ = envs.step(action.numpy())
            done = np.logical_or(terminated, truncated)  # never truncated: TerminateAtHorizon
            actions_buf[step], logprobs_buf[step], values_buf[step] = action, logprob, value
            rewards_buf[step] = torch.as_tensor(reward, dtype=torch.float32)
            dones_buf[step] = torch.as_tensor(done, dtype=torch.float32)
            episode_returns += reward
            finished_returns.extend(episode_returns[done].tolist())
            episode_returns[done] = 0.0
            next_obs = torch.as_tensor(obs)  # SAME_STEP autoreset: already the next episode's start

        # 3b. GAE: delta_t = r_t + gamma * V(s_{t+1}) * (1 - done_t) - V(s_t), summed backwards
        with torch.no_grad():
            next_value = agent.value(next_obs)
            advantages = torch.zeros_like(rewards_buf)
            last_gae = torch.zeros(args.num_envs)
            for t in reversed(range(args.num_steps)):
                following = next_value if t == args.num_steps - 1 else values_buf[t + 1]
                not_done = 1.0 - dones_buf[t]
                delta = rewards_buf[t] + args.gamma * following * not_done - values_buf[t]
                last_gae = delta + args.gamma * args.gae_lambda * not_done * last_gae
                advantages[t] = last_gae
            returns = advantages + values_buf

        # 3c. several epochs of minibatch updates on the clipped objective
        b_obs, b_actions = obs_buf.reshape(-1, obs_dim), actions_buf.reshape(-1)
        b_logprobs, b_advantages = logprobs_buf.reshape(-1), advantages.reshape(-1)
        b_returns = returns.reshape(-1)
        for _ in range(args.update_epochs):
            for idx in torch.randperm(batch_size).split(minibatch_size):
                _, new_logprob, entropy, new_value = agent.act(b_obs[idx], b_actions[idx])
                ratio = (new_logprob - b_logprobs[idx]).exp()
                adv = b_advantages[idx]
                adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                policy_loss = torch.max(-adv * ratio, -adv * ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef)).mean()
                value_loss = 0.5 * (new_value - b_returns[idx]).pow(2).mean()
                loss = policy_loss + args.vf_coef * value_loss - args.ent_coef * entropy.mean()
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                optimizer.step()

        # 3d. log
        if finished_returns:
            train_return = float(np.mean(finished_returns[-200:]))
            success = agents.success_rate(evaluate(agent, args), ["topic", "grammar"])
            history.append((global_step, train_return, success))
            print(
                f"step {global_step:6d}  train return (last 200 episodes) {train_return:.3f}  "
                f"greedy success {success:.2f}"
            )
    envs.close()

    # --- 4. what the trained policy writes, coloured by each token's log-probability ---
    show = wrap_for_stock_agents(gym.make(args.env_id, render_mode="ansi"), "one_hot")
    for prompt_index in range(len(show.unwrapped.prompts)):
        obs, _ = show.reset(options={"prompt_index": prompt_index})
        token_log_probs, done = [], False
        while not done:
            with torch.no_grad():
                action, logprob, _, _ = agent.act(torch.as_tensor(obs))
            token_log_probs.append(float(logprob))
            obs, _, terminated, truncated, _ = show.step(int(action))
            done = terminated or truncated
        show.unwrapped.set_token_values(token_log_probs)
        print(show.unwrapped.render())
    print(f"{time.time() - t0:.0f} s in all")

    # --- 5. plot ---
    steps, train_returns, successes = zip(*history, strict=True)
    png = plot_panels(
        [
            Panel(
                curves={"PPO (sampled, training)": Curve.from_points(steps, train_returns)},
                baselines={"untrained policy": random_return},
                ylabel="mean episode return",
            ),
            Panel(
                curves={"PPO (greedy)": Curve.from_points(steps, successes)},
                baselines={"untrained policy": random_success},
                ylabel="greedy success rate",
                ylim=(-0.05, 1.05),
            ),
        ],
        Path(args.out) / "ppo_from_scratch.png",
        title="PPO from scratch on TinyCat-v0",
    )
    print(f"plot saved to {png} (numbers in {png.with_suffix('.json')})")
