"""SFT then PPO on Summarization-v0: the tiny model learns to summarize reports, scored by ROUGE.

The tiny model was pretrained on documents "report : BODY summary : SUMMARY <eos>", so given
"report : BODY summary :" it writes something summary-shaped, but it does not copy the
report's subject, verb and object: its summaries name the wrong people and things. PPO alone
did not discover copying here (0.259 -> 0.260 in 24,576 steps; 0.257 in 98,304), so, as
Stiennon et al. (2020) do for summarization, we first fine-tune the model for a few hundred
steps on the train split's reference summaries (supervised, loss on the summary tokens only),
then run PPO (Schulman et al., 2017) from that model with a KL penalty to it (Ziegler et al.,
2019). The reward is the mean of ROUGE-1/2/L F1 against the reference (Lin, 2004); we
measure it on the held-out **test** split for the pretrained model, the supervised model
(PPO's start) and after PPO.

    python examples/summarization.py            # full run (see the README for timings)
    python examples/summarization.py --smoke    # < 60 s: checks the pipeline, learns little
    python examples/summarization.py --sft-steps 0   # PPO from the pretrained model
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # no display needed
import gymnasium as gym
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
    sft_steps: int = 400  # supervised warm start on train references (0: PPO from the pretrained model)
    sft_batch_size: int = 32
    sft_learning_rate: float = 1e-3
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
            args, total_timesteps=128, n_envs=4, n_steps=16, batch_size=64, n_epochs=1, eval_episodes=8, sft_steps=2
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

    # --- 1. the pretrained model on held-out test reports ---
    torch.manual_seed(args.seed)
    ppo_kwargs = dict(
        n_envs=args.n_envs,
        seed=args.seed,
        env_kwargs={"split": "train", "reward_mode": args.reward_mode},
        n_steps=args.n_steps,
        batch_size=args.batch_size,
        n_epochs=args.n_epochs,
        learning_rate=args.learning_rate,
        kl_coef=args.kl_coef,
    )
    model = agents.make_ppo(args.env_id, model=args.model, **ppo_kwargs)
    pretrained = evaluate(model, args)
    show("pretrained   ", pretrained)

    # --- 2. supervised warm start on the train split's reference summaries ---
    if args.sft_steps:
        train_env = gym.make(args.env_id, split="train").unwrapped
        prompts = [p for p in train_env.prompts for _ in train_env.references[p]]
        targets = [r for p in train_env.prompts for r in train_env.references[p]]
        lm = model.policy.lm  # the pretrained LM; PPO's KL reference will be the supervised one
        agents.supervised_finetune(
            lm,
            train_env.tokenizer,
            prompts,
            targets,
            steps=args.sft_steps,
            batch_size=args.sft_batch_size,
            learning_rate=args.sft_learning_rate,
            seed=args.seed,
            log=print,
        )
        model = agents.make_ppo(args.env_id, model=lm, **ppo_kwargs)
        before = evaluate(model, args)
        show("supervised   ", before)
    else:
        before = pretrained

    # --- 3. PPO from there ---
    curve = RewardCurve()
    model.learn(total_timesteps=args.total_timesteps, callback=curve)

    # --- 4. the trained model on the same test reports (same seeds) ---
    after = evaluate(model, args)
    show("after PPO    ", after)
    gain, sem, n = agents.paired_difference(before, after)
    print(f"PPO's gain over its start: {gain:+.3f} +- {sem:.3f} (paired over {n} test episodes)")
    if args.sft_steps:
        gain, sem, n = agents.paired_difference(pretrained, after)
        print(f"gain over the pretrained model: {gain:+.3f} +- {sem:.3f}")
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
    ax2.bar(
        ["pretrained", "supervised", "after PPO"],
        [pretrained["mean_reward"], before["mean_reward"], after["mean_reward"]],
        color=["grey", "C1", "C0"],
    )
    ax2.set(ylabel="mean ROUGE reward (test split)", title="held-out test reports")
    fig.tight_layout()
    fig.savefig(args.plot)
    print(f"plot saved to {args.plot}")
