"""Local PPO and PPO on 2 Ray rollout workers learning CatText with the tiny model: curves side by side.

Both runs use :func:`agents.make_ppo`'s settings (16 slots x 64 steps per rollout, 4 epochs,
lr 3e-4, KL 0.05), the same seed and the same number of steps (the README's main command,
49,152 by default); the Ray run is :func:`agents.distributed.make_ray_ppo` with ``--workers``
actors collecting the rollouts. Each run records SB3's mean training-episode return after
every rollout (:class:`agents.RewardCurve`), its wall time, and at the end the mentions-a-cat
and grammatical rates on 256 validation episodes (:func:`agents.evaluate_policy_text`, as the
CLI and the Ray PPO slow test evaluate).

Sampling draws differ between the two (each worker seeds its own torch generator), so the
curves are two runs of the same algorithm, not one run twice; what the plot can show is
whether the Ray run learns like the local one, not a difference smaller than run-to-run noise.
Wall times mean something only on a quiet machine with ``--cpus`` free cores.

    python benchmarks/ray_ppo.py [--timesteps 49152] [--workers 2] [--cpus 2] [--quick] [--plot-only]

Writes ``benchmarks/results/ray_ppo_cattext.json`` and ``docs/ray_ppo_cattext.png`` (with the
plotted numbers in ``docs/ray_ppo_cattext.json``); ``--quick`` (a smoke run whose numbers mean
nothing) writes ``*_quick`` files under ``benchmarks/results/`` only.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import ray
import torch
from common import write_result

import agents
from agents.distributed import make_ray_ppo
from textgym.plotting import Curve, Panel, plot_panels

ROOT = Path(__file__).resolve().parent.parent
EVAL_EPISODES = 256


def run(algo: Any, timesteps: int) -> dict[str, Any]:
    """Train ``algo`` for ``timesteps`` steps with a reward curve; evaluate on validation prompts."""
    curve = agents.RewardCurve()
    if getattr(algo, "workers", None) is not None:
        algo.workers.ready()  # actors start asynchronously: their start-up is not training time
    t0 = time.perf_counter()
    algo.learn(timesteps, callback=curve)
    seconds = time.perf_counter() - t0
    report = agents.evaluate_policy_text(
        algo, "CatText-v0", n_episodes=EVAL_EPISODES, env_kwargs={"split": "validation"}
    )
    return {
        "train_seconds": seconds,
        "curve": {"steps": curve.steps, "values": curve.values},
        "after": {"mean_reward": report["mean_reward"], "components": report["components"]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timesteps", type=int, default=49_152)
    parser.add_argument("--workers", type=int, default=2, help="Ray rollout workers")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs Ray may use (ray.init(num_cpus=...))")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a 2-rollout smoke run on 4 slots")
    parser.add_argument("--plot-only", action="store_true", help="redraw the PNG from the JSON, no training")
    args = parser.parse_args()
    if args.plot_only:
        name = "ray_ppo_cattext_quick.json" if args.quick else "ray_ppo_cattext.json"
        plot(json.loads((ROOT / "benchmarks" / "results" / name).read_text()))
        return
    torch.set_num_threads(1)  # one torch thread per process, as in the Ray actors
    settings: dict[str, Any] = {"n_envs": 16, "seed": args.seed}
    timesteps = args.timesteps
    if args.quick:
        settings |= {"n_envs": 4, "n_steps": 16, "batch_size": 64}
        timesteps = 2 * 4 * 16
    ray.init(num_cpus=args.cpus, include_dashboard=False)
    results: dict[str, Any] = {}
    print("local PPO ...", flush=True)
    results["local"] = run(agents.make_ppo("CatText-v0", **settings), timesteps)
    print(f"  {results['local']['after']}, {results['local']['train_seconds']:.0f} s", flush=True)
    print(f"PPO on {args.workers} Ray rollout workers ...", flush=True)
    algo = make_ray_ppo("CatText-v0", n_workers=args.workers, **settings)
    try:
        results["ray"] = run(algo, timesteps)
    finally:
        algo.close()
    print(f"  {results['ray']['after']}, {results['ray']['train_seconds']:.0f} s", flush=True)
    ray.shutdown()

    suffix = "_quick" if args.quick else ""
    result = {
        "config": {
            "env_id": "CatText-v0",
            "model": "tiny",
            "timesteps": timesteps,
            "workers": args.workers,
            "ray_cpus": args.cpus,
            "eval_episodes": EVAL_EPISODES,
            **settings,
            "quick": args.quick,
        },
        **results,
    }
    write_result(result, ROOT / "benchmarks" / "results" / f"ray_ppo_cattext{suffix}.json")
    plot(result)


def plot(result: dict[str, Any]) -> None:
    """The two runs' curves side by side, each titled with its validation rates."""
    cfg = result["config"]
    suffix = "_quick" if cfg["quick"] else ""
    png = (ROOT / "benchmarks" / "results" if cfg["quick"] else ROOT / "docs") / f"ray_ppo_cattext{suffix}.png"
    panels = []
    for key, label in (("local", "local PPO"), ("ray", f"PPO on {cfg['workers']} Ray workers")):
        r = result[key]
        cat, grammatical = r["after"]["components"]["topic"], r["after"]["components"]["fluency"]
        panels.append(
            Panel(
                curves={label: Curve.from_points(r["curve"]["steps"], r["curve"]["values"])},
                title=f"{label}: {cat:.0%} cat, {grammatical:.0%} grammatical",
                ylabel="mean training-episode return (max 2)",
                ylim=(0.0, 2.05),
            )
        )
    title = f"tiny model on CatText-v0, seed {cfg['seed']}, {cfg['timesteps']:,} steps each"
    plot_panels(panels, png, title=title)
    print(f"wrote {png}")


if __name__ == "__main__":
    main()
