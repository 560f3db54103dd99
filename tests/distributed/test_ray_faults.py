"""Worker faults made by the operating system on every Ray path: SIGKILL, SIGSTOP (a hang), an env that raises.

The workers' processes are killed and stopped by PID (``os.kill``), from this process between
calls, or by the worker itself in the middle of a call: the reward of :func:`faulty_reward`
looks up its own PID in a plan file when it scores an episode and raises, SIGKILLs or SIGSTOPs
itself as the plan says, so the fault lands inside a step or a rollout deterministically.
Each test checks that the fault comes out as one :class:`WorkerError` naming the worker, its
slots and the cause (or is repaired by a restart), that nothing from the dropped batch is
used, and that the next reset or learn() restarts the worker.
"""

import json
import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.distributed import (
    RayVecEnv,
    WorkerDiedError,
    WorkerEnvError,
    WorkerError,
    WorkerTimeoutError,
    make_ray_grpo,
    make_ray_ppo,
)

if os.environ.get("RAY_REQUIRED"):
    import ray  # .ci/ray: a missing ray fails there instead of skipping
else:
    ray = pytest.importorskip("ray", reason="the Ray tests need the optional extra: pip install -e '.[ray]'")

# A hang is noticed after this long (a healthy worker's call here takes well under a second, on
# a loaded machine a few); a restarted worker's start is given at least START_TIMEOUT_S.
TIMEOUT_S = 5.0
# Episodes of at most 4 tokens keep every call short.
ENV_KWARGS = {"max_new_tokens": 4}


