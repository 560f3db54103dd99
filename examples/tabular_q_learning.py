r"""Tabular Q-learning on TinyCat-v0: a lookup table learns to write a sentence about a cat.

TinyCat (18 tokens, at most 5 per episode) is small enough that every state can have its own
row of Q-values. `TokenIndexObs` numbers each (prompt, tokens written so far) state with one
integer, `TerminateAtHorizon` makes the 5-token budget a true end (Pardo et al., 2018), and
Q-learning (Watkins, 1989) with an epsilon-greedy policy does the rest. A random policy
almost never succeeds (about 3 episodes in 100,000); the greedy table policy succeeds on
every prompt after a few thousand episodes.

    python examples/tabular_q_learning.py            # ~20 s
    python examples/tabular_q_learning.py --env-id textgym/TinyShop-v0 --episodes 30000 \
        --alpha 1 --epsilon-start 0.05 --epsilon-end 0   # reads the prompt: ~30 s
    python examples/tabular_q_learning.py --smoke    # < 10 s
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt
import numpy as np

import textgym  # noqa: F401  (registers the environments)
from textgym.wrappers import wrap_for_stock_agents


@dataclass
class Args:
    env_id: str = "textgym/TinyCat-v0"
    episodes: int = 20_000
    alpha: float = 0.5  # learning rate of the table updates
    gamma: float = 1.0  # the task is undiscounted: 5 tokens at most
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    exploration_fraction: float = 0.7  # epsilon decays linearly over this share of the episodes
    eval_every: int = 500  # episodes between greedy evaluations
    eval_episodes: int = 100
    seed: int = 0
    out: str = "."  # folder for the plot
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
    if args.smoke:
        args = dataclasses.replace(args, episodes=4000, eval_every=1000, eval_episodes=50)
    return args


def evaluate(policy, args: Args) -> tuple[float, float]:  # noqa: ANN001
    """(success rate, mean return) over the same seeded evaluation episodes every time."""
    env = wrap_for_stock_agents(gym.make(args.env_id), "index")
    successes, returns = 0.0, []
    state, _ = env.reset(seed=10_000)
    for _ in range(args.eval_episodes):
        done, episode_return = False, 0.0
        while not done:
            state, reward, terminated, truncated, info = env.step(policy(state))
            episode_return += reward
            done = terminated or truncated
        c = info["reward_components"]  # TinyShop: a correct reply; TinyCat: a cat sentence
        successes += c["correct"] if "correct" in c else c["topic"] * c["grammar"]
        returns.append(episode_return)
        state, _ = env.reset()
    return successes / args.eval_episodes, float(np.mean(returns))


if __name__ == "__main__":
    args = parse_args()
    t0 = time.time()

    # --- 1. setup: the env with integer states, and an empty Q-table ---
    env = wrap_for_stock_agents(gym.make(args.env_id), "index")
    n_actions = env.action_space.n
    print(f"{env.observation_space.n:,} possible states, {n_actions} actions")
    q = defaultdict(lambda: np.zeros(n_actions))  # only visited states get a row
    rng = np.random.default_rng(args.seed)

    # --- 2. baseline: a uniformly random policy ---
    random_success, random_return = evaluate(lambda s: int(rng.integers(n_actions)), args)
    print(f"random policy: success {random_success:.2f}, mean return {random_return:.3f}")

    # --- 3. Q-learning ---
    history = []  # (episodes, greedy success, greedy mean return)
    state, _ = env.reset(seed=args.seed)
    for episode in range(1, args.episodes + 1):
        decay = min(1.0, (episode - 1) / (args.exploration_fraction * args.episodes))
        epsilon = args.epsilon_start + decay * (args.epsilon_end - args.epsilon_start)
        done = False
        while not done:
            if rng.random() < epsilon:
                action = int(rng.integers(n_actions))
            else:  # greedy; ties (e.g. an unseen state's zeros) broken at random
                action = int(rng.choice(np.flatnonzero(q[state] == q[state].max())))
            next_state, reward, terminated, truncated, _ = env.step(action)
            # The Q-learning target; the last state has no future (TerminateAtHorizon).
            target = reward if terminated else reward + args.gamma * q[next_state].max()
            q[state][action] += args.alpha * (target - q[state][action])
            state, done = next_state, terminated or truncated
        state, _ = env.reset()
        if episode % args.eval_every == 0:
            success, mean_return = evaluate(lambda s: int(np.argmax(q[s])), args)
            history.append((episode, success, mean_return))
            print(f"episode {episode:6d}  epsilon {epsilon:.2f}  states {len(q):6d}  "
                  f"greedy success {success:.2f}  return {mean_return:.3f}")

    # --- 4. what the greedy policy writes for each prompt, coloured by step reward ---
    show = wrap_for_stock_agents(gym.make(args.env_id, render_mode="ansi"), "index")
    for prompt_index in range(len(show.unwrapped.prompts)):
        state, _ = show.reset(options={"prompt_index": prompt_index})
        rewards, done = [], False
        while not done:
            state, reward, terminated, truncated, _ = show.step(int(np.argmax(q[state])))
            rewards.append(reward)
            done = terminated or truncated
        show.unwrapped.set_token_values(rewards)
        print(show.unwrapped.render(), f"  (return {sum(rewards):.2f})")
    print(f"{time.time() - t0:.0f} s in all")

    # --- 5. plot ---
    episodes, successes, returns = zip(*history, strict=True)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(episodes, successes, marker="o", label="greedy Q-table policy")
    ax1.axhline(random_success, color="grey", linestyle="--", label="random policy")
    ax1.set(xlabel="training episodes", ylabel="greedy success rate", ylim=(-0.05, 1.05))
    ax1.legend()
    ax2.plot(episodes, returns, marker="o")
    ax2.axhline(random_return, color="grey", linestyle="--")
    ax2.set(xlabel="training episodes", ylabel="mean return")
    fig.suptitle(f"Tabular Q-learning on {args.env_id}")
    fig.tight_layout()
    out = Path(args.out) / "tabular_q_learning.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    print(f"plot saved to {out}")
