"""RLHF end to end, offline, on CPU: feedback -> reward model -> PPO -> hidden-preference gain.

A simulated annotator has a hidden preference: it likes short, grammatical cat stories that
say where things happen (``textgym.rewards.HiddenPreference``: one point each for grammatical,
mentions a cat, "in/near/behind/under the PLACE", at most 12 words). The loop of Christiano et
al. (2017) and Ziegler et al. (2019), scaled down:

1. sample continuations of CatText story openings from the tiny model;
2. the annotator gives noisy feedback on them (ratings, preferences, rankings or edits),
   written to a JSONL file;
3. a reward model (tiny backbone + linear head) is trained on that file, saved and loaded back;
4. PPO trains the tiny model against the learned reward (with a KL penalty to the base model);
5. the hidden preference, which neither the reward model's training loop nor PPO ever calls,
   scores the base model's and PPO's completions on held-out test prompts.

    python examples/rlhf_pipeline.py                      # full run (~6.5 min on 2 CPU cores: 3 PPO seeds)
    python examples/rlhf_pipeline.py --feedback edit      # or rating / preference / ranking
    python examples/rlhf_pipeline.py --smoke              # < 60 s: checks the pipeline, learns little
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt
import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback

import agents
import textgym  # noqa: F401  (registers the environments)
from textgym.data import story_openings
from textgym.rewards import (
    HiddenPreference,
    LearnedRewardModel,
    SimulatedAnnotator,
    sample_completions,
    train_reward_model,
    write_feedback,
)
from textgym.rewards.annotator import hidden_pairwise_accuracy


@dataclass
class Args:
    feedback: str = "ranking"  # rating | preference | ranking | edit
    n_prompts: int = 512  # train-split story openings to collect feedback on
    samples_per_prompt: int = 4  # completions per opening (a ranking ranks all of them)
    annotator_noise: float = 0.3  # temperature of the annotator's choices
    rm_epochs: int = 4
    rm_batch_size: int = 8  # feedback records per gradient step
    rm_learning_rate: float = 1e-3
    rm_pooling: str = "last+mean"  # what the reward head reads: "last", "last+mean", "last+mean+lm"
    ppo_timesteps: int = 32_768  # environment steps = generated tokens
    n_envs: int = 16
    n_steps: int = 32  # steps per env per rollout: 512 tokens per update
    batch_size: int = 256
    n_epochs: int = 4
    learning_rate: float = 3e-4
    kl_coef: float = 0.05  # per-token KL penalty to the pretrained model
    separate_critic: bool = True  # the value head gets its own trunk: sharing the policy's, PPO often collapsed
    ppo_seeds: int = 3  # PPO runs from the one reward model, seeds seed, seed + 1, ...
    eval_episodes: int = 256  # test episodes; episode j uses seed 10_000 + j, before and after
    seed: int = 0
    out: str = "runs/rlhf_pipeline"
    smoke: bool = False


def smoke(args: Args) -> Args:
    """A tiny run that exercises every step in well under a minute (it learns little)."""
    return dataclasses.replace(
        args,
        n_prompts=32,
        rm_epochs=1,
        ppo_timesteps=256,
        n_envs=4,
        n_steps=16,
        batch_size=64,
        n_epochs=1,
        eval_episodes=8,
        ppo_seeds=1,
    )


def parse_args() -> Args:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for field in dataclasses.fields(Args):
        flag = "--" + field.name.replace("_", "-")
        if isinstance(field.default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=field.default)
        else:
            parser.add_argument(flag, type=type(field.default), default=field.default)
    args = Args(**vars(parser.parse_args()))
    return smoke(args) if args.smoke else args


class RewardCurve(BaseCallback):
    """Mean training-episode reward (learned reward, last 100 episodes) after each rollout."""

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


def evaluate(model, reward, args: Args) -> dict:  # noqa: ANN001
    """Held-out test prompts, scored by ``reward``; sampled at temperature 1 as in training."""
    return agents.evaluate_policy_text(
        model,
        "textgym/CatText-v0",
        n_episodes=args.eval_episodes,
        seed=10_000,
        env_kwargs={"split": "test", "reward": reward},
    )


def main(args: Args) -> dict:
    t0 = time.time()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)

    # --- 1. setup: the annotator, and prompts it gives feedback on (train) or checks on (validation) ---
    hidden = HiddenPreference()
    annotator = SimulatedAnnotator(hidden, noise=args.annotator_noise, seed=args.seed)
    train_prompts = story_openings("train")[: args.n_prompts]
    val_prompts = story_openings("validation")[: max(16, args.n_prompts // 4)]

    # --- 2. sample completions from the base model (the tiny LM, temperature 1, like PPO's start) ---
    groups = sample_completions(train_prompts, args.samples_per_prompt, seed=args.seed)
    val_groups = sample_completions(val_prompts, args.samples_per_prompt, seed=args.seed + 1)
    print(f"[{time.time() - t0:4.0f}s] sampled {sum(map(len, groups))} completions, e.g. {groups[0][0]!r}")

    # --- 3. collect feedback from the simulated annotator into a JSONL file ---
    records = annotator.annotate(train_prompts, groups, args.feedback)
    feedback_file = out / f"{args.feedback}.jsonl"
    write_feedback(feedback_file, records)
    print(f"[{time.time() - t0:4.0f}s] {len(records)} {args.feedback} records -> {feedback_file}")

    # --- 4. train the reward model on the file, save it, load it back ---
    train_reward_model(
        feedback_file,
        epochs=args.rm_epochs,
        batch_size=args.rm_batch_size,
        learning_rate=args.rm_learning_rate,
        pooling=args.rm_pooling,
        seed=args.seed,
        save_to=out / "reward_model",
        log=lambda line: print("  reward model", line),
    )
    reward_model = LearnedRewardModel.load(out / "reward_model")
    rm_accuracy, n_pairs = hidden_pairwise_accuracy(reward_model, val_prompts, val_groups, hidden)
    print(
        f"[{time.time() - t0:4.0f}s] reward model: held-out pairwise accuracy {rm_accuracy:.3f} against the "
        f"hidden preference ({n_pairs} pairs of validation completions)"
    )

    # --- 5. PPO against the learned reward model, from several seeds ---
    # One PPO run is a noisy measurement: from the same reward model, some seeds find every
    # feature it rewards and some settle early (e.g. on "place" without "cat"), so we report
    # each seed and the mean (Henderson et al. 2018, "Deep RL That Matters").
    runs = []
    for k in range(args.ppo_seeds):
        torch.manual_seed(args.seed + k)
        model = agents.make_ppo(
            "CatText-v0",
            n_envs=args.n_envs,
            seed=args.seed + k,
            env_kwargs={"split": "train", "reward": reward_model},
            n_steps=args.n_steps,
            batch_size=args.batch_size,
            n_epochs=args.n_epochs,
            learning_rate=args.learning_rate,
            kl_coef=args.kl_coef,
            separate_critic=args.separate_critic,
        )
        if k == 0:
            before = evaluate(model, hidden, args)  # the base model: PPO's policy before any update
        curve = RewardCurve()
        model.learn(total_timesteps=args.ppo_timesteps, callback=curve)
        runs.append((curve, evaluate(model, hidden, args)))
        print(f"[{time.time() - t0:4.0f}s] PPO seed {args.seed + k}: {args.ppo_timesteps} steps")

    # --- 6. results: the hidden preference, which PPO never saw ---
    def sem(result: dict) -> float:
        r = np.array([e["reward"] for e in result["episodes"]])
        return float(r.std(ddof=1) / np.sqrt(len(r))) if len(r) > 1 else 0.0

    def show(tag: str, result: dict) -> None:
        parts = ", ".join(f"{k} {v:.2f}" for k, v in result["components"].items())
        print(f"{tag}: hidden preference {result['mean_reward']:.3f} +- {sem(result):.3f} (of 4; {parts})")

    show("base model    ", before)
    for k, (_, result) in enumerate(runs):
        show(f"PPO, seed {args.seed + k:<4d}", result)
    after = runs[0][1]
    after_by_prompt = {e["prompt"]: e for e in after["episodes"]}
    for b in before["episodes"][:3]:
        a = after_by_prompt[b["prompt"]]
        print(
            f"\n{b['prompt']}\n  base:  {b['completion']!r} ({b['reward']:.0f})\n  after: {a['completion']!r} "
            f"({a['reward']:.0f})"
        )
    margins = np.array([result["mean_reward"] - before["mean_reward"] for _, result in runs])
    spread = margins.std(ddof=1) / np.sqrt(len(margins)) if len(margins) > 1 else 0.0
    print(f"\n{time.time() - t0:.0f} s in all")
    print(
        f"hidden-preference score: base {before['mean_reward']:.3f} -> "
        f"PPO {before['mean_reward'] + margins.mean():.3f} "
        f"(mean of {len(runs)} seeds), margin {margins.mean():+.3f} +- {spread:.3f} across seeds "
        f"(each: {', '.join(f'{m:+.3f}' for m in margins)}; feedback: {args.feedback}, "
        f"reward-model accuracy {rm_accuracy:.3f})"
    )

    # --- 7. plot ---
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for k, (curve, _) in enumerate(runs):
        ax1.plot(curve.steps, curve.rewards, label=f"seed {args.seed + k}")
    ax1.set(xlabel="environment steps (tokens)", ylabel="mean learned reward (train episodes)", title="PPO")
    ax1.legend()
    names = list(before["components"])
    x = np.arange(len(names) + 1)
    mean_after = [np.mean([r["mean_reward"] for _, r in runs])]
    mean_after += [np.mean([r["components"][n] for _, r in runs]) for n in names]
    ax2.bar(x - 0.2, [before["mean_reward"], *before["components"].values()], 0.4, label="base model", color="grey")
    ax2.bar(x + 0.2, mean_after, 0.4, label=f"after PPO (mean of {len(runs)} seeds)", color="C0")
    ax2.set_xticks(x, ["total (of 4)", *names])
    ax2.set(ylabel="hidden preference (test prompts)", title=f"never seen by PPO ({args.feedback} feedback)")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(out / "rlhf_pipeline.png")
    print(f"plot saved to {out / 'rlhf_pipeline.png'}")
    return {
        "rm_accuracy": rm_accuracy,
        "before": before["mean_reward"],
        "after": float(before["mean_reward"] + margins.mean()),
        "margin": float(margins.mean()),
    }


if __name__ == "__main__":
    main(parse_args())
