"""RolloutWorkers: distributed whole-episode collection equals local collection; a killed worker is re-collected."""

import functools
import os
import threading

import numpy as np
import pytest
import torch

import agents
from agents.distributed import RolloutWorkers, WorkerDiedError, concat_episodes, costly_cat_text
from agents.episode_batch import collect_episodes, whole_episode_env

if os.environ.get("RAY_REQUIRED"):
    import ray  # .ci/ray: a missing ray fails there instead of skipping
else:
    ray = pytest.importorskip("ray", reason="the Ray tests need the optional extra: pip install -e '.[ray]'")

G = 2


def make_policy(env_id: str = "CatText-v0") -> agents.LMActorCriticPolicy:
    venv = agents.make_env(env_id, n_envs=1)
    policy = agents.LMActorCriticPolicy(venv.observation_space, venv.action_space, lambda _: 1e-4, model="tiny")
    policy.set_training_mode(False)
    return policy


def local_block(env, n_envs: int, seed: int):
    venv = agents.make_env(env, n_envs=n_envs, seed=seed, group_size=G, whole_episodes=True)
    venv.reset()
    return whole_episode_env(venv)


def local_collect(policy, blocks, torch_seed: int):
    """What the workers do, here: block j collected with torch seeded torch_seed + j, one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in the workers (Ray gives a 1-CPU actor one thread): the same float sums
    try:
        parts = []
        for j, block in enumerate(blocks):
            torch.manual_seed(torch_seed + j)
            parts.append(collect_episodes(policy, block, on_step=lambda *_: True))
        return concat_episodes(parts)
    finally:
        torch.set_num_threads(threads)


def assert_same_episodes(a, b) -> None:
    assert a.group_size == b.group_size and a.n_episodes == b.n_episodes
    assert len(a.prompts) == len(b.prompts)
    assert all(torch.equal(x, y) for x, y in zip(a.prompts, b.prompts, strict=True))
    assert torch.equal(a.lengths, b.lengths)
    # a may be wider (a slice of a batch padded to another worker's longer episodes): zeros there.
    width = b.tokens.shape[1]
    for name in ("tokens", "action_mask", "old_log_probs"):
        x, y = getattr(a, name), getattr(b, name)
        assert not x[:, width:].any(), name
        if name == "old_log_probs":
            # Floats computed in two processes: float sums differ between hosts (and processes) by
            # ~1e-6 (9.5e-7 seen on another host), so equal to 1e-5; tokens and masks exactly.
            torch.testing.assert_close(x[:, :width], y, atol=1e-5, rtol=0, msg=name)
        else:
            assert torch.equal(x[:, :width], y), name
    # The env's rewards, computed in the worker and here: equal to 1e-5, for the same reason.
    np.testing.assert_allclose(a.returns, b.returns, atol=1e-5, rtol=0)
    np.testing.assert_allclose(a.rewards, b.rewards, atol=1e-5, rtol=0)
    assert a.infos == b.infos


def test_distributed_collection_equals_local_collection(ray_local, monkeypatch) -> None:
    policy = make_policy()
    pool = RolloutWorkers(policy, "CatText-v0", n_envs=8, group_size=G, seed=5, n_workers=2)
    puts = []
    real_put = ray.put
    monkeypatch.setattr(ray, "put", lambda value, **kw: puts.append(1) or real_put(value, **kw))
    try:
        assert pool.bounds == [(0, 4), (4, 8)]
        blocks = [local_block("CatText-v0", 4, 5), local_block("CatText-v0", 4, 9)]
        got = pool.collect(policy, seed=11)
        assert len(puts) == 1  # the weights went to the object store once, for both workers
        want = local_collect(policy, blocks, 11)
        assert_same_episodes(got, want)
        assert got.n_episodes == 8 and got.action_mask.any(dim=1).all()
        # New weights reach the workers: after a change, both sides sample from the changed policy
        # (old weights in a worker would give other log-probs), and the envs go on with new prompts.
        with torch.no_grad():
            policy.lm.get_output_embeddings().weight.mul_(3.0)
        got2, want2 = pool.collect(policy, seed=12), local_collect(policy, blocks, 12)
        assert_same_episodes(got2, want2)
        assert len(puts) == 2
    finally:
        pool.close()


def test_one_worker_equals_one_local_collection_of_all_slots(ray_local) -> None:
    policy = make_policy()
    pool = RolloutWorkers(policy, "CatText-v0", n_envs=4, group_size=G, seed=3, n_workers=1)
    try:
        assert_same_episodes(pool.collect(policy, seed=1), local_collect(policy, [local_block("CatText-v0", 4, 3)], 1))
    finally:
        pool.close()


def test_killed_worker_is_collected_again_and_no_episode_counts_twice(ray_local) -> None:
    # Each finished episode's reward burns 0.5 s of CPU, so a collect takes seconds and the kill
    # lands in the middle of worker 1's collection.
    env = functools.partial(costly_cat_text, 0.5)
    policy = make_policy()
    pool = RolloutWorkers(policy, env, n_envs=8, group_size=G, seed=5, n_workers=2)
    try:
        pool.ready()
        old = pool.workers[1]
        threading.Timer(1.0, ray.kill, args=(old,)).start()
        got = pool.collect(policy, seed=11)
        assert pool.restarts == 1 and pool.workers[1] is not old
        # Exactly one batch: 8 episodes in 4 whole groups, nothing from the killed attempt.
        assert got.n_episodes == 8 and got.n_groups == 4 and len(got.infos) == 8
        assert all(info.get("completion") is not None for info in got.infos)
        # Worker 0 was untouched: its half equals local collection of its block.
        want0 = local_collect(policy, [local_block(env, 4, 5)], 11)
        assert_same_episodes(got.select_groups([0, 1]), want0)
        # Worker 1's half comes from the restarted worker, whole groups (one prompt per group).
        assert (got.lengths[4:] > 0).all()
        # With no restarts allowed, a death is an error naming the worker, and nothing is returned.
        pool.max_restarts = 0
        pool.ready()
        threading.Timer(1.0, ray.kill, args=(pool.workers[0],)).start()
        with pytest.raises(WorkerDiedError, match=r"rollout worker 0 \(slots 0\.\.3\) died") as err:
            pool.collect(policy, seed=12)
        assert err.value.worker == 0
    finally:
        pool.close()
