"""Issue 14, part 2: the observation options and budget_as_termination, on every id, without changing the default."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env as gym_check_env
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from textgym.envs.tiny_cat import TinyCatEnv
from textgym.envs.vector import TextGenVectorEnv

OPTIONS = [{"observation": "multidiscrete"}, {"observation": "onehot"}, {"budget_as_termination": True}]
OPTION_IDS = ["multidiscrete", "onehot", "budget_as_termination"]
# The high level of the hierarchy acts in dialogue acts, not tokens; its observation is its own
# (token state + features) and the token options do not apply (it refuses them, tested below).
NOT_TOKEN_LEVEL = {
    env_id for env_id, spec in gym.registry.items() if spec.entry_point == "textgym.envs.hier_shop:HierShopHighEnv"
}


def token_level(env_id: str) -> None:
    if env_id in NOT_TOKEN_LEVEL:
        pytest.skip(f"{env_id} is not a token-level env: the observation options do not apply")


def test_the_high_level_refuses_the_token_options() -> None:
    for key, value in (("observation", "onehot"), ("budget_as_termination", True)):
        with pytest.raises(TypeError, match=key):
            gym.make("textgym/HierShopHigh-v1", **{key: value})
        with pytest.raises(ValueError, match=key):
            gym.make("textgym/HierShopHigh-v1", low_env_kwargs={key: value})


@pytest.mark.parametrize("kwargs", OPTIONS, ids=OPTION_IDS)
def test_both_env_checkers_pass(env_id: str, kwargs: dict) -> None:
    token_level(env_id)
    gym_check_env(gym.make(env_id, render_mode="ansi", **kwargs).unwrapped, skip_render_check=False)
    sb3_check_env(gym.make(env_id, **kwargs).unwrapped, warn=True)


def one_hot_by_hand(ids: np.ndarray, mask: np.ndarray, vocab: int) -> np.ndarray:
    """Right-aligned one-hot code, one position at a time."""
    length = len(ids)
    n = int(mask.sum())
    out = np.zeros((length, vocab), dtype=np.float32)
    for p in range(n):
        out[length - n + p, ids[p]] = 1.0
    return out.reshape(-1)


@pytest.mark.parametrize("observation", ["multidiscrete", "onehot"])
def test_options_encode_the_default_token_state(env_id: str, observation: str) -> None:
    token_level(env_id)
    base, other = gym.make(env_id, observation="tokens"), gym.make(env_id, observation=observation)
    vocab, length = base.unwrapped.vocab_size, base.unwrapped.max_length
    assert base.observation_space == spaces.Dict(
        {
            "input_ids": spaces.Box(0, vocab - 1, (length,), np.int64),
            "attention_mask": spaces.Box(0, 1, (length,), np.int64),
        }
    )
    if "observation" not in gym.spec(env_id).kwargs:  # the teaching ids register another default (issue 29)
        assert gym.make(env_id).observation_space == base.observation_space  # the default is unchanged
    rng = np.random.default_rng(0)
    a, _ = base.reset(seed=3)
    b, _ = other.reset(seed=3)
    for _ in range(30):
        if observation == "multidiscrete":
            assert other.observation_space["input_ids"] == spaces.MultiDiscrete([vocab] * length)
            assert other.observation_space["attention_mask"] == spaces.MultiBinary(length)
            np.testing.assert_array_equal(b["input_ids"], a["input_ids"])
            np.testing.assert_array_equal(b["attention_mask"], a["attention_mask"])
            assert b["attention_mask"].dtype == np.int8
        else:
            np.testing.assert_array_equal(b, one_hot_by_hand(a["input_ids"], a["attention_mask"], vocab))
        assert other.observation_space.contains(b)
        action = int(rng.integers(vocab))
        a, ra, ta, tra, _ = base.step(action)
        b, rb, tb, trb, _ = other.step(action)
        assert (ra, ta, tra) == (rb, tb, trb)
        if ta or tra:
            a, _ = base.reset()
            b, _ = other.reset()


def test_one_hot_by_hand_matches_a_known_state() -> None:
    # "tom saw it ." = 16 14 17 1 in 9 positions: rows 5..8 hold them.
    code = one_hot_by_hand(np.array([16, 14, 17, 1, 0, 0, 0, 0, 0]), np.array([1, 1, 1, 1, 0, 0, 0, 0, 0]), 18)
    assert code.reshape(9, 18).argmax(axis=1).tolist() == [0, 0, 0, 0, 0, 16, 14, 17, 1]
    assert code.sum() == 4


@pytest.mark.parametrize("observation", ["multidiscrete", "onehot"])
@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_vector_env_matches_single_envs(observation: str, mode: AutoresetMode) -> None:
    n = 3
    venv = TextGenVectorEnv(TinyCatEnv(observation=observation), n, autoreset_mode=mode)
    singles = [TinyCatEnv(observation=observation) for _ in range(n)]
    obs, _ = venv.reset(seed=1)
    single = [e.reset(seed=1 + i)[0] for i, e in enumerate(singles)]
    assert venv.observation_space.contains(obs)
    rng = np.random.default_rng(4)
    pending = [False] * n
    for _ in range(25):
        actions = rng.integers(18, size=n)
        obs, _, terms, truncs, infos = venv.step(actions)
        for i, e in enumerate(singles):
            if pending[i]:
                single[i], _ = e.reset()
                pending[i] = False
                continue
            single[i], _, te, tr, _ = e.step(int(actions[i]))
            if (te or tr) and mode == AutoresetMode.SAME_STEP:
                final = infos["final_obs"][i]
                expect = single[i]
                if observation == "onehot":
                    np.testing.assert_array_equal(final, expect)
                else:
                    np.testing.assert_array_equal(final["input_ids"], expect["input_ids"])
                single[i], _ = e.reset()
            elif te or tr:
                pending[i] = True
        for i in range(n):
            got = obs[i] if observation == "onehot" else obs["input_ids"][i]
            want = single[i] if observation == "onehot" else single[i]["input_ids"]
            np.testing.assert_array_equal(got, want)


def run_tinycat(words: list[str], **kwargs: object) -> list[tuple]:
    env = gym.make("textgym/TinyCat-v0", **kwargs)
    env.reset(seed=0)
    tok = env.unwrapped.tokenizer
    return [env.step(tok.convert_tokens_to_ids(w))[1:] for w in words]


def test_budget_as_termination_reports_the_budget_as_terminated() -> None:
    words = ["the", "cat", "sat", "the", "cat"]  # 5 tokens without <eos>: the budget ends it
    default, option = run_tinycat(words), run_tinycat(words, budget_as_termination=True)
    for (r0, *_, i0), (r1, *_, i1) in zip(default, option, strict=True):
        assert r0 == r1 and i0 == i1
    assert default[-1][1:3] == (False, True) and option[-1][1:3] == (True, False)
    assert option[-1][3]["budget_exhausted"] is True
    assert all(not te and not tr for _, te, tr, _ in option[:-1])
    # <eos> terminates as before, not a budget end.
    eos = run_tinycat(["the", "cat", "sat", ".", "<eos>"], budget_as_termination=True)
    assert eos[-1][1:3] == (True, False) and eos[-1][3]["budget_exhausted"] is False


def test_budget_as_termination_in_the_vector_env() -> None:
    venv = gym.make_vec(
        "textgym/TinyCat-v0", num_envs=2, vectorization_mode="vector_entry_point", budget_as_termination=True
    )
    venv.reset(seed=0)
    for _ in range(5):
        _, _, terms, truncs, infos = venv.step(np.array([5, 5]))  # "dog" x 5
    assert terms.tolist() == [True, True] and truncs.tolist() == [False, False]
    assert infos["budget_exhausted"].tolist() == [True, True]


def test_unknown_observation_is_an_error() -> None:
    with pytest.raises(ValueError, match="observation must be one of"):
        gym.make("textgym/TinyCat-v0", observation="one_hot")
