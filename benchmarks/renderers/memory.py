"""The table of ``benchmarks/memory.py``: peak resident memory of a SmolLM2 PPO step, full against LoRA."""

from __future__ import annotations

from typing import Any

from .markdown import markdown_table

COLUMNS = (
    "SmolLM2-135M PPO, one rollout + update",
    "trainable / all parameters",
    "peak RSS after building",
    "peak RSS after the step",
)
LABELS = {"lora": "LoRA (adapters; reference = adapters off)", "full": "full (reference = a copy)"}


def render(data: dict[str, Any]) -> str:
    """One row per configuration: its parameter counts and peak RSS after building and after the step."""
    rows = [
        [
            f"{LABELS[r['config']]}, {r['n_envs']} envs × {r['new_tokens']} tokens",
            f"{r['trainable_parameters'] / 1e6:.1f}M / {r['parameters'] / 1e6:.1f}M",
            f"{r['peak_rss_mib']['after_build']:,.0f} MiB",
            f"{r['peak_rss_mib']['after_step']:,.0f} MiB",
        ]
        for r in data["rows"]
    ]
    return markdown_table(COLUMNS, rows)


TABLES = {"memory.md": ("memory.json", render)}
