"""SB3 callbacks of the examples and the CLI."""

from __future__ import annotations

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from textgym.plotting import Curve


class RewardCurve(BaseCallback):
    """The mean training-episode reward after each rollout, as a :class:`textgym.plotting.Curve`.

    Each point is ``(num_timesteps, mean "r" of SB3's ep_info_buffer)``: the last 100 finished
    episodes, the same number SB3 logs as ``rollout/ep_rew_mean``. Rollouts before the first
    finished episode add no point.
    """

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[int] = []
        self.values: list[float] = []

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        episodes = self.model.ep_info_buffer
        if episodes:
            self.steps.append(self.num_timesteps)
            self.values.append(float(np.mean([ep["r"] for ep in episodes])))

    @property
    def curve(self) -> Curve:
        """The points so far."""
        return Curve.from_points(self.steps, self.values)
