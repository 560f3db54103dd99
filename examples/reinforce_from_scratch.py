"""REINFORCE from scratch in PyTorch: a small MLP policy learns TinyCat-v0.

The policy reads the one-hot token state (`OneHotTokens`, the latest token last) and
outputs a distribution over the 18 next tokens. REINFORCE (Williams, 1992) raises the
log-probability of each action in proportion to the return that followed it (reward-to-go),
minus a baseline: here the batch's mean reward-to-go at the same step, which lowers the
variance without biasing the gradient. The algorithm is nothing but numpy, torch and the env;
evaluation and the plot come from the library (`agents.evaluate_policy_text`, `textgym.plotting`).

    python examples/reinforce_from_scratch.py            # ~20 s
    python examples/reinforce_from_scratch.py --smoke    # < 20 s
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch import nn

import agents
import textgym  # noqa: F401  (registers the environments)
from textgym.plotting import Curve, Panel, plot_panels
from textgym.script_args import parse_args
from textgym.wrappers import wrap_for_stock_agents


@dataclass
class Args:
    env_id: str = "textgym/TinyCat-v0"
    iterations: int = 200  # policy updates
    episodes_per_batch: int = 64
    learning_rate: float = 3e-3
    entropy_coef: float = 0.01  # a little entropy bonus keeps the policy exploring early on
    hidden: int = 64
    eval_every: int = 25
    eval_episodes: int = 100
    seed: int = 0
    out: str = "."  # folder for the plot
    smoke: bool = False


# --smoke: checks the pipeline in seconds
SMOKE = dict(iterations=20, episodes_per_batch=32, eval_every=10, eval_episodes=50)


def make_env(env_id: str) -> gym.Env:
    return wrap_for_stock_agents(gym.make(env_id), "one_hot")


def run_episodes(policy: nn.Module, envs: list[gym.Env], seed: int | None = None) -> dict:
    """One sampled episode in every env, stepping them together; returns per-episode lists."""
    obs = [env.reset(seed=None if seed is None else seed + j)[0] for j, env in enumerate(envs)]
    log_probs = [[] for _ in envs]
    entropies = [[] for _ in envs]
    rewards = [[] for _ in envs]
    active = list(range(len(envs)))
    while active:
        logits = policy(torch.as_tensor(np.stack([obs[i] for i in active])))
        dist = torch.distributions.Categorical(logits=logits)
        actions = dist.sample()
        step_log_probs, step_entropies = dist.log_prob(actions), dist.entropy()
        still_active = []
        for k, i in enumerate(active):
            log_probs[i].append(step_log_probs[k])
            entropies[i].append(step_entropies[k])
            obs[i], reward, terminated, truncated, _ = envs[i].step(int(actions[k]))
            rewards[i].append(float(reward))
            if not (terminated or truncated):
                still_active.append(i)
        active = still_active
    return {"log_probs": log_probs, "entropies": entropies, "rewards": rewards}


def evaluate(policy: nn.Module, args: Args, greedy: bool = True) -> dict:
    """The same seeded episodes each time (episode j: seed 10_000 + j), by agents.evaluate_policy_text."""

    @torch.no_grad()
    def act(obs: np.ndarray) -> np.ndarray:
        logits = policy(torch.as_tensor(obs))
        return (logits.argmax(-1) if greedy else torch.distributions.Categorical(logits=logits).sample()).numpy()

    return agents.evaluate_policy_text(act, lambda: make_env(args.env_id), n_episodes=args.eval_episodes, seed=10_000)


if __name__ == "__main__":
    args = parse_args(Args, __doc__, smoke=SMOKE)
    t0 = time.time()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)  # a tiny MLP: threads cost more than they save

    # --- 1. setup: envs, policy network, optimizer ---
    envs = [make_env(args.env_id) for _ in range(args.episodes_per_batch)]
    obs_dim = envs[0].observation_space.shape[0]
    n_actions = envs[0].action_space.n
    policy = nn.Sequential(
        nn.Linear(obs_dim, args.hidden),
        nn.Tanh(),
        nn.Linear(args.hidden, args.hidden),
        nn.Tanh(),
        nn.Linear(args.hidden, n_actions),
    )
    optimizer = torch.optim.Adam(policy.parameters(), lr=args.learning_rate)

    # --- 2. baseline: the untrained (near-uniform) policy, sampled ---
    untrained = evaluate(policy, args, greedy=False)
    # success: a grammatical sentence about a cat (TinyCat's topic and grammar components)
    random_success, random_return = agents.success_rate(untrained, ["topic", "grammar"]), untrained["mean_reward"]
    print(f"untrained policy (sampled): success {random_success:.2f}, mean return {random_return:.3f}")

    # --- 3. REINFORCE ---
    history = []  # (episodes so far, train mean return, greedy success)
    for iteration in range(1, args.iterations + 1):
        batch = run_episodes(policy, envs, seed=args.seed if iteration == 1 else None)  # seed once
        # Reward-to-go G_t = r_t + r_{t+1} + ... (gamma = 1: at most 5 tokens).
        returns_to_go = [np.cumsum(r[::-1])[::-1] for r in batch["rewards"]]
        horizon = max(len(g) for g in returns_to_go)
        # Baseline b_t: the mean reward-to-go at step t over the episodes still running then.
        baseline = [np.mean([g[t] for g in returns_to_go if len(g) > t]) for t in range(horizon)]
        loss = torch.zeros(())
        for log_probs, entropies, g in zip(batch["log_probs"], batch["entropies"], returns_to_go, strict=True):
            advantages = torch.as_tensor(g - np.array(baseline[: len(g)]), dtype=torch.float32)
            loss = loss - (torch.stack(log_probs) * advantages).sum() - args.entropy_coef * torch.stack(entropies).sum()
        loss = loss / len(envs)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if iteration % args.eval_every == 0:
            train_return = float(np.mean([sum(r) for r in batch["rewards"]]))
            success = agents.success_rate(evaluate(policy, args), ["topic", "grammar"])
            history.append((iteration * len(envs), train_return, success))
            print(f"iteration {iteration:4d}  train return {train_return:.3f}  greedy success {success:.2f}")

    # --- 4. what the trained policy writes, coloured by each token's log-probability ---
    show = wrap_for_stock_agents(gym.make(args.env_id, render_mode="ansi"), "one_hot")
    for prompt_index in range(len(show.unwrapped.prompts)):
        obs, _ = show.reset(options={"prompt_index": prompt_index})
        token_log_probs, done = [], False
        while not done:
            with torch.no_grad():
                dist = torch.distributions.Categorical(logits=policy(torch.as_tensor(obs)))
            action = dist.sample()
            token_log_probs.append(float(dist.log_prob(action)))
            obs, _, terminated, truncated, _ = show.step(int(action))
            done = terminated or truncated
        show.unwrapped.set_token_values(token_log_probs)
        print(show.unwrapped.render())
    print(f"{time.time() - t0:.0f} s in all")

    # --- 5. plot ---
    episodes, train_returns, successes = zip(*history, strict=True)
    png = plot_panels(
        [
            Panel(
                curves={"REINFORCE (sampled, training)": Curve.from_points(episodes, train_returns)},
                baselines={"untrained policy": random_return},
                xlabel="training episodes",
                ylabel="mean return",
            ),
            Panel(
                curves={"REINFORCE (greedy)": Curve.from_points(episodes, successes)},
                baselines={"untrained policy": random_success},
                xlabel="training episodes",
                ylabel="greedy success rate",
                ylim=(-0.05, 1.05),
            ),
        ],
        Path(args.out) / "reinforce_from_scratch.png",
        title="REINFORCE from scratch on TinyCat-v0",
    )
    print(f"plot saved to {png} (numbers in {png.with_suffix('.json')})")
