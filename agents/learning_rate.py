"""The learning-rate check every agents algorithm runs when it is built or loaded.

A learning rate of ``inf`` or NaN turns every weight into NaN in the first update, and 0 or a
negative one trains nothing or climbs the loss; SB3 accepts all four. :class:`LearningRateCheckMixin`
refuses them in ``_setup_lr_schedule``, the step of SB3's ``_setup_model`` that reads the
learning rate first (before any buffer, policy or model is built), so one method covers
:class:`agents.PPO`, :class:`agents.A2C`, :class:`agents.REINFORCE`, :class:`agents.GRPO`, their
factories and the Ray variants that inherit them, whether the rate was given positionally, by
keyword or restored by ``load``.
"""

from __future__ import annotations

from typing import Any

from stable_baselines3.common.type_aliases import Schedule

from textgym.validation import check_float


def check_learning_rate(value: float | Schedule) -> float | Schedule:
    """``value`` unchanged, if it is a finite positive number or a schedule that starts at one.

    A schedule (SB3's convention: a callable of the progress remaining, 1.0 at the start of
    training and 0.0 at its end) is called once, at 1.0, and its value checked: the rate it
    starts with. Its later values are not checked, since a schedule that decays to exactly 0
    at the end (SB3's ``LinearSchedule(..., end=0)``) is legitimate.

    >>> check_learning_rate(3e-4)
    0.0003
    >>> check_learning_rate(float("inf"))
    Traceback (most recent call last):
    ...
    ValueError: learning_rate must be a finite number, got inf

    Raises:
        TypeError: If ``value`` is neither a real number nor a callable (or the schedule's value
            is not a real number).
        ValueError: If the rate (or the schedule's value at 1.0) is NaN, infinite or not > 0.
    """
    if callable(value):
        check_float("learning_rate (the schedule's value at progress_remaining=1.0)", value(1.0), positive=True)
        return value
    check_float("learning_rate", value, positive=True)
    return value


class LearningRateCheckMixin:
    """Refuse a non-finite or non-positive learning rate before SB3 builds anything with it.

    Put it before the SB3 algorithm in the bases.
    """

    learning_rate: Any

    def _setup_lr_schedule(self) -> None:
        check_learning_rate(self.learning_rate)
        super()._setup_lr_schedule()  # type: ignore[misc]
