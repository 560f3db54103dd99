"""The batched SB3 VecEnv behaves exactly like SB3's DummyVecEnv over the same env."""

import numpy as np
import pytest
from stable_baselines3.common.env_util import make_vec_env

import agents
from agents.factory import BudgetIsPartOfTask
from agents.vec_env import TextGenSB3VecEnv


def assert_same(a: object, b: object, where: str) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{where}: {sorted(a)} != {sorted(b)}"
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.mark.parametrize("env_id", ["CatText-v0", "Dialogue-v0", "HierShopLow-v2"])
def test_batched_vec_env_matches_dummy_vec_env(env_id: str) -> None:
    n = 5
    ours = agents.make_env(env_id, n_envs=n, seed=7)
    assert isinstance(ours.venv.venv, TextGenSB3VecEnv)  # Dialogue and HierShopLow too: they are batchable
    ref = BudgetIsPartOfTask(make_vec_env(f"textgym/{env_id}", n_envs=n, seed=7, env_kwargs={"render_mode": None}))
    obs_a, obs_b = ours.reset(), ref.reset()
    assert_same(obs_a, obs_b, "reset obs")
    assert_same(ours.reset_infos, ref.reset_infos, "reset infos")
    stop = ours.get_attr("eos_token_id")[0]
    rng = np.random.default_rng(1)
    finished = 0
    for t in range(120):
        actions = rng.integers(ours.action_space.n, size=n)
        actions[rng.random(n) < 0.1] = stop  # end turns early, so Dialogue's user answers mid-episode
        obs_a, rew_a, done_a, info_a = ours.step(actions)
        obs_b, rew_b, done_b, info_b = ref.step(actions)
        assert_same(obs_a, obs_b, f"step {t} obs")
        np.testing.assert_array_equal(rew_a, rew_b)
        np.testing.assert_array_equal(done_a, done_b)
        for i in range(n):
            a, b = dict(info_a[i]), dict(info_b[i])
            ep_a, ep_b = a.pop("episode", None), b.pop("episode", None)
            assert_same(a, b, f"step {t} slot {i}")  # every key: turns, goal_met, TimeLimit.truncated, ...
            if done_a[i]:
                finished += 1
                # VecMonitor sums float32 rewards, Monitor float64 rounded to 6 digits
                assert ep_a["r"] == pytest.approx(ep_b["r"], abs=1e-5) and ep_a["l"] == ep_b["l"]
        assert_same(ours.reset_infos, ref.reset_infos, f"step {t} reset infos")
    assert finished > 10


def test_hier_shop_low_trains_from_its_id_through_the_batched_env() -> None:
    # Each turn's act lives on the episode record (Episode.goals), so HierShopLow's slots share
    # one template env; test_batched_vec_env_matches_dummy_vec_env checks its episodes.
    ppo = agents.make_ppo("HierShopLow-v2", n_envs=2, n_steps=16, batch_size=32)
    assert isinstance(ppo.env.venv.venv, TextGenSB3VecEnv)
    ppo.learn(64)
    assert ppo.num_timesteps == 64


def test_hier_shop_low_with_external_goals_is_not_batched() -> None:
    # The high level sets each turn's act on the env between its steps: no template env for N slots.
    from textgym.envs.hier_shop import HierShopLowEnv
    from textgym.envs.vector import TextGenVectorEnv

    with pytest.raises(ValueError, match="batchable"):
        TextGenVectorEnv(HierShopLowEnv(tokenizer="tiny", external_goals=True), 2)


def test_max_new_tokens_is_the_shared_envs_budget() -> None:
    # GRPO's "constant" loss divides by this budget; the adapter tells it, not a walk through wrappers
    from textgym.envs.cat_text import CatTextEnv

    venv = TextGenSB3VecEnv(CatTextEnv(max_new_tokens=7), num_envs=2)
    assert venv.max_new_tokens == 7
    grpo = agents.make_grpo("CatText-v0", n_envs=4, group_size=2, env_kwargs={"max_new_tokens": 5})
    assert grpo.max_new_tokens == 5


@pytest.mark.parametrize("factory", ["make_ppo", "make_grpo"])
def test_an_env_without_token_state_is_refused_naming_what_to_pass(factory: str) -> None:
    # TinyCat-v1 observes a flat one-hot Box for stock agents; SB3's buffer raised a bare AssertionError.
    kwargs = {"group_size": 2} if factory == "make_grpo" else {}
    with pytest.raises(ValueError, match=r"TinyCat-v1 observes Box\(.*pass env_kwargs=\{'observation': 'tokens'\}"):
        getattr(agents, factory)("TinyCat-v1", n_envs=2, **kwargs)
