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
    python examples/rlhf_pipeline.py --json benchmarks/results/rlhf_pipeline.json   # docs/rewards.md's table
"""

from __future__ import annotations

import dataclasses
import runpy
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

import agents
import textgym  # noqa: F401  (registers the environments)
from textgym.data import story_openings
from textgym.plotting import Panel, plot_panels
from textgym.rewards import (
    HiddenPreference,
    LearnedRewardModel,
    SimulatedAnnotator,
    sample_completions,
    train_reward_model,
    write_feedback,
)
from textgym.rewards.annotator import hidden_pairwise_accuracy
from textgym.script_args import parse_args


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
    json: str = ""  # also write the measured numbers here (docs/rewards.md's table is rendered from them)
    smoke: bool = False


# --smoke: a tiny run that exercises every step in well under a minute (it learns little)
SMOKE = dict(n_prompts=32, rm_epochs=1, ppo_timesteps=256, ppo_seeds=1, eval_episodes=8)
SMOKE.update(n_envs=4, n_steps=16, batch_size=64, n_epochs=1)


def main(args: Args) -> dict:
    t0 = time.time()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    # Held-out test prompts scored by the hidden preference (never by PPO); sampled at
    # temperature 1 as in training; episode j has seed 10_000 + j, before and after.
    hidden = HiddenPreference()
    eval_kwargs = dict(n_episodes=args.eval_episodes, seed=10_000, env_kwargs={"split": "test", "reward": hidden})

    # --- 1. setup: the annotator, and prompts it gives feedback on (train) or checks on (validation) ---
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
            # the base model: PPO's policy before any update
            before = agents.evaluate_policy_text(model, "CatText-v0", **eval_kwargs)
        curve = agents.RewardCurve()  # mean learned reward of the training episodes, per rollout
        model.learn(total_timesteps=args.ppo_timesteps, callback=curve)
        runs.append((curve, agents.evaluate_policy_text(model, "CatText-v0", **eval_kwargs)))
        print(f"[{time.time() - t0:4.0f}s] PPO seed {args.seed + k}: {args.ppo_timesteps} steps")

    # --- 6. results: the hidden preference, which PPO never saw ---
    print(agents.describe("base model     ", before, "hidden preference (of 4)"))
    for k, (_, result) in enumerate(runs):
        print(agents.describe(f"PPO, seed {args.seed + k:<5d}", result, "hidden preference (of 4)"))
    print()
    print(agents.sample_table(before, runs[0][1], n=3, labels=("base", "after")))
    margins = np.array([result["mean_reward"] - before["mean_reward"] for _, result in runs])
    spread = margins.std(ddof=1) / np.sqrt(len(margins)) if len(margins) > 1 else 0.0
    seconds = time.time() - t0
    print(f"\n{seconds:.0f} s in all")
    print(
        f"hidden-preference score: base {before['mean_reward']:.3f} -> "
        f"PPO {before['mean_reward'] + margins.mean():.3f} "
        f"(mean of {len(runs)} seeds), margin {margins.mean():+.3f} +- {spread:.3f} across seeds "
        f"(each: {', '.join(f'{m:+.3f}' for m in margins)}; feedback: {args.feedback}, "
        f"reward-model accuracy {rm_accuracy:.3f})"
    )

    # --- 7. plot ---
    names = list(before["components"])

    def totals(results: list[dict]) -> dict[str, float]:
        """Mean over results of the total and of each hidden-preference component."""
        return {
            "total (of 4)": float(np.mean([r["mean_reward"] for r in results])),
            **{n: float(np.mean([r["components"][n] for r in results])) for n in names},
        }

    png = plot_panels(
        [
            Panel(
                curves={f"seed {args.seed + k}": curve.curve for k, (curve, _) in enumerate(runs)},
                title="PPO",
                xlabel="environment steps (tokens)",
                ylabel="mean learned reward (train episodes)",
            ),
            Panel(
                bars={
                    "base model": totals([before]),
                    f"after PPO (mean of {len(runs)} seeds)": totals([r for _, r in runs]),
                },
                title=f"never seen by PPO ({args.feedback} feedback)",
                ylabel="hidden preference (test prompts)",
            ),
        ],
        out / "rlhf_pipeline.png",
    )
    print(f"plot saved to {png} (numbers in {png.with_suffix('.json')})")
    if args.json:  # benchmarks/common.py by path: examples/ is no package
        common = runpy.run_path(str(Path(__file__).resolve().parent.parent / "benchmarks" / "common.py"))
        result = {
            "example": "examples/rlhf_pipeline.py",
            "args": dataclasses.asdict(args),
            "seconds": seconds,
            "rm_accuracy": rm_accuracy,
            "rm_accuracy_pairs": n_pairs,
            "before": common["evaluation_summary"](before),
            "ppo": [
                {"seed": args.seed + k, **common["evaluation_summary"](result)} for k, (_, result) in enumerate(runs)
            ],
            "margins": margins.tolist(),
            "margin_mean": float(margins.mean()),
            "margin_standard_error": float(spread),
        }
        common["write_result"](result, Path(args.json))
    return {
        "rm_accuracy": rm_accuracy,
        "before": before["mean_reward"],
        "after": float(before["mean_reward"] + margins.mean()),
        "margin": float(margins.mean()),
    }


if __name__ == "__main__":
    main(parse_args(Args, __doc__, smoke=SMOKE))
