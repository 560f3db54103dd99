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

import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np

import agents
import textgym  # noqa: F401  (registers the environments)
from textgym.plotting import Curve, Panel, plot_panels
from textgym.script_args import parse_args
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


# --smoke: checks the pipeline in seconds
SMOKE = dict(episodes=4000, eval_every=1000, eval_episodes=50)


if __name__ == "__main__":
    args = parse_args(Args, __doc__, smoke=SMOKE)
    t0 = time.time()

    # --- 1. setup: the env with integer states, and an empty Q-table ---
    def make_env() -> gym.Env:
        return wrap_for_stock_agents(gym.make(args.env_id), "index")

    env = make_env()
    n_actions = env.action_space.n
    print(f"{env.observation_space.n:,} possible states, {n_actions} actions")
    q = defaultdict(lambda: np.zeros(n_actions))  # only visited states get a row
    rng = np.random.default_rng(args.seed)
    # Evaluation: the same seeded episodes every time (episode j: seed 10_000 + j). Success is
    # a correct reply on TinyShop, a grammatical sentence about a cat on TinyCat.
    success = ("correct",) if "TinyShop" in args.env_id else ("topic", "grammar")

    def evaluate(act) -> dict:  # noqa: ANN001
        return agents.evaluate_policy_text(act, make_env, n_episodes=args.eval_episodes, seed=10_000)

    def greedy(states: np.ndarray) -> list[int]:
        return [int(np.argmax(q[int(s)])) for s in states]

    # --- 2. baseline: a uniformly random policy ---
    random_result = evaluate(lambda states: rng.integers(n_actions, size=len(states)))
    random_success, random_return = agents.success_rate(random_result, success), random_result["mean_reward"]
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
            result = evaluate(greedy)
            history.append((episode, agents.success_rate(result, success), result["mean_reward"]))
            print(
                f"episode {episode:6d}  epsilon {epsilon:.2f}  states {len(q):6d}  "
                f"greedy success {history[-1][1]:.2f}  return {history[-1][2]:.3f}"
            )

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
    png = plot_panels(
        [
            Panel(
                curves={"greedy Q-table policy": Curve.from_points(episodes, successes)},
                baselines={"random policy": random_success},
                xlabel="training episodes",
                ylabel="greedy success rate",
                ylim=(-0.05, 1.05),
            ),
            Panel(
                curves={"greedy Q-table policy": Curve.from_points(episodes, returns)},
                baselines={"random policy": random_return},
                xlabel="training episodes",
                ylabel="mean return",
            ),
        ],
        Path(args.out) / "tabular_q_learning.png",
        title=f"Tabular Q-learning on {args.env_id}",
    )
    print(f"plot saved to {png} (numbers in {png.with_suffix('.json')})")
