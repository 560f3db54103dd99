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

    python examples/dialogue.py            # full run (see docs/agents.md for timings)
    python examples/dialogue.py --smoke    # < 60 s: checks the pipeline, learns little
    python examples/dialogue.py --json benchmarks/results/dialogue.json   # docs/agents.md's table
"""

from __future__ import annotations

import runpy
import time
from dataclasses import dataclass
from pathlib import Path

import torch

import agents
import textgym  # noqa: F401  (registers the environments)
from textgym.plotting import Panel, plot_panels
from textgym.script_args import parse_args


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
    out: str = "."  # folder for the plot
    json: str = ""  # also write the measured numbers here (docs/agents.md's table is rendered from them)
    smoke: bool = False


# --smoke: checks the pipeline in seconds, learns little
SMOKE = dict(total_timesteps=128, n_envs=4, n_steps=16, batch_size=64, n_epochs=1, eval_episodes=8)


if __name__ == "__main__":
    args = parse_args(Args, __doc__, smoke=SMOKE)
    t0 = time.time()
    # Held-out test scenarios, sampled at temperature 1 as during training; same seeds before and after.
    eval_kwargs = dict(n_episodes=args.eval_episodes, seed=10_000, env_kwargs={"split": "test"})

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
    before = agents.evaluate_policy_text(model, args.env_id, **eval_kwargs)
    print(agents.describe("before PPO", before, "test reward"))

    # --- 3. train, recording the mean training-episode reward after each rollout ---
    curve = agents.RewardCurve()
    model.learn(total_timesteps=args.total_timesteps, callback=curve)

    # --- 4. the trained model on the same test scenarios (same seeds) ---
    after = agents.evaluate_policy_text(model, args.env_id, **eval_kwargs)
    print(agents.describe("after PPO ", after, "test reward"))
    gain, sem, n = agents.paired_difference(before, after)
    print(f"gain {gain:+.3f} +- {sem:.3f} (paired over {n} test episodes)\n")
    print(agents.sample_table(before, after, n=3))
    seconds = time.time() - t0
    print(f"\n{seconds:.0f} s in all")
    if args.json:  # benchmarks/common.py by path: examples/ is no package
        common = runpy.run_path(str(Path(__file__).resolve().parent.parent / "benchmarks" / "common.py"))
        result = {
            "example": "examples/dialogue.py",
            "args": vars(args),
            "seconds": seconds,
            "before": common["evaluation_summary"](before),
            "after": common["evaluation_summary"](after),
            "gain": common["paired"](before, after),
        }
        common["write_result"](result, Path(args.json))

    # --- 5. plot ---
    png = plot_panels(
        [
            Panel(
                curves={"PPO": curve.curve},
                title="training",
                xlabel="environment steps (tokens)",
                ylabel="mean episode reward (train)",
            ),
            Panel(
                bars={"base model": before["mean_reward"], "after PPO": after["mean_reward"]},
                title="held-out test scenarios",
                ylabel="mean episode reward (test split)",
            ),
        ],
        Path(args.out) / "dialogue.png",
    )
    print(f"plot saved to {png} (numbers in {png.with_suffix('.json')})")
