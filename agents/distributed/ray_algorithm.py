"""What RayPPO and RayGRPO share: the rollout workers' settings, their sampling seeds, save and close."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
from stable_baselines3.common.vec_env import VecEnv

from agents.distributed.faults import DEFAULT_WORKER_TIMEOUT_S

#: The keyword arguments of RayPPO and RayGRPO that make_ray_ppo and make_ray_grpo pass on to them.
WORKER_SETTINGS = ("worker_options", "max_restarts", "worker_timeout_s")


def pop_worker_settings(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The :data:`WORKER_SETTINGS` among a factory's ``kwargs``, taken out of them."""
    return {key: kwargs.pop(key) for key in WORKER_SETTINGS if key in kwargs}


class RayWorkersMixin:
    """The worker settings of an SB3 algorithm whose rollouts come from a pool of Ray actors.

    Put it first in the bases; the subclass builds its pool in :meth:`_build_workers`.

    Args:
        policy: As for the algorithm.
        env: The learner's env; it gives SB3 the spaces and the slot count.
        worker_env: The env id or factory each worker builds its slots from (slot ``i``: seed
            ``seed + i``, as in the learner's env). Required; ``load`` restores it.
        env_kwargs: Keyword arguments of ``worker_env``.
        n_workers: Rollout actors (default: the cluster's CPUs, at most the slots' count, or the
            groups' for a group algorithm).
        worker_options: Ray actor options of each worker.
        max_restarts: Restarts per rollout of a worker that dies or hangs.
        worker_timeout_s: Seconds a worker may take to return a rollout before it counts as
            hung, is killed and restarted (default 300).
        **kwargs: Everything else goes to the algorithm.
    """

    workers: Any
    seed: int | None

    def __init__(
        self,
        policy: Any,
        env: VecEnv,
        worker_env: str | Callable[[], gym.Env] | None = None,
        env_kwargs: dict[str, Any] | None = None,
        n_workers: int | None = None,
        worker_options: dict[str, Any] | None = None,
        max_restarts: int = 1,
        worker_timeout_s: float = DEFAULT_WORKER_TIMEOUT_S,
        **kwargs: Any,
    ):
        self.worker_env, self.env_kwargs = worker_env, env_kwargs
        self.n_workers, self.worker_options, self.max_restarts = n_workers, worker_options, max_restarts
        self.worker_timeout_s = worker_timeout_s
        self.workers = None
        self._rollouts = 0
        super().__init__(policy, env, **kwargs)  # type: ignore[call-arg]

    def _setup_model(self) -> None:
        super()._setup_model()  # type: ignore[misc]
        if self.env is not None:  # type: ignore[attr-defined]  # None: loaded for prediction only
            self.workers = self._build_workers(self._worker_settings())

    def _build_workers(self, settings: dict[str, Any]) -> Any:
        """The subclass's worker pool, from the settings every pool takes (:meth:`_worker_settings`)."""
        raise NotImplementedError

    def _worker_settings(self) -> dict[str, Any]:
        """Keyword arguments every worker pool takes, once ``worker_env`` is known."""
        if self.worker_env is None:  # a default only so that SB3's load() can build the object first
            raise ValueError(f"{type(self).__name__} needs worker_env: the env id or factory its rollout workers build")
        return {
            "seed": self.seed,
            "env_kwargs": self.env_kwargs,
            "n_workers": self.n_workers,
            "worker_options": self.worker_options,
            "max_restarts": self.max_restarts,
            "worker_timeout_s": self.worker_timeout_s,
        }

    def _next_rollout_seed(self) -> int:
        """Distinct sampling seeds per rollout, reproducible from the algorithm's seed."""
        seed = (self.seed or 0) * 1_000_003 + 1_009 * self._rollouts
        self._rollouts += 1
        return seed

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "workers"]  # type: ignore[misc]

    def close(self) -> None:
        """Stop the rollout actors."""
        if self.workers is not None:
            self.workers.close()
            self.workers = None
