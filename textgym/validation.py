"""Checks of user settings, one rule each, shared by the envs, the agents and the CLI.

* Counts (``n_envs``, ``group_size``, ``max_new_tokens``, timesteps, ...) must be Python or
  numpy integers: a float is refused even when it is integral (``2.0``), and so is a bool, so
  that ``max_new_tokens=2.7`` can never silently become 2.
* Rates and coefficients must be finite real numbers (no NaN, no inf), positive or
  non-negative as the setting needs.
* Options named by a string must be one of the known ones.

Each check raises ``ValueError`` (``TypeError`` for a value of the wrong type) with a message
that names the setting and the value it got.
"""

from __future__ import annotations

import math
import numbers
from typing import Any


def check_int(name: str, value: Any, minimum: int | None = 1) -> int:
    """``value`` as an int, if it is an integer (not a bool, not a float) and at least ``minimum``.

    ``minimum=None`` checks the type only, for an index whose range the caller checks with a
    message of its own.

    >>> check_int("n_envs", 4)
    4
    >>> check_int("max_new_tokens", 2.7)
    Traceback (most recent call last):
    ...
    TypeError: max_new_tokens must be an integer, got 2.7 (float)

    Raises:
        TypeError: If ``value`` is not an integer.
        ValueError: If it is below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_float(name: str, value: Any, *, positive: bool = False, non_negative: bool = False) -> float:
    """``value`` as a float, if it is a finite real number (and positive / non-negative when asked).

    >>> check_float("learning_rate", 3e-4, positive=True)
    0.0003
    >>> check_float("kl_coef", float("nan"), non_negative=True)
    Traceback (most recent call last):
    ...
    ValueError: kl_coef must be a finite number, got nan

    Raises:
        TypeError: If ``value`` is not a real number.
        ValueError: If it is NaN or infinite, or not positive / non-negative as asked.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{name} must be a finite number, got {out}")
    if positive and out <= 0:
        raise ValueError(f"{name} must be > 0, got {out}")
    if non_negative and out < 0:
        raise ValueError(f"{name} must be >= 0, got {out}")
    return out


def check_choice(name: str, value: Any, choices: tuple[Any, ...]) -> Any:
    """``value``, if it is one of ``choices``.

    >>> check_choice("baseline", "mean", ("mean", "leave_one_out"))
    'mean'
    >>> check_choice("baseline", "median", ("mean", "leave_one_out"))
    Traceback (most recent call last):
    ...
    ValueError: baseline must be one of ('mean', 'leave_one_out'), got 'median'

    Raises:
        ValueError: If it is not.
    """
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value
