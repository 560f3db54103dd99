"""The table of ``benchmarks/hierarchy_oracle.py``: the low level given the correct acts against the stored flat arm."""

from __future__ import annotations

from typing import Any

from .hierarchy import lm_lr, lr_text, paired_scenarios, version_prefix
from .markdown import markdown_table, mean_se, paired_gap

COLUMNS = ("settings", "seed", "tokens", "low level, correct acts", "flat PPO", "correct acts − flat (paired)")


def render(records: list[dict[str, Any]]) -> str:
    """One row per run: v1 before v2, the higher LM lr first, then by seed."""
    rows = [
        [
            f"{version_prefix(r)}LM lr {lr_text(lm_lr(r))}",
            r["config"]["seed"],
            f"{r['config']['tokens']:,}",
            mean_se(r["oracle"]["mean_extrinsic"], r["oracle"]["stderr"]),
            f"{r['flat_mean_return']:.3f}",
            paired_gap(r["paired"]),
        ]
        for r in sorted(records, key=lambda r: (version_prefix(r), -lm_lr(r), r["config"]["seed"]))
    ]
    n = paired_scenarios(records)
    note = f"Test return (Dialogue-v0's reward, the extrinsic part), paired over {n} test scenarios."
    return markdown_table(COLUMNS, rows) + "\n" + note + "\n"


TABLES = {"hier_oracle.md": ("hier_oracle_*.json", render)}
