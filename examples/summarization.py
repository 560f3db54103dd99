"""PPO on Summarization-v0: the tiny model learns to summarize reports, scored by ROUGE.

The tiny model was pretrained on documents "report : BODY summary : SUMMARY <eos>", so given
"report : BODY summary :" it already writes something summary-like, but often with the
wrong words (an adjective too many, the wrong subject, a sentence that goes on). The
reward is the mean of ROUGE-1/2/L F1 against the reference summary (Lin, 2004). PPO
(Schulman et al., 2017) with a KL penalty to the pretrained model (Ziegler et al., 2019)
raises it; we measure the reward on the held-out **test** split before and after training.

    python examples/summarization.py            # full run (see the README for timings)
    python examples/summarization.py --smoke    # < 60 s: checks the pipeline, learns little
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
    env_id: str = "textgym/Summarization-v0"
    model: str = "tiny"
    total_timesteps: int = 24_576  # environment steps = generated tokens
    n_envs: int = 16
    n_steps: int = 32  # steps per env per rollout: 512 tokens per update
    batch_size: int = 256
    n_epochs: int = 4
    learning_rate: float = 1e-4
    kl_coef: float = 0.05  # per-token KL penalty to the pretrained model
    reward_mode: str = "terminal"  # "immediate": each token earns the change in ROUGE it makes
    eval_episodes: int = 512  # test episodes; episode j uses seed 10_000 + j, the same before and after
    seed: int = 0
    plot: str = "summarization_ppo.png"
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
    """Held-out test split: sampled at temperature 1, as during training."""
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

    # --- 1. setup: PPO with the tiny LM as policy, on the train split ---
    torch.manual_seed(args.seed)
    model = agents.make_ppo(
        args.env_id,
        model=args.model,
        n_envs=args.n_envs,
        seed=args.seed,
        env_kwargs={"split": "train", "reward_mode": args.reward_mode},
        n_steps=args.n_steps,
        batch_size=args.batch_size,
        n_epochs=args.n_epochs,
        learning_rate=args.learning_rate,
        kl_coef=args.kl_coef,
    )

    # --- 2. the base model on held-out test reports ---
    before = evaluate(model, args)
    show("before PPO", before)

    # --- 3. train ---
    curve = RewardCurve()
    model.learn(total_timesteps=args.total_timesteps, callback=curve)

    # --- 4. the trained model on the same test reports (same seeds) ---
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
    ax2.set(ylabel="mean ROUGE reward (test split)", title="held-out test reports")
    fig.tight_layout()
    fig.savefig(args.plot)
    print(f"plot saved to {args.plot}")
