"""Every id registered under textgym/ gets the same battery of checks."""

import pickle
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env


def tokens(obs: object) -> np.ndarray:
    """What an observation holds, as one array to compare: ``input_ids`` of a Dict, else the flat Box itself."""
    return obs["input_ids"] if isinstance(obs, dict) else obs


def key(info: dict, name: str) -> str:
    """``name``, or ``"_" + name`` where ``info="numeric"`` keeps a text key under a leading underscore."""
    return name if name in info else f"_{name}"


def rollout(env: gym.Env, seed: int, n_episodes: int, action_seed: int) -> list:
    """Random-policy episodes; returns everything observable, to compare runs."""
    rng = np.random.default_rng(action_seed)
    trace = []
    obs, info = env.reset(seed=seed)
    trace.append((tokens(obs).copy(), info.get(key(info, "prompt"))))
    for _ in range(n_episodes):
        done = False
        while not done:
            action = int(rng.integers(env.action_space.n))
            obs, reward, terminated, truncated, info = env.step(action)
            trace.append((tokens(obs).copy(), reward, terminated, truncated, info.get(key(info, "completion"))))
            done = terminated or truncated
        obs, info = env.reset()
        trace.append((tokens(obs).copy(), info.get(key(info, "prompt"))))
    return trace


def assert_same(a: list, b: list) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        for u, v in zip(x, y, strict=True):
            if isinstance(u, np.ndarray):
                np.testing.assert_array_equal(u, v)
            else:
                assert u == v


def test_gymnasium_env_checker(env_id: str) -> None:
    env = gym.make(env_id, render_mode="ansi")
    gym_check_env(env.unwrapped, skip_render_check=False)


def test_sb3_env_checker(env_id: str) -> None:
    env = gym.make(env_id)
    sb3_check_env(env.unwrapped, warn=True)


def test_same_seed_same_trajectory(env_id: str) -> None:
    a = rollout(gym.make(env_id), seed=3, n_episodes=4, action_seed=7)
    b = rollout(gym.make(env_id), seed=3, n_episodes=4, action_seed=7)
    assert_same(a, b)
    c = rollout(gym.make(env_id), seed=4, n_episodes=4, action_seed=7)
    assert any(not np.array_equal(x[0], y[0]) for x, y in zip(a, c, strict=True))


def test_pickle_round_trip(env_id: str) -> None:
    env = gym.make(env_id).unwrapped
    env.reset(seed=1)
    env.step(5)
    clone = pickle.loads(pickle.dumps(env))
    rng = np.random.default_rng(0)
    for _ in range(env.max_new_tokens - 1):
        action = int(rng.integers(env.action_space.n))
        out_a, out_b = env.step(action), clone.step(action)
        np.testing.assert_array_equal(tokens(out_a[0]), tokens(out_b[0]))
        assert out_a[1:4] == out_b[1:4] and out_a[4] == out_b[4]
        if out_a[2] or out_a[3]:
            break
    assert_same(rollout(env, 9, 2, 1), rollout(clone, 9, 2, 1))


def test_random_episodes_end_within_max_new_tokens(env_id: str) -> None:
    env = gym.make(env_id).unwrapped
    rng = np.random.default_rng(0)
    for episode in range(20):
        env.reset(seed=episode)
        t = 0
        while t < env.max_new_tokens:
            _, reward, terminated, truncated, info = env.step(int(rng.integers(env.action_space.n)))
            t += 1
            if terminated or truncated:
                break
        assert terminated or truncated
        assert t <= env.max_new_tokens
        assert truncated == (t == env.max_new_tokens and not terminated)
        assert {key(info, k) for k in ("prompt", "completion", "reward_components")} <= set(info)
        assert np.isfinite(reward)


@pytest.mark.parametrize("mode", ["sync", "async", "vector_entry_point"])
def test_make_vec_matches_single_envs(env_id: str, mode: str) -> None:
    if mode == "vector_entry_point" and gym.spec(env_id).vector_entry_point is None:
        pytest.skip(f"{env_id} registers no vector_entry_point")
    n = 3
    venv = gym.make_vec(env_id, num_envs=n, vectorization_mode=mode)
    singles = [gym.make(env_id) for _ in range(n)]
    obs, _ = venv.reset(seed=11)
    single_obs = [e.reset(seed=11 + i)[0] for i, e in enumerate(singles)]
    np.testing.assert_array_equal(tokens(obs), np.stack([tokens(o) for o in single_obs]))
    rng = np.random.default_rng(2)
    needs_reset = [False] * n
    for _ in range(60):
        actions = rng.integers(venv.single_action_space.n, size=n)
        obs, rewards, terms, truncs, infos = venv.step(actions)
        for i, e in enumerate(singles):
            if needs_reset[i]:  # NEXT_STEP autoreset: this step resets slot i
                o, _ = e.reset()
                r, te, tr = 0.0, False, False
            else:
                o, r, te, tr, info = e.step(int(actions[i]))
                if te or tr:
                    completion, components = key(info, "completion"), key(info, "reward_components")
                    assert infos[completion][i] == info[completion]
                    for name, value in info[components].items():
                        assert infos[components][name][i] == value
            needs_reset[i] = te or tr
            if isinstance(o, dict):
                np.testing.assert_array_equal(obs["input_ids"][i], o["input_ids"])
                np.testing.assert_array_equal(obs["attention_mask"][i], o["attention_mask"])
            else:
                np.testing.assert_array_equal(obs[i], o)
            assert (rewards[i], terms[i], truncs[i]) == (r, te, tr)
    venv.close()


def test_registry_imports_no_torch() -> None:
    code = "import sys, envs_registry, textgym; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_making_tinycat_imports_no_torch() -> None:
    # issue 13: a small-vocabulary env needs no deep-learning stack.
    code = (
        "import sys, textgym, gymnasium as gym; env = gym.make('textgym/TinyCat-v0'); env.reset(seed=0); env.step(1);"
        " gym.make_vec('textgym/TinyCat-v0', num_envs=2); assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
