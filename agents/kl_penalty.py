"""The KL-to-reference reward penalty, owned by the algorithm (``agents.PPO``, ``A2C``, ``REINFORCE``).

Design: the algorithm, not the policy, holds the penalty's settings and its
:class:`~agents.KLController`. In ``_setup_model`` — which SB3 runs both when an algorithm is
built and when ``load`` rebuilds one — it tells the policy to keep a frozen reference model
(policy kwarg ``build_reference``) and installs :meth:`KLPenaltyMixin._apply_kl_penalty` as
the ``before_returns`` hook of the :class:`~agents.EpisodeRolloutBuffer` it has just built.
So after ``load`` the penalty is back with no further call, and there is no flag for the
policy to check. The controller is a plain attribute of the algorithm, which SB3 saves with
its other attributes and ``load`` restores before ``_setup_model`` runs, so an adaptive
coefficient continues where it was. :meth:`KLPenaltyMixin.collect_rollouts` refuses a buffer
without the hook (e.g. one swapped in by hand), so a rollout cannot silently miss the penalty.

Plain SB3 algorithms (``stable_baselines3.PPO(LMActorCriticPolicy, env, ...)``) work with the
LM policy too, but apply no KL penalty and build no reference.
"""

from __future__ import annotations

import numpy as np
import torch
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv

from agents.buffer import EpisodeRolloutBuffer
from agents.kl import KLController
from agents.policy import LMActorCriticPolicy


@torch.no_grad()
def sampled_kl(buffer: EpisodeRolloutBuffer, policy: LMActorCriticPolicy, chunk: int = 1024) -> np.ndarray:
    """``log pi(a|s) - log pi_ref(a|s)`` of every stored action, (buffer_size, n_envs).

    ``log pi`` is the stored sampling log-prob; the reference's is computed in chunks of
    ``chunk`` rows, rebuilt from the buffer. Rows go in env-major order so that each slot's
    steps are consecutive and a segment shares one reference forward.
    """
    if buffer.generator_ready:
        raise RuntimeError("sampled_kl reads the rollout as stored by add(): call it before get()")
    total = buffer.buffer_size * buffer.n_envs
    actions = buffer.swap_and_flatten(buffer.actions).reshape(-1)  # (n_envs * buffer_size,), env-major
    ref = np.empty(total, dtype=np.float32)
    for start in range(0, total, chunk):
        index = np.arange(start, min(start + chunk, total))
        obs = {k: torch.as_tensor(v, device=policy.device) for k, v in buffer.rows(index).items()}
        act = torch.as_tensor(actions[index], device=policy.device)
        ref[index] = policy.reference_log_prob(obs, act).cpu().numpy()
    ref = ref.reshape(buffer.n_envs, buffer.buffer_size).T  # back to (buffer_size, n_envs)
    return buffer.log_probs - ref


class KLPenaltyMixin:
    """Per-token KL-to-reference reward penalty for an SB3 ``OnPolicyAlgorithm`` subclass.

    Before returns are computed, each step's reward loses ``beta * (log pi(a|s) - log
    pi_ref(a|s))``, the sampled per-token KL to the frozen initial model (Ziegler et al. 2019,
    "Fine-Tuning Language Models from Human Preferences"); ``train/kl_ref`` (mean per token) and
    ``train/kl_coef`` are logged every rollout and ``beta`` adapts when ``kl_target`` is set.
    See the module docstring for how it is wired. Put it first in the bases, and call
    :meth:`_init_kl` before the SB3 constructor.

    Attributes:
        kl_controller: The coefficient ``beta`` (fixed, or adaptive toward ``kl_target``).
        log_kl: Keep the reference to log ``train/kl_ref`` even when ``kl_coef`` is 0.
        kl_per_token: Mean sampled KL per token of the last rollout (None before the first).
    """

    kl_controller: KLController
    log_kl: bool
    kl_per_token: float | None

    def _init_kl(self, kl_coef: float, kl_target: float | None, kl_horizon: int, log_kl: bool) -> None:
        self.kl_controller = KLController(kl_coef, kl_target, kl_horizon)
        self.log_kl = log_kl
        self.kl_per_token = None

    @property
    def uses_reference(self) -> bool:
        """Whether the policy keeps a reference model (penalty on, or KL logged)."""
        return self.kl_controller.enabled or self.log_kl

    def _setup_model(self) -> None:
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
        if self.uses_reference and getattr(rollout_buffer, "before_returns", None) != self._apply_kl_penalty:
            raise RuntimeError(
                f"{type(self).__name__} applies its KL penalty through the rollout buffer it built; "
                "this buffer does not carry it (was rollout_buffer replaced?)"
            )
        return super().collect_rollouts(env, callback, rollout_buffer, n_rollout_steps)  # type: ignore[misc]

    def _apply_kl_penalty(self, buffer: EpisodeRolloutBuffer) -> None:
        """Subtract ``beta * KL`` from each step's reward, log the KL, adapt ``beta``."""
        kl = sampled_kl(buffer, self.policy)  # type: ignore[attr-defined]  # (buffer_size, n_envs)
        self.kl_per_token = float(kl.mean())
        coef = self.kl_controller.coef
        if self.kl_controller.enabled:
            buffer.rewards -= (coef * kl).astype(np.float32)
            self.kl_controller.update(self.kl_per_token, kl.size)
        self.logger.record("train/kl_ref", self.kl_per_token)  # type: ignore[attr-defined]
        self.logger.record("train/kl_coef", coef)  # type: ignore[attr-defined]
