"""The table of ``examples/dialogue.py --json``: the test-split reward before and after PPO on Dialogue-v0."""

from __future__ import annotations

from typing import Any

from .markdown import evaluation, markdown_table, mean_se, percent, ran


def render(data: dict[str, Any]) -> str:
    """The base model and the trained one: reward, goal rate, helpful and grammatical turns; the paired gain."""
    a, before, after, gain = data["args"], data["before"], data["after"], data["gain"]

    def row(label: str, r: dict[str, Any], bold: bool) -> list[str]:
        c = r["components"]
        return [
            label,
            evaluation(r, bold=bold),
            percent(c["success"]),
            f"{c['helpfulness']:.3f}",
            f"{c['fluency']:.2f}",
        ]

    columns = (
        f"{a['model']} model on {a['env_id'].split('/')[-1]}, {before['n_episodes']} test episodes",
        "reward",
        "goal met",
        "helpful turns / episode",
        "grammatical turns / episode",
    )
    rows = [row("base model", before, False), row(f"after PPO, {a['total_timesteps']:,} steps", after, True)]
    critic = "separate critic trunk" if a["separate_critic"] else "value head on the policy's trunk"
    note = (
        f"Paired gain {mean_se(gain['gain'], gain['standard_error'], bold=True, signed=True)} over {gain['n_pairs']} "
        f"episodes. `python examples/dialogue.py` (lr {a['learning_rate']:g}, KL {a['kl_coef']:g}, {critic}) "
        f"{ran(data, smoke=a['smoke'])}."
    )
    return markdown_table(columns, rows) + "\n" + note + "\n"


TABLES = {"dialogue.md": ("dialogue.json", render)}
