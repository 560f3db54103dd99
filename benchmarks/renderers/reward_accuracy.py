"""The table of ``benchmarks/reward_accuracy.py``: the reward model's held-out accuracy by pooling and feedback kind."""

from __future__ import annotations

from typing import Any

from .markdown import markdown_table, ran

KINDS = ("rating", "preference", "ranking", "edit")


def render(data: dict[str, Any]) -> str:
    """One row per pooling, one column per feedback kind; the best of each column (ties too) in bold.

    Raises:
        ValueError: for a run cut short (``complete`` false), whose table would miss models.
    """
    if not data["complete"]:
        raise ValueError("reward_accuracy: that run was cut short (complete: false); run benchmarks/reward_accuracy.py")
    acc = {(r["pooling"], r["kind"]): r["accuracy"] for r in data["rows"]}
    poolings = list(dict.fromkeys(r["pooling"] for r in data["rows"]))
    best = {k: max(acc[p, k] for p in poolings) for k in KINDS}
    rows = [
        [f'`"{p}"`', *(f"**{acc[p, k]:.3f}**" if acc[p, k] == best[k] else f"{acc[p, k]:.3f}" for k in KINDS)]
        for p in poolings
    ]
    pairs = sorted({r["n_pairs"] for r in data["rows"]})
    note = (
        f"{'/'.join(f'{n:,}' for n in pairs)} held-out pairs; `python benchmarks/reward_accuracy.py` "
        f"{ran(data)} ({len(data['rows'])} reward models)."
    )
    return markdown_table(("pooling", *KINDS), rows) + "\n" + note + "\n"


TABLES = {"reward_accuracy.md": ("reward_accuracy.json", render)}
