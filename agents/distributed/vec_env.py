"""An SB3 ``VecEnv`` whose slots live in Ray actors.

Each actor (:class:`EnvWorker`) holds the env that :func:`agents.make_env` builds for its k
slots (textgym's batched env for a plain task), seeded as its slots would be in one local env:
slot ``i`` gets ``seed + i`` wherever it lives. :class:`RayVecEnv` splits the actions by
worker, steps every worker at once, and concatenates what comes back in slot order, so SB3
algorithms see the same observations, rewards, dones and infos as from the local env (the
tests check it step for step). What runs in parallel is the env's own work: the reward model,
a simulated user.

A worker that dies, hangs (no answer within ``worker_timeout_s``: it is killed) or whose env
raises drops the whole step: :meth:`RayVecEnv.step_wait` raises a
:class:`~agents.distributed.errors.WorkerError` naming it and returns nothing, so an algorithm
can never train on a partial or misaligned batch; :meth:`RayVecEnv.reset` restarts dead
workers and starts new episodes in every slot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices

from agents.distributed.errors import require_ray
from agents.distributed.faults import DEFAULT_WORKER_TIMEOUT_S, ActorBody, add_note, check_fault_settings, kill
from agents.distributed.pool import WorkerPool


def split_slots(n_envs: int, n_workers: int) -> list[tuple[int, int]]:
    """Contiguous ``(start, stop)`` slot ranges, one per worker, sizes differing by at most one.

    >>> split_slots(5, 2)
    [(0, 3), (3, 5)]

    Raises:
        ValueError: If ``n_workers`` is not in ``1..n_envs``.
    """
    if not 1 <= n_workers <= n_envs:
        raise ValueError(f"n_workers must be between 1 and n_envs={n_envs}, got {n_workers}")
    size, extra = divmod(n_envs, n_workers)
    bounds, start = [], 0
    for j in range(n_workers):
        stop = start + size + (1 if j < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds


class EnvWorker(ActorBody):
    """The body of one Ray actor: ``agents.make_env``'s env for k slots.

    Args:
        env: An env id or env factory (as :func:`agents.make_env` takes).
        n_envs: Slots k of this worker.
        seed: Seed of its first slot (the others get ``seed + i``).
        env_kwargs: Keyword arguments of the env.
    """

    def __init__(self, env: str | Callable[[], gym.Env], n_envs: int, seed: int | None, env_kwargs: dict | None):
        from agents.factory import make_env

        self.venv = make_env(env, n_envs=n_envs, seed=seed, env_kwargs=env_kwargs)

    def spaces(self) -> tuple[gym.Space, gym.Space]:
        return self.venv.observation_space, self.venv.action_space

    def reset(self, seeds: list[int | None], options: list[dict]) -> tuple[Any, list[dict]]:
        inner = self.venv.unwrapped
        # SB3 keeps the seeds of the next reset in VecEnv._seeds and offers no per-slot setter;
        # the driver owns them (RayVecEnv.seed), so each reset hands the worker its slots' share.
        inner._seeds = list(seeds)
        self.venv.set_options(list(options))
        obs = self.venv.reset()
        return obs, [dict(info) for info in inner.reset_infos]

    def step(self, actions: np.ndarray) -> tuple[Any, np.ndarray, np.ndarray, list[dict], list[dict]]:
        obs, rewards, dones, infos = self.venv.step(actions)
        # Autoreset slots have new reset infos; the wrappers' own copies are stale, the innermost is kept.
        return obs, rewards, dones, infos, [dict(info) for info in self.venv.unwrapped.reset_infos]

    def get_attr(self, name: str, indices: list[int]) -> list[Any]:
        return self.venv.get_attr(name, indices)

    def set_attr(self, name: str, value: Any, indices: list[int]) -> None:
        self.venv.set_attr(name, value, indices)

    def env_method(self, name: str, args: tuple, kwargs: dict, indices: list[int]) -> list[Any]:
        return self.venv.env_method(name, *args, indices=indices, **kwargs)

    def env_is_wrapped(self, wrapper_class: type, indices: list[int]) -> list[bool]:
        return self.venv.env_is_wrapped(wrapper_class, indices)

    def get_images(self) -> Sequence[np.ndarray | None]:
        return self.venv.get_images()

    def close(self) -> None:
        self.venv.close()


class RayVecEnv(WorkerPool, VecEnv):
    """``agents.make_env(env, n_envs, seed, env_kwargs)``, its slots split over Ray actors.

    Connects to Ray with ``ray.init()``'s defaults unless already connected (tests and laptops:
    ``ray.init(num_cpus=2)`` first). Pass it wherever a VecEnv goes, ``agents.make_ppo``
    included.

    A worker fault in a step (the worker died, did not answer within ``worker_timeout_s``, or
    its env raised) drops the step and raises :class:`~agents.distributed.errors.WorkerError`;
    ``reset()`` then restarts the dead or killed workers. A worker that dies or hangs during a
    reset is restarted and the reset repeated, up to ``max_restarts`` times.

    Args:
        env: An env id or env factory; not an instance (it cannot be split over processes).
        n_envs: Slots in all.
        seed: Slot ``i`` is seeded with ``seed + i``, as in :func:`agents.make_env`.
        env_kwargs: Keyword arguments of the env.
        n_workers: Actors; by default the cluster's CPUs, at most ``n_envs``. Slots are split
            into contiguous blocks (:func:`split_slots`).
        worker_options: Ray actor options of each worker (default ``{"num_cpus": 1}``).
        worker_timeout_s: Seconds a worker may take to answer a call (a step, a reset, a
            query) before it counts as hung and is killed.
        max_restarts: How often per ``reset()`` a worker that dies or hangs is restarted and
            asked again before the error is raised.

    Raises:
        TypeError: If ``env`` is an Env or VecEnv instance.
        ValueError: If ``n_workers`` is not in ``1..n_envs``, ``worker_timeout_s`` is not
            positive or ``max_restarts`` is negative.
        ImportError: If ray is not installed.
    """

    def __init__(
        self,
        env: str | Callable[[], gym.Env],
        n_envs: int = 16,
        seed: int | None = 0,
        env_kwargs: dict[str, Any] | None = None,
        n_workers: int | None = None,
        worker_options: dict[str, Any] | None = None,
        worker_timeout_s: float = DEFAULT_WORKER_TIMEOUT_S,
        max_restarts: int = 1,
    ):
        ray = require_ray()
        if isinstance(env, (gym.Env, VecEnv)):
            raise TypeError(
                f"RayVecEnv needs an env id or an env factory to build in each worker, got an instance of "
                f"{type(env).__name__}"
            )
        if not isinstance(env, str) and not callable(env):
            raise TypeError(f"env must be an env id or an env factory, got {type(env).__name__}")
        if n_envs < 1:
            raise ValueError(f"n_envs must be >= 1, got {n_envs}")
        self.worker_timeout_s, self.max_restarts = check_fault_settings(worker_timeout_s, max_restarts)
        if not ray.is_initialized():
            ray.init()
        if n_workers is None:
            n_workers = min(n_envs, max(1, int(ray.cluster_resources().get("CPU", 1))))
        self.bounds = split_slots(n_envs, n_workers)
        self._env, self._env_kwargs = env, env_kwargs
        self._actor = ray.remote(EnvWorker).options(**{"num_cpus": 1, **(worker_options or {})})
        # Restarted workers' slots get fresh seeds from here (never their old ones: that would
        # replay the episodes they already played), deterministic given ``seed``.
        self._restart_rng = np.random.default_rng(seed)
        self.workers = [self._start(start, stop, None if seed is None else seed + start) for start, stop in self.bounds]
        self._init_pool()
        self._pending: list[Any] | None = None
        self._broken = False
        self._closed = False
        (observation_space, action_space) = self._gather([self.workers[0].spaces.remote()], "start", workers=[0])[0]
        super().__init__(n_envs, observation_space, action_space)  # asks the workers for render_mode
        self.seed(seed)

    @property
    def n_workers(self) -> int:
        return len(self.workers)

    def _start(self, start: int, stop: int, seed: int | None) -> Any:
        return self._actor.remote(self._env, stop - start, seed, self._env_kwargs)

    def _start_fresh(self, j: int) -> Any:
        start, stop = self.bounds[j]
        # The slots' seeds of the next reset live here (RayVecEnv.seed): seeds asked for by the
        # user are kept, the others drawn afresh.
        if any(s is None for s in self._seeds[start:stop]):
            first = int(self._restart_rng.integers(2**31))
            self._seeds[start:stop] = [first + i for i in range(stop - start)]
        return self._start(start, stop, None)

    def _who(self, j: int) -> str:
        start, stop = self.bounds[j]
        return f"Ray worker {j} (slots {start}..{stop - 1}, actor {self.workers[j]._actor_id.hex()})"

    def _gather(self, refs: list[Any], what: str, atomic: bool = True, workers: list[int] | None = None) -> list[Any]:
        """Every worker's result in worker order, or an error naming the first worker that failed.

        ``refs[n]`` is worker ``workers[n]``'s call (default: every worker, in order).

        All results are awaited (each for ``worker_timeout_s`` at most) before raising, so no
        call is left running into the next step. A dead or hung worker is always a
        :class:`WorkerError` that leaves the env needing ``reset()``; an exception the env
        raised is one too when ``atomic`` (steps and resets, whose batch would be misaligned),
        and otherwise (attribute queries) it is re-raised as the env raised it, with a note
        naming the worker (so that ``has_attr``'s ``except AttributeError`` works).
        """
        order = list(range(len(refs))) if workers is None else workers
        by_worker = dict(zip(order, refs, strict=True))
        results, faults = self._run(by_worker.__getitem__, order, repeat=False)
        fatal = {j: fault for j, fault in faults.items() if atomic or fault.kind != "raised"}
        if fatal:
            self._broken = True
            self._raise(
                fatal,
                what,
                "the whole batch was dropped (the other workers' results too), so nothing partial or misaligned "
                "is returned. Call reset() to restart dead workers and start new episodes in every slot.",
            )
        if faults:
            j = min(faults)
            error = faults[j].error
            assert error is not None
            add_note(error, f"Raised in {self._who(j)} during {what}.")
            raise error
        return [results[j] for j in order]

    def reset(self) -> dict[str, np.ndarray]:
        self._check_open()
        self._restart_dead()

        def call(j: int) -> Any:
            start, stop = self.bounds[j]
            return self.workers[j].reset.remote(self._seeds[start:stop], self._options[start:stop])

        results, faults = self._run(call)
        if faults:
            self._broken = True
            self._raise(faults, "reset", "no slot was reset; call reset() again to restart dead workers.")
        self._broken = False
        ordered = [results[j] for j in range(self.n_workers)]
        self.reset_infos = [info for _, infos in ordered for info in infos]
        self._reset_seeds()
        self._reset_options()
        return _concat_obs([obs for obs, _ in ordered])

    def step_async(self, actions: np.ndarray) -> None:
        self._check_open()
        if self._broken:
            raise RuntimeError("a worker failed in the previous step or reset: call reset() before stepping again")
        actions = np.asarray(actions)
        if len(actions) != self.num_envs:
            raise ValueError(f"expected {self.num_envs} actions (one per slot), got {len(actions)}")
        self._pending = [
            w.step.remote(actions[start:stop]) for w, (start, stop) in zip(self.workers, self.bounds, strict=True)
        ]

    def step_wait(self) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, list[dict[str, Any]]]:
        if self._pending is None:
            raise RuntimeError("step_wait() without step_async()")
        refs, self._pending = self._pending, None
        results = self._gather(refs, "step")
        obs = _concat_obs([r[0] for r in results])
        rewards = np.concatenate([r[1] for r in results])
        dones = np.concatenate([r[2] for r in results])
        infos = [info for r in results for info in r[3]]
        self.reset_infos = [info for r in results for info in r[4]]
        return obs, rewards, dones, infos

    def close(self) -> None:
        if self._closed:
            return
        for w in self.workers:
            kill(w)
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this RayVecEnv is closed")

    def _by_worker(self, indices: VecEnvIndices) -> list[tuple[int, list[int]]]:
        """Per worker with requested slots, those slots as its local indices, in slot order."""
        wanted = [int(i) for i in self._get_indices(indices)]
        if wanted != sorted(set(wanted)):
            # Results come back grouped by worker: only increasing slots keep them in the asked order.
            raise ValueError(f"indices must be increasing slot numbers, got {wanted}")
        out = []
        for j, (start, stop) in enumerate(self.bounds):
            local = [i - start for i in wanted if start <= i < stop]
            if local:
                out.append((j, local))
        return out

    def _call(self, what: str, method: str, indices: VecEnvIndices, *args: Any) -> list[Any]:
        self._check_open()
        parts = self._by_worker(indices)
        refs = [getattr(self.workers[j], method).remote(*args, local) for j, local in parts]
        results = self._gather(refs, what, atomic=False, workers=[j for j, _ in parts])
        return [x for r in results for x in (r or [])]

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return self._call(f"get_attr({attr_name!r})", "get_attr", indices, attr_name)

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        self._call(f"set_attr({attr_name!r})", "set_attr", indices, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any):
        what = f"env_method({method_name!r})"
        return self._call(what, "env_method", indices, method_name, method_args, method_kwargs)

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return self._call("env_is_wrapped", "env_is_wrapped", indices, wrapper_class)

    def get_images(self) -> Sequence[np.ndarray | None]:
        self._check_open()
        return [img for r in self._gather([w.get_images.remote() for w in self.workers], "get_images") for img in r]


def _concat_obs(parts: list[Any]) -> Any:
    """Workers' batched observations (dicts of arrays, or arrays) joined along the slot axis."""
    if isinstance(parts[0], dict):
        # The workers' own mapping type: SB3's DummyVecEnv returns an OrderedDict, textgym's a dict.
        return type(parts[0])((k, np.concatenate([p[k] for p in parts])) for k in parts[0])
    return np.concatenate(parts)
