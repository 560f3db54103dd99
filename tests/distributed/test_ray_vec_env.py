"""RayVecEnv against the local batched env, step for step; SB3 PPO on it; a worker killed mid-rollout."""

import functools
import operator
import os
import time

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.callbacks import BaseCallback

import agents
from agents.distributed import RayVecEnv, WorkerDiedError, WorkerEnvError, costly_cat_text

if os.environ.get("RAY_REQUIRED"):
    import ray  # .ci/ray: a missing ray fails there instead of skipping
else:
    ray = pytest.importorskip("ray", reason="the Ray tests need the optional extra: pip install -e '.[ray]'")


def assert_same(a, b, path="") -> None:
    """Equal values, types and dtypes, recursively; only VecMonitor's wall-clock ``episode['t']`` may differ.

    Integers, tokens and flags exactly; floats (rewards, returns) to 1e-5: the workers compute
    them in other processes, and float sums differ between hosts (and processes) by ~1e-6.
    """
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        assert sorted(a) == sorted(b), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            if k == "t" and path.endswith("['episode']"):
                continue
            assert_same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{path}: {a.dtype}{a.shape} != {b.dtype}{b.shape}"
        if np.issubdtype(a.dtype, np.floating):
            np.testing.assert_allclose(a, b, atol=1e-5, rtol=0, err_msg=path)
        else:
            np.testing.assert_array_equal(a, b, err_msg=path)
    elif isinstance(a, (float, np.floating)):
        assert a == pytest.approx(b, abs=1e-5), f"{path}: {a!r} != {b!r}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def random_actions(venv, steps: int, seed: int, eos_rate: float = 0.05) -> np.ndarray:
    """Random tokens, EOS with probability ``eos_rate`` so that episodes end at different steps."""
    eos = venv.get_attr("tokenizer")[0].eos_token_id
    rng = np.random.default_rng(seed)
    actions = rng.integers(0, venv.action_space.n, size=(steps, venv.num_envs))
    actions[rng.random(actions.shape) < eos_rate] = eos
    return actions


def trace(venv, actions: np.ndarray) -> list:
    """Everything the VecEnv returns: reset obs and infos, then each step's obs, rewards, dones, infos."""
    # Copies: the local env updates its reset_infos list in place at each autoreset. The
    # innermost env's list, since SB3 wrappers keep a stale copy of their own.
    out = [("reset", venv.reset(), list(venv.unwrapped.reset_infos))]
    for a in actions:
        out.append(("step", *venv.step(a), list(venv.unwrapped.reset_infos)))
    return out


def test_split_over_workers_equals_the_local_env_step_for_step(ray_local) -> None:
    # 5 slots over 2 workers: blocks of 3 and 2, so slot numbering across blocks is exercised.
    local = agents.make_env("CatText-v0", n_envs=5, seed=7)
    remote = RayVecEnv("CatText-v0", n_envs=5, seed=7, n_workers=2)
    try:
        assert remote.bounds == [(0, 3), (3, 5)]
        assert remote.observation_space == local.observation_space and remote.action_space == local.action_space
        actions = random_actions(local, 60, seed=0)
        expected, got = trace(local, actions), trace(remote, actions)
        assert_same(got, expected)
        # The comparison covered episode ends in every slot, by EOS and by the token budget, and
        # steps where some slots ended and others went on.
        dones = np.stack([step[3] for step in expected[1:]])
        assert dones.any(axis=0).all() and (dones.any(axis=1) & ~dones.all(axis=1)).any()
        ends = [info for step in expected[1:] for info in step[4] if "episode" in info]
        assert {info["budget_exhausted"] for info in ends} == {False, True}
        assert all("terminal_observation" in info for info in ends)
        # Reseeding reaches every worker: the same new seeds give the same new episodes.
        local.seed(123)
        remote.seed(123)
        assert_same(trace(remote, actions[:30]), trace(local, actions[:30]))
    finally:
        remote.close()


@pytest.mark.parametrize(
    "env",
    [
        # a wrapped env is not batchable: each worker holds SB3's DummyVecEnv of k envs
        functools.partial(gym.make, "textgym/CatText-v0", max_episode_steps=10, render_mode=None),
        "Dialogue-v0",  # multi-turn: the simulated user's turns are appended by the env
    ],
    ids=["wrapped-env", "multi-turn"],
)
def test_other_envs_split_over_workers_equal_the_local_env(ray_local, env) -> None:
    local = agents.make_env(env, n_envs=3, seed=2)
    remote = RayVecEnv(env, n_envs=3, seed=2, n_workers=2)
    try:
        actions = random_actions(local, 40, seed=1)
        expected = trace(local, actions)
        assert_same(trace(remote, actions), expected)
        assert sum(int(step[3].sum()) for step in expected[1:]) >= 3  # episodes ended along the way
    finally:
        remote.close()


