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

    python examples/summarization.py            # full run (see docs/agents.md for timings)
    python examples/summarization.py --smoke    # < 60 s: checks the pipeline, learns little
    python examples/summarization.py --sft-steps 0   # PPO from the pretrained model
    python examples/summarization.py --json benchmarks/results/summarization.json   # docs/agents.md's table
"""

from __future__ import annotations

import runpy
import time
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import torch

import agents
import textgym  # noqa: F401  (registers the environments)
from textgym.plotting import Panel, plot_panels
from textgym.script_args import parse_args


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
    out: str = "."  # folder for the plot
    json: str = ""  # also write the measured numbers here (docs/agents.md's table is rendered from them)
    smoke: bool = False


# --smoke: checks the pipeline in seconds, learns little
SMOKE = dict(total_timesteps=128, n_envs=4, n_steps=16, batch_size=64, n_epochs=1, eval_episodes=8, sft_steps=2)


if __name__ == "__main__":
    args = parse_args(Args, __doc__, smoke=SMOKE)
    t0 = time.time()
    # Held-out test reports, sampled at temperature 1 as during training; same seeds every time.
    eval_kwargs = dict(n_episodes=args.eval_episodes, seed=10_000, env_kwargs={"split": "test"})

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
    pretrained = agents.evaluate_policy_text(model, args.env_id, **eval_kwargs)
    print(agents.describe("pretrained   ", pretrained, "test reward"))

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
        before = agents.evaluate_policy_text(model, args.env_id, **eval_kwargs)
        print(agents.describe("supervised   ", before, "test reward"))
    else:
        before = pretrained

    # --- 3. PPO from there, recording the mean training-episode reward after each rollout ---
    curve = agents.RewardCurve()
    model.learn(total_timesteps=args.total_timesteps, callback=curve)

    # --- 4. the trained model on the same test reports (same seeds) ---
    after = agents.evaluate_policy_text(model, args.env_id, **eval_kwargs)
    print(agents.describe("after PPO    ", after, "test reward"))
    gain, sem, n = agents.paired_difference(before, after)
    print(f"PPO's gain over its start: {gain:+.3f} +- {sem:.3f} (paired over {n} test episodes)")
    if args.sft_steps:
        gain, sem, n = agents.paired_difference(pretrained, after)
        print(f"gain over the pretrained model: {gain:+.3f} +- {sem:.3f}")
    print()
    print(agents.sample_table(before, after, n=3))
    seconds = time.time() - t0
    print(f"\n{seconds:.0f} s in all")
    if args.json:  # benchmarks/common.py by path: examples/ is no package
        common = runpy.run_path(str(Path(__file__).resolve().parent.parent / "benchmarks" / "common.py"))
        result = {
            "example": "examples/summarization.py",
            "args": vars(args),
            "seconds": seconds,
            "pretrained": common["evaluation_summary"](pretrained),
            "supervised": common["evaluation_summary"](before) if args.sft_steps else None,
            "after": common["evaluation_summary"](after),
            "gain_over_start": common["paired"](before, after),
            "gain_over_pretrained": common["paired"](pretrained, after),
        }
        common["write_result"](result, Path(args.json))

    # --- 5. plot ---
    bars = {"pretrained": pretrained["mean_reward"]}
    if args.sft_steps:
        bars["supervised"] = before["mean_reward"]
    bars["after PPO"] = after["mean_reward"]
    png = plot_panels(
        [
            Panel(
                curves={"PPO": curve.curve},
                title="training",
                xlabel="environment steps (tokens)",
                ylabel="mean episode reward (train)",
            ),
            Panel(bars=bars, title="held-out test reports", ylabel="mean ROUGE reward (test split)"),
        ],
        Path(args.out) / "summarization.png",
    )
    print(f"plot saved to {png} (numbers in {png.with_suffix('.json')})")
