"""Issue 14, part 3: TorchRL's GymEnv registers textgym's info with info="numeric", on every id."""

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("torchrl", reason="TorchRL is optional: pip install -e '.[torchrl]'")

from torchrl.envs import GymEnv, check_env_specs  # noqa: E402

from textgym.envs.hier_shop import HierShopHighEnv, HierShopLowEnv  # noqa: E402


def component_names(env: gym.Env) -> tuple[str, ...]:
    """The reward component names of a token env, or of the token env inside the high view."""
    token_env = getattr(env.unwrapped, "low", env.unwrapped)
    return token_env.reward_component_names(token_env.episode)


def test_numeric_info_has_the_same_typed_keys_at_reset_and_every_step(env_id: str) -> None:
    env = gym.make(env_id, info="numeric")
    _, info = env.reset(seed=0)
    public = {k for k in info if not k.startswith("_")}
    rewards = {"budget_exhausted", *(f"reward_{n}" for n in component_names(env))}
    assert rewards <= public
    if not isinstance(env.unwrapped, (HierShopLowEnv, HierShopHighEnv)):  # the hierarchy adds keys (tests below)
        assert public == rewards
    types = {k: type(info[k]) for k in public}
    assert all(t in (np.bool_, np.float64, np.int64) for t in types.values())
    assert "_prompt" in info and "prompt" not in info  # text is kept, under a key collectors skip
    rng = np.random.default_rng(1)
    for _ in range(3):  # three episodes
        done = False
        while not done:
            _, _, terminated, truncated, info = env.step(int(rng.integers(env.action_space.n)))
            assert {k: type(info[k]) for k in info if not k.startswith("_")} == types
            assert isinstance(info["budget_exhausted"], np.bool_)
            assert all(isinstance(info[k], np.float64) for k in rewards - {"budget_exhausted"})
            done = terminated or truncated
        # At the end the flattened components are the episode's reward components, and the flag
        # is the default info's flag.
        assert {n: float(info[f"reward_{n}"]) for n in info["_reward_components"]} == info["_reward_components"]
        # The teaching ids report the budget as termination (issue 29); HierShopHigh has no such option.
        if getattr(env.unwrapped, "budget_as_termination", False):
            assert not truncated and bool(info["budget_exhausted"]) <= terminated
        else:
            assert bool(info["budget_exhausted"]) == truncated
        env.reset()


def test_default_info_is_unchanged() -> None:
    env = gym.make("textgym/TinyCat-v0")
    _, info = env.reset(seed=0)
    assert info == {"prompt": "tom saw it ."}
    _, _, _, _, info = env.step(2)
    assert info == {}


def test_vector_env_numeric_info_matches_the_single_env() -> None:
    venv = gym.make_vec("textgym/TinyCat-v0", num_envs=2, vectorization_mode="vector_entry_point", info="numeric")
    single = gym.make("textgym/TinyCat-v0", info="numeric")
    _, infos = venv.reset(seed=0)
    _, info = single.reset(seed=0)
    for _ in range(5):
        _, _, _, _, infos = venv.step(np.array([2, 2]))
        _, _, _, _, info = single.step(2)
    for key, value in info.items():
        if not key.startswith("_"):
            assert infos[key][0] == value


def test_torchrl_gym_env_check_env_specs_and_auto_register_info_dict(env_id: str) -> None:
    env = GymEnv(env_id, info="numeric")
    check_env_specs(env)
    env = env.auto_register_info_dict()
    rollout = env.rollout(12, break_when_any_done=False)
    nxt = rollout["next"]
    assert "budget_exhausted" in nxt.keys() and "_prompt" not in nxt.keys()
    assert any(k.startswith("reward_") for k in nxt.keys())
    if gym.spec(env_id).kwargs.get("budget_as_termination"):  # the teaching ids (issue 29): budget ends terminate
        assert not nxt["truncated"].any()
        assert (nxt["terminated"].squeeze(-1) >= nxt["budget_exhausted"]).all()
    else:
        # The env's own truncations are exactly its budget ends (nothing else limits these episodes).
        np.testing.assert_array_equal(nxt["budget_exhausted"].numpy(), nxt["truncated"].squeeze(-1).numpy())


def test_torchrl_with_budget_as_termination_reports_no_truncation() -> None:
    env = GymEnv("textgym/TinyCat-v0", info="numeric", budget_as_termination=True).auto_register_info_dict()
    rollout = env.rollout(40, break_when_any_done=False)
    nxt = rollout["next"]
    assert not nxt["truncated"].any()
    assert nxt["budget_exhausted"].any()  # random 5-token episodes mostly run out of budget
    assert (nxt["terminated"].squeeze(-1) >= nxt["budget_exhausted"]).all()
