"""The KL-to-reference coefficient: fixed, or adapted toward a target KL per token."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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
    """

    initial_coef: float = 0.0
    target: float | None = None
    horizon: int = 10_000
    coef: float = field(init=False)

    def __post_init__(self) -> None:
        if self.initial_coef < 0:
            raise ValueError(f"kl_coef must be >= 0, got {self.initial_coef}")
        if self.target is not None and self.target <= 0:
            raise ValueError(f"kl_target must be > 0, got {self.target}")
        if self.target is not None and self.initial_coef == 0:
            raise ValueError("an adaptive KL coefficient needs kl_coef > 0 to start from")
        if self.horizon <= 0:
            raise ValueError(f"kl_horizon must be > 0, got {self.horizon}")
        self.coef = float(self.initial_coef)

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
