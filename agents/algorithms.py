"""SB3's PPO and A2C with the KL-to-reference penalty owned by the algorithm."""

from __future__ import annotations

from typing import Any, ClassVar

import stable_baselines3 as sb3
from stable_baselines3.common.policies import BasePolicy

from agents.kl_penalty import KLPenaltyMixin
from agents.learning_rate import LearningRateCheckMixin
from agents.policy import LMActorCriticPolicy
from agents.saved_class import SavedClassMixin


class PPO(SavedClassMixin, LearningRateCheckMixin, KLPenaltyMixin, sb3.PPO):
    """``stable_baselines3.PPO`` plus a per-token KL penalty to the frozen initial model.

    Everything else is SB3's PPO, unchanged (``target_kl`` included: SB3's early stop of an
    update's epochs when the approximate KL between old and new policy exceeds it). What this
    class adds, for :class:`agents.LMActorCriticPolicy`:

    * the penalty ``kl_coef * (log pi - log pi_ref)`` subtracted from each step's reward before
      GAE (:class:`agents.kl_penalty.KLPenaltyMixin`), adaptive with ``kl_target``;
    * :class:`agents.EpisodeRolloutBuffer` as the default rollout buffer;
    * the policy alias ``"LMActorCriticPolicy"``.

    ``save``/``load`` keep the penalty's settings and the adaptive coefficient; a loaded model
    applies the penalty with no further call. ``load`` refuses a file saved by another algorithm
    (:mod:`agents.saved_class`), and the learning rate must be finite and positive
    (:mod:`agents.learning_rate`). Build it with :func:`agents.make_ppo` for this
    project's defaults (``kl_coef=0.05``). Plain ``stable_baselines3.PPO`` works with the LM policy
    but has no KL penalty.

    Args:
        policy: Policy class or alias.
        env: Environment or id.
        *args: SB3 PPO's positional arguments after ``env``.
        kl_coef: Initial coefficient of the per-token KL penalty (0: no penalty).
        kl_target: Target KL per token (nats) for the adaptive coefficient (Ziegler et al. 2019);
            ``None`` keeps ``kl_coef`` fixed.
        kl_horizon: Tokens over which the adaptive coefficient moves by at most 20%.
        log_kl: Keep the reference (a full model copy) to log ``train/kl_ref`` even when
            ``kl_coef`` is 0. With ``kl_coef > 0`` the KL is always logged.
        **kwargs: SB3 PPO's keyword arguments.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        **sb3.PPO.policy_aliases,
        "LMActorCriticPolicy": LMActorCriticPolicy,
    }

    def __init__(
        self,
        policy: str | type[BasePolicy],
        env: Any,
        *args: Any,
        kl_coef: float = 0.0,
        kl_target: float | None = None,
        kl_horizon: int = 10_000,
        log_kl: bool = False,
        **kwargs: Any,
    ):
        self._init_kl(kl_coef, kl_target, kl_horizon, log_kl)
        super().__init__(policy, env, *args, **kwargs)


class A2C(SavedClassMixin, LearningRateCheckMixin, KLPenaltyMixin, sb3.A2C):
    """``stable_baselines3.A2C`` plus a per-token KL penalty to the frozen initial model.

    As :class:`agents.PPO`: SB3's A2C unchanged, plus the penalty, the episode buffer as default
    rollout buffer, the ``"LMActorCriticPolicy"`` alias, the check of the saving class in ``load``
    and of the learning rate. :func:`agents.make_a2c` sets this
    project's defaults (``kl_coef=0.05``, AdamW).

    Args:
        policy: Policy class or alias.
        env: Environment or id.
        *args: SB3 A2C's positional arguments after ``env``.
        kl_coef: Initial coefficient of the per-token KL penalty (0: no penalty).
        kl_target: Target KL per token for the adaptive coefficient; ``None`` keeps it fixed.
        kl_horizon: Tokens over which the adaptive coefficient moves by at most 20%.
        log_kl: Keep the reference to log ``train/kl_ref`` even when ``kl_coef`` is 0.
        **kwargs: SB3 A2C's keyword arguments.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        **sb3.A2C.policy_aliases,
        "LMActorCriticPolicy": LMActorCriticPolicy,
    }

    def __init__(
        self,
        policy: str | type[BasePolicy],
        env: Any,
        *args: Any,
        kl_coef: float = 0.0,
        kl_target: float | None = None,
        kl_horizon: int = 10_000,
        log_kl: bool = False,
        **kwargs: Any,
    ):
        self._init_kl(kl_coef, kl_target, kl_horizon, log_kl)
        super().__init__(policy, env, *args, **kwargs)
