"""TextGenEnv and CatText: rewards, rendering and every bad input named in the spec."""

import math

import gymnasium as gym
import numpy as np
import pytest

from textgym.envs import CatTextEnv, TextGenEnv
from textgym.models import load_tokenizer

TOK = load_tokenizer("tiny")


def ids(text: str) -> list[int]:
    return TOK(text, add_special_tokens=False)["input_ids"]


def make(reward=lambda p, c: [1.0] * len(c), **kw) -> TextGenEnv:
    kw.setdefault("max_new_tokens", 4)
    return TextGenEnv(["the dog ran .", "a big cat sat ."], tokenizer=TOK, reward=reward, **kw)


def play(env: gym.Env, text: str, seed: int = 0) -> list[tuple]:
    env.reset(seed=seed)
    steps = []
    for a in ids(text):
        steps.append(env.step(a)[1:])
        if steps[-1][1] or steps[-1][2]:
            break
    return steps


def test_observation_layout_is_right_padded() -> None:
    env = make()
    obs, info = env.reset(seed=0, options={"prompt_index": 0})
    prompt = TOK(info["prompt"])["input_ids"]
    assert prompt[0] == TOK.bos_token_id
    n = len(prompt)
    assert obs["input_ids"][:n].tolist() == prompt
    assert obs["attention_mask"].tolist() == [1] * n + [0] * (env.max_length - n)
    assert (obs["input_ids"][n:] == TOK.pad_token_id).all()
    obs, *_ = env.step(ids("cat")[0])
    assert obs["input_ids"][n] == ids("cat")[0] and obs["attention_mask"][n] == 1
    assert obs["input_ids"][:n].tolist() == prompt  # nothing moves
    assert env.max_length == env.max_prompt_tokens + 4


def test_terminal_reward_and_eos_termination() -> None:
    env = make(reward=lambda p, c: [float(len(x.split())) for x in c])
    steps = play(env, "the cat <eos>")
    assert [s[0] for s in steps] == [0.0, 0.0, 2.0]  # "the cat" has two words, EOS not included
    assert steps[-1][1:3] == (True, False)
    assert steps[-1][3]["completion"] == "the cat"


def test_truncation_at_max_new_tokens() -> None:
    env = make(max_new_tokens=3)
    steps = play(env, "the cat slept .")
    assert len(steps) == 3 and steps[-1][1:3] == (False, True)
    assert steps[-1][3]["completion"] == "the cat slept"


def test_immediate_rewards_sum_to_terminal_score() -> None:
    score = lambda p, c: [float(x.count("cat")) * 2 + 0.5 * len(x.split()) for x in c]  # noqa: E731
    terminal = [s[0] for s in play(make(score), "the cat cat <eos>")]
    immediate = [s[0] for s in play(make(score, reward_mode="immediate"), "the cat cat <eos>")]
    assert immediate == [0.5, 2.5, 2.5, 0.0]  # score of "the"=0.5, "the cat"=3.0, "the cat cat"=5.5
    assert math.isclose(sum(immediate), terminal[-1]) and terminal[-1] == 5.5


def test_cat_text_reward_components() -> None:
    env = CatTextEnv()
    cases = {
        "the cat slept . <eos>": (2.0, 1.0, 1.0),
        "the dog slept . <eos>": (1.0, 0.0, 1.0),
        "the kittens slept <eos>": (1.0, 1.0, 0.0),
        "dog the ran . <eos>": (0.0, 0.0, 0.0),
        "<eos>": (0.0, 0.0, 0.0),
    }
    for text, (total, topic, fluency) in cases.items():
        reward, _, _, info = play(env, text)[-1]
        assert reward == total, text
        assert info["reward_components"] == {"topic": topic, "fluency": fluency}, text


def test_cat_text_prompts_and_splits() -> None:
    train, test = CatTextEnv(split="train"), CatTextEnv(split="test")
    assert not set(train.prompts) & set(test.prompts)
    assert not any("cat" in p.split() or "kitten" in p.split() for p in train.prompts)


def test_render_modes(capsys: pytest.CaptureFixture) -> None:
    env = make(render_mode="ansi")
    _, info = env.reset(seed=0)
    env.step(ids("cat")[0])
    assert env.render() == f"{info['prompt']} || cat"
    human = make(render_mode="human")
    human.reset(seed=0)
    assert human.render() is None
    assert "||" in capsys.readouterr().out


@pytest.mark.parametrize("action", [-1, 10_000, 2.5, "a", np.array([1, 2])])
def test_bad_action_raises(action) -> None:
    env = make()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(action)


def test_step_after_episode_end_raises() -> None:
    env = make(max_new_tokens=1)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(3)  # before any reset
    env.reset(seed=0)
    env.step(3)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(3)


def test_prompt_over_budget_raises() -> None:
    with pytest.raises(ValueError, match="max_prompt_tokens"):
        TextGenEnv(["the dog ran in the park ."], tokenizer=TOK, reward=lambda p, c: [0.0], max_prompt_tokens=3)


def test_tokenizer_without_eos_raises() -> None:
    tok = load_tokenizer("tiny")
    tok.eos_token = None
    with pytest.raises(ValueError, match="EOS"):
        TextGenEnv(["the dog ran ."], tokenizer=tok, reward=lambda p, c: [0.0])


@pytest.mark.parametrize(
    ("reward", "match"),
    [
        (lambda p, c: [float("nan")] * len(c), "non-finite"),
        (lambda p, c: [float("inf")] * len(c), "non-finite"),
        (lambda p, c: [1.0, 2.0], "shape"),
        (lambda p, c: 1.0, "shape"),
        (lambda p, c: ["high"], "not numeric"),
    ],
)
def test_bad_reward_raises(reward, match: str) -> None:
    env = make(reward=reward, max_new_tokens=1)
    env.reset(seed=0)
    with pytest.raises((ValueError, TypeError), match=match):
        env.step(3)


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="split"):
        make(split="dev")
    with pytest.raises(ValueError, match="max_new_tokens"):
        make(max_new_tokens=0)
    with pytest.raises(ValueError, match="prompts"):
        TextGenEnv([], tokenizer=TOK, reward=lambda p, c: [0.0])
    with pytest.raises(TypeError, match="reward"):
        make(reward=3)
    with pytest.raises(ValueError, match="reward_mode"):
        make(reward_mode="dense")


@pytest.mark.parametrize(("env_id", "what"), [("textgym/CatText-v0", "prompts"), ("textgym/Dialogue-v0", "scenarios")])
def test_prompt_index_option_picks_and_checks(env_id: str, what: str) -> None:
    env = gym.make(env_id).unwrapped
    n = len(env.prompts) if what == "prompts" else len(env.scenarios)
    _, first = env.reset(seed=0, options={"prompt_index": 3})
    _, again = env.reset(seed=1, options={"prompt_index": 3})
    assert first["prompt"] == again["prompt"]  # the index decides, not the seed
    with pytest.raises(ValueError, match=f"prompt_index {n} out of range for {n} {what}"):
        env.reset(options={"prompt_index": n})
