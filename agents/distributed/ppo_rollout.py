"""PPO rollout workers: Ray actors that step their env slots with a policy copy, as SB3's PPO does locally.

A worker holds a copy of the policy and ``agents.make_env(env, k, seed + first_slot,
env_kwargs)`` for its k slots (autoreset, the budget-aware wrapper, SB3's episode statistics),
and keeps its slots' last observations between rollouts, so episodes run across rollouts as
in local PPO. :meth:`PPORolloutWorker.collect` is SB3's ``OnPolicyAlgorithm.collect_rollouts``
loop for those slots: sample with the per-slot KV cache, step, bootstrap truncated episodes
with ``gamma * V(terminal observation)``, and at the end the values of the last observations.
It returns every step's inputs to ``RolloutBuffer.add`` plus the infos and dones that SB3's
callbacks and episode statistics read; the learner replays them into its own buffer
(:class:`agents.distributed.RayPPO`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.utils import obs_as_tensor

from agents.distributed.errors import WorkerError
from agents.distributed.faults import DEFAULT_WORKER_TIMEOUT_S, ActorBody
from agents.distributed.rollout import RolloutWorkers

if TYPE_CHECKING:
    from agents.policy import LMActorCriticPolicy


class PPORolloutWorker(ActorBody):
    """The body of one PPO rollout actor: a policy copy and an autoresetting env of k slots.

    Args:
        policy: The policy to copy (its weights are replaced at every :meth:`collect`).
        env: An env id or env factory.
        n_envs: Slots k of this worker.
        seed: Seed of its first slot (the others get ``seed + i``).
        env_kwargs: Keyword arguments of the env.
        gamma: The discount that bootstraps truncated episodes (SB3's ``gamma``).
    """

    def __init__(
        self,
        policy: LMActorCriticPolicy,
        env: str | Callable[[], gym.Env],
        n_envs: int,
        seed: int | None,
        env_kwargs: dict[str, Any] | None,
        gamma: float,
    ):
        from agents.factory import make_env

        self.policy = policy.to("cpu")
        self.policy.set_training_mode(False)
        self.env = make_env(env, n_envs, seed, env_kwargs)
        self.gamma = gamma
        # No reset here: the slots' seeds apply at the env's next reset, which RayPPO's
        # _setup_learn asks for as SB3 resets the learner's env (a restarted worker's first
        # collect resets instead).
        self.last_obs: dict[str, np.ndarray] | None = None
        self.last_starts = np.ones(n_envs, dtype=bool)

    def reset(self) -> None:
        """New episodes in every slot (SB3's ``_setup_learn`` resets the env the same way)."""
        self.last_obs = self.env.reset()
        self.last_starts = np.ones(self.env.num_envs, dtype=bool)

    @torch.no_grad()
    def collect(self, weights: dict[str, torch.Tensor], torch_seed: int, n_steps: int) -> dict[str, Any]:
        """``n_steps`` steps of every slot under ``weights``; torch is seeded ``torch_seed`` first.

        Returns:
            ``obs`` (dict of (n_steps, k, L) arrays), ``actions`` (n_steps, k, 1), ``rewards``
            (n_steps, k; truncated episodes bootstrapped), ``episode_starts``, ``dones``
            (n_steps, k), ``values``, ``log_probs`` (n_steps, k) float32, ``infos`` (per step,
            the k infos), ``last_obs`` (the observations after the last step) and
            ``last_values`` (k,), their values.
        """
        if self.last_obs is None:
            self.reset()
        self.policy.load_state_dict(weights)
        self.policy.set_training_mode(False)
        torch.manual_seed(torch_seed)
        steps: dict[str, list[Any]] = {k: [] for k in ("obs", "actions", "rewards", "starts", "values", "log_probs")}
        dones_list: list[np.ndarray] = []
        infos_list: list[list[dict[str, Any]]] = []
        device = self.policy.device
        assert self.last_obs is not None
        for _ in range(n_steps):
            # The loop of SB3's OnPolicyAlgorithm.collect_rollouts, for this worker's slots.
            actions, values, log_probs = self.policy(obs_as_tensor(self.last_obs, device))
            actions = actions.cpu().numpy()
            new_obs, rewards, dones, infos = self.env.step(actions)
            for idx, done in enumerate(dones):
                if (
                    done
                    and infos[idx].get("terminal_observation") is not None
                    and infos[idx].get("TimeLimit.truncated", False)
                ):
                    terminal_obs = self.policy.obs_to_tensor(infos[idx]["terminal_observation"])[0]
                    # SB3 issue #633: a time-limit cut is bootstrapped with the critic's value.
                    rewards[idx] += self.gamma * self.policy.predict_values(terminal_obs)[0]
            steps["obs"].append(self.last_obs)
            steps["actions"].append(actions.reshape(-1, 1))
            steps["rewards"].append(rewards)
            steps["starts"].append(self.last_starts)
            steps["values"].append(values.cpu().numpy().reshape(-1))
            steps["log_probs"].append(log_probs.cpu().numpy().reshape(-1))
            dones_list.append(dones)
            infos_list.append(infos)
            self.last_obs, self.last_starts = new_obs, dones
        last_values = self.policy.predict_values(obs_as_tensor(self.last_obs, device)).cpu().numpy().reshape(-1)
        return {
            "obs": {key: np.stack([o[key] for o in steps["obs"]]) for key in self.last_obs},
            "actions": np.stack(steps["actions"]),
            "rewards": np.stack(steps["rewards"]).astype(np.float32),
            "episode_starts": np.stack(steps["starts"]),
            "dones": np.stack(dones_list),
            "values": np.stack(steps["values"]),
            "log_probs": np.stack(steps["log_probs"]),
            "infos": infos_list,
            "last_obs": self.last_obs,
            "last_values": last_values,
        }


class PPORolloutWorkers(RolloutWorkers):
    """A pool of :class:`PPORolloutWorker` actors; each :meth:`collect` is one PPO rollout of all slots.

    Args:
        policy: The learner's policy; each worker gets a CPU copy once, at construction.
        env: An env id or env factory; not an instance.
        n_envs: Slots in all.
        gamma: The discount that bootstraps truncated episodes.
        seed: Slot ``i`` is seeded with ``seed + i``, as in :func:`agents.make_env`.
        env_kwargs: Keyword arguments of the env.
        n_workers: Actors; by default the cluster's CPUs, at most ``n_envs``.
        worker_options: Ray actor options of each worker (default ``{"num_cpus": 1}``).
        max_restarts: How often per call a worker that dies or hangs is restarted (its slots
            then start new episodes with fresh seeds) before :class:`agents.distributed.WorkerError`.
        worker_timeout_s: Seconds a worker may take to answer a call (a whole rollout) before it
            counts as hung and is killed.
    """

    worker_class = PPORolloutWorker

    def __init__(
        self,
        policy: LMActorCriticPolicy,
        env: str | Callable[[], gym.Env],
        n_envs: int,
        gamma: float,
        seed: int | None = 0,
        env_kwargs: dict[str, Any] | None = None,
        n_workers: int | None = None,
        worker_options: dict[str, Any] | None = None,
        max_restarts: int = 1,
        worker_timeout_s: float = DEFAULT_WORKER_TIMEOUT_S,
    ):
        self.gamma = gamma
        super().__init__(
            policy, env, n_envs, 1, seed, env_kwargs, n_workers, worker_options, max_restarts, worker_timeout_s
        )
        # Set when a rollout was dropped: the workers that finished it ran their episodes on
        # through steps the learner never saw, so the next rollout starts new episodes everywhere.
        self._interrupted = False

    def _start(self, start: int, stop: int, seed: int | None) -> Any:
        env, _, env_kwargs = self._args
        return self._actor.remote(self._policy_ref, env, stop - start, seed, env_kwargs, self.gamma)

    def reset(self) -> None:
        """New episodes in every worker's slots, after restarting dead or hung workers.

        Raises:
            WorkerError: As :meth:`call_each`.
        """
        self.call_each("reset", "reset")
        self._interrupted = False

    def collect_steps(self, policy: LMActorCriticPolicy, seed: int, n_steps: int) -> dict[str, Any]:
        """One rollout of ``n_steps`` steps of every slot; worker j samples with torch seed ``seed + j``.

        The weights go to Ray's object store once. The workers' arrays are joined along the
        slot axis in slot order (see :meth:`PPORolloutWorker.collect` for the keys). After a
        rollout that was dropped, every slot starts a new episode first.

        Raises:
            WorkerError: As :meth:`call_each`; the rollout is dropped whole.
        """
        if self._interrupted:
            self.reset()
        try:
            parts = self.call_all("collect", self.put_weights(policy), seed, n_steps)
        except WorkerError:
            self._interrupted = True
            raise
        return join_steps(parts)


def join_steps(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Workers' rollouts as one, slots in worker order: arrays joined on the slot axis.

    Raises:
        ValueError: If the parts are empty or have different numbers of steps.
    """
    if not parts:
        raise ValueError("no rollouts to join")
    n_steps = {len(p["actions"]) for p in parts}
    if len(n_steps) != 1:
        raise ValueError(f"workers returned different numbers of steps: {sorted(n_steps)}")
    out: dict[str, Any] = {}
    for key in ("actions", "rewards", "episode_starts", "dones", "values", "log_probs"):
        out[key] = np.concatenate([p[key] for p in parts], axis=1)  # (n_steps, sum k, ...)
    out["obs"] = {key: np.concatenate([p["obs"][key] for p in parts], axis=1) for key in parts[0]["obs"]}
    out["last_obs"] = {key: np.concatenate([p["last_obs"][key] for p in parts]) for key in parts[0]["last_obs"]}
    out["last_values"] = np.concatenate([p["last_values"] for p in parts])
    out["infos"] = [[i for p in parts for i in p["infos"][t]] for t in range(n_steps.pop())]
    return out
