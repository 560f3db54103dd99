"""The ``textgym`` command: train an agent on a textgym env, evaluate a saved agent.

textgym train CatText-v0 --algo ppo --model tiny --timesteps 20000
textgym eval runs/CatText-v0-ppo --episodes 128 --split test
"""

from __future__ import annotations

import argparse
import datetime
import json
import time
from pathlib import Path
from typing import Any

ALGOS = ("ppo", "a2c", "reinforce", "grpo", "rloo")
#: Defaults that differ by algorithm: group-relative ones learn from whole groups of
#: episodes, so they take more slots (8 prompts x 8 completions per rollout on the tiny model).
DEFAULTS = {
    "ppo": {"timesteps": 20_000, "n_envs": 16},
    "a2c": {"timesteps": 20_000, "n_envs": 16},
    "reinforce": {"timesteps": 20_000, "n_envs": 16},
    "grpo": {"timesteps": 24_576, "n_envs": 64, "group_size": 8},
    "rloo": {"timesteps": 24_576, "n_envs": 64, "group_size": 8},
}


def _algo_class(name: str) -> Any:
    # agents' classes, not SB3's: they restore the KL penalty (settings, adaptive coefficient) on load.
    from agents import A2C, GRPO, PPO, REINFORCE

    return {"ppo": PPO, "a2c": A2C, "reinforce": REINFORCE, "grpo": GRPO, "rloo": GRPO}[name]


