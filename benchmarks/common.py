"""Shared helpers of the benchmarks: timing and prompt batches."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch


def best_of(fn: Callable[[], object], repeats: int = 5) -> float:
    """Fastest wall time of ``repeats`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def header(title: str) -> None:
    print(f"\n== {title} ==  (torch {torch.__version__}, {torch.get_num_threads()} threads)")
