"""GRPO whose rollouts are collected by Ray rollout workers; the update stays in this process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv

from agents.distributed.ray_algorithm import RayWorkersMixin, pop_worker_settings
from agents.distributed.rollout import RolloutWorkers
from agents.episode_batch import EpisodeBatch
from agents.grpo import GRPO


class RayGRPO(RayWorkersMixin, GRPO):
    """:class:`agents.GRPO` with rollouts from :class:`RolloutWorkers` (Ray actors).

    Everything but the collection is GRPO's: advantages, KL, minibatches, the optimizer,
    SB3's logger, callbacks, ``save``/``load``. Each rollout puts the learner's weights in
    Ray's object store once; every worker samples its whole prompt groups with its policy copy
    and per-slot KV cache, and the learner updates on the joined batch. The learner's own env
    (``env``) gives SB3 the spaces and the slot count; the workers build theirs from
    ``worker_env`` and ``env_kwargs`` with the same seeds (slot ``i``: ``seed + i``).

    A rollout arrives whole, so callbacks' ``on_step`` runs once per rollout (with
    ``n_tokens`` the rollout's token count), not once per batched token step; see
    :meth:`gather_episodes` for its locals.

    Takes :class:`RayWorkersMixin`'s worker settings; everything else goes to :class:`agents.GRPO`.
    """

    workers: RolloutWorkers | None

    def _build_workers(self, settings: dict[str, Any]) -> RolloutWorkers:
        return RolloutWorkers(self.policy, self.worker_env, n_envs=self.n_envs, group_size=self.group_size, **settings)

    def gather_episodes(self, env: VecEnv, on_step: Callable[[int, dict[str, Any]], bool]) -> EpisodeBatch | None:
        """One whole batch from the workers; worker j samples with torch seed ``base + j``.

        The callbacks' one ``on_step`` sees the rollout as one step in which every slot's episode
        ended: ``infos`` (each episode's final info), ``dones`` (all True), ``rewards`` (each
        episode's return) and ``episodes``; the workers' per-token observations and actions stay
        with them, so ``new_obs`` and ``actions`` are not among the locals.
        """
        assert self.workers is not None, "RayGRPO was loaded without an env: pass env= to load()"
        episodes = self.workers.collect(self.policy, seed=self._next_rollout_seed())
        rollout = {
            "infos": episodes.infos,
            "dones": np.ones(episodes.n_episodes, dtype=bool),
            "rewards": episodes.returns.astype(np.float32),
            "episodes": episodes,
        }
        return episodes if on_step(int(episodes.n_actions().sum()), rollout) else None


def make_ray_grpo(
    env: str | Callable[[], gym.Env],
    model: Any = "tiny",
    n_envs: int = 16,
    group_size: int = 4,
    seed: int | None = 0,
    env_kwargs: dict[str, Any] | None = None,
    n_workers: int | None = None,
    **kwargs: Any,
) -> RayGRPO:
    """:func:`agents.make_grpo`'s defaults, with rollouts from ``n_workers`` Ray actors.

    ``kwargs`` may hold GRPO's options, policy options (``temperature``, ...) and
    :class:`RayGRPO`'s ``worker_options`` / ``max_restarts`` / ``worker_timeout_s``.
    """
    from agents.factory import build_grouped_algorithm

    ray_kwargs = {"worker_env": env, "env_kwargs": env_kwargs, "n_workers": n_workers}
    ray_kwargs |= pop_worker_settings(kwargs)
    return build_grouped_algorithm(RayGRPO, env, model, n_envs, group_size, seed, env_kwargs, ray_kwargs, kwargs)
