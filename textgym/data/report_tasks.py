"""Held-out splits of the generated summarization task (reports with reference summaries)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from textgym.data.corpus import SPLIT_SEEDS, sample_report

# Offset of the report generators' seeds, away from the corpus seeds (0, 1) and the story
# openings (1000 + split), so no two generators share a stream.
REPORT_SEED_OFFSET = 2000


def report_pairs(split: str, n: int = 512) -> list[tuple[str, str]]:
    """Distinct ``(report_body, summary)`` pairs: the Summarization-v0 documents.

    Splits are disjoint: a report body in ``train`` never appears in ``validation`` or
    ``test``. Both texts are grammar text (lower case, space-separated words and punctuation),
    as produced by :func:`textgym.data.sample_report`.

    Args:
        split: ``"train"``, ``"validation"`` or ``"test"``.
        n: How many pairs.

    Returns:
        The pairs, in a fixed order (the same for every call).

    >>> body, summary = report_pairs("test", 3)[0]
    >>> summary.endswith(" .") and len(summary.split()) <= 6
    True
    """
    if split not in SPLIT_SEEDS:
        raise ValueError(f"unknown split {split!r}; choose one of {sorted(SPLIT_SEEDS)}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return list(_report_pairs(split, n))


@lru_cache(maxsize=16)  # every env construction asks again; generation takes ~0.3 s a split
def _report_pairs(split: str, n: int) -> tuple[tuple[str, str], ...]:
    earlier: set[str] = set()
    for other, other_seed in SPLIT_SEEDS.items():
        if other_seed < SPLIT_SEEDS[split]:
            earlier.update(body for body, _ in _report_pairs(other, n))
    rng = np.random.default_rng(REPORT_SEED_OFFSET + SPLIT_SEEDS[split])
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    while len(out) < n:
        body, summary = sample_report(rng)
        if body in seen or body in earlier:
            continue
        seen.add(body)
        out.append((body, summary))
    return tuple(out)