def _print_summary(title: str, result: dict[str, Any], n_samples: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    table.add_column("prompt", overflow="fold")
    table.add_column("completion", overflow="fold")
    table.add_column("reward", justify="right")
    for ep in result["episodes"][:n_samples]:
        table.add_row(ep["prompt"], ep["completion"], f"{ep['reward']:.2f}")
    console = Console()
    console.print(table)
    parts = [f"mean reward {result['mean_reward']:.3f} ± {result['std_reward']:.3f}"]
    parts += [f"{k} {v:.3f}" for k, v in result["components"].items()]
    console.print(f"[bold]{title}[/bold] over {len(result['episodes'])} episodes: " + ", ".join(parts))


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Train, print before/after tables, save agent, curve and metadata under ``args.out``."""
    import torch  # here, not at the top: `textgym --help` imports no torch

    import agents
    from agents.factory import resolve_env_id
    from textgym.plotting import plot_learning_curves

    env_id = resolve_env_id(args.env)
    for key, value in DEFAULTS[args.algo].items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    out = Path(args.out or f"runs/{env_id.split('/')[-1]}-{args.algo}")
    out.mkdir(parents=True, exist_ok=True)
    make = {
        "ppo": agents.make_ppo,
        "a2c": agents.make_a2c,
        "reinforce": agents.make_reinforce,
        "grpo": agents.make_grpo,
        "rloo": agents.make_rloo,
    }[args.algo]
    extra: dict[str, Any] = {}
    if args.algo in ("grpo", "rloo"):
        extra["group_size"] = args.group_size
    elif args.group_size is not None:
        raise SystemExit(f"--group-size is for grpo and rloo, not {args.algo}")
    if args.lr is not None:
        extra["learning_rate"] = args.lr
    if args.kl_coef is not None:
        extra["kl_coef"] = args.kl_coef
    model = make(
        env_id,
        model=args.model,
        n_envs=args.n_envs,
        seed=args.seed,
        tensorboard_log=str(out / "tb"),
        verbose=0,
        **extra,
    )

    eval_kwargs = dict(n_episodes=args.eval_episodes, seed=10_000, env_kwargs={"split": "validation"})
    before = agents.evaluate_policy_text(model, env_id, **eval_kwargs)
    _print_summary("before training (validation prompts)", before, args.samples)

    curve = agents.RewardCurve()
    t0 = time.time()
    model.learn(total_timesteps=args.timesteps, callback=curve, progress_bar=not args.no_progress)
    seconds = time.time() - t0
    after = agents.evaluate_policy_text(model, env_id, **eval_kwargs)
    _print_summary("after training (validation prompts)", after, args.samples)

    model.save(out / "model.zip")
    if curve.steps:  # no point before the first finished episode
        plot_learning_curves(
            {args.algo.upper(): curve.curve},
            out / "learning_curve.png",
            title=f"{args.algo.upper()} on {env_id} ({args.model})",
            xlabel="environment steps (tokens)",
            ylabel="mean episode reward (last 100 episodes)",
        )
    meta = {
        "env_id": env_id,
        "algo": args.algo,
        "model": args.model,
        "timesteps": args.timesteps,
        "n_envs": args.n_envs,
        "group_size": args.group_size,
        "seed": args.seed,
        "learning_rate": float(model.learning_rate) if not callable(model.learning_rate) else None,
        "kl_coef": args.kl_coef,
        "eval_episodes": args.eval_episodes,
        "train_seconds": seconds,
        "threads": torch.get_num_threads(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "before": {k: before[k] for k in ("mean_reward", "components")},
        "after": {k: after[k] for k in ("mean_reward", "components")},
    }
    (out / "textgym.json").write_text(json.dumps(meta, indent=2))
    if args.json:  # a copy where the docs' tables are rendered from (benchmarks/tables.py)
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(meta, indent=2) + "\n")
    curve_file = out / "learning_curve.png" if curve.steps else "no learning curve (no episode finished)"
    print(
        f"trained {args.timesteps} steps in {seconds:.0f}s; saved {out / 'model.zip'}, "
        f"{curve_file}, TensorBoard logs in {out / 'tb'}"
    )
    return meta


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Load a saved agent and report mean reward and each reward component."""
    import agents

    path = Path(args.path)
    run_dir = path if path.is_dir() else path.parent
    meta_file = run_dir / "textgym.json"
    if not meta_file.is_file():
        raise SystemExit(f"{meta_file} not found: pass a directory written by 'textgym train'")
    meta = json.loads(meta_file.read_text())
    zip_path = path if path.is_file() else run_dir / "model.zip"
    model = _algo_class(meta["algo"]).load(zip_path, device="cpu")
    env_id = args.env or meta["env_id"]
    result = agents.evaluate_policy_text(
        model, env_id, n_episodes=args.episodes, seed=args.seed, env_kwargs={"split": args.split}
    )
    _print_summary(f"{meta['algo'].upper()} on {env_id} ({args.split} split)", result, args.samples)
    if args.json:  # the summary a docs table is rendered from (benchmarks/tables.py)
        summary = {"env_id": env_id, "algo": meta["algo"], "split": args.split, "episodes": args.episodes}
        summary.update({k: result[k] for k in ("mean_reward", "components")})
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    return result


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``textgym`` console command."""
    parser = argparse.ArgumentParser(prog="textgym", description="Train and evaluate LM agents on textgym envs.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train an agent")
    p.add_argument("env", help="environment id, e.g. CatText-v0 or textgym/CatText-v0")
    p.add_argument("--algo", choices=ALGOS, default="ppo")
    p.add_argument("--model", default="tiny", help="'tiny', 'smollm2-135m', a path or a hub id")
    p.add_argument("--timesteps", type=int, default=None, help="env steps (tokens); default 20,000 (grpo/rloo: 24,576)")
    p.add_argument("--n-envs", type=int, default=None, help="env slots; default 16 (grpo/rloo: 64)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: the algorithm's)")
    p.add_argument("--kl-coef", type=float, default=None, help="KL-to-reference penalty per token")
    p.add_argument("--group-size", type=int, default=None, help="grpo/rloo: completions per prompt (default 8)")
    p.add_argument("--eval-episodes", type=int, default=256)
    p.add_argument("--samples", type=int, default=8, help="completions shown before/after")
    p.add_argument("--out", default=None, help="run directory (default runs/ENV-ALGO)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--json", default=None, help="also write the run's summary (textgym.json) to this path")
    e = sub.add_parser("eval", help="evaluate a saved agent")
    e.add_argument("path", help="run directory (or its model.zip)")
    e.add_argument("--episodes", type=int, default=128)
    e.add_argument("--split", default="test", choices=("train", "validation", "test"))
    e.add_argument("--env", default=None, help="evaluate on another env id")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--samples", type=int, default=8)
    e.add_argument("--json", default=None, help="also write the mean reward and components to this path")
    args = parser.parse_args(argv)
    if args.command == "train":
        train(args)
    else:
        evaluate(args)


if __name__ == "__main__":
    main()
