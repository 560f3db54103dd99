"""Benchmark (c): wall time for PPO on textgym/CatText-v0 (tiny model) to reach a reward.

Trains ``agents.make_ppo`` with its defaults and stops when the mean reward of the last 100
training episodes reaches ``--target`` (1.8 = a grammatical continuation that mentions a cat
in about 90% of episodes); prints wall time and steps, then evaluates on held-out prompts.

    python benchmarks/time_to_reward.py [--target 1.8] [--max-steps 60000] [--json PATH]

Writes ``benchmarks/results/time_to_reward.json``, which docs/benchmarks.md's table is
rendered from (``benchmarks/renderers/time_to_reward.py``; ``benchmarks/tables.py`` copies it in).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from common import RewardReached, evaluation_summary, header, write_result

import agents

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", type=float, default=1.8)
    parser.add_argument("--max-steps", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=RESULTS / "time_to_reward.json")
    args = parser.parse_args()
    header(f"time for PPO (make_ppo defaults, tiny model, 16 envs) to reach mean reward {args.target}")
    t0 = time.perf_counter()
    ppo = agents.make_ppo("CatText-v0", seed=args.seed)
    cb = RewardReached(args.target, stop=True)
    ppo.learn(args.max_steps, callback=cb)
    total = time.perf_counter() - t0
    result: dict = {
        "env": "CatText-v0",
        "model": "tiny",
        "target": args.target,
        "max_steps": args.max_steps,
        "seed": args.seed,
        "steps": None,
        "seconds": None,
        "seconds_with_setup": total,
        "test": None,
    }
    if cb.reached_at is None:
        print(f"not reached within {args.max_steps} steps ({total:.0f}s)")
    else:
        steps, seconds = cb.reached_at
        print(f"reached {args.target} after {steps} steps in {seconds:.0f}s of training ({total:.0f}s including setup)")
        test = agents.evaluate_policy_text(ppo, "CatText-v0", n_episodes=256, seed=0, env_kwargs={"split": "test"})
        print(f"held-out test prompts: mean reward {test['mean_reward']:.3f}, components {test['components']}")
        result |= {"steps": steps, "seconds": seconds, "test": evaluation_summary(test)}
    write_result(result, args.json)


if __name__ == "__main__":
    main()
