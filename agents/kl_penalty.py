"""The KL-to-reference penalty, the one implementation every algorithm uses.

:class:`KLPenalty` measures the sampled KL of a rollout to the frozen reference model, logs it
(``train/kl_ref``, ``train/kl_coef``), fixes the coefficient ``beta`` the rollout is penalised
with, steps the :class:`~agents.KLController` for the next one, and applies the penalty:
to each step's reward (:meth:`KLPenalty.penalize_steps`: ``agents.PPO``, ``A2C``,
``REINFORCE``), to each episode's return or as a loss term (:meth:`KLPenalty.penalize_episodes`,
:meth:`KLPenalty.loss_term`: ``agents.GRPO``).

Design: the algorithm, not the policy, owns the penalty (:class:`KLPenaltyMixin`, attribute
``kl_penalty``). It is a plain attribute, which SB3 saves with the others and ``load`` restores
before ``_setup_model`` runs, so an adaptive coefficient continues where it was. The step-based
algorithms (:class:`StepKLPenaltyMixin`) tell the policy to keep a reference model (policy
kwarg ``build_reference``) and install the penalty as the ``before_returns`` hook of the
:class:`~agents.EpisodeRolloutBuffer` in ``_setup_model``, which SB3 runs both when an
algorithm is built and when ``load`` rebuilds one: after ``load`` the penalty is back with no
further call. Their ``collect_rollouts`` refuses a buffer without the hook (e.g. one swapped in
by hand), so a rollout cannot silently miss the penalty.

Plain SB3 algorithms (``stable_baselines3.PPO(LMActorCriticPolicy, env, ...)``) work with the
LM policy too, but apply no KL penalty and build no reference.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.vec_env import VecEnv

from agents.buffer import EpisodeRolloutBuffer
from agents.kl import KLConfig, KLController, KLEstimator
from agents.policy import LMActorCriticPolicy

if TYPE_CHECKING:
    from agents.episode_batch import EpisodeBatch


@torch.no_grad()
def sampled_kl(buffer: EpisodeRolloutBuffer, policy: LMActorCriticPolicy, chunk: int = 1024) -> np.ndarray:
    """``log pi(a|s) - log pi_ref(a|s)`` of every stored action, (buffer_size, n_envs).

    ``log pi`` is the stored sampling log-prob; the reference's is computed in chunks of
    ``chunk`` steps, as sequences rebuilt from the buffer (:meth:`EpisodeRolloutBuffer.segment_batch`).
    Steps go in env-major order so that each slot's steps are consecutive and a segment shares
    one reference forward.
    """
    if buffer.generator_ready:
        raise RuntimeError("sampled_kl reads the rollout as stored by add(): call it before get()")
    total = buffer.buffer_size * buffer.n_envs
    actions = buffer.swap_and_flatten(buffer.actions).reshape(-1)  # (n_envs * buffer_size,), env-major
    ref = np.empty(total, dtype=np.float32)
    for start in range(0, total, chunk):
        index = np.arange(start, min(start + chunk, total))
        act = torch.as_tensor(actions[index], device=policy.device)
        ref[index] = policy.reference_log_prob(buffer.segment_batch(index), act).cpu().numpy()
    ref = ref.reshape(buffer.n_envs, buffer.buffer_size).T  # back to (buffer_size, n_envs)
    return buffer.log_probs - ref


def k3_kl(log_probs: torch.Tensor, ref_log_probs: torch.Tensor) -> torch.Tensor:
    """Per-token ``exp(ref - logp) - (ref - logp) - 1`` (Schulman's k3; GRPO's KL estimate).

    An unbiased, always non-negative estimate of ``KL(pi || pi_ref)`` from tokens sampled
    from ``pi`` (Shao et al. 2024, eq. 4).
    """
    diff = ref_log_probs - log_probs
    return torch.exp(diff) - diff - 1.0


class KLPenalty:
    """One algorithm's KL penalty: its settings, its coefficient, its last measurement.

    Args:
        config: The settings.
        estimators: The estimators the owning algorithm can apply; the first is its default.
        owner: The algorithm's name, for error messages.

    Attributes:
        config: The settings.
        estimator: Where the penalty goes: ``config.estimator`` or the algorithm's default.
        controller: The coefficient beta (fixed, or adaptive toward ``config.target``); it holds
            the beta of the next rollout.
        coef: The beta of the current rollout (its rewards, or its update's loss term).
        kl_per_token: Mean sampled KL per token of the last rollout (None before the first).

    Raises:
        ValueError: If the algorithm cannot apply ``config.estimator``.
    """

    def __init__(self, config: KLConfig, estimators: tuple[KLEstimator, ...], owner: str):
        estimator = config.estimator or estimators[0]
        if estimator not in estimators:
            raise ValueError(
                f"{owner} applies the KL penalty as {' or '.join(map(repr, estimators))}, not {estimator!r}"
            )
        self.config = config
        self.estimator: KLEstimator = estimator
        self.controller = KLController(config.coef, config.target, config.horizon)
        self.coef = self.controller.coef
        self.kl_per_token: float | None = None

    @property
    def uses_reference(self) -> bool:
        """Whether the policy keeps a reference model (penalty on, or KL logged)."""
        return self.config.uses_reference

    @property
    def in_reward(self) -> bool:
        """Whether the current rollout's rewards carry the penalty."""
        return self.coef > 0 and self.estimator == "k1_reward"

    @property
    def in_loss(self) -> bool:
        """Whether the current rollout's update adds ``beta * k3`` to its loss (:meth:`loss_term`)."""
        return self.coef > 0 and self.estimator == "k3_loss"

    def measure(self, kl_per_token: float, n_tokens: int, logger: Logger) -> None:
        """Record a fresh rollout's sampled KL, fix its beta, and move beta for the next rollout."""
        self.kl_per_token = kl_per_token
        # This rollout uses the current beta; the controller then moves it (no-op when fixed).
        self.coef = self.controller.coef
        if self.controller.enabled:
            self.controller.update(kl_per_token, n_tokens)
        logger.record("train/kl_ref", kl_per_token)
        logger.record("train/kl_coef", self.coef)

    def penalize_steps(self, buffer: EpisodeRolloutBuffer, policy: LMActorCriticPolicy, logger: Logger) -> None:
        """Measure a step buffer's KL and subtract ``beta * KL`` from each step's reward."""
        kl = sampled_kl(buffer, policy)  # (buffer_size, n_envs)
        self.measure(float(kl.mean()), kl.size, logger)
        if self.in_reward:
            buffer.rewards -= (self.coef * kl).astype(np.float32)

    def penalize_episodes(self, episodes: EpisodeBatch, policy: LMActorCriticPolicy, logger: Logger) -> None:
        """Store the reference log-probs of whole episodes, measure their KL, and penalise their rewards.

        With ``"k1_reward"``, each episode's reward loses ``beta * sum_t (log pi - log pi_ref)``
        of its sampled tokens; with ``"k3_loss"`` the rewards stay and :meth:`loss_term` applies it.
        """
        episodes.ref_log_probs = torch.zeros_like(episodes.old_log_probs)
        ref, _ = episodes.action_log_probs(policy, reference=True)
        episodes.ref_log_probs[episodes.action_mask] = ref.float().cpu()
        kl = (episodes.old_log_probs - episodes.ref_log_probs) * episodes.action_mask  # (E, T)
        n_tokens = int(episodes.action_mask.sum())
        self.measure(float(kl.sum() / n_tokens), n_tokens, logger)
        if self.in_reward:
            episodes.rewards = episodes.rewards - self.coef * kl.sum(dim=1).double().numpy()

    def loss_term(self, log_probs: torch.Tensor, ref_log_probs: torch.Tensor) -> tuple[torch.Tensor, float]:
        """``beta * k3`` per token (:func:`k3_kl`) to add to the loss, and the mean k3 to log."""
        kl = k3_kl(log_probs, ref_log_probs)
        return self.coef * kl, float(kl.detach().mean())


class KLPenaltyMixin:
    """An algorithm that owns a :class:`KLPenalty` (``kl_penalty``).

    Call :meth:`_init_kl` before the SB3 constructor. ``kl_estimators`` lists the estimators the
    algorithm can apply, its default first.
    """

    kl_estimators: ClassVar[tuple[KLEstimator, ...]] = ("k1_reward",)
    kl_penalty: KLPenalty

    def _init_kl(self, kl: KLConfig | None, keywords: dict[str, Any]) -> None:
        """Build the penalty from ``kl`` or the KL keywords in ``keywords`` (taken out of it)."""
        self.kl_penalty = KLPenalty(KLConfig.from_keywords(kl, keywords), self.kl_estimators, type(self).__name__)

    def _setup_model(self) -> None:
        self._adopt_saved_kl()
        super()._setup_model()  # type: ignore[misc]

    def _adopt_saved_kl(self) -> None:
        """Take over the KL state of a file saved before :class:`KLPenalty` existed (textgym 0.1).

        Such a file holds the controller as ``kl_controller`` (and ``log_kl``, ``kl_per_token``;
        GRPO's also ``kl_coef``, ``kl_estimator``). SB3's ``load`` puts them in the instance dict,
        where this class's properties hide them, and they would be silently dropped: the run
        would continue with the default penalty instead of its own. Idempotent; a no-op on new files.
        """
        saved = self.__dict__
        controller = saved.pop("kl_controller", None)
        if controller is None:
            return
        config = KLConfig(
            coef=controller.initial_coef,
            target=controller.target,
            horizon=controller.horizon,
            estimator=saved.pop("kl_estimator", None),
            log=bool(saved.pop("log_kl", False)),
        )
        penalty = KLPenalty(config, self.kl_estimators, type(self).__name__)
        penalty.controller = controller  # the adaptive coefficient continues where it was
        penalty.coef = float(saved.pop("kl_coef", controller.coef))
        penalty.kl_per_token = saved.pop("kl_per_token", None)
        self.kl_penalty = penalty

    @property
    def uses_reference(self) -> bool:
        """Whether the policy keeps a reference model (penalty on, or KL logged)."""
        return self.kl_penalty.uses_reference

    @property
    def kl_controller(self) -> KLController:
        """The coefficient beta of the next rollout (fixed, or adaptive toward the KL target)."""
        return self.kl_penalty.controller

    @property
    def kl_coef(self) -> float:
        """The beta of the current rollout."""
        return self.kl_penalty.coef

    @property
    def kl_per_token(self) -> float | None:
        """Mean sampled KL per token of the last rollout (None before the first)."""
        return self.kl_penalty.kl_per_token


class StepKLPenaltyMixin(KLPenaltyMixin):
    """The KL penalty in the step rewards of an SB3 ``OnPolicyAlgorithm`` subclass, before returns.

    Each step's reward loses ``beta * (log pi(a|s) - log pi_ref(a|s))``, the sampled per-token KL
    to the frozen initial model (Ziegler et al. 2019, "Fine-Tuning Language Models from Human
    Preferences"). See the module docstring for how it is wired. Put it before the SB3 class in
    the bases.
    """

    def _setup_model(self) -> None:
        self._adopt_saved_kl()  # before uses_reference is read (the policy's reference depends on it)
        policy_class = self.policy_class  # type: ignore[attr-defined]
        lm_policy = isinstance(policy_class, type) and issubclass(policy_class, LMActorCriticPolicy)
        if lm_policy and self.rollout_buffer_class is None:  # type: ignore[has-type]
            self.rollout_buffer_class = EpisodeRolloutBuffer
        if self.uses_reference:
            name = type(self).__name__
            if not lm_policy:
                raise ValueError(
                    f"{name}'s KL penalty (kl_coef > 0 or log_kl=True) needs an agents.LMActorCriticPolicy; "
                    f"got {getattr(policy_class, '__name__', policy_class)}. Pass kl_coef=0, log_kl=False."
                )
            if not issubclass(self.rollout_buffer_class, EpisodeRolloutBuffer):
                raise ValueError(
                    f"{name}'s KL penalty needs rollout_buffer_class=agents.EpisodeRolloutBuffer (or a subclass); "
                    f"got {self.rollout_buffer_class.__name__}"
                )
            if self.policy_kwargs.get("build_reference") is False:  # type: ignore[has-type]
                raise ValueError("policy_kwargs build_reference=False contradicts kl_coef > 0 / log_kl=True")
            # A new dict: the caller's policy_kwargs stay untouched.
            self.policy_kwargs = {**self.policy_kwargs, "build_reference": True}  # type: ignore[has-type]
        super()._setup_model()  # type: ignore[misc]
        if self.uses_reference:
            self.rollout_buffer.before_returns = self._apply_kl_penalty

    def collect_rollouts(
        self, env: VecEnv, callback: BaseCallback, rollout_buffer: RolloutBuffer, n_rollout_steps: int
    ) -> bool:
        """SB3's rollout collection; the buffer must carry this algorithm's KL penalty."""
        self._check_kl_buffer(rollout_buffer)
        return super().collect_rollouts(env, callback, rollout_buffer, n_rollout_steps)  # type: ignore[misc]

    def _check_kl_buffer(self, rollout_buffer: RolloutBuffer) -> None:
        """Refuse a buffer that would not apply the penalty (e.g. one swapped in by hand)."""
        if self.uses_reference and getattr(rollout_buffer, "before_returns", None) != self._apply_kl_penalty:
            raise RuntimeError(
                f"{type(self).__name__} applies its KL penalty through the rollout buffer it built; "
                "this buffer does not carry it (was rollout_buffer replaced?)"
            )

    def _apply_kl_penalty(self, buffer: EpisodeRolloutBuffer) -> None:
        self.kl_penalty.penalize_steps(buffer, self.policy, self.logger)  # type: ignore[attr-defined]
