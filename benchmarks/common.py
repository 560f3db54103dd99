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


def best_of_interleaved(fns: list[Callable[[], object]], repeats: int = 5) -> list[float]:
    """Fastest wall time of each function, timed in turns (a, b, c, a, b, c, ...).

    Taking turns keeps slow drifts of a shared machine (other load, clock changes) from
    favouring whichever method happened to be timed first.
    """
    for fn in fns:
        fn()  # warm-up
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def header(title: str) -> None:
    print(f"\n== {title} ==  (torch {torch.__version__}, {torch.get_num_threads()} threads)")
