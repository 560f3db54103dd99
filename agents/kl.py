"""The KL-to-reference coefficient: fixed, or adapted toward a target KL per token."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from textgym.validation import check_float, check_int


@dataclass
class KLController:
    """Coefficient ``beta`` of the per-token penalty ``beta * (log pi - log pi_ref)``.

    With ``target`` set, ``beta`` follows the proportional controller of Ziegler et al. (2019),
    "Fine-Tuning Language Models from Human Preferences", sec. 2.2:
    ``e = clip(KL / target - 1, -0.2, 0.2)``, ``beta <- beta * (1 + e * n_tokens / horizon)``.

    Attributes:
        initial_coef: Starting coefficient.
        target: Target KL per token (nats); ``None`` keeps ``beta`` fixed. The algorithms'
            ``kl_target`` (not SB3 PPO's ``target_kl``, which stops an update's epochs early).
        horizon: Tokens over which the controller moves ``beta`` by at most 20%.

    Raises:
        ValueError: If ``initial_coef`` is not a finite number >= 0, ``target`` not a finite
            number > 0 (or set while ``initial_coef`` is 0), or ``horizon`` is below 1.
        TypeError: If one of them is not a number, or ``horizon`` is not an integer.
    """

    initial_coef: float = 0.0
    target: float | None = None
    horizon: int = 10_000
    coef: float = field(init=False)

    def __post_init__(self) -> None:
        # NaN would switch the penalty off (NaN > 0 is False) and inf turns every weight into NaN
        # after one update, so both are refused here, where every algorithm's KL settings pass (issue 30).
        self.initial_coef = check_float("kl_coef", self.initial_coef, non_negative=True)
        if self.target is not None:
            self.target = check_float("kl_target", self.target, positive=True)
        if self.target is not None and self.initial_coef == 0:
            raise ValueError("an adaptive KL coefficient needs kl_coef > 0 to start from")
        self.horizon = check_int("kl_horizon", self.horizon)
        self.coef = self.initial_coef

    @property
    def enabled(self) -> bool:
        """Whether the penalty is applied at all."""
        return self.initial_coef > 0

    def update(self, kl_per_token: float, n_tokens: int) -> None:
        """Adapt ``coef`` after a rollout with mean KL ``kl_per_token`` over ``n_tokens``."""
        if self.target is None:
            return
        error = float(np.clip(kl_per_token / self.target - 1.0, -0.2, 0.2))
        self.coef *= 1.0 + error * n_tokens / self.horizon
