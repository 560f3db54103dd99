"""The table of ``benchmarks/learning_margins.py``: each learning check's bar and its lowest value."""

from __future__ import annotations

from typing import Any

from .markdown import markdown_table

COLUMNS = ("test", "check", "bar", "lowest value (seed, threads)", "lowest margin", "held in")


def lowest_margins(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (test, check): the record with the lowest margin, with ``runs`` (records) and ``held`` (passing ones)."""
    by_check: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        by_check.setdefault((r["test"], r["check"]), []).append(r)
    rows = []
    for (_, _), rs in sorted(by_check.items()):
        worst = min(rs, key=lambda r: r["margin"])
        held = sum(r["margin"] > 0 or (r["margin"] == 0 and r["op"] in (">=", "<=")) for r in rs)
        rows.append({**worst, "runs": len(rs), "held": held})
    return rows


def render(results: dict[str, Any]) -> str:
    """One row per learning check: its bar, its lowest value (at which seed and thread count), the margin."""
    rows = [
        [
            f"`{r['test'].split('::', 1)[1]}`",
            r["check"],
            f"{r['op']} {r['bar']:.3g}",
            f"{r['value']:.3g} ({r['seed']}, {r['threads']})",
            f"{r['margin']:+.3g}",
            f"{r['held']}/{r['runs']}",
        ]
        for r in lowest_margins(results["records"])
    ]
    seeds = sorted({r["seed"] for r in results["records"]})
    threads = sorted({r["threads"] for r in results["records"]})
    note = (
        f"Seeds {', '.join(map(str, seeds))} at {' and '.join(map(str, threads))} torch thread(s); "
        f"`python benchmarks/learning_margins.py`, last run {results['date']}."
    )
    return markdown_table(COLUMNS, rows) + "\n" + note + "\n"


TABLES = {"learning_margins.md": ("learning_margins.json", render)}
