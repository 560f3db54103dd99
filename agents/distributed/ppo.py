"""PPO whose rollouts are collected by Ray rollout workers; the update stays in this process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.type_aliases import MaybeCallback
from stable_baselines3.common.vec_env import VecEnv

from agents.algorithms import PPO
from agents.distributed.ppo_rollout import PPORolloutWorkers
from agents.distributed.ray_algorithm import RayWorkersMixin, pop_worker_settings


class RayPPO(RayWorkersMixin, PPO):
    """:class:`agents.PPO` with rollouts from :class:`PPORolloutWorkers` (Ray actors holding the policy).

    Each rollout puts the learner's weights in Ray's object store once; every worker steps its
    slots ``n_steps`` times with its policy copy (per-slot KV cache) and returns what SB3's
    ``collect_rollouts`` would have computed for them: observations, actions, log-probs,
    values, rewards with truncations bootstrapped, episode starts, infos and the last values.
    The learner replays the steps in order into its :class:`agents.EpisodeRolloutBuffer`,
    counting ``num_timesteps``, calling the callbacks' ``on_step`` with the step's locals
    (``infos``, ``dones``, ``rewards``, ``actions``, ``new_obs``) and filling SB3's episode
    statistics, then computes the KL penalty, GAE and the update exactly as :class:`agents.PPO`.
    Workers keep their slots' episodes running between rollouts, as the local env does.

    A callback that stops training in ``on_step`` stops the replay there, as locally; the
    workers' envs have already run the whole rollout, so a later ``learn(...,
    reset_num_timesteps=False)`` continues from where the workers are, not from that step.

    Takes :class:`RayWorkersMixin`'s worker settings; everything else goes to :class:`agents.PPO`.
    """

    workers: PPORolloutWorkers | None
    #: The sampling seed of the last rollout (worker j samples with it + j); None before the first.
    last_rollout_seed: int | None = None

    def _build_workers(self, settings: dict[str, Any]) -> PPORolloutWorkers:
        return PPORolloutWorkers(self.policy, self.worker_env, n_envs=self.n_envs, gamma=self.gamma, **settings)

    def _setup_learn(
        self,
        total_timesteps: int,
        callback: MaybeCallback = None,
        reset_num_timesteps: bool = True,
        tb_log_name: str = "run",
        progress_bar: bool = False,
    ) -> tuple[int, BaseCallback]:
        # SB3 resets the learner's env exactly when this holds; the workers' envs follow it.
        resets = reset_num_timesteps or self._last_obs is None
        out = super()._setup_learn(total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar)
        if resets:
            assert self.workers is not None, "RayPPO was loaded without an env: pass env= to load()"
            self.workers.reset()
        return out

    def collect_rollouts(
        self, env: VecEnv, callback: BaseCallback, rollout_buffer: RolloutBuffer, n_rollout_steps: int
    ) -> bool:
        """One rollout from the workers, replayed into ``rollout_buffer`` step by step as SB3 fills it.

        Worker j samples with torch seeded ``last_rollout_seed + j``.
        """
        self._check_kl_buffer(rollout_buffer)
        assert self.workers is not None, "RayPPO was loaded without an env: pass env= to load()"
        self.policy.set_training_mode(False)
        self.last_rollout_seed = self._next_rollout_seed()
        batch = self.workers.collect_steps(self.policy, self.last_rollout_seed, n_rollout_steps)
        rollout_buffer.reset()
        callback.on_rollout_start()
        n_envs = env.num_envs
        for t in range(n_rollout_steps):
            # What SB3's loop has in hand after env.step, for the callbacks (update_locals).
            actions, rewards, dones = batch["actions"][t], batch["rewards"][t], batch["dones"][t]
            infos = batch["infos"][t]
            new_obs = batch["last_obs"] if t + 1 == n_rollout_steps else _step_obs(batch["obs"], t + 1)
            self.num_timesteps += n_envs
            step_locals = {"actions": actions, "rewards": rewards, "dones": dones, "infos": infos, "new_obs": new_obs}
            callback.update_locals({**step_locals, "n_steps": t})
            if not callback.on_step():
                return False
            self._update_info_buffer(infos, dones)
            rollout_buffer.add(
                _step_obs(batch["obs"], t),
                actions,
                rewards,
                batch["episode_starts"][t],
                torch.as_tensor(batch["values"][t]),
                torch.as_tensor(batch["log_probs"][t]),
            )
        self._last_obs = batch["last_obs"]  # type: ignore[assignment]
        self._last_episode_starts = batch["dones"][-1]
        rollout_buffer.compute_returns_and_advantage(
            last_values=torch.as_tensor(batch["last_values"]), dones=batch["dones"][-1]
        )
        callback.update_locals({"rollout_buffer": rollout_buffer, "dones": batch["dones"][-1]})
        callback.on_rollout_end()
        return True


def _step_obs(obs: dict[str, np.ndarray], t: int) -> dict[str, np.ndarray]:
    return {key: value[t] for key, value in obs.items()}


def make_ray_ppo(
    env: str | Callable[[], gym.Env],
    model: Any = "tiny",
    n_envs: int = 16,
    seed: int | None = 0,
    env_kwargs: dict[str, Any] | None = None,
    n_workers: int | None = None,
    **kwargs: Any,
) -> RayPPO:
    """:func:`agents.make_ppo`'s defaults, with rollouts from ``n_workers`` Ray actors.

    ``kwargs`` may hold PPO's options, the KL options, policy options (``temperature``, ...)
    and :class:`RayPPO`'s ``worker_options`` / ``max_restarts`` / ``worker_timeout_s``.

    Raises:
        TypeError: If ``env`` is an env instance or a VecEnv (workers build their own slots).
    """
    from agents.factory import PPO_DEFAULTS, apply_kl_defaults, build_algorithm

    if isinstance(env, (gym.Env, VecEnv)) or not (isinstance(env, str) or callable(env)):
        raise TypeError(f"make_ray_ppo needs an env id or an env factory, got {type(env).__name__}")
    ray_kwargs: dict[str, Any] = {"worker_env": env, "env_kwargs": env_kwargs, "n_workers": n_workers}
    ray_kwargs |= pop_worker_settings(kwargs)
    apply_kl_defaults(kwargs)
    return build_algorithm(RayPPO, env, model, n_envs, seed, env_kwargs, PPO_DEFAULTS, {**ray_kwargs, **kwargs})  # type: ignore[return-value]
