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


class RewardSplitLog(BaseCallback):
    """Logs the extrinsic and intrinsic returns of the episodes finished in each rollout.

    Reads ``info["reward_components"]`` of every finished episode (its ``"extrinsic"`` and
    ``"intrinsic"`` sums, as :class:`textgym.envs.hier_shop.HierShopLowEnv` reports them) and,
    at the end of each rollout, records their means as ``rollout/ep_extrinsic_mean`` and
    ``rollout/ep_intrinsic_mean``, apart. Rollouts in which no
    episode finished record nothing. ``history`` keeps ``(num_timesteps, extrinsic, intrinsic)``
    per rollout for learning curves.

    Args:
        prefix: Key prefix (``"rollout/"``).
    """

    def __init__(self, prefix: str = "rollout/") -> None:
        super().__init__()
        self.prefix = prefix
        self.history: list[tuple[int, float, float]] = []
        self._extrinsic: list[float] = []
        self._intrinsic: list[float] = []

    def _on_step(self) -> bool:
        for info, done in zip(self.locals["infos"], self.locals["dones"], strict=True):
            if done:
                components = info.get("reward_components")
                if components is None or "extrinsic" not in components or "intrinsic" not in components:
                    raise KeyError("a finished episode's info lacks reward_components['extrinsic'/'intrinsic']")
                self._extrinsic.append(float(components["extrinsic"]))
                self._intrinsic.append(float(components["intrinsic"]))
        return True

    def _on_rollout_end(self) -> None:
        if self._extrinsic:
            extrinsic, intrinsic = float(np.mean(self._extrinsic)), float(np.mean(self._intrinsic))
            self.logger.record(self.prefix + "ep_extrinsic_mean", extrinsic)
            self.logger.record(self.prefix + "ep_intrinsic_mean", intrinsic)
            self.history.append((self.num_timesteps, extrinsic, intrinsic))
        self._extrinsic, self._intrinsic = [], []


class ActAccuracyLog(BaseCallback):
    """Logs how often the acts the low level wrote toward were the correct ones, per rollout.

    Reads ``info["turn_act_correct"]`` of every finished agent turn (as
    :class:`textgym.envs.hier_shop.HierShopLowEnv` reports it; turns the budget cut off carry
    None and are skipped) and, at the end of each rollout, records the fraction that was True
    as ``rollout/act_accuracy``. In a hierarchy this is the accuracy of the high level's
    sampled acts on the low level's own training turns. It tells why a hierarchy fails to learn:
    a low level rewarded for following wrong acts learns to ignore them. ``history`` keeps
    ``(num_timesteps, accuracy, turns)`` per rollout; rollouts with no scored turn add nothing.

    Args:
        key: The logger key (``"rollout/act_accuracy"``).
    """

    def __init__(self, key: str = "rollout/act_accuracy") -> None:
        super().__init__()
        self.key = key
        self.history: list[tuple[int, float, int]] = []
        self._correct: list[bool] = []

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            correct = info.get("turn_act_correct")
            if correct is not None:
                self._correct.append(bool(correct))
        return True

    def _on_rollout_end(self) -> None:
        if self._correct:
            accuracy = float(np.mean(self._correct))
            self.logger.record(self.key, accuracy)
            self.history.append((self.num_timesteps, accuracy, len(self._correct)))
        self._correct = []
