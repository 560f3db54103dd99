"""Rollout workers: Ray actors that hold a copy of the policy and a batched env, and collect whole episodes.

Each worker builds ``agents.make_env(env, k, seed + first_slot, env_kwargs, group_size,
whole_episodes=True)`` for its k slots (whole prompt groups: a group never straddles two
workers) and runs :func:`agents.episode_batch.collect_episodes` on it with its own copy of the
policy, so sampling uses the per-slot KV cache as locally. :meth:`RolloutWorkers.collect`
puts the learner's weights into Ray's object store **once** per call (every worker reads that
one object), asks every worker for its episodes and concatenates them in slot order into one
:class:`agents.EpisodeBatch`.

Results are whole: a worker returns all of its episodes or nothing. A worker that dies or
hangs (no answer within ``worker_timeout_s``: it is killed) while collecting is restarted and
its share collected again with the same weights (up to ``max_restarts`` times per call), so an
update never sees a partial or misaligned batch and no episode is counted twice; the restarted
worker's slots get fresh seeds, so it does not replay its old prompts. A worker that died
between calls is restarted at the start of the next one. An exception raised by the env in a
worker, or restarts used up, drop the whole batch with a
:class:`~agents.distributed.errors.WorkerError` (see :mod:`agents.distributed.pool`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
import torch

from agents.distributed.errors import require_ray
from agents.distributed.faults import DEFAULT_WORKER_TIMEOUT_S, ActorBody, check_fault_settings, kill
from agents.distributed.pool import WorkerPool
from agents.distributed.vec_env import split_slots
from agents.episode_batch import EpisodeBatch, collect_episodes, whole_episode_env

if TYPE_CHECKING:
    from agents.policy import LMActorCriticPolicy


class RolloutWorker(ActorBody):
    """The body of one rollout actor: a policy copy and a whole-episode batched env of k slots.

    Args:
        policy: The policy to copy (its weights are replaced at every :meth:`collect`).
        env: An env id or env factory.
        n_envs: Slots k of this worker, a multiple of ``group_size``.
        group_size: Slots per prompt group.
        seed: Seed of its first slot (the others get ``seed + i``).
        env_kwargs: Keyword arguments of the env.
    """

    def __init__(
        self,
        policy: LMActorCriticPolicy,
        env: str | Callable[[], gym.Env],
        n_envs: int,
        group_size: int,
        seed: int | None,
        env_kwargs: dict[str, Any] | None,
    ):
        from agents.factory import make_env

        self.policy = policy.to("cpu")
        self.policy.set_training_mode(False)
        venv = make_env(env, n_envs, seed, env_kwargs, group_size=group_size, whole_episodes=True)
        venv.reset()  # applies the slots' seeds (collect_episodes resets by mask, without seeds)
        self.env = whole_episode_env(venv)

    def collect(self, weights: dict[str, torch.Tensor], torch_seed: int) -> EpisodeBatch:
        self.policy.load_state_dict(weights)
        torch.manual_seed(torch_seed)
        episodes = collect_episodes(self.policy, self.env, on_step=lambda *_: True)
        assert episodes is not None  # on_step never stops collection
        return episodes


class RolloutWorkers(WorkerPool):
    """A pool of :class:`RolloutWorker` actors that collect one batch of whole episodes per call.

    Args:
        policy: The learner's policy; each worker gets a CPU copy once, at construction.
        env: An env id or env factory; not an instance.
        n_envs: Slots in all (episodes per :meth:`collect`), a multiple of ``group_size``.
        group_size: Slots per prompt group; whole groups go to each worker.
        seed: Slot ``i`` is seeded with ``seed + i``, as in :func:`agents.make_env`.
        env_kwargs: Keyword arguments of the env.
        n_workers: Actors; by default the cluster's CPUs, at most the number of groups.
        worker_options: Ray actor options of each worker (default ``{"num_cpus": 1}``).
        max_restarts: How often per :meth:`collect` a worker that dies or hangs is restarted
            and its share collected again before the error is raised.
        worker_timeout_s: Seconds a worker may take to answer a call (a whole collection)
            before it counts as hung and is killed.

    Raises:
        ValueError: If ``n_envs`` is not a positive multiple of ``group_size``, ``n_workers``
            is not between 1 and the number of groups, ``worker_timeout_s`` is not positive or
            ``max_restarts`` is negative.
        ImportError: If ray is not installed.
    """

    #: The actor body; subclasses with other collectors replace it and :meth:`_start`.
    worker_class: type = RolloutWorker

    def __init__(
        self,
        policy: LMActorCriticPolicy,
        env: str | Callable[[], gym.Env],
        n_envs: int,
        group_size: int = 1,
        seed: int | None = 0,
        env_kwargs: dict[str, Any] | None = None,
        n_workers: int | None = None,
        worker_options: dict[str, Any] | None = None,
        max_restarts: int = 1,
        worker_timeout_s: float = DEFAULT_WORKER_TIMEOUT_S,
    ):
        ray = require_ray()
        if group_size < 1 or n_envs < 1 or n_envs % group_size:
            raise ValueError(f"n_envs={n_envs} must be a positive multiple of group_size={group_size}")
        if isinstance(env, gym.Env) or not (isinstance(env, str) or callable(env)):
            raise TypeError(f"RolloutWorkers needs an env id or an env factory, got {type(env).__name__}")
        self.worker_timeout_s, self.max_restarts = check_fault_settings(worker_timeout_s, max_restarts)
        if not ray.is_initialized():
            ray.init()
        n_groups = n_envs // group_size
        if n_workers is None:
            n_workers = min(n_groups, max(1, int(ray.cluster_resources().get("CPU", 1))))
        # Whole groups per worker: split the groups, then scale to slots.
        self.bounds = [(a * group_size, b * group_size) for a, b in split_slots(n_groups, n_workers)]
        self.n_envs, self.group_size = n_envs, group_size
        self._args = (env, group_size, env_kwargs)
        self._actor = ray.remote(self.worker_class).options(**{"num_cpus": 1, **(worker_options or {})})
        # The policy goes to the object store once; every worker builds its copy from that object.
        self._policy_ref = ray.put(_cpu_copy_source(policy))
        self._restart_rng = np.random.default_rng(seed)
        self.workers = [self._start(a, b, None if seed is None else seed + a) for a, b in self.bounds]
        self._init_pool()

    def ready(self) -> None:
        """Wait until every worker has built its env and policy (construction is asynchronous).

        Raises:
            WorkerError: If a worker fails to start ``max_restarts + 1`` times.
        """
        self.call_each("ping", "start")

    def _start(self, start: int, stop: int, seed: int | None) -> Any:
        env, group_size, env_kwargs = self._args
        return self._actor.remote(self._policy_ref, env, stop - start, group_size, seed, env_kwargs)

    def _start_fresh(self, j: int) -> Any:
        start, stop = self.bounds[j]
        return self._start(start, stop, int(self._restart_rng.integers(2**31)))

    def _who(self, j: int) -> str:
        start, stop = self.bounds[j]
        return f"rollout worker {j} (slots {start}..{stop - 1})"

    def collect(self, policy: LMActorCriticPolicy, seed: int) -> EpisodeBatch:
        """One batch of whole episodes from every worker, under ``policy``'s current weights.

        Worker j samples with torch seeded ``seed + j``. Episode ``i`` of the result is slot
        ``i``'s; groups are whole and in slot order.

        Raises:
            WorkerError: If a worker's env raised, or a worker died or hung more than
                ``max_restarts`` times in this call; no episode is returned.
        """
        return concat_episodes(self.call_all("collect", self.put_weights(policy), seed))

    @staticmethod
    def put_weights(policy: LMActorCriticPolicy) -> Any:
        """The policy's weights (on CPU) as one object in Ray's object store, for every worker to read."""
        weights = {k: v.detach().to("cpu") for k, v in policy.state_dict().items()}
        return require_ray().put(weights)

    def call_all(self, method: str, weights_ref: Any, seed: int, *args: Any) -> list[Any]:
        """Every worker's ``method(weights_ref, seed + j, *args)``, in worker order (see :meth:`call_each`)."""
        return self.call_each(method, method, lambda j: (weights_ref, seed + j, *args))

    def call_each(self, method: str, what: str, args: Callable[[int], tuple] = lambda j: ()) -> list[Any]:
        """Every worker's ``method(*args(j))``, in worker order, restarting dead and hung workers.

        Workers that died or hung since the last call are restarted first (not counted in
        ``max_restarts``). A worker that dies or does not answer within ``worker_timeout_s``
        (it is then killed) is replaced by a fresh actor (fresh seeds for its slots) and called
        again with the same arguments, up to ``max_restarts`` times per call.

        Args:
            method: The actor method.
            what: The call, named in errors.
            args: Worker j's arguments.

        Raises:
            WorkerError: If a worker's env raised (:class:`WorkerEnvError`), or a worker died
                (:class:`WorkerDiedError`) or hung (:class:`WorkerTimeoutError`) more than
                ``max_restarts`` times in this call; raised once every other worker's call has
                finished, and nothing is returned.
        """
        self._restart_dead()
        results, faults = self._run(lambda j: getattr(self.workers[j], method).remote(*args(j)))
        if faults:
            self._raise(faults, what, "the whole batch was dropped (the other workers' results too)")
        return [results[j] for j in range(len(self.workers))]

    def close(self) -> None:
        for w in self.workers:
            kill(w)


