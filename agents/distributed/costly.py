"""A reward that costs a fixed CPU time per scored text: stands in for an LM judge or a simulated user.

The scaling benchmark (``benchmarks/scaling.py``) and the fault tests need an env whose step is
dominated by reward work that parallelises across processes, with a cost that does not depend
on the machine's other load: the burn is measured in this thread's CPU time
(:func:`time.thread_time`), so a busy machine stretches its wall time but not the work done.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from textgym.envs.cat_text import CatTextEnv
from textgym.rewards.base import RewardLike, RewardModel, RewardOutput, as_reward_model


class BusyReward(RewardModel):
    """``inner``'s scores, after burning ``cpu_seconds`` of CPU time per scored (prompt, completion).

    Args:
        inner: The reward whose scores are returned unchanged.
        cpu_seconds: CPU time burnt per scored pair (a busy loop, as an LM forward would burn).

    Raises:
        ValueError: If ``cpu_seconds`` is negative.
    """

    def __init__(self, inner: RewardLike, cpu_seconds: float):
        if cpu_seconds < 0:
            raise ValueError(f"cpu_seconds must be >= 0, got {cpu_seconds}")
        self.inner = as_reward_model(inner)
        self.cpu_seconds = float(cpu_seconds)
        self.name = self.inner.name

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        burn_cpu(self.cpu_seconds * len(prompts))
        return self.inner.score(prompts, completions)


def burn_cpu(seconds: float) -> int:
    """Spin until this thread has used ``seconds`` of CPU time; return the loop count."""
    end = time.thread_time() + seconds
    count = 0
    while time.thread_time() < end:
        count += 1
    return count


def costly_cat_text(cpu_seconds: float, **kwargs: Any) -> CatTextEnv:
    """CatText whose own reward is wrapped in :class:`BusyReward` (``cpu_seconds`` per finished episode).

    A module-level function, so Ray workers import it by name (``functools.partial`` of it is an
    env factory for :class:`agents.distributed.RayVecEnv` and :func:`agents.make_env`).
    """
    env = CatTextEnv(**kwargs)
    env.reward_model = BusyReward(env.reward_model, cpu_seconds)
    return env
