"""The table of ``benchmarks/ray_ppo.py``: local PPO against PPO on Ray rollout workers, same settings and seed."""

from __future__ import annotations

from typing import Any

from .markdown import markdown_table, percent

COLUMNS = (
    "tiny model on CatText-v0, same seed",
    "mentions a cat",
    "grammatical",
    "mean reward (max 2)",
    "training time",
)


def render(data: dict[str, Any]) -> str:
    """Both runs' validation numbers after training and their training times."""
    cfg = data["config"]
    labels = {"local": "local PPO", "ray": f"PPO, {cfg['workers']} Ray rollout workers"}
    rows = []
    for key, label in labels.items():
        after = data[key]["after"]
        rows.append(
            [
                f"{label}, {cfg['timesteps']:,} steps",
                percent(after["components"]["topic"]),
                percent(after["components"]["fluency"]),
                f"{after['mean_reward']:.3f}",
                f"{data[key]['train_seconds']:,.0f} s",
            ]
        )
    note = (
        f"{cfg['eval_episodes']} validation episodes after training; {cfg['n_envs']} slots, seed {cfg['seed']}, "
        f"Ray on {cfg['ray_cpus']} CPUs, {data['threads']} torch thread per process; {data['date'][:10]}"
        + (" (quick smoke run: not a measurement)" if cfg["quick"] else "")
        + "."
    )
    return markdown_table(COLUMNS, rows) + "\n" + note + "\n"


TABLES = {"ray_ppo_cattext.md": ("ray_ppo_cattext.json", render)}