def faulty_reward(plan: Path) -> Callable[[Sequence[str], Sequence[str]], list[float]]:
    """A reward that applies the plan's fault for its own process, else scores the completion's text.

    ``plan`` holds ``{pid: "raise" | "kill" | "stop"}``. A closure, so that Ray pickles it by
    value and the workers need not import this test module.
    """

    def reward(prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
        fault = json.loads(plan.read_text()).get(str(os.getpid())) if plan.exists() else None
        if fault == "raise":
            raise ValueError("reward model unavailable")
        if fault == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if fault == "stop":
            os.kill(os.getpid(), signal.SIGSTOP)
        # Differs between texts, so that GRPO's groups have a learning signal.
        return [sum(map(ord, c)) % 101 / 100 for c in completions]

    return reward


def set_plan(plan: Path, faults: dict[int, str]) -> None:
    tmp = plan.with_suffix(".tmp")
    tmp.write_text(json.dumps({str(pid): fault for pid, fault in faults.items()}))
    tmp.replace(plan)  # atomic: a worker never reads half a plan


def pid_of(actor) -> int:
    return ray.get(actor.pid.remote())


def gone(pid: int, wait_s: float = 60.0) -> bool:
    """Whether process ``pid`` has ended, waiting up to ``wait_s`` (Ray ends a killed actor's process later)."""
    end = time.monotonic() + wait_s
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def stopped() -> Iterator[list[int]]:
    """PIDs this test stops; each gets SIGCONT at the end, in case it still exists."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass


def weights(algo) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in algo.policy.state_dict().items()}


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    # Exact: a skipped update leaves the very same tensors (a copy, no arithmetic).
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ----- RayVecEnv -----


def test_vec_env_worker_killed_by_sigkill_fails_the_step_and_reset_restarts_it(ray_local) -> None:
    env = RayVecEnv("CatText-v0", n_envs=2, seed=0, n_workers=2)
    try:
        env.reset()
        word = np.zeros(2, dtype=np.int64)
        env.step(word)
        pid = pid_of(env.workers[1])
        os.kill(pid, signal.SIGKILL)
        named = r"Ray worker 1 \(slots 1\.\.1, actor [0-9a-f]+\) died during step \(ActorDiedError: .*dead"
        with pytest.raises(WorkerDiedError, match=named) as err:
            env.step(word)
        assert isinstance(err.value, WorkerError) and err.value.worker == 1 and err.value.slots == range(1, 2)
        assert isinstance(err.value.__cause__, ray.exceptions.RayActorError)
        with pytest.raises(RuntimeError, match="call reset"):
            env.step(word)
        # reset() starts a new process for worker 1; every slot starts a new episode.
        obs = env.reset()
        assert env.restarts == 1 and pid_of(env.workers[1]) != pid and obs["input_ids"].shape[0] == 2
        assert env.step(word)[2].tolist() == [False, False]
        # A worker killed between steps (ray.kill this time) is restarted by the next reset, no error.
        ray.kill(env.workers[0])
        env.reset()
        assert env.restarts == 2 and env.step(word)[2].tolist() == [False, False]
    finally:
        env.close()


def test_vec_env_step_on_a_stopped_worker_times_out_and_reset_restarts_it(ray_local, stopped) -> None:
    env = RayVecEnv("CatText-v0", n_envs=2, seed=0, n_workers=2, worker_timeout_s=TIMEOUT_S)
    try:
        env.reset()
        word = np.zeros(2, dtype=np.int64)
        pid = pid_of(env.workers[1])
        os.kill(pid, signal.SIGSTOP)
        stopped.append(pid)
        start = time.monotonic()
        named = r"Ray worker 1 \(slots 1\.\.1, actor [0-9a-f]+\) did not answer within worker_timeout_s=5 s during step"
        with pytest.raises(WorkerTimeoutError, match=named + " and was killed") as err:
            env.step(word)
        assert TIMEOUT_S <= time.monotonic() - start < 60
        assert err.value.worker == 1 and err.value.slots == range(1, 2) and err.value.timeout_s == TIMEOUT_S
        assert gone(pid), "the stopped worker's process was not killed"
        env.reset()
        assert env.restarts == 1 and env.step(word)[2].tolist() == [False, False]
    finally:
        env.close()


# ----- RayGRPO (RolloutWorkers) -----


def grpo(plan: Path, **kwargs):
    env_kwargs = {"reward": faulty_reward(plan), **ENV_KWARGS}
    algo = make_ray_grpo("CatText-v0", n_envs=4, group_size=2, n_workers=2, env_kwargs=env_kwargs, **kwargs)
    algo.workers.ready()
    return algo


def test_grpo_worker_killed_mid_collect_or_between_learn_calls_is_restarted(ray_local, tmp_path) -> None:
    plan = tmp_path / "plan.json"
    algo = grpo(plan)  # max_restarts=1
    try:
        before = weights(algo)
        set_plan(plan, {pid_of(algo.workers.workers[1]): "kill"})  # SIGKILLs itself when it scores
        algo.learn(1)
        assert algo.workers.restarts == 1
        # One whole batch: an episode per slot in whole groups, none from the killed attempt.
        assert algo.episodes.n_episodes == 4 and algo.episodes.n_groups == 2 and len(algo.ep_info_buffer) == 4
        assert algo._n_updates == 1 and not same_weights(before, weights(algo))
        # Killed between learn() calls (by SIGKILL from here): the next learn() restarts it
        # before its rollout, with no restart left to spend within one.
        algo.workers.max_restarts = 0
        pid = pid_of(algo.workers.workers[0])
        os.kill(pid, signal.SIGKILL)
        assert gone(pid)
        algo.learn(1, reset_num_timesteps=False)
        assert algo.workers.restarts == 2 and algo._n_updates == 2 and len(algo.ep_info_buffer) == 8
    finally:
        algo.close()


def test_grpo_worker_stopped_mid_collect_times_out_and_the_next_learn_restarts_it(ray_local, tmp_path, stopped) -> None:
    plan = tmp_path / "plan.json"
    algo = grpo(plan, worker_timeout_s=TIMEOUT_S, max_restarts=0)
    try:
        before = weights(algo)
        pid = pid_of(algo.workers.workers[1])
        set_plan(plan, {pid: "stop"})  # SIGSTOPs itself when it scores: a hang inside collect
        stopped.append(pid)
        named = r"rollout worker 1 \(slots 2\.\.3\) did not answer within worker_timeout_s=5 s during collect"
        with pytest.raises(WorkerTimeoutError, match=named + " and was killed") as err:
            algo.learn(1)
        assert err.value.worker == 1 and err.value.slots == range(2, 4)
        # The batch was dropped: no update, no episode counted, no timestep.
        assert algo._n_updates == 0 and same_weights(before, weights(algo))
        assert len(algo.ep_info_buffer) == 0 and algo.num_timesteps == 0
        assert gone(pid), "the stopped worker's process was not killed"
        # The next learn() starts a new worker 1 (not counted against max_restarts=0) and trains.
        algo.learn(1)
        assert algo.workers.restarts == 1 and pid_of(algo.workers.workers[1]) != pid
        assert algo._n_updates == 1 and algo.episodes.n_episodes == 4 and len(algo.ep_info_buffer) == 4
    finally:
        algo.close()


def test_grpo_env_exception_names_the_worker_and_chains_the_env_error(ray_local, tmp_path) -> None:
    plan = tmp_path / "plan.json"
    algo = grpo(plan)
    try:
        before = weights(algo)
        set_plan(plan, {pid_of(algo.workers.workers[1]): "raise"})
        named = r"rollout worker 1 \(slots 2\.\.3\) raised ValueError: reward model unavailable during collect"
        with pytest.raises(WorkerEnvError, match=named) as err:
            algo.learn(1)
        assert isinstance(err.value, WorkerError) and err.value.worker == 1 and err.value.slots == range(2, 4)
        # The env's own exception, not Ray's wrapper, with the worker's traceback as a note.
        cause = err.value.__cause__
        assert type(cause) is ValueError and cause is err.value.error
        assert any("reward" in note and "Traceback" in note for note in cause.__notes__)
        assert algo._n_updates == 0 and same_weights(before, weights(algo)) and len(algo.ep_info_buffer) == 0
        # An env's exception is not retried (no restart); once the env is fixed, learning goes on.
        plan.unlink()
        algo.learn(1)
        assert algo.workers.restarts == 0 and algo._n_updates == 1 and len(algo.ep_info_buffer) == 4
    finally:
        algo.close()


# ----- RayPPO (PPORolloutWorkers) -----

# 8 steps a rollout (16 timesteps): every slot ends an episode (at most 4 tokens), so the reward runs.
PPO_SETTINGS = dict(n_envs=2, n_workers=2, seed=0, n_steps=8, batch_size=16, n_epochs=1)


def ppo(plan: Path, **kwargs):
    env_kwargs = {"reward": faulty_reward(plan), **ENV_KWARGS}
    algo = make_ray_ppo("CatText-v0", env_kwargs=env_kwargs, **PPO_SETTINGS, **kwargs)
    algo.workers.ready()
    return algo


def test_ppo_workers_killed_between_and_during_learn_calls_are_restarted(ray_local, tmp_path) -> None:
    plan = tmp_path / "plan.json"
    algo = ppo(plan, max_restarts=0)
    try:
        algo.learn(16)
        # Between learn() calls, by SIGKILL: the next learn() resets the workers and restarts it.
        pid = pid_of(algo.workers.workers[1])
        os.kill(pid, signal.SIGKILL)
        assert gone(pid)
        algo.learn(16)
        assert algo.workers.restarts == 1 and algo.num_timesteps == 16 and algo._n_updates == 2
        # By ray.kill, then a learn() that goes on without a reset (its rollout restarts the worker).
        ray.kill(algo.workers.workers[0])
        algo.learn(16, reset_num_timesteps=False)
        assert algo.workers.restarts == 2 and algo.num_timesteps == 32 and algo._n_updates == 3
        # In the middle of a rollout (the worker SIGKILLs itself when it scores): restarted and
        # collected again when max_restarts allows, or else the rollout is dropped whole.
        set_plan(plan, {pid_of(algo.workers.workers[1]): "kill"})
        before = weights(algo)
        with pytest.raises(WorkerDiedError, match=r"rollout worker 1 \(slots 1\.\.1\) died during collect"):
            algo.learn(16, reset_num_timesteps=False)
        assert algo.num_timesteps == 32 and algo._n_updates == 3 and same_weights(before, weights(algo))
        algo.workers.max_restarts = 1
        set_plan(plan, {pid_of(algo.workers.workers[0]): "kill"})  # worker 1 was restarted: a new PID
        algo.learn(16, reset_num_timesteps=False)
        assert algo.workers.restarts == 4 and algo.num_timesteps == 48 and algo._n_updates == 4
        # The dropped rollout's episodes were abandoned: this rollout began with new episodes everywhere.
        assert algo.rollout_buffer.episode_starts[0].tolist() == [1.0, 1.0]
    finally:
        algo.close()


def test_ppo_env_exception_names_the_worker_and_chains_the_env_error(ray_local, tmp_path) -> None:
    plan = tmp_path / "plan.json"
    algo = ppo(plan)
    try:
        before = weights(algo)
        set_plan(plan, {pid_of(algo.workers.workers[0]): "raise"})
        named = r"rollout worker 0 \(slots 0\.\.0\) raised ValueError: reward model unavailable during collect"
        with pytest.raises(WorkerEnvError, match=named) as err:
            algo.learn(16)
        assert err.value.worker == 0 and err.value.slots == range(0, 1) and type(err.value.__cause__) is ValueError
        assert algo.num_timesteps == 0 and algo._n_updates == 0 and same_weights(before, weights(algo))
        plan.unlink()
        algo.learn(16, reset_num_timesteps=False)
        assert algo.workers.restarts == 0 and algo.num_timesteps == 16 and algo._n_updates == 1
        # Worker 1 had run its slot through the dropped rollout: the learner never saw those
        # steps, so the next rollout started new episodes in every slot.
        assert algo.rollout_buffer.episode_starts[0].tolist() == [1.0, 1.0]
    finally:
        algo.close()


def test_fault_settings_are_checked(ray_local) -> None:
    with pytest.raises(ValueError, match="worker_timeout_s must be > 0, got 0.0"):
        RayVecEnv("CatText-v0", n_envs=2, worker_timeout_s=0)
    with pytest.raises(TypeError, match=r"max_restarts must be an integer, got 1.0 \(float\)"):
        RayVecEnv("CatText-v0", n_envs=2, max_restarts=1.0)
    with pytest.raises(ValueError, match="worker_timeout_s must be a finite number, got nan"):
        make_ray_grpo("CatText-v0", n_envs=2, group_size=2, worker_timeout_s=float("nan"))
    with pytest.raises(ValueError, match="max_restarts must be >= 0, got -1"):
        make_ray_ppo("CatText-v0", n_envs=2, n_steps=8, batch_size=16, max_restarts=-1)
