"""REINFORCE with reward-to-go and a learned value baseline, as an SB3 algorithm."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy, MultiInputActorCriticPolicy
from stable_baselines3.common.type_aliases import GymEnv, Schedule
from torch.nn import functional as F

from agents.algorithms import LMAlgorithmMixin
from agents.kl import KLConfig
from agents.on_policy import whole_return_settings
from agents.policy import LMActorCriticPolicy
from textgym.validation import check_int


class REINFORCE(LMAlgorithmMixin, OnPolicyAlgorithm):
    """Monte-Carlo policy gradient (Williams 1992) with a learned baseline.

    The gradient estimate is ``mean_t (G_t - V(s_t)) * grad log pi(a_t | s_t)`` with the
    reward-to-go ``G_t = sum_k gamma^k r_{t+k}``; the baseline ``V`` is trained by regression
    on ``G_t`` and subtracting it leaves the estimate unbiased while lowering its variance
    (Sutton & Barto 2018, sec. 13.4). Returns come from SB3's buffer with ``gae_lambda=1``,
    which is exactly the reward-to-go within an episode; only where the rollout cuts an
    episode, or the env truncates it, is the tail replaced by the value estimate
    (bootstrapping), never at termination (EOS). One gradient step per rollout.

    With :class:`agents.LMActorCriticPolicy`, the per-token KL penalty to the frozen initial model
    is applied to the rewards as in :class:`agents.PPO` (:class:`agents.algorithms.LMAlgorithmMixin`;
    :func:`agents.make_reinforce` sets ``kl_coef=0.05``), and :class:`agents.EpisodeRolloutBuffer`
    is the default rollout buffer. ``load`` refuses a file saved by another algorithm
    (:mod:`agents.saved_class`).

    Args:
        policy: Policy class or alias (``"LMActorCriticPolicy"``, ``"MlpPolicy"``, ...).
        env: Environment or id.
        learning_rate: Learning rate (finite, > 0) or schedule (checked at its start).
        n_steps: Steps per env per rollout (an integer >= 1).
        gamma: Discount.
        ent_coef: Entropy bonus weight.
        vf_coef: Value-loss weight.
        max_grad_norm: Gradient clipping.
        normalize_advantage: Standardize ``G_t - V(s_t)`` within the rollout.
        rollout_buffer_class: Buffer class (default ``agents.EpisodeRolloutBuffer`` for LM policies).
        rollout_buffer_kwargs: Its keyword arguments.
        stats_window_size: Episodes averaged in the logs.
        tensorboard_log: TensorBoard directory.
        policy_kwargs: Policy keyword arguments.
        verbose: Verbosity.
        seed: Random seed.
        device: Torch device.
        _init_setup_model: Build the networks now (SB3 convention).
        kl: The KL settings (:class:`agents.KLConfig`), instead of the KL keywords.
        **kl_keywords: ``kl_coef``, ``kl_target``, ``kl_horizon``, ``log_kl`` (:class:`agents.KLConfig`).
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": ActorCriticPolicy,
        "MultiInputPolicy": MultiInputActorCriticPolicy,
        "LMActorCriticPolicy": LMActorCriticPolicy,
    }

    def __init__(
        self,
        policy: str | type[ActorCriticPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = 1e-4,
        n_steps: int = 256,
        gamma: float = 1.0,
        ent_coef: float = 0.0,
        vf_coef: float = 0.5,
        max_grad_norm: float = 0.5,
        normalize_advantage: bool = True,
        rollout_buffer_class: type[RolloutBuffer] | None = None,
        rollout_buffer_kwargs: dict[str, Any] | None = None,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: torch.device | str = "auto",
        _init_setup_model: bool = True,
        kl: KLConfig | None = None,
        **kl_keywords: Any,
    ):
        settings = whole_return_settings(
            locals(),
            n_steps=check_int("n_steps", n_steps),
            gamma=gamma,
            vf_coef=vf_coef,
            rollout_buffer_class=rollout_buffer_class,
            rollout_buffer_kwargs=rollout_buffer_kwargs,
            supported_action_spaces=(spaces.Discrete, spaces.Box, spaces.MultiDiscrete, spaces.MultiBinary),
        )
        super().__init__(policy, env, kl=kl, **settings, **kl_keywords)
        self.normalize_advantage = normalize_advantage
        if _init_setup_model:
            self._setup_model()

    def train(self) -> None:
        """One policy-gradient step on the whole rollout."""
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        for data in self.rollout_buffer.get(batch_size=None):
            actions = data.actions
            if isinstance(self.action_space, spaces.Discrete):
                actions = actions.long().flatten()
            values, log_prob, entropy = self.policy.evaluate_actions(data.observations, actions)
            values = values.flatten()
            # G_t - V(s_t): the baseline is a constant w.r.t. the policy gradient.
            advantages = data.returns - values.detach()
            if self.normalize_advantage and len(advantages) > 1:
                advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
            policy_loss = -(advantages * log_prob).mean()
            value_loss = F.mse_loss(data.returns, values)
            entropy_loss = -torch.mean(-log_prob) if entropy is None else -torch.mean(entropy)
            loss = policy_loss + self.ent_coef * entropy_loss + self.vf_coef * value_loss
            self.policy.optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
            self.policy.optimizer.step()
        self._n_updates += 1
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/policy_loss", policy_loss.item())
        self.logger.record("train/value_loss", value_loss.item())
        self.logger.record("train/entropy_loss", entropy_loss.item())
        self.logger.record("train/advantage_std", float(np.std((data.returns - values.detach()).cpu().numpy())))
