"""A Ray env worker whose reward fails once keeps its env exactly as it was (issue 30).

The worker is :class:`agents.distributed.vec_env.EnvWorker`, the body of RayVecEnv's actors,
extended by one query that returns its vector env, so the test compares the worker's whole env
state before and after the failed step (the fixture ``tx``), then checks that the worker goes on
exactly as a local env that never failed.
"""

import functools
import os
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

import agents
from agents.distributed.vec_env import EnvWorker
from textgym.envs import TextGenEnv, TextGenVectorEnv
from textgym.rewards import RewardModel, RewardOutput

if os.environ.get("RAY_REQUIRED"):
    import ray  # .ci/ray: a missing ray fails there instead of skipping
else:
    ray = pytest.importorskip("ray", reason="the Ray tests need the optional extra: pip install -e '.[ray]'")

N = 3


class FailsOnCall(RewardModel):
    """Words per reply; its ``at``-th call raises (only that one; ``at=None``: never)."""

    name = "judge_in_worker"

    def __init__(self, at: int | None):
        self.at = at
        self.calls = 0

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        self.calls += 1
        if self.calls == self.at:
            raise RuntimeError("the judge timed out")
        return RewardOutput(total=np.array([float(len(c.split())) for c in completions]))


def cat_env(fail_at: int | None) -> TextGenEnv:
    return TextGenEnv(
        ["the dog ran .", "a big cat sat ."], tokenizer="tiny", reward=FailsOnCall(fail_at), max_new_tokens=4
    )


class InspectableWorker(EnvWorker):
    """EnvWorker with a query for its vector env (to compare its whole state on the driver)."""

    def vector_env(self) -> TextGenVectorEnv:
        return self.venv.unwrapped.vec


@pytest.fixture
def by_value():
    """Ship this module's classes to the workers by value (pytest imports it under a name they cannot import)."""
    module = sys.modules[__name__]
    ray.cloudpickle.register_pickle_by_value(module)
    yield
    ray.cloudpickle.unregister_pickle_by_value(module)


def without_wall_time(infos: list[dict]) -> list[dict]:
    """The infos with VecMonitor's wall-clock ``episode['t']`` left out."""
    out = [dict(info) for info in infos]
    for info in out:
        if "episode" in info:
            info["episode"] = {k: v for k, v in info["episode"].items() if k != "t"}
    return out


def test_worker_whose_reward_fails_once_keeps_its_env_state(ray_local, by_value, tx: Any) -> None:
    worker = ray.remote(InspectableWorker).options(num_cpus=1).remote(functools.partial(cat_env, 2), N, 0, None)
    local = agents.make_env(functools.partial(cat_env, None), n_envs=N, seed=0)  # never fails
    (word,) = local.get_attr("tokenizer")[0]("the", add_special_tokens=False)["input_ids"]
    eos = local.get_attr("eos_token_id")[0]
    obs, reset_infos = ray.get(worker.reset.remote([0, 1, 2], [{}] * N))
    tx.same(obs, local.reset(), "reset")
    tx.same(reset_infos, local.unwrapped.reset_infos, "reset infos")
    actions = np.full((8, N), word)
    for i in range(N):
        actions[i, i] = eos  # slot i ends its episode at step i: the reward's calls 1, 2, 3
    for t, a in enumerate(actions):
        if t == 1:  # the reward's second call raises inside the worker
            before = tx.state(ray.get(worker.vector_env.remote()))
            with pytest.raises(RuntimeError, match="the judge timed out") as err:
                ray.get(worker.step.remote(a))
            assert "judge_in_worker" in str(err.value)  # the note naming the reward travels in Ray's traceback
            tx.same(tx.state(ray.get(worker.vector_env.remote())), before, "worker state after the failed step")
        got_obs, got_rewards, got_dones, got_infos, got_reset_infos = ray.get(worker.step.remote(a))
        want_obs, want_rewards, want_dones, want_infos = local.step(a)
        tx.same((got_obs, got_rewards, got_dones), (want_obs, want_rewards, want_dones), f"step {t}")
        tx.same(without_wall_time(got_infos), without_wall_time(want_infos), f"step {t} infos")
        tx.same(got_reset_infos, local.unwrapped.reset_infos, f"step {t} reset infos")
    ray.kill(worker)
