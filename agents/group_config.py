"""The settings of a group-relative algorithm (:class:`agents.GRPO`, RLOO, Dr. GRPO, DAPO).

How an episode's return is compared with the other completions of its prompt, how its
per-token losses are reduced, and which groups the update may leave out. The group size
itself is the env's (``agents.make_env(..., group_size=G)``): the slots that share a prompt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from textgym.validation import check_choice

Baseline = Literal["mean", "leave_one_out"]
Scale = Literal["group", "batch", "none"]
Aggregation = Literal["token", "sequence", "constant"]

BASELINES: tuple[Baseline, ...] = ("mean", "leave_one_out")
SCALES: tuple[Scale, ...] = ("group", "batch", "none")
AGGREGATIONS: tuple[Aggregation, ...] = ("token", "sequence", "constant")


@dataclass(frozen=True)
class GroupConfig:
    """How a group-relative algorithm turns a group's returns into a loss.

    >>> GroupConfig(baseline="leave_one_out", scale_rewards="none").loss_aggregation
    'token'

    Attributes:
        baseline: ``"mean"`` (GRPO, Shao et al. 2024) or ``"leave_one_out"`` (RLOO, Ahmadian et
            al. 2024); see :func:`agents.grpo.group_advantages`.
        scale_rewards: ``"group"`` (GRPO), ``"batch"`` or ``"none"`` (Dr. GRPO, Liu et al. 2025).
        loss_aggregation: ``"token"`` (DAPO, Yu et al. 2025), ``"sequence"`` (GRPO) or
            ``"constant"`` (Dr. GRPO); see :func:`agents.grpo.aggregate_loss`.
        skip_zero_advantage_groups: Leave out of the minibatches every group whose advantages
            are all zero (all its completions got the same reward) when nothing else in the loss
            depends on it (no k3 KL term, no entropy bonus): its gradient is exactly zero, so
            its forward and backward are skipped, and a rollout with no signal at all takes no
            optimizer step (which would only replay Adam's momentum). Early in a sparse-reward
            task most groups carry no signal (DAPO, Yu et al. 2025, filters them too).

    Raises:
        ValueError: If an option is not one of its known values.
        TypeError: If ``skip_zero_advantage_groups`` is not a bool.
    """

    baseline: Baseline = "mean"
    scale_rewards: Scale = "group"
    loss_aggregation: Aggregation = "token"
    skip_zero_advantage_groups: bool = True

    def __post_init__(self) -> None:
        check_choice("baseline", self.baseline, BASELINES)
        check_choice("scale_rewards", self.scale_rewards, SCALES)
        check_choice("loss_aggregation", self.loss_aggregation, AGGREGATIONS)
        if not isinstance(self.skip_zero_advantage_groups, bool):
            value = self.skip_zero_advantage_groups
            raise TypeError(f"skip_zero_advantage_groups must be a bool, got {value!r} ({type(value).__name__})")

    def check_group_size(self, group_size: int) -> None:
        """Refuse a group size these settings cannot work with.

        Raises:
            ValueError: If a leave-one-out baseline or a group std is asked of groups of one.
        """
        if group_size < 2 and (self.baseline == "leave_one_out" or self.scale_rewards == "group"):
            raise ValueError(f"baseline={self.baseline!r}, scale_rewards={self.scale_rewards!r} need group_size >= 2")
