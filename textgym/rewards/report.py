"""The record of how a learned reward model was trained.

It lives apart from :mod:`textgym.rewards.training` (which writes it) and
:mod:`textgym.rewards.learned` (which saves and loads it with the model), so that neither
of those has to import the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrainingReport:
    """What :func:`~textgym.rewards.train_reward_model` did, and how well the result ranks held-out feedback."""

    n_train: int
    n_val: int
    kinds: dict[str, int]
    epoch_losses: list[float]
    epoch_val_accuracy: list[float]
    val_pairwise_accuracy: float | None
    val_pairs: int
    val_pairs_sampled: bool
    rating_mean: float | None
    rating_std: float | None
    seconds: float
    config: dict[str, Any] = field(default_factory=dict)
