"""What RayPPO and RayGRPO share: the rollout workers' settings, their sampling seeds, save and close."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym

from agents.distributed.faults import DEFAULT_WORKER_TIMEOUT_S

#: The keyword arguments of RayPPO and RayGRPO that make_ray_ppo and make_ray_grpo pass on to them.
WORKER_SETTINGS = ("worker_options", "max_restarts", "worker_timeout_s")


def pop_worker_settings(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The :data:`WORKER_SETTINGS` among a factory's ``kwargs``, taken out of them."""
    return {key: kwargs.pop(key) for key in WORKER_SETTINGS if key in kwargs}


class RayWorkersMixin:
    """The worker settings of an SB3 algorithm whose rollouts come from a pool of Ray actors.

    Put it first in the bases and call :meth:`_init_workers` before the algorithm's constructor;
    the subclass builds its pool in ``_setup_model`` from :meth:`_worker_settings`.
    """

    workers: Any
    seed: int | None

    def _init_workers(
        self,
        worker_env: str | Callable[[], gym.Env] | None,
        env_kwargs: dict[str, Any] | None,
        n_workers: int | None,
        worker_options: dict[str, Any] | None,
        max_restarts: int,
        worker_timeout_s: float = DEFAULT_WORKER_TIMEOUT_S,
    ) -> None:
        self.worker_env, self.env_kwargs = worker_env, env_kwargs
        self.n_workers, self.worker_options, self.max_restarts = n_workers, worker_options, max_restarts
        self.worker_timeout_s = worker_timeout_s
        self.workers = None
        self._rollouts = 0

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