def test_get_attr_and_errors(ray_local) -> None:
    remote = RayVecEnv("CatText-v0", n_envs=3, seed=0, n_workers=2)
    try:
        assert len(remote.get_attr("max_new_tokens")) == 3 and remote.get_attr("max_new_tokens") == [24, 24, 24]
        assert remote.env_is_wrapped(object) == [False, False, False]
        # An env's own exception in a query comes back as itself and leaves the env usable.
        assert remote.has_attr("max_new_tokens") and not remote.has_attr("no_such_attribute")
        with pytest.raises(AttributeError, match="no_such_attribute") as err:
            remote.get_attr("no_such_attribute", indices=[1])
        # The env's own exception (not Ray's RayTaskError), with a note naming the worker.
        assert type(err.value) is AttributeError
        assert any("Raised in Ray worker 0 (slots 0..1, actor" in note for note in err.value.__notes__)
        remote.reset()
        assert remote.step(np.zeros(3, dtype=np.int64))[0]["input_ids"].shape[0] == 3
        with pytest.raises(ValueError, match="increasing slot numbers"):
            remote.get_attr("max_new_tokens", indices=[2, 0])
        with pytest.raises(ValueError, match="expected 3 actions"):
            remote.step_async(np.zeros(2, dtype=np.int64))
    finally:
        remote.close()
    with pytest.raises(ValueError, match="n_workers must be between 1 and n_envs=3"):
        RayVecEnv("CatText-v0", n_envs=3, n_workers=4)
    with pytest.raises(TypeError, match="env id or an env factory"):
        RayVecEnv(agents.make_env("CatText-v0", n_envs=1), n_envs=1)


def test_env_exception_in_a_step_drops_the_batch_and_names_the_worker(ray_local) -> None:
    # operator.truediv as the reward raises TypeError when an episode is scored (on list / list);
    # a module-level function, so the workers can import it.
    remote = RayVecEnv("CatText-v0", n_envs=2, seed=0, n_workers=2, env_kwargs={"reward": operator.truediv})
    try:
        remote.reset()
        eos = remote.get_attr("tokenizer")[0].eos_token_id
        word = (eos + 5) % remote.action_space.n
        remote.step(np.array([word, word]))
        with pytest.raises(WorkerEnvError, match=r"Ray worker 1 \(slots 1\.\.1, .*raised .*TypeError") as err:
            remote.step(np.array([word, eos]))  # only slot 1 (worker 1) ends and is scored
        assert err.value.worker == 1 and err.value.slots == range(1, 2)
        assert type(err.value.__cause__) is TypeError  # the env's own exception, not Ray's wrapper
        with pytest.raises(RuntimeError, match="call reset"):
            remote.step(np.array([word, word]))
        remote.reset()  # the worker is alive: nothing to restart, every slot starts afresh
        assert remote.step(np.array([word, word]))[2].tolist() == [False, False]
    finally:
        remote.close()


def ppo_run(env, **kwargs):
    ppo = agents.make_ppo(env, n_envs=4, seed=0, n_steps=16, batch_size=32, n_epochs=1, **kwargs)
    ppo.learn(total_timesteps=64)
    return ppo


def test_ppo_trains_on_ray_env_exactly_as_on_the_local_env(ray_local) -> None:
    # One rollout (16 steps x 4 slots) and one update each; the same seed gives the same sampled
    # tokens, so equal envs must give equal weights after the update (to 1e-5: the rewards come
    # from other processes, and float sums differ between hosts and processes by ~1e-6).
    local = ppo_run("CatText-v0")
    remote_env = RayVecEnv("CatText-v0", n_envs=4, seed=0, n_workers=2)
    try:
        remote = ppo_run(remote_env)
    finally:
        remote_env.close()
    assert remote.num_timesteps == local.num_timesteps == 64
    assert remote._n_updates == local._n_updates == 1
    assert len(local.ep_info_buffer) > 0
    assert [e["l"] for e in remote.ep_info_buffer] == [e["l"] for e in local.ep_info_buffer]
    assert [e["r"] for e in remote.ep_info_buffer] == pytest.approx([e["r"] for e in local.ep_info_buffer], abs=1e-5)
    local_state, remote_state = local.policy.state_dict(), remote.policy.state_dict()
    assert local_state.keys() == remote_state.keys()
    for name, value in local_state.items():
        torch.testing.assert_close(remote_state[name], value, atol=1e-5, rtol=0, msg=name)
    # The update changed the weights being compared (a comparison of two untrained copies proves nothing).
    initial = agents.make_ppo("CatText-v0", n_envs=4, seed=0, n_steps=16, batch_size=32).policy.state_dict()
    assert any(not torch.equal(value, initial[name]) for name, value in local_state.items())


