"""The batched SB3 VecEnv behaves exactly like SB3's DummyVecEnv over the same env."""

import numpy as np
from stable_baselines3.common.env_util import make_vec_env

import agents
from agents.factory import BudgetIsPartOfTask
from agents.vec_env import TextGenSB3VecEnv


def test_batched_vec_env_matches_dummy_vec_env() -> None:
    n = 5
    ours = agents.make_env("CatText-v0", n_envs=n, seed=7)
    assert isinstance(ours.venv.venv, TextGenSB3VecEnv)
    ref = BudgetIsPartOfTask(make_vec_env("textgym/CatText-v0", n_envs=n, seed=7, env_kwargs={"render_mode": None}))
    obs_a, obs_b = ours.reset(), ref.reset()
    for key in obs_a:
        np.testing.assert_array_equal(obs_a[key], obs_b[key])
    rng = np.random.default_rng(1)
    finished = 0
    for _ in range(80):
        actions = rng.integers(ours.action_space.n, size=n)
        obs_a, rew_a, done_a, info_a = ours.step(actions)
        obs_b, rew_b, done_b, info_b = ref.step(actions)
        np.testing.assert_array_equal(obs_a["input_ids"], obs_b["input_ids"])
        np.testing.assert_array_equal(obs_a["attention_mask"], obs_b["attention_mask"])
        np.testing.assert_array_equal(rew_a, rew_b)
        np.testing.assert_array_equal(done_a, done_b)
        for i in np.flatnonzero(done_a):
            finished += 1
            a, b = info_a[i], info_b[i]
            for key in ("completion", "reward_components", "TimeLimit.truncated", "budget_exhausted"):
                assert a[key] == b[key], key
            np.testing.assert_array_equal(
                a["terminal_observation"]["input_ids"], b["terminal_observation"]["input_ids"]
            )
            assert a["episode"]["r"] == b["episode"]["r"] and a["episode"]["l"] == b["episode"]["l"]
    assert finished > 10
