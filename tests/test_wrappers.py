"""Observation wrappers for stock agents: exact codes, the state-index bijection, horizon handling."""

import itertools

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import textgym  # noqa: F401  (registers the environments)
from textgym.envs import TextGenEnv
from textgym.envs.small_vocab import word_list_tokenizer
from textgym.wrappers import (
    FlattenTokens,
    OneHotTokens,
    TerminateAtHorizon,
    TokenIndexObs,
    wrap_for_stock_agents,
)

# TinyCat token ids: <eos>=0 .=1 the=2 a=3 cat=4 ... sat=13 saw=14 tom=16 it=17.
THE, CAT, SAT, DOT, EOS = 2, 4, 13, 1, 0
TOM_SAW_IT = [16, 14, 17, 1]  # the prompt TinyCat draws for seed 0


def tiny_cat() -> gym.Env:
    return gym.make("textgym/TinyCat-v0")


def test_one_hot_right_aligned_puts_the_latest_token_last() -> None:
    env = OneHotTokens(tiny_cat())
    obs, _ = env.reset(seed=0)
    obs, *_ = env.step(THE)
    obs, *_ = env.step(CAT)
    grid = obs.reshape(9, 18)
    expected = np.zeros((9, 18), dtype=np.float32)
    for row, token in zip(range(3, 9), [*TOM_SAW_IT, THE, CAT], strict=True):
        expected[row, token] = 1.0
    np.testing.assert_array_equal(grid, expected)
    assert obs.dtype == np.float32 and env.observation_space.contains(obs)


def test_one_hot_left_aligned_keeps_textgym_positions() -> None:
    env = OneHotTokens(tiny_cat(), align="left")
    env.reset(seed=0)
    obs, *_ = env.step(THE)
    grid = obs.reshape(9, 18)
    assert grid.argmax(axis=1)[:5].tolist() == [*TOM_SAW_IT, THE]
    assert grid[5:].sum() == 0 and grid.sum() == 5


def test_flatten_tokens_shifts_ids_and_marks_empty_positions() -> None:
    env = FlattenTokens(tiny_cat())
    env.reset(seed=0)
    obs, *_ = env.step(EOS)  # <eos> is id 0: it must stay distinguishable from padding
    assert obs.tolist() == [0, 0, 0, 0, 17, 15, 18, 2, 1]
    assert env.observation_space.contains(obs)
    left = FlattenTokens(tiny_cat(), align="left")
    assert left.reset(seed=0)[0].tolist() == [17, 15, 18, 2, 0, 0, 0, 0, 0]


def test_token_index_matches_the_hand_computed_formula() -> None:
    env = TokenIndexObs(tiny_cat())
    g = (18**6 - 1) // 17  # sequences of length 0..5 over 18 tokens
    assert env.n_generated == g == 2_000_719 and env.observation_space.n == 4 * g
    rank = 3  # "tom saw it ." is the 4th prompt
    state, _ = env.reset(seed=0)
    assert state == rank * g
    state, *_ = env.step(THE)
    assert state == rank * g + 1 + THE  # offset of length 1 is 1
    state, *_ = env.step(CAT)
    assert state == rank * g + (1 + 18) + THE * 18 + CAT  # offset of length 2 is 1 + 18
    assert env.decode(state) == (tuple(TOM_SAW_IT), (THE, CAT))


def small_env(max_new_tokens: int = 3) -> TextGenEnv:
    tok = word_list_tokenizer([".", "a", "b"])  # 4 tokens with <eos>
    return TextGenEnv(
        ["a .", "b .", "a ."], tokenizer=tok, reward=lambda p, c: [0.0] * len(c), max_new_tokens=max_new_tokens
    )


def test_token_index_is_a_bijection() -> None:
    env = TokenIndexObs(small_env())
    assert env.prompts == [(2, 1), (3, 1)]  # the repeated prompt is one state
    pairs = [(p, seq) for p in env.prompts for k in range(4) for seq in itertools.product(range(4), repeat=k)]
    indices = [env.index(p, seq) for p, seq in pairs]
    assert sorted(indices) == list(range(env.observation_space.n)) == list(range(2 * (1 + 4 + 16 + 64)))
    assert all(env.decode(i) == pair for i, pair in zip(indices, pairs, strict=True))


def test_token_index_follows_real_episodes() -> None:
    env = TokenIndexObs(small_env())
    state, _ = env.reset(seed=1)
    prompt = env.decode(state)[0]
    written: list[int] = []
    for action in [1, 3, 2]:
        state, reward, terminated, truncated, _ = env.step(action)
        written.append(action)
        assert env.decode(state) == (prompt, tuple(written))
    assert truncated and not terminated


def test_token_index_errors() -> None:
    with pytest.raises(TypeError, match="needs a TextGenEnv"):
        TokenIndexObs(gym.make("CartPole-v1"))
    with pytest.raises(ValueError, match="do not fit a 64-bit state index"):
        TokenIndexObs(gym.make("textgym/CatText-v0"))  # 247 tokens, horizon 24
    env = TokenIndexObs(small_env())
    with pytest.raises(RuntimeError, match="before reset"):
        env.step(0)
    with pytest.raises(ValueError, match="not one of the env's prompts"):
        env.index((1,), ())
    with pytest.raises(ValueError, match="exceed the horizon"):
        env.index((2, 1), (1, 1, 1, 1))
    with pytest.raises(ValueError, match="outside Discrete"):
        env.decode(env.observation_space.n)


def test_observation_wrappers_reject_non_token_envs_and_bad_align() -> None:
    with pytest.raises(TypeError, match="Dict\\(input_ids, attention_mask\\)"):
        OneHotTokens(gym.make("CartPole-v1"))
    with pytest.raises(ValueError, match="align must be one of"):
        FlattenTokens(tiny_cat(), align="center")
    with pytest.raises(ValueError, match="observation must be one of"):
        wrap_for_stock_agents(tiny_cat(), observation="pixels")


def test_terminate_at_horizon_turns_truncation_into_termination() -> None:
    raw, wrapped = tiny_cat(), TerminateAtHorizon(tiny_cat())
    raw.reset(seed=0)
    wrapped.reset(seed=0)
    for _ in range(5):
        r = raw.step(THE)
        w = wrapped.step(THE)
    assert r[2:4] == (False, True) and w[2:4] == (True, False)
    assert r[1] == w[1] and np.array_equal(r[0]["input_ids"], w[0]["input_ids"])
    wrapped.reset(seed=0)
    assert wrapped.step(EOS)[2:4] == (True, False)  # a real termination is unchanged
    # An outer time limit is not the token budget: it stays a truncation (agents bootstrap).
    limited = TerminateAtHorizon(gym.wrappers.TimeLimit(tiny_cat(), max_episode_steps=2))
    limited.reset(seed=0)
    limited.step(THE)
    assert limited.step(THE)[2:4] == (False, True)


@pytest.mark.filterwarnings("ignore:.*is different from the unwrapped version")
@pytest.mark.parametrize("observation", ["one_hot", "multi_discrete", "index"])
def test_wrapped_envs_pass_both_env_checkers(observation: str) -> None:
    env = wrap_for_stock_agents(tiny_cat(), observation)
    sb3_check_env(env, warn=True)
    gym_check_env(env, skip_render_check=True)  # warns that env is wrapped; checks the wrapper
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
