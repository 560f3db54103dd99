"""SB3's PPO and A2C with the KL-to-reference penalty owned by the algorithm."""

from __future__ import annotations

from typing import Any

import stable_baselines3 as sb3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy

from agents.buffer import EpisodeRolloutBuffer
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
    * Whole-episode updates (``whole_episode_updates``): the buffer hands each minibatch's
      episode segments to the policy as token sequences (:class:`agents.segment_batch.SegmentBatch`),
      one forward each, instead of one token state per step.
    * ``load`` refuses a file saved by another algorithm (:mod:`agents.saved_class`).
    * The learning rate must be finite and positive (:mod:`agents.learning_rate`).

    Args:
        policy: Policy class or alias.
        env: Environment or id.
        *args: The SB3 algorithm's positional arguments after ``env``.
        kl: The KL settings, instead of the KL keywords.
        whole_episode_updates: Evaluate each minibatch as whole episode segments (one sequence
            per segment, built by the buffer) rather than per-step token states. ``None`` (the
            default): on exactly when the policy is :class:`agents.LMActorCriticPolicy` and the
            buffer :class:`agents.EpisodeRolloutBuffer`; ``True`` with any other pair is an
            error. Both ways give the same log-probs, values and entropies (float rounding
            aside) and run one forward per segment; ``False`` rebuilds every step's ``(L,)`` row
            and finds the segments by comparing token ids. Minibatches hold whole segments
            either way (see :class:`agents.EpisodeRolloutBuffer` for what that does to
            ``batch_size``).
        **kwargs: The KL keywords and the SB3 algorithm's keyword arguments.
    """

    def __init__(
        self,
        policy: str | type[BasePolicy],
        env: Any,
        *args: Any,
        kl: KLConfig | None = None,
        whole_episode_updates: bool | None = None,
        **kwargs: Any,
    ):
        if whole_episode_updates is not None and not isinstance(whole_episode_updates, bool):
            raise ValueError(f"whole_episode_updates must be True, False or None; got {whole_episode_updates!r}")
        # Set before SB3's __init__, which may run _setup_model; load() overwrites it with the saved value.
        self.whole_episode_updates = whole_episode_updates
        self._init_kl(kl, kwargs)
        super().__init__(policy, env, *args, **kwargs)

    def _setup_model(self) -> None:
        super()._setup_model()  # type: ignore[misc]
        self._apply_whole_episode_updates()

    def _apply_whole_episode_updates(self) -> None:
        """Tell the rollout buffer whether to yield whole segments; ValueError where it cannot."""
        setting = getattr(self, "whole_episode_updates", None)  # files saved before the option lack it
        buffer = self.rollout_buffer  # type: ignore[attr-defined]
        possible = isinstance(self.policy, LMActorCriticPolicy) and isinstance(buffer, EpisodeRolloutBuffer)  # type: ignore[attr-defined]
        if setting and not possible:
            raise ValueError(
                "whole_episode_updates=True needs agents.LMActorCriticPolicy and agents.EpisodeRolloutBuffer; got "
                f"{type(self.policy).__name__} and {type(buffer).__name__}"  # type: ignore[attr-defined]
            )
        if isinstance(buffer, EpisodeRolloutBuffer):
            buffer.whole_segments = possible if setting is None else setting


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
