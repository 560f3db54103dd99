"""Hierarchical RL on the shop conversation: a high level picks dialogue acts, a low-level LM writes them.

The task is Dialogue-v0's (serve a simulated shop customer) split in two levels (issue 15).
Each reply has a subgoal, a dialogue act (greet, price, open, close, where, stock, unknown):

* the **high level** (stock SB3 PPO, ``MlpPolicy``) reads 12 features of the question and of
  the shop's facts and picks the act; one of its steps runs the low level over the whole reply,
  and its returns are semi-MDP ones (the next decision is discounted by ``gamma**tokens``);
* the **low level** (the tiny LM as ``agents.LMActorCriticPolicy``, ``agents.PPO``) writes the
  reply token by token with the act as a control token in its observation, rewarded with the
  task's (extrinsic) reward plus an intrinsic 1.0 when the reply realizes the act exactly.

``agents.make_hierarchical`` builds both; ``learn`` alternates them under one token budget and
logs the extrinsic and intrinsic returns separately. We evaluate the hierarchy on held-out
**test** scenarios before and after training (scenario j for episode j both times) and plot
both levels' curves.

    python examples/hierarchical.py            # full run: benchmarks/hierarchy.py's hierarchical arm (docs/agents.md)
    python examples/hierarchical.py --smoke    # < 60 s: checks the pipeline, learns little
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch

import agents
import textgym  # noqa: F401  (registers the environments)
from textgym.plotting import Curve, Panel, plot_panels
from textgym.script_args import parse_args


@dataclass
class Args:
    env_id: str = "textgym/HierShopHigh-v1"  # either view of the hierarchy
    model: str = "tiny"
    total_tokens: int = 10_240  # tokens written by the low level, in both levels' rollouts
    n_envs: int = 16  # low-level slots
    n_steps: int = 32  # low-level steps per slot per rollout: 512 tokens per update
    batch_size: int = 256
    n_epochs: int = 4
    learning_rate: float = 3e-4
    kl_coef: float = 0.05  # per-token KL penalty to the pretrained model
    separate_critic: bool = True
    intrinsic_weight: float = 1.0  # low-level reward: extrinsic + this x intrinsic
    n_high_envs: int = 4
    high_n_steps: int = 8  # high-level decisions per slot per rollout
    high_learning_rate: float = 3e-3
    low_steps: int = 1024  # per round: low-level tokens, then ...
    high_steps: int = 32  # ... high-level decisions over the current low level
    eval_episodes: int = 256  # test scenarios 0 .. n-1, the same before and after
    seed: int = 0
    out: str = "."  # folder for the plot
    smoke: bool = False


# --smoke: checks the pipeline in seconds, learns little
SMOKE = dict(
    total_tokens=200, n_envs=4, n_steps=16, batch_size=64, n_epochs=1, n_high_envs=2, high_n_steps=4, low_steps=64,
    high_steps=8, eval_episodes=8,
)  # fmt: skip


if __name__ == "__main__":
    args = parse_args(Args, __doc__, smoke=SMOKE)
    t0 = time.time()

    # --- 1. setup: both levels, on the train scenarios ---
    torch.manual_seed(args.seed)
    agent = agents.make_hierarchical(
        args.env_id,
        model=args.model,
        n_envs=args.n_envs,
        n_high_envs=args.n_high_envs,
        seed=args.seed,
        intrinsic_weight=args.intrinsic_weight,
        env_kwargs={"split": "train"},
        low_kwargs=dict(
            n_steps=args.n_steps,
            batch_size=args.batch_size,
            n_epochs=args.n_epochs,
            learning_rate=args.learning_rate,
            kl_coef=args.kl_coef,
            separate_critic=args.separate_critic,
        ),
        high_kwargs=dict(
            n_steps=args.high_n_steps,
            batch_size=args.high_n_steps * args.n_high_envs,
            learning_rate=args.high_learning_rate,
        ),
    )

    # --- 2. the untrained hierarchy on held-out test scenarios ---
    # Its undiscounted extrinsic return (gamma=1) is Dialogue-v0's reward.
    eval_kwargs = dict(n_episodes=args.eval_episodes, options=lambda j: {"prompt_index": j})
    test_env = lambda: agent.high_view(gamma=1.0, split="test")  # noqa: E731
    before = agents.evaluate_policy_text(agent, test_env, **eval_kwargs)
    print(agents.describe("before training", before, "test reward"))

    # --- 3. train: low-level PPO rollouts, then high-level rollouts over the current low level, in turns ---
    agent.learn(args.total_tokens, low_steps=args.low_steps, high_steps=args.high_steps)
    print(f"{agent.tokens} tokens: {agent.low.num_timesteps} in low-level rollouts, {agent.high_tokens} in high-level")

    # --- 4. the trained hierarchy on the same test scenarios ---
    after = agents.evaluate_policy_text(agent, test_env, **eval_kwargs)
    print(agents.describe("after training", after, "test reward"))
    gain, sem, n = agents.paired_difference(before, after)
    print(f"gain {gain:+.3f} +- {sem:.3f} (paired over {n} test scenarios)")
    print(f"\n{time.time() - t0:.0f} s in all")

    # --- 5. plot: each level's extrinsic and intrinsic returns per rollout, and the test bars ---
    def curves(history: list[tuple[int, float, float]]) -> dict[str, Curve]:
        steps = [h[0] for h in history]
        return {
            "extrinsic": Curve.from_points(steps, [h[1] for h in history]),
            "intrinsic": Curve.from_points(steps, [h[2] for h in history]),
        }

    png = plot_panels(
        [
            Panel(
                curves=curves(agent.low_log.history),
                title="low level (LM, PPO)",
                xlabel="low-level PPO steps (tokens)",
                ylabel="mean episode return (train)",
            ),
            Panel(
                curves=curves(agent.high_log.history),
                title="high level (MlpPolicy, semi-MDP PPO)",
                xlabel="high-level decisions",
                ylabel="mean episode return (train)",
            ),
            Panel(
                bars={"before training": before["mean_reward"], "after training": after["mean_reward"]},
                title="held-out test scenarios",
                ylabel="mean episode reward (test split)",
            ),
        ],
        Path(args.out) / "hierarchical.png",
    )
    print(f"plot saved to {png} (numbers in {png.with_suffix('.json')})")
