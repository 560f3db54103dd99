"""Shared helpers of the benchmarks and the examples' ``--json``: timing, prompt batches, result files."""

from __future__ import annotations

import datetime
import json
import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import transformers
from stable_baselines3.common.callbacks import BaseCallback


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


def same_length_prompts(prompt_ids: list[list[int]], n: int) -> tuple[torch.Tensor, int]:
    """``n`` prompts of the most common length, as one (n, length) batch (no padding for generate)."""
    length, count = Counter(len(ids) for ids in prompt_ids).most_common(1)[0]
    if count < n:
        raise SystemExit(f"only {count} prompts share a length ({length} tokens); use --n-envs {count} or fewer")
    return torch.tensor([list(p) for p in prompt_ids if len(p) == length][:n]), length


def write_result(result: dict[str, Any], path: Path) -> None:
    """Write a benchmark's JSON with the torch/transformers versions, threads, date and load added.

    The machine's load averages (1, 5 and 15 minutes, at the end of the run) say whether other
    work shared the CPU while a timing was taken.
    """
    result = {
        **result,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "threads": torch.get_num_threads(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


def evaluation_summary(result: dict[str, Any]) -> dict[str, Any]:
    """An ``agents.evaluate_policy_text`` result without its episodes: mean, standard error, components, count."""
    from agents import standard_error  # here, not at the top: the timing benchmarks need no agents import

    return {
        "mean_reward": result["mean_reward"],
        "standard_error": standard_error(result),
        "components": result["components"],
        "n_episodes": len(result["episodes"]),
    }


def paired(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``agents.paired_difference(before, after)`` as a JSON record: mean gain, its standard error, pairs."""
    from agents import paired_difference

    gain, sem, n = paired_difference(before, after)
    return {"gain": gain, "standard_error": sem, "n_pairs": n}


class RewardReached(BaseCallback):
    """Records when the mean reward of the last full window of training episodes first reaches ``target``.

    ``reached_at`` is ``(steps, seconds since the callback was made)``, or None. With ``stop``,
    ``learn()`` ends before the rollout after that; without it, training runs its whole budget.
    """

    def __init__(self, target: float, stop: bool = False):
        super().__init__()
        self.target = target
        self.stop = stop
        self.reached_at: tuple[int, float] | None = None
        self.t0 = time.perf_counter()

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        buf = self.model.ep_info_buffer
        full = len(buf) == buf.maxlen
        if self.reached_at is None and full and sum(e["r"] for e in buf) / len(buf) >= self.target:
            self.reached_at = (self.num_timesteps, time.perf_counter() - self.t0)

    def _on_rollout_start(self) -> None:
        if self.stop and self.reached_at is not None:
            self.model.num_timesteps = 10**12  # ends learn() before the next rollout