def _cpu_copy_source(policy: LMActorCriticPolicy) -> LMActorCriticPolicy:
    """The policy to ship to workers: itself when on CPU (Ray serialises a copy), else a CPU copy."""
    if next(policy.parameters()).device.type == "cpu":
        return policy
    import copy

    return copy.deepcopy(policy).to("cpu")


def concat_episodes(parts: list[EpisodeBatch]) -> EpisodeBatch:
    """Several workers' episodes as one :class:`EpisodeBatch`, in the given order.

    Token arrays are right-padded to the longest part's width (tokens 0, mask False,
    log-probs 0, as :func:`agents.episode_batch.collect_episodes` pads).

    Raises:
        ValueError: If the parts are empty, differ in group size, or only some carry
            reference log-probs.
    """
    if not parts:
        raise ValueError("no episodes to concatenate")
    g = parts[0].group_size
    if any(p.group_size != g for p in parts):
        raise ValueError(f"parts have different group sizes: {[p.group_size for p in parts]}")
    if len({p.ref_log_probs is None for p in parts}) > 1:
        raise ValueError("only some parts have ref_log_probs")
    width = max(p.tokens.shape[1] for p in parts)

    def pad(name: str) -> torch.Tensor:
        # (E_j, T_j) each -> (sum E_j, max T_j), zeros (False for the mask) on the right
        out = []
        for p in parts:
            x = getattr(p, name)
            wide = x.new_zeros((x.shape[0], width))
            wide[:, : x.shape[1]] = x
            out.append(wide)
        return torch.cat(out)

    return EpisodeBatch(
        prompts=[q for p in parts for q in p.prompts],
        group_size=g,
        tokens=pad("tokens"),
        lengths=torch.cat([p.lengths for p in parts]),
        action_mask=pad("action_mask"),
        old_log_probs=pad("old_log_probs"),
        returns=np.concatenate([p.returns for p in parts]),
        rewards=np.concatenate([p.rewards for p in parts]),
        ref_log_probs=None if parts[0].ref_log_probs is None else pad("ref_log_probs"),
        infos=[i for p in parts for i in p.infos],
    )
