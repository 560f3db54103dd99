"""The table docs/ecosystem.md opens with (issue 29): each client's exact command on TinyCat-v1, and what it learned.

``benchmarks/ecosystem.py`` runs every row and writes the JSON.
"""

from __future__ import annotations

from typing import Any

from .markdown import markdown_table, threads

COLUMNS = ("client", "the exact command or code", "unmodified?", "learned (steps, return)")


def learned(row: dict[str, Any]) -> str:
    """What a row's run learned: its greedy return after its env steps (or why nothing was measured).

    Raises:
        ValueError: if a row that was run has no result (a failed run is not a table row).
    """
    if row["not_run"] is not None:
        return f"not measured ({row['not_run']})"
    result = row["result"]
    if result is None:
        raise ValueError(f"row {row['key']!r} was run but has no result")
    if "greedy_returns" in result:  # one greedy episode from each prompt
        returns = result["greedy_returns"]
        text = f"{result['steps']:,} steps, greedy return {sum(returns) / len(returns):.2f}"
    else:  # the script's own greedy score over seeded episodes
        text = f"{result['steps']:,} steps, greedy return {result['greedy_return']:.2f} (100 seeded episodes)"
    if "enjoy_mean_reward" in result:
        text += f"; `enjoy`'s mean reward {result['enjoy_mean_reward']:.2f}"
    return text


def render(data: dict[str, Any]) -> str:
    """One line per client, and a note on how the rows ran.

    Raises:
        ValueError: if the record is not from a run of every row (``complete`` false).
    """
    if not data["complete"]:
        raise ValueError("the record is from a run of some rows only: the table needs every row")
    table = markdown_table(
        COLUMNS,
        (
            [row["client"], " then ".join(f"`{c}`" for c in row["command"]), row["unmodified"], learned(row)]
            for row in data["rows"]
        ),
    )
    v, rv = data["versions"], data["rllib_versions"]
    seconds = sum(row["seconds"] for row in data["rows"])
    note = (
        f"{data['env_id']}, seed {data['seed']}; the greedy return is the mean over its 4 prompts (maximum 1.5)."
        f" Gymnasium {v['gymnasium']},"
        f" Stable-Baselines3 {v['stable-baselines3']}, rl_zoo3 {v['rl_zoo3']}; RLlib: ray {rv['ray']} on"
        f" Gymnasium {rv['gymnasium']} (its own venv). `benchmarks/ecosystem.py` ran every row in"
        f" {seconds / 60:.0f} min on {threads(data['threads'])}, {data['date'][:10]}."
    )
    return table + "\n" + note + "\n"


TABLES = {"ecosystem.md": ("ecosystem.json", render)}
