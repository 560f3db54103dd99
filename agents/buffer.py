"""Rollout buffer that yields whole episode segments, and applies the KL penalty."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.buffers import DictRolloutBuffer
from stable_baselines3.common.type_aliases import DictRolloutBufferSamples

if TYPE_CHECKING:
    from stable_baselines3.common.base_class import BaseAlgorithm


class EpisodeRolloutBuffer(DictRolloutBuffer):
    """A ``DictRolloutBuffer`` whose minibatches are made of whole episode segments.

    A segment is the run of consecutive steps of one env slot inside this rollout that
    belong to one episode (an episode cut by the rollout's start or end gives a shorter
    segment). Minibatches take segments in shuffled order, each kept whole and in time order,
    so the policy can evaluate a segment with one forward pass over its last sequence.
    A minibatch holds at most ``batch_size`` steps unless one segment alone is longer.

    Token ids are stored as int64 (SB3 stores observations as float32).

    When attached to an algorithm (:func:`agents.attach`, done by ``make_ppo`` and friends)
    whose policy holds a reference model, :meth:`compute_returns_and_advantage` first
    subtracts ``beta * (log pi(a|s) - log pi_ref(a|s))`` from each step's reward (the sampled
    per-token KL; Ziegler et al. 2019), logs ``train/kl_ref`` and ``train/kl_coef``, and
    adapts ``beta``.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        self.algorithm: BaseAlgorithm | None = None
        self.kl_per_token: float | None = None
        super().__init__(*args, **kwargs)

    def reset(self) -> None:
        """Allocate storage; observations keep their integer dtype."""
        super().reset()
        for key, shape in self.obs_shape.items():
            space = self.observation_space[key] if isinstance(self.observation_space, spaces.Dict) else None
            dtype = space.dtype if space is not None else np.float32
            self.observations[key] = np.zeros((self.buffer_size, self.n_envs, *shape), dtype=dtype)

    def attach(self, algorithm: BaseAlgorithm) -> None:
        """Give the buffer the algorithm whose policy and logger the KL penalty uses."""
        self.algorithm = algorithm

    # ----- segments -----
    def segments(self) -> list[np.ndarray]:
        """Flat indices (env-major, as after ``swap_and_flatten``) of each episode segment."""
        out = []
        for env in range(self.n_envs):
            starts = np.flatnonzero(self.episode_starts[:, env])
            bounds = np.unique(np.concatenate([[0], starts, [self.buffer_size]]))
            base = env * self.buffer_size
            out += [np.arange(base + a, base + b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        return out

    def get(self, batch_size: int | None = None) -> Generator[DictRolloutBufferSamples, None, None]:
        """Yield minibatches of whole segments in shuffled order (all at once if None)."""
        assert self.full, "the rollout buffer is not full"
        segments = self.segments()
        if not self.generator_ready:
            for key, obs in self.observations.items():
                self.observations[key] = self.swap_and_flatten(obs)
            for name in ("actions", "values", "log_probs", "advantages", "returns"):
                self.__dict__[name] = self.swap_and_flatten(self.__dict__[name])
            self.generator_ready = True
        total = self.buffer_size * self.n_envs
        if batch_size is None:
            batch_size = total
        batch: list[np.ndarray] = []
        size = 0
        for i in np.random.permutation(len(segments)):
            seg = segments[i]
            if batch and size + len(seg) > batch_size:
                yield self._get_samples(np.concatenate(batch))
                batch, size = [], 0
            batch.append(seg)
            size += len(seg)
        if batch:
            yield self._get_samples(np.concatenate(batch))

    # ----- KL penalty -----
    def compute_returns_and_advantage(self, last_values: torch.Tensor, dones: np.ndarray) -> None:
        """Apply the KL penalty (when attached and enabled), then SB3's GAE."""
        algo = self.algorithm
        policy = getattr(algo, "policy", None)
        if policy is not None and getattr(policy, "reference", None) is not None:
            kl = self._sampled_kl(policy)  # (buffer_size, n_envs)
            self.kl_per_token = float(kl.mean())
            coef = policy.kl.coef
            if policy.kl.enabled:
                self.rewards -= (coef * kl).astype(np.float32)
                policy.kl_applied = True
                policy.kl.update(self.kl_per_token, kl.size)
            algo.logger.record("train/kl_ref", self.kl_per_token)
            algo.logger.record("train/kl_coef", coef)
        super().compute_returns_and_advantage(last_values, dones)

    @torch.no_grad()
    def _sampled_kl(self, policy: Any, chunk: int = 1024) -> np.ndarray:
        """``log pi - log pi_ref`` of every stored action, (buffer_size, n_envs)."""
        # env-major order makes each env's steps consecutive, so segments share one forward.
        obs = {k: self.swap_and_flatten(v.copy()) for k, v in self.observations.items()}
        actions = self.swap_and_flatten(self.actions.copy()).reshape(-1)
        ref = np.empty(len(actions), dtype=np.float32)
        for start in range(0, len(actions), chunk):
            sl = slice(start, start + chunk)
            batch = {k: torch.as_tensor(v[sl], device=self.device) for k, v in obs.items()}
            ref[sl] = policy.reference_log_prob(batch, torch.as_tensor(actions[sl], device=self.device)).cpu().numpy()
        ref = ref.reshape(self.n_envs, self.buffer_size).T  # back to (buffer_size, n_envs)
        return self.log_probs - ref
