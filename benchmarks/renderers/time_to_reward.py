"""The table of ``benchmarks/time_to_reward.py``: wall time and steps for ``make_ppo`` to reach a mean reward."""

from __future__ import annotations

from typing import Any

from .markdown import evaluation, load, markdown_table

COLUMNS = (
    "target (mean of the last 100 training episodes)",
    "steps",
    "s of training",
    "s with setup",
    "test-split reward after",
)


def render(data: dict[str, Any]) -> str:
    """The target, the steps and seconds to reach it (or that it was not reached), and the test reward after."""
    if data["steps"] is None:  # not reached within --max-steps: no time to it, no test
        row = [data["target"], f"not reached in {data['max_steps']:,}", "", f"{data['seconds_with_setup']:.0f}", ""]
    else:
        test = f"{evaluation(data['test'])} ({data['test']['n_episodes']} episodes)"
        row = [
            data["target"],
            f"{data['steps']:,}",
            f"{data['seconds']:.0f}",
            f"{data['seconds_with_setup']:.0f}",
            test,
        ]
    note = (
        f"`agents.make_ppo` defaults, {data['model']} model, {data['env']}, seed {data['seed']}; "
        f"torch {data['torch']}, {data['threads']} threads{load(data)}; {data['date'][:10]}."
    )
    return markdown_table(COLUMNS, [row]) + "\n" + note + "\n"


TABLES = {"time_to_reward.md": ("time_to_reward.json", render)}
