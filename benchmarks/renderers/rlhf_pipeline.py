"""The table of ``examples/rlhf_pipeline.py --json``: hidden-preference score of the base model and each PPO seed."""

from __future__ import annotations

from typing import Any

from .markdown import evaluation, markdown_table, mean_se, percent, ran

#: The hidden preference's features, in column order.
FEATURES = ("grammar", "cat", "place", "short")


def render(data: dict[str, Any]) -> str:
    """The base model, each seed, and the margin over the base across seeds; the reward model's accuracy."""

    def row(label: str, r: dict[str, Any]) -> list[str]:
        return [label, evaluation(r), *(f"{r['components'][n]:.2f}" for n in FEATURES)]

    margins = ", ".join(f"{m:+.3f}" for m in data["margins"])
    margin = mean_se(data["margin_mean"], data["margin_standard_error"], bold=True, signed=True)
    rows = [
        row("base model", data["before"]),
        *(row(f"PPO, seed {r['seed']}", r) for r in data["ppo"]),
        ["**margin over the base model**", f"{margin} across seeds ({margins})", "", "", "", ""],
    ]
    columns = ("", "hidden preference (of 4)", "grammatical", "cat", "place", "short")
    a = data["args"]
    note = (
        f"Reward model ({a['feedback']} feedback, `pooling={a['rm_pooling']!r}`): it orders "
        f"**{percent(data['rm_accuracy'])}** of {data['rm_accuracy_pairs']:,} pairs of held-out completions as "
        f"the hidden preference does. `python examples/rlhf_pipeline.py` {ran(data, smoke=a['smoke'])}."
    )
    return markdown_table(columns, rows) + "\n" + note + "\n"


TABLES = {"rlhf_pipeline.md": ("rlhf_pipeline.json", render)}
