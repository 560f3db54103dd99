"""The KL-to-reference settings (:class:`KLConfig`) and coefficient (:class:`KLController`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from textgym.validation import check_float, check_int

#: Where the penalty goes: ``"k1_reward"`` subtracts ``beta * (log pi - log pi_ref)`` of each
#: sampled token from the reward; ``"k3_loss"`` adds ``beta * k3`` per token to the loss (GRPO).
KLEstimator = Literal["k1_reward", "k3_loss"]

#: The algorithms' keyword arguments for the KL settings, and the :class:`KLConfig` field of each.
KL_KEYWORDS = {
    "kl_coef": "coef",
    "kl_target": "target",
    "kl_horizon": "horizon",
    "kl_estimator": "estimator",
    "log_kl": "log",
}


def check_kl_coefficient(coef: Any, target: Any, horizon: Any) -> tuple[float, float | None, int]:
    """``(coef, target, horizon)`` checked and converted: the one check of every KL setting's value.

    Raises:
        ValueError: If ``coef`` is not a finite number >= 0, ``target`` not a finite number > 0
            (or set while ``coef`` is 0), or ``horizon`` is below 1.
        TypeError: If one of them is not a number, or ``horizon`` is not an integer.
    """
    # NaN would switch the penalty off (NaN > 0 is False) and inf turns every weight into NaN
    # after one update, so both are refused here, where every algorithm's KL settings pass.
    coef = check_float("kl_coef", coef, non_negative=True)
    if target is not None:
        target = check_float("kl_target", target, positive=True)
    if target is not None and coef == 0:
        raise ValueError("an adaptive KL coefficient needs kl_coef > 0 to start from")
    return coef, target, check_int("kl_horizon", horizon)


@dataclass(frozen=True)
class KLConfig:
    """The settings of the per-token KL penalty to the frozen initial (reference) model.

    Every algorithm takes them as ``kl=KLConfig(...)`` or as the keywords of
    :data:`KL_KEYWORDS` (``kl_coef=``, ``kl_target=``, ``kl_horizon=``, ``kl_estimator=``,
    ``log_kl=``), not both.

    Attributes:
        coef: Coefficient beta of the penalty (0: no penalty); with ``target``, its starting value.
        target: Target sampled KL per token (nats) of an adaptive beta (:class:`KLController`);
            ``None`` keeps beta fixed.
        horizon: Tokens over which the adaptive beta moves by at most 20%.
        estimator: Where the penalty goes (:data:`KLEstimator`); ``None``: the algorithm's
            default (``"k1_reward"``; ``"k3_loss"`` for :class:`agents.GRPO`).
        log: Keep the reference (a full model copy) to log ``train/kl_ref`` even when ``coef`` is 0.

    Raises:
        ValueError: As :func:`check_kl_coefficient`, or for an unknown ``estimator``.
        TypeError: As :func:`check_kl_coefficient`, or if ``log`` is not a bool.
    """

    coef: float = 0.0
    target: float | None = None
    horizon: int = 10_000
    estimator: KLEstimator | None = None
    log: bool = False

    def __post_init__(self) -> None:
        coef, target, horizon = check_kl_coefficient(self.coef, self.target, self.horizon)
        # frozen: the checked values replace the given ones through object.__setattr__
        object.__setattr__(self, "coef", coef)
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "horizon", horizon)
        if self.estimator not in (None, "k1_reward", "k3_loss"):
            raise ValueError(f"kl_estimator must be 'k1_reward' or 'k3_loss', got {self.estimator!r}")
        if not isinstance(self.log, bool):
            raise TypeError(f"log_kl must be a bool, got {self.log!r} ({type(self.log).__name__})")

    @property
    def uses_reference(self) -> bool:
        """Whether the policy must keep a reference model (penalty on, or KL logged)."""
        return self.coef > 0 or self.log

    @classmethod
    def from_keywords(cls, kl: KLConfig | None, keywords: dict[str, Any]) -> KLConfig:
        """``kl``, or a config from the KL keywords in ``keywords`` (taken out of it).

        Raises:
            TypeError: If ``kl`` is given together with KL keywords, or is not a :class:`KLConfig`.
        """
        given = {KL_KEYWORDS[key]: keywords.pop(key) for key in list(keywords) if key in KL_KEYWORDS}
        if kl is None:
            return cls(**given)
        if not isinstance(kl, KLConfig):
            raise TypeError(f"kl must be an agents.KLConfig, got {type(kl).__name__}")
        if given:
            names = sorted(key for key, name in KL_KEYWORDS.items() if name in given)
            raise TypeError(f"pass the KL settings as kl=KLConfig(...) or as keywords, not both: got kl and {names}")
        return kl


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
        ValueError: As :func:`check_kl_coefficient`.
        TypeError: As :func:`check_kl_coefficient`.
    """

    initial_coef: float = 0.0
    target: float | None = None
    horizon: int = 10_000
    coef: float = field(init=False)

    def __post_init__(self) -> None:
        self.initial_coef, self.target, self.horizon = check_kl_coefficient(
            self.initial_coef, self.target, self.horizon
        )
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
