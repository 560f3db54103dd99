"""The table of ``benchmarks/losses.py``: GRPO's loss options on CatText, time to a target and held-out score."""

from __future__ import annotations

import math
from statistics import fmean, stdev
from typing import Any

from .markdown import load, markdown_table, mean_se, threads

COLUMNS = (
    "loss",
    "options (on `make_grpo`'s defaults)",
    "seeds reaching the target",
    "steps to the target (mean of those)",
    "s of training to it",
    "test reward (mean ± SE over seeds)",
    "test reward per seed",
)


def options_text(options: dict[str, Any]) -> str:
    """``key=value`` pairs in code spans, or ``defaults`` for none."""
    return ", ".join(f"`{key}={value}`" for key, value in options.items()) or "defaults"


def row(name: str, config: dict[str, Any]) -> list[object]:
    """One option set's runs: how many reached the target and when, and the test reward over seeds."""
    runs = config["runs"]
    reached = [r for r in runs if r["steps_to_target"] is not None]
    scores = [r["test"]["mean_reward"] for r in runs]
    se = stdev(scores) / math.sqrt(len(scores)) if len(scores) > 1 else 0.0
    return [
        name,
        options_text(config["options"]),
        f"{len(reached)}/{len(runs)}",
        f"{fmean(r['steps_to_target'] for r in reached):,.0f}" if reached else "",
        f"{fmean(r['seconds_to_target'] for r in reached):.0f}" if reached else "",
        mean_se(fmean(scores), se),
        ", ".join(f"{s:.3f}" for s in scores),
    ]


def render(data: dict[str, Any]) -> str:
    """A row per option set and a note on how the runs were made."""
    rows = [row(name, config) for name, config in data["configs"].items()]
    note = (
        f"`agents.make_grpo` on {data['env']}, {data['model']} model, {data['n_envs']} slots in groups of "
        f"{data['group_size']}, {data['max_steps']:,} steps per run, seeds {', '.join(map(str, data['seeds']))}. "
        f"The target: the mean reward of the last 100 training episodes reaches {data['target']} (the run "
        f"goes on to the full budget); the test reward: {data['eval_episodes']} test-split prompts after it. "
        f"Seconds are wall time on a shared machine: torch {data['torch']}, {threads(data['threads'])}"
        f"{load(data)}; {data['date'][:10]}."
    )
    return markdown_table(COLUMNS, rows) + "\n" + note + "\n"


TABLES = {"losses.md": ("losses.json", render)}
