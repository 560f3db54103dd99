"""PPO on Dialogue-v0: the tiny model learns to answer a simulated shop customer correctly.

Each episode is a conversation: the shop's facts and a customer's question are the prompt;
the agent writes its reply token by token; at the end of its turn the scripted customer
checks the answer against the facts, asks its next question (or the same one again), and
thanks the assistant when its goal is met. The customer's words enter the observation as
context, never as actions. Reward per turn: helpfulness (a correct answer), fluency (a
well-formed reply) and a small length cost; +1 when the customer's goal is met. The tiny
model was pretrained on such dialogues, so it answers sometimes; PPO (Schulman et al.,
2017) with a KL penalty to the pretrained model (Ziegler et al., 2019) makes it answer
correctly more often. We measure the reward on held-out **test** scenarios before and after.

    python examples/dialogue.py            # full run (see the README for timings)
    python examples/dialogue.py --smoke    # < 60 s: checks the pipeline, learns little
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt
import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback

import agents
import textgym  # noqa: F401  (registers the environments)


@dataclass
class Args:
    env_id: str = "textgym/Dialogue-v0"
    model: str = "tiny"
    total_timesteps: int = 98_304  # environment steps = tokens written by the agent
    n_envs: int = 16
    n_steps: int = 32  # steps per env per rollout: 512 tokens per update
    batch_size: int = 256
    n_epochs: int = 4
    learning_rate: float = 3e-4
    kl_coef: float = 0.05  # per-token KL penalty to the pretrained model
    separate_critic: bool = True  # the value head gets its own trunk instead of sharing the policy's
    eval_episodes: int = 512  # test episodes; episode j uses seed 10_000 + j, the same before and after
    seed: int = 0
    plot: str = "dialogue_ppo.png"
    smoke: bool = False


def parse_args() -> Args:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for field in dataclasses.fields(Args):
        flag = "--" + field.name.replace("_", "-")
        if isinstance(field.default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=field.default)
        else:
            parser.add_argument(flag, type=type(field.default), default=field.default)
    args = Args(**vars(parser.parse_args()))
    if args.smoke:
        args = dataclasses.replace(
            args, total_timesteps=128, n_envs=4, n_steps=16, batch_size=64, n_epochs=1, eval_episodes=8
        )
    return args


class RewardCurve(BaseCallback):
    """Mean training-episode reward (last 100 episodes) after each rollout."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[int] = []
        self.rewards: list[float] = []

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        if self.model.ep_info_buffer:
            self.steps.append(self.num_timesteps)
            self.rewards.append(float(np.mean([ep["r"] for ep in self.model.ep_info_buffer])))


def evaluate(model, args: Args) -> dict:  # noqa: ANN001
    """Held-out test scenarios: sampled at temperature 1, as during training."""
    return agents.evaluate_policy_text(
        model, args.env_id, n_episodes=args.eval_episodes, seed=10_000, env_kwargs={"split": "test"}
    )


def show(tag: str, result: dict) -> None:
    rewards = np.array([e["reward"] for e in result["episodes"]])
    sem = rewards.std(ddof=1) / np.sqrt(len(rewards)) if len(rewards) > 1 else 0.0
    parts = ", ".join(f"{k} {v:.3f}" for k, v in result["components"].items())
    print(f"{tag}: test reward {result['mean_reward']:.3f} +- {sem:.3f} (n={len(rewards)}; {parts})")


if __name__ == "__main__":
    args = parse_args()
    t0 = time.time()

    # --- 1. setup: PPO with the tiny LM as policy, on the train scenarios ---
    torch.manual_seed(args.seed)
    model = agents.make_ppo(
        args.env_id,
        model=args.model,
        n_envs=args.n_envs,
        seed=args.seed,
        env_kwargs={"split": "train"},
        n_steps=args.n_steps,
        batch_size=args.batch_size,
        n_epochs=args.n_epochs,
        learning_rate=args.learning_rate,
        kl_coef=args.kl_coef,
        separate_critic=args.separate_critic,
    )

    # --- 2. the base model on held-out test scenarios ---
    before = evaluate(model, args)
    show("before PPO", before)

    # --- 3. train ---
    curve = RewardCurve()
    model.learn(total_timesteps=args.total_timesteps, callback=curve)

    # --- 4. the trained model on the same test scenarios (same seeds) ---
    after = evaluate(model, args)
    show("after PPO ", after)
    gain, sem, n = agents.paired_difference(before, after)
    print(f"gain {gain:+.3f} +- {sem:.3f} (paired over {n} test episodes)")
    after_by_prompt = {e["prompt"]: e for e in after["episodes"]}  # same seeds, same prompts
    for b in before["episodes"][:3]:
        a = after_by_prompt[b["prompt"]]
        print(f"\n{b['prompt']}\n  before: {b['completion']!r} ({b['reward']:.2f})")
        print(f"  after:  {a['completion']!r} ({a['reward']:.2f})")
    print(f"\n{time.time() - t0:.0f} s in all")

    # --- 5. plot ---
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(curve.steps, curve.rewards)
    ax1.set(xlabel="environment steps (tokens)", ylabel="mean episode reward (train)", title="training")
    ax2.bar(["base model", "after PPO"], [before["mean_reward"], after["mean_reward"]], color=["grey", "C0"])
    ax2.set(ylabel="mean episode reward (test split)", title="held-out test scenarios")
    fig.tight_layout()
    fig.savefig(args.plot)
    print(f"plot saved to {args.plot}")