class KillWorker(BaseCallback):
    """Kills a worker after ``at`` env steps of the rollout."""

    def __init__(self, env: RayVecEnv, worker: int, at: int):
        super().__init__()
        self.env, self.worker, self.at = env, worker, at

    def _on_step(self) -> bool:
        if self.n_calls == self.at:
            ray.kill(self.env.workers[self.worker])
        return True


def test_ppo_never_updates_on_a_batch_with_a_killed_worker(ray_local) -> None:
    env = RayVecEnv("CatText-v0", n_envs=4, seed=0, n_workers=2)
    try:
        ppo = agents.make_ppo(env, seed=0, n_steps=16, batch_size=32, n_epochs=1)
        before = {k: v.clone() for k, v in ppo.policy.state_dict().items()}
        named = r"Ray worker 1 \(slots 2\.\.3, actor [0-9a-f]+\) died during step"
        with pytest.raises(WorkerDiedError, match=named) as err:
            ppo.learn(total_timesteps=64, callback=KillWorker(env, worker=1, at=5))
        assert err.value.worker == 1
        # A query that reaches only the dead worker names it too (not by its position in the query).
        with pytest.raises(WorkerDiedError, match=r"Ray worker 1 \(slots 2\.\.3") as err:
            env.get_attr("max_new_tokens", indices=[3])
        assert err.value.worker == 1
        assert ppo._n_updates == 0
        assert all(torch.equal(v, ppo.policy.state_dict()[k]) for k, v in before.items())  # untouched: exactly
    finally:
        env.close()


def test_worker_killed_mid_step_drops_the_batch_and_restarts_on_reset(ray_local) -> None:
    # Each finished episode's reward burns 1 s of CPU in its worker, so the kill lands inside
    # worker 1's step (its two slots end on EOS there) and the step cannot have finished.
    factory = functools.partial(costly_cat_text, 1.0)
    local = agents.make_env(factory, n_envs=4, seed=0)
    remote = RayVecEnv(factory, n_envs=4, seed=0, n_workers=2)
    eos = remote.get_attr("tokenizer")[0].eos_token_id
    word = (eos + 5) % remote.action_space.n
    try:
        assert_same(remote.reset(), local.reset())
        episodes = []
        # Steps 1-3: slot 0 ends its episode at step 3; both envs agree.
        for t in range(3):
            actions = np.array([eos if t == 2 else word, word, word, word])
            got, want = remote.step(actions), local.step(actions)
            assert_same(list(got), list(want))
            episodes += [(i, info["episode"]["l"]) for i, info in enumerate(got[3]) if "episode" in info]
        assert episodes == [(0, 3)]
        # Step 4: slot 1 (worker 0) and slots 2, 3 (worker 1) end; worker 1 is killed while scoring.
        old_actor = remote.workers[1]
        remote.step_async(np.array([word, eos, eos, eos]))
        time.sleep(0.2)
        ray.kill(old_actor)
        with pytest.raises(WorkerDiedError, match=r"Ray worker 1 \(slots 2\.\.3") as err:
            remote.step_wait()
        assert err.value.worker == 1
        with pytest.raises(RuntimeError, match="call reset"):
            remote.step(np.full(4, word))
        # Reset restarts the dead worker and starts every slot afresh: slot 1's episode that ended in
        # the dropped step is never reported, and nothing from before the reset is reported again.
        obs = remote.reset()
        assert remote.workers[1] is not old_actor and obs["input_ids"].shape[0] == 4
        for t in range(2):
            _, _, dones, infos = remote.step(np.full(4, eos if t == 1 else word))
            episodes += [(i, info["episode"]["l"]) for i, info in enumerate(infos) if "episode" in info]
        assert episodes == [(0, 3), (0, 2), (1, 2), (2, 2), (3, 2)]
    finally:
        remote.close()
