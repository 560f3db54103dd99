"""The settings of a group-relative algorithm: :class:`agents.GRPO` and the methods it covers.

GRPO, RLOO, Dr. GRPO, DAPO, GSPO, CISPO and REINFORCE++ are settings of one algorithm here:
how an episode's return is compared with the other completions of its prompt, which per-token
objective it weighs, how the per-token losses are reduced, and which groups the update may
leave out. The group size itself is the env's (``agents.make_env(..., group_size=G)``): the
slots that share a prompt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from agents.grpo_objectives import IMPORTANCE_SAMPLING, LOSS_TYPES, ImportanceSampling, LossType
from textgym.validation import check_choice

Baseline = Literal["mean", "leave_one_out", "reinforce++", "reinforce++_baseline"]
Scale = Literal["group", "batch", "none"]
Aggregation = Literal["token", "sequence", "constant"]

BASELINES: tuple[Baseline, ...] = ("mean", "leave_one_out", "reinforce++", "reinforce++_baseline")
SCALES: tuple[Scale, ...] = ("group", "batch", "none")
AGGREGATIONS: tuple[Aggregation, ...] = ("token", "sequence", "constant")


@dataclass(frozen=True)
class GroupConfig:
    """How a group-relative algorithm turns a group's returns into a loss.

    >>> GroupConfig(baseline="leave_one_out", scale_rewards="none").loss_aggregation
    'token'

    Attributes:
        baseline: ``"mean"`` (GRPO, Shao et al. 2024) or ``"leave_one_out"`` (RLOO, Ahmadian et
            al. 2024), or ``"reinforce++"`` / ``"reinforce++_baseline"`` (REINFORCE++, Hu 2025,
            arXiv:2501.03262: ``R_i`` minus the batch's mean, or minus its group's mean, divided
            by the batch std of those; with ``scale_rewards="batch"`` as published, or
            ``"none"``); see :func:`agents.grpo.group_advantages`.
        scale_rewards: ``"group"`` (GRPO), ``"batch"`` or ``"none"`` (Dr. GRPO, Liu et al. 2025).
        loss_aggregation: ``"token"`` (DAPO, Yu et al. 2025), ``"sequence"`` (GRPO) or
            ``"constant"`` (Dr. GRPO); see :func:`agents.grpo.aggregate_loss`.
        loss_type: The per-token objective (:func:`agents.grpo_objectives.policy_loss`):
            ``"clip"``, PPO's clipped surrogate ``-min(r A, clip(r, 1 - low, 1 + high) A)``, or
            ``"cispo"`` (CISPO, MiniMax-M1, arXiv:2506.13585): ``-sg(min(r, 1 + high)) A log pi``,
            the clipped ratio a stop-gradient weight, so the gradient flows through ``log pi``
            only and no token's gradient is clipped away (no lower bound, as in the paper).
        importance_sampling: ``"token"`` (each token's ratio ``r_t = pi / pi_old``) or
            ``"sequence"`` (GSPO, Zheng et al. 2025, arXiv:2507.18071): every token of episode
            ``i`` uses ``s_i = exp(mean_t (log pi - log pi_old))`` over its tokens, clipped
            once per episode; GSPO's own objective pairs it with ``loss_aggregation="sequence"``
            and clip ranges of about 3e-4 / 4e-4 (GRPO's ``clip_range``, ``clip_range_high``).
        skip_zero_advantage_groups: Leave out of the minibatches every group whose advantages
            are all zero (all its completions got the same reward) when nothing else in the loss
            depends on it (no k3 KL term, no entropy bonus): its gradient is exactly zero, so
            its forward and backward are skipped, and a rollout with no signal at all takes no
            optimizer step (which would only replay Adam's momentum). Early in a sparse-reward
            task most groups carry no signal (DAPO, Yu et al. 2025, filters them too).

    Raises:
        ValueError: If an option is not one of its known values, or a REINFORCE++ baseline is
            asked to scale by the group.
        TypeError: If ``skip_zero_advantage_groups`` is not a bool.
    """

    baseline: Baseline = "mean"
    scale_rewards: Scale = "group"
    loss_aggregation: Aggregation = "token"
    skip_zero_advantage_groups: bool = True
    loss_type: LossType = "clip"
    importance_sampling: ImportanceSampling = "token"

    def __post_init__(self) -> None:
        check_choice("baseline", self.baseline, BASELINES)
        check_choice("scale_rewards", self.scale_rewards, SCALES)
        check_choice("loss_aggregation", self.loss_aggregation, AGGREGATIONS)
        check_choice("loss_type", self.loss_type, LOSS_TYPES)
        check_choice("importance_sampling", self.importance_sampling, IMPORTANCE_SAMPLING)
        if self.baseline.startswith("reinforce++") and self.scale_rewards == "group":
            raise ValueError(
                f"baseline={self.baseline!r} normalises over the batch, not the group: "
                "pass scale_rewards='batch' (REINFORCE++ as published) or 'none'"
            )
        if not isinstance(self.skip_zero_advantage_groups, bool):
            value = self.skip_zero_advantage_groups
            raise TypeError(f"skip_zero_advantage_groups must be a bool, got {value!r} ({type(value).__name__})")

    def check_group_size(self, group_size: int) -> None:
        """Refuse a group size these settings cannot work with.

        Raises:
            ValueError: If a leave-one-out baseline, a group mean under REINFORCE++ or a group
                std is asked of groups of one.
        """
        if self.baseline == "reinforce++_baseline" and group_size < 2:
            raise ValueError("baseline='reinforce++_baseline' needs group_size >= 2")
        if group_size < 2 and (self.baseline == "leave_one_out" or self.scale_rewards == "group"):
            raise ValueError(f"baseline={self.baseline!r}, scale_rewards={self.scale_rewards!r} need group_size >= 2")
