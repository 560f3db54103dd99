"""The table of ``benchmarks/goal_position.py``: the first HierShop reply with the act token before, after, without."""

from __future__ import annotations

from typing import Any

from .markdown import markdown_table, mean_se, percent, threads

COLUMNS = (
    "act token",
    "first-reply reward (Dialogue-v0's turn reward)",
    "paired difference to no act token",
    "replies that realize the act",
)


def render(data: dict[str, Any]) -> str:
    """One row per placement; the first is the reference the others are paired with."""
    rows = []
    for i, (name, r) in enumerate(data["variants"].items()):
        diff = "" if i == 0 else mean_se(r["paired_difference_to_no_act"], r["paired_standard_error"], signed=True)
        rows.append([name, mean_se(r["first_reply_reward"], r["standard_error"]), diff, percent(r["realized_rate"])])
    note = (
        f"The pretrained tiny model, no training; {data['episodes']} {data['split']} scenarios, the correct act, "
        f"sampling at temperature 1 with the same seed for the three; {threads(data['threads'])}, {data['date'][:10]}."
    )
    return markdown_table(COLUMNS, rows) + "\n" + note + "\n"


TABLES = {"goal_position.md": ("goal_position.json", render)}
