"""SB3's PPO and A2C with the KL-to-reference penalty owned by the algorithm."""

from __future__ import annotations

from typing import Any

import stable_baselines3 as sb3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy

from agents.kl import KLConfig
from agents.kl_penalty import StepKLPenaltyMixin
from agents.learning_rate import LearningRateCheckMixin
from agents.policy import LMActorCriticPolicy
from agents.saved_class import SavedClassMixin


def lm_policy_aliases(base: type[BaseAlgorithm]) -> dict[str, type[BasePolicy]]:
    """``base``'s policy aliases plus ``"LMActorCriticPolicy"``."""
    return {**base.policy_aliases, "LMActorCriticPolicy": LMActorCriticPolicy}


class LMAlgorithmMixin(SavedClassMixin, LearningRateCheckMixin, StepKLPenaltyMixin):
    """What this project adds to a step-based SB3 ``OnPolicyAlgorithm``; put it first in the bases.

    * The KL penalty in the step rewards (:class:`agents.kl_penalty.StepKLPenaltyMixin`), set by
      ``kl=KLConfig(...)`` or the keywords ``kl_coef``, ``kl_target``, ``kl_horizon``, ``log_kl``
      (:class:`agents.KLConfig`); :class:`agents.EpisodeRolloutBuffer` as the default rollout
      buffer for the LM policy.
    * ``load`` refuses a file saved by another algorithm (:mod:`agents.saved_class`).
    * The learning rate must be finite and positive (:mod:`agents.learning_rate`).

    Args:
        policy: Policy class or alias.
        env: Environment or id.
        *args: The SB3 algorithm's positional arguments after ``env``.
        kl: The KL settings, instead of the KL keywords.
        **kwargs: The KL keywords and the SB3 algorithm's keyword arguments.
    """

    def __init__(self, policy: str | type[BasePolicy], env: Any, *args: Any, kl: KLConfig | None = None, **kwargs: Any):
        self._init_kl(kl, kwargs)
        super().__init__(policy, env, *args, **kwargs)


class PPO(LMAlgorithmMixin, sb3.PPO):
    """``stable_baselines3.PPO`` plus a per-token KL penalty to the frozen initial model.

    Everything else is SB3's PPO, unchanged (``target_kl`` included: SB3's early stop of an
    update's epochs when the approximate KL between old and new policy exceeds it; the penalty's
    adaptive target is ``kl_target``). See :class:`LMAlgorithmMixin` for what this class adds and
    its arguments. ``save``/``load`` keep the penalty's settings and the adaptive coefficient; a
    loaded model applies the penalty with no further call. Build it with :func:`agents.make_ppo`
    for this project's defaults (``kl_coef=0.05``). Plain ``stable_baselines3.PPO`` works with
    the LM policy but has no KL penalty.
    """

    policy_aliases = lm_policy_aliases(sb3.PPO)


class A2C(LMAlgorithmMixin, sb3.A2C):
    """``stable_baselines3.A2C`` plus a per-token KL penalty to the frozen initial model.

    As :class:`agents.PPO` (:class:`LMAlgorithmMixin`). :func:`agents.make_a2c` sets this
    project's defaults (``kl_coef=0.05``, AdamW).
    """

    policy_aliases = lm_policy_aliases(sb3.A2C)
