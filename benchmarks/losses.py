"""GRPO's loss options compared on textgym/CatText-v0 with the tiny model, over several seeds.

Each option set of :data:`CONFIGS` trains ``agents.make_grpo`` for the same token budget
(``--max-steps``, by default the ``grpo`` registry record's 24,576 steps, 64 slots in groups of
8, as ``textgym train CatText-v0 --algo grpo`` does) at each seed. A run records when the mean
reward of its last 100 training episodes first reached ``--target`` (steps and seconds of
training; it keeps training to the full budget), then the mean reward on 256 held-out
test-split prompts::

    nice -n 10 env OMP_NUM_THREADS=1 TEXTGYM_TORCH_THREADS=1 python benchmarks/losses.py [--seeds 0 1 2]

``--configs NAME ... --merge`` runs only those option sets and keeps the others already in the
JSON (it refuses a file measured at other seeds or budget).

Writes ``benchmarks/results/losses.json``, which docs/agents.md's table is rendered from
(``benchmarks/renderers/losses.py``; ``benchmarks/tables.py`` copies it in).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import torch
from common import RewardReached, evaluation_summary, header, write_result

import agents

RESULTS = Path(__file__).resolve().parent / "results"

# The options of each run on top of make_grpo's defaults (mean baseline, group std, token-level
# loss, PPO clip 0.2). GSPO uses its paper's clip ranges (3e-4 / 4e-4): a length-normalised
# ratio moves far less than a token's; "gspo_clip_0.2" keeps PPO's range, to tell the ratio's
# effect from the range's.
CONFIGS: dict[str, dict[str, Any]] = {
    "grpo": {},
    "dr_grpo": {"scale_rewards": "none", "loss_aggregation": "constant"},
    "rloo": {"baseline": "leave_one_out", "scale_rewards": "none"},
    "gspo": {
        "importance_sampling": "sequence",
        "loss_aggregation": "sequence",
        "clip_range": 3e-4,
        "clip_range_high": 4e-4,
    },
    "gspo_clip_0.2": {"importance_sampling": "sequence", "loss_aggregation": "sequence"},
    "cispo": {"loss_type": "cispo"},
    "reinforce++": {"baseline": "reinforce++", "scale_rewards": "batch"},
    "reinforce++_baseline": {"baseline": "reinforce++_baseline", "scale_rewards": "batch"},
}


def grpo_options(options: dict[str, Any]) -> dict[str, Any]:
    """``make_grpo``'s keyword arguments for an option set: its group settings as one ``agents.GroupConfig``."""
    fields = {field.name for field in dataclasses.fields(agents.GroupConfig)}
    group = agents.GroupConfig(**{key: value for key, value in options.items() if key in fields})
    return {**{key: value for key, value in options.items() if key not in fields}, "group": group}


def run(name: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """One training run of one option set at one seed: time to the target and the held-out score."""
    torch.manual_seed(seed)
    model = agents.make_grpo(
        "CatText-v0", n_envs=args.n_envs, group_size=args.group_size, seed=seed, **grpo_options(CONFIGS[name])
    )
    callback = RewardReached(args.target)
    t0 = time.perf_counter()
    model.learn(args.max_steps, callback=callback)
    seconds = time.perf_counter() - t0
    test = agents.evaluate_policy_text(
        model, "CatText-v0", n_episodes=args.eval_episodes, seed=0, env_kwargs={"split": "test"}
    )
    steps, reach_s = callback.reached_at if callback.reached_at is not None else (None, None)
    print(
        f"{name:>22} seed {seed}: target at {steps} steps / {reach_s and round(reach_s)} s; "
        f"{seconds:.0f} s in all; test reward {test['mean_reward']:.3f}",
        flush=True,
    )
    return {
        "seed": seed,
        "steps_to_target": steps,
        "seconds_to_target": reach_s,
        "steps": model.num_timesteps,
        "seconds": seconds,
        "test": evaluation_summary(test),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--configs", nargs="+", choices=sorted(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--target", type=float, default=1.8)
    parser.add_argument("--max-steps", type=int, default=24_576)
    parser.add_argument("--n-envs", type=int, default=64)
    parser.add_argument("--group-size", type=int, default=8)
    parser.add_argument("--eval-episodes", type=int, default=256)
    parser.add_argument("--json", type=Path, default=RESULTS / "losses.json")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the other option sets already in --json (same seeds and budget), replacing those run now",
    )
    args = parser.parse_args()
    earlier: dict[str, Any] = {}
    if args.merge and args.json.exists():  # checked before any run, not after them
        earlier = json.loads(args.json.read_text())
        settings = ("target", "max_steps", "n_envs", "group_size", "eval_episodes", "seeds")
        if any(earlier[k] != v for k, v in vars(args).items() if k in settings):
            raise SystemExit(f"--merge: {args.json} was measured with other settings ({settings})")
    header(f"GRPO loss options on CatText-v0 (tiny), seeds {args.seeds}, {args.max_steps} steps, target {args.target}")
    configs = {
        name: {"options": CONFIGS[name], "runs": [run(name, seed, args) for seed in args.seeds]}
        for name in args.configs
    }
    if earlier:
        merged = {**earlier["configs"], **configs}
        configs = {name: merged[name] for name in CONFIGS if name in merged}
    result = {
        "env": "CatText-v0",
        "model": "tiny",
        "target": args.target,
        "max_steps": args.max_steps,
        "n_envs": args.n_envs,
        "group_size": args.group_size,
        "eval_episodes": args.eval_episodes,
        "seeds": args.seeds,
        "configs": configs,
    }
    write_result(result, args.json)


if __name__ == "__main__":
    main()
