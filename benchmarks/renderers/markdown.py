"""The one Markdown table builder of the benchmark tables, and the formatters several renderers share.

(Not ``benchmarks/markdown.py``: with ``benchmarks/`` first on ``sys.path``, as when a benchmark
script runs, that name would shadow the installed ``markdown`` package, a tensorboard dependency.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table: the header, the ``|---|`` rule and one line per row, each line ending in a newline.

    Cells are written with ``str``; an empty cell as ``| |``.

    Raises:
        ValueError: if there are no columns, a row has another number of cells than there are
            columns, or a cell holds a ``|`` or a line break (either would break the table).
    """
    if not columns:
        raise ValueError("a table needs at least one column")
    lines = [_line(columns, "header")]
    lines.append("|---" * len(columns) + "|")
    for i, row in enumerate(rows):
        if len(row) != len(columns):
            raise ValueError(f"row {i} has {len(row)} cells for {len(columns)} columns: {list(row)}")
        lines.append(_line(row, f"row {i}"))
    return "\n".join(lines) + "\n"


def _line(cells: Sequence[object], where: str) -> str:
    texts = [str(c) for c in cells]
    for text in texts:
        if "|" in text or "\n" in text:
            raise ValueError(f"{where}: the cell {text!r} holds a '|' or a line break")
    return "|" + "|".join(f" {t} " if t else " " for t in texts) + "|"


def mean_se(mean: float, se: float, digits: int = 3, bold: bool = False, signed: bool = False) -> str:
    """``mean ± standard error``, e.g. ``1.234 ± 0.056``: the mean in bold if ``bold``, with its sign if ``signed``."""
    text = f"{mean:{'+' if signed else ''}.{digits}f}"
    return f"{f'**{text}**' if bold else text} ± {se:.{digits}f}"


def evaluation(summary: dict[str, Any], bold: bool = False) -> str:
    """:func:`mean_se` of an evaluation summary (``benchmarks/common.evaluation_summary``)."""
    return mean_se(summary["mean_reward"], summary["standard_error"], bold=bold)


def paired_gap(paired: dict[str, Any]) -> str:
    """A paired difference with its standard error and their ratio, e.g. ``+0.096 ± 0.039 (+2.5 SE)``."""
    return f"{mean_se(paired['difference'], paired['stderr'], signed=True)} ({paired['margin_se']:+.1f} SE)"


def percent(fraction: float, digits: int = 1) -> str:
    """A fraction as a percentage, e.g. ``0.25`` -> ``25.0%``."""
    return f"{100 * fraction:.{digits}f}%"


def threads(n: int) -> str:
    """``1 thread`` or ``n threads``."""
    return f"{n} thread" + ("" if n == 1 else "s")


def load(record: dict[str, Any]) -> str:
    """The load averages ``benchmarks/common.write_result`` recorded, as a note's clause.

    ``None`` in runs from before write_result recorded them: then nothing is said.
    """
    if record["load_average"] is None:
        return ""
    one, five, _ = record["load_average"]
    return f"; load average {one:.2f} (1 min), {five:.2f} (5 min) at the end"


def ran(record: dict[str, Any], smoke: bool = False) -> str:
    """How a run was made: its seconds, threads and date (``benchmarks/common.write_result``)."""
    note = " (a `--smoke` run: not a measurement)" if smoke else ""
    return f"took {record['seconds']:,.0f} s on {threads(record['threads'])}, {record['date'][:10]}{note}"
