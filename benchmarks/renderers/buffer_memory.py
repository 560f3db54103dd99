"""The table of ``benchmarks/buffer_memory.py``: rollout buffer bytes, ours against SB3's ``DictRolloutBuffer``."""

from __future__ import annotations

from typing import Any

from .markdown import markdown_table


def render(data: dict[str, Any]) -> str:
    """One row per rollout shape: SB3's bytes, ours, and the ratio."""
    columns = ("rollout shape", "`DictRolloutBuffer`", "`EpisodeRolloutBuffer`", "smaller by")
    rows = [
        [
            f"{r['shape']}, {r['n_envs']} envs × {r['n_steps']} steps",
            f"{r['sb3_bytes'] / 2**20:,.2f} MiB",
            f"{r['ours_bytes'] / 2**10:,.1f} KiB",
            f"**{r['ratio']:.0f}×**",
        ]
        for r in data["rows"]
    ]
    return markdown_table(columns, rows)


TABLES = {"buffer_memory.md": ("buffer_memory.json", render)}
