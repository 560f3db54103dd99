"""Env-steps per second of :class:`agents.distributed.RayVecEnv` with 1 and 2 Ray workers, in one run.

The env is CatText whose reward burns a fixed CPU time per finished episode
(:func:`agents.distributed.costly_cat_text`; ``--reward-ms``), standing in for an LM judge or
a simulated user. Actions are random tokens (EOS with probability ``--eos-rate``, so episodes
end at different steps), the same sequence for every configuration: no policy runs, so what is
timed is the env, its reward and Ray's transport, the part that env workers parallelise.

Configurations, timed in turns (1 worker, 2 workers, local, ... ``--repeats`` times) so that
slow drifts of a shared machine do not favour one of them; each keeps its best time:

* ``workers=1`` and ``workers=2``: ``RayVecEnv`` with the slots split over that many actors;
* ``local``: ``agents.make_env`` in this process (no Ray), the baseline Ray's transport adds to;
* the same three with a free reward (``reward_ms=0``): the per-step costs that do not
  parallelise well (transport, the env's own array work);
* ``rollout=1`` and ``rollout=2``: :class:`agents.distributed.RolloutWorkers` with the tiny
  model's policy in every worker, collecting whole episodes (one per slot) with the costly
  reward. Here the policy runs in the workers too and the workers only meet at the end of a
  collection, so neither the learner's forward pass nor a lock-step wait for the slower worker
  stands between them (``--rollouts`` timed collections per repeat).

Run on a machine with nothing else running; ``--cpus`` is what Ray may use (default 2)::

    python benchmarks/scaling.py [--reward-ms 50] [--n-envs 8] [--steps 200] [--rollouts 3] [--quick]

Writes ``benchmarks/results/scaling.json`` (``--quick``: ``scaling_quick.json``, a smoke run
whose numbers mean nothing) and prints the table ``docs/scaling.md`` renders from it.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import ray
import torch
from renderers.scaling import render as scaling_table

import agents
from agents.distributed import RayVecEnv, RolloutWorkers, costly_cat_text

RESULTS = Path(__file__).resolve().parent / "results"


def random_actions(n_actions: int, eos: int, steps: int, n_envs: int, eos_rate: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    actions = rng.integers(0, n_actions, size=(steps, n_envs))
    actions[rng.random(actions.shape) < eos_rate] = eos
    return actions


def time_steps(venv: Any, actions: np.ndarray, warmup: int) -> dict[str, float]:
    """Reset, step ``warmup`` actions untimed, then time the rest; episodes finished are counted."""
    venv.seed(0)
    venv.reset()
    for a in actions[:warmup]:
        venv.step(a)
    episodes = 0
    t0 = time.perf_counter()
    for a in actions[warmup:]:
        _, _, dones, _ = venv.step(a)
        episodes += int(dones.sum())
    seconds = time.perf_counter() - t0
    n = actions[warmup:].size
    return {"seconds": seconds, "env_steps": n, "episodes": episodes, "env_steps_per_s": n / seconds}


def build(config: str, reward_ms: float, n_envs: int) -> Any:
    factory = functools.partial(costly_cat_text, reward_ms / 1000)
    if config == "local":
        return agents.make_env(factory, n_envs=n_envs, seed=0)
    return RayVecEnv(factory, n_envs=n_envs, seed=0, n_workers=int(config.split("=")[1]))


def time_rollouts(policy: Any, reward_ms: float, n_envs: int, n_workers: int, rollouts: int) -> dict[str, float]:
    """Time ``rollouts`` collections of one whole episode per slot by ``n_workers`` rollout workers.

    The workers are built and warmed up (one untimed collection) first; every timed collection
    samples with the same seeds in every configuration, so both see the same episodes.
    """
    factory = functools.partial(costly_cat_text, reward_ms / 1000)
    workers = RolloutWorkers(policy, factory, n_envs=n_envs, group_size=1, seed=0, n_workers=n_workers)
    try:
        workers.ready()
        workers.collect(policy, seed=10_000)
        steps = episodes = 0
        t0 = time.perf_counter()
        for i in range(rollouts):
            batch = workers.collect(policy, seed=100 * i)
            steps += int(batch.n_actions().sum())
            episodes += batch.n_episodes
        seconds = time.perf_counter() - t0
    finally:
        workers.close()
    return {"seconds": seconds, "env_steps": steps, "episodes": episodes, "env_steps_per_s": steps / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reward-ms", type=float, default=50.0, help="CPU ms the reward burns per finished episode")
    parser.add_argument("--n-envs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=200, help="timed steps per configuration (after warm-up)")
    parser.add_argument("--warmup", type=int, default=24)
    parser.add_argument("--eos-rate", type=float, default=0.1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rollouts", type=int, default=3, help="timed collections per rollout-worker configuration")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs Ray may use (ray.init(num_cpus=...))")
    parser.add_argument("--quick", action="store_true", help="smoke run: few steps, one repeat")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if args.quick:
        args.steps, args.warmup, args.repeats, args.rollouts = 20, 4, 1, 1
    out_path = args.json or RESULTS / ("scaling_quick.json" if args.quick else "scaling.json")

    ray.init(num_cpus=args.cpus, include_dashboard=False)
    probe = agents.make_env("CatText-v0", n_envs=1)
    eos, n_actions = probe.get_attr("tokenizer")[0].eos_token_id, probe.action_space.n
    actions = random_actions(n_actions, eos, args.warmup + args.steps, args.n_envs, args.eos_rate, seed=0)
    configs = ["workers=1", "workers=2", "local"]
    # The tiny model's policy, untrained (its random-ish samples end at EOS at different steps).
    policy = agents.make_grpo("CatText-v0", model="tiny", n_envs=2, group_size=2, seed=0).policy
    best: dict[tuple[str, float], dict[str, float]] = {}
    for _ in range(args.repeats):
        for n_workers in (1, 2):
            result = time_rollouts(policy, args.reward_ms, args.n_envs, n_workers, args.rollouts)
            key = (f"rollout={n_workers}", args.reward_ms)
            if key not in best or result["seconds"] < best[key]["seconds"]:
                best[key] = result
            print(f"rollout={n_workers} reward {args.reward_ms:5.1f} ms: {result['env_steps_per_s']:8.1f} env-steps/s")
        for reward_ms in (args.reward_ms, 0.0):
            for config in configs:
                # One configuration's actors at a time: with --cpus 2, the 1- and 2-worker envs
                # together would ask for 3 CPUs.
                venv = build(config, reward_ms, args.n_envs)
                try:
                    result = time_steps(venv, actions, args.warmup)
                finally:
                    venv.close()
                key = (config, reward_ms)
                if key not in best or result["seconds"] < best[key]["seconds"]:
                    best[key] = result
                print(f"{config:10s} reward {reward_ms:5.1f} ms: {result['env_steps_per_s']:8.1f} env-steps/s")
    ray.shutdown()

    rows = [{"config": c, "reward_ms": r, **v} for (c, r), v in best.items()]

    def rate(config: str, reward_ms: float) -> float:
        return best[(config, reward_ms)]["env_steps_per_s"]

    data = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, ray {ray.__version__}, torch {torch.__version__}",
        "config": {
            "env": "CatText-v0 + BusyReward (agents.distributed.costly_cat_text)",
            "n_envs": args.n_envs,
            "steps": args.steps,
            "warmup": args.warmup,
            "eos_rate": args.eos_rate,
            "repeats": args.repeats,
            "rollouts": args.rollouts,
            "ray_cpus": args.cpus,
            "quick": args.quick,
        },
        "reward_ms": args.reward_ms,
        "rows": rows,
        "speedup_2_over_1": rate("workers=2", args.reward_ms) / rate("workers=1", args.reward_ms),
        "speedup_2_over_1_free_reward": rate("workers=2", 0.0) / rate("workers=1", 0.0),
        "ray_1_over_local": rate("workers=1", args.reward_ms) / rate("local", args.reward_ms),
        "rollout_speedup_2_over_1": rate("rollout=2", args.reward_ms) / rate("rollout=1", args.reward_ms),
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(data, indent=2) + "\n")
    print()
    print(scaling_table(data))
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
