"""The envs refuse non-integer counts and non-string prompts instead of converting them (issue 30).

Before, ``max_new_tokens=2.7`` became 2 and the prompts ``[1, None]`` became ``'1'`` and ``'None'``.
"""

import gymnasium as gym
import pytest

from textgym.envs import DialogueEnv, LMUser, SummarizationEnv, TextGenEnv
from textgym.envs.classify import ClassifyEnv
from textgym.envs.hier_shop import HierShopHighEnv, HierShopLowEnv
from textgym.envs.small_vocab import GrammarProgressReward, grammar_sentences
from textgym.envs.tiny_cat import TinyCatEnv


def zero(prompts, completions):
    return [0.0] * len(completions)


def text_gen(**kwargs):
    return TextGenEnv(["the dog ran ."], reward=zero, **kwargs)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: text_gen(max_new_tokens=2.7), r"max_new_tokens must be an integer, got 2.7 \(float\)"),
        (lambda: text_gen(max_new_tokens=2.0), r"max_new_tokens must be an integer, got 2.0 \(float\)"),
        (lambda: text_gen(max_new_tokens=True), r"max_new_tokens must be an integer, got True \(bool\)"),
        (lambda: text_gen(max_prompt_tokens=8.0), r"max_prompt_tokens must be an integer, got 8.0 \(float\)"),
        (lambda: text_gen(max_length=20.0), r"max_length must be an integer, got 20.0 \(float\)"),
        (lambda: TinyCatEnv(max_new_tokens=5.0), r"max_new_tokens must be an integer, got 5.0 \(float\)"),
        (lambda: ClassifyEnv(max_new_tokens=2.5), r"max_new_tokens must be an integer, got 2.5 \(float\)"),
        (lambda: DialogueEnv(max_turns=2.0), r"max_turns must be an integer, got 2.0 \(float\)"),
        (lambda: DialogueEnv(max_reply_tokens=4.5), r"max_reply_tokens must be an integer, got 4.5 \(float\)"),
        (lambda: DialogueEnv(max_new_tokens=20.7), r"max_new_tokens must be an integer, got 20.7 \(float\)"),
        (lambda: DialogueEnv(n_scenarios=8.0), r"n_scenarios must be an integer, got 8.0 \(float\)"),
        (lambda: DialogueEnv(max_length=200.0), r"max_length must be an integer, got 200.0 \(float\)"),
        (lambda: SummarizationEnv(n_documents=8.0), r"n_documents must be an integer, got 8.0 \(float\)"),
        (lambda: SummarizationEnv(max_new_tokens=9.5), r"max_new_tokens must be an integer, got 9.5 \(float\)"),
        (
            lambda: SummarizationEnv(max_prompt_tokens=60.0),
            r"max_prompt_tokens must be an integer, got 60.0 \(float\)",
        ),
        (lambda: HierShopLowEnv(max_reply_tokens=6.0), r"max_reply_tokens must be an integer, got 6.0 \(float\)"),
        (
            lambda: HierShopHighEnv(low_env_kwargs={"max_turns": 2.0}),
            r"max_turns must be an integer, got 2.0 \(float\)",
        ),
        (
            lambda: gym.make_vec("textgym/CatText-v0", num_envs=2.0),
            r"num_envs must be an integer, got 2.0 \(float\)",
        ),
        (
            lambda: gym.make_vec("textgym/CatText-v0", num_envs=4, group_size=2.0),
            r"group_size must be an integer, got 2.0 \(float\)",
        ),
        (lambda: LMUser(max_new_tokens=12.0), r"max_new_tokens must be an integer, got 12.0 \(float\)"),
        (
            lambda: GrammarProgressReward({("the", "cat", "ran", ".")}, max_words=5.0),
            r"max_words must be an integer, got 5.0 \(float\)",
        ),
        (lambda: grammar_sentences("SENT", ["the", "cat", "ran", "."], 4.0), r"max_words must be an integer"),
    ],
    ids=[
        "TextGen-max_new_tokens-2.7",
        "TextGen-max_new_tokens-2.0",
        "TextGen-max_new_tokens-bool",
        "TextGen-max_prompt_tokens",
        "TextGen-max_length",
        "TinyCat-max_new_tokens",
        "Classify-max_new_tokens",
        "Dialogue-max_turns",
        "Dialogue-max_reply_tokens",
        "Dialogue-max_new_tokens",
        "Dialogue-n_scenarios",
        "Dialogue-max_length",
        "Summarization-n_documents",
        "Summarization-max_new_tokens",
        "Summarization-max_prompt_tokens",
        "HierShopLow-max_reply_tokens",
        "HierShopHigh-max_turns",
        "make_vec-num_envs",
        "make_vec-group_size",
        "LMUser-max_new_tokens",
        "GrammarProgressReward-max_words",
        "grammar_sentences-max_words",
    ],
)
def test_counts_must_be_integers(build, message) -> None:
    with pytest.raises(TypeError, match=message):
        build()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(max_reply_tokens=0), "max_reply_tokens must be >= 1, got 0"),
        (dict(max_new_tokens=0), "max_new_tokens must be >= 1, got 0"),
    ],
    ids=["max_reply_tokens", "max_new_tokens"],
)
def test_dialogue_zero_budgets_are_errors_not_the_default(kwargs, message) -> None:
    # Before, `max_reply_tokens or default` silently replaced 0 with the default budget.
    with pytest.raises(ValueError, match=message):
        DialogueEnv(**kwargs)


@pytest.mark.parametrize(
    ("prompts", "message"),
    [
        ([1, 2], r"prompts must be strings; prompt 0 is 1 \(int\)"),
        ([None], r"prompts must be strings; prompt 0 is None \(NoneType\)"),
        (["the dog ran .", b"a cat"], r"prompts must be strings; prompt 1 is b'a cat' \(bytes\)"),
        ({"train": ["the dog ran .", "a bird sat .", 3.5]}, r"prompts must be strings; prompt 2 is 3.5 \(float\)"),
    ],
    ids=["ints", "none", "bytes-second", "mapping-third"],
)
def test_prompts_must_be_strings(prompts, message) -> None:
    with pytest.raises(TypeError, match=message):
        TextGenEnv(prompts, reward=zero)


@pytest.mark.parametrize("index", [1.0, 0.5, True])
def test_prompt_index_must_be_an_integer(index) -> None:
    env = TextGenEnv(["the dog ran .", "a bird sat ."], reward=zero)
    with pytest.raises(TypeError, match=r"prompt_index must be an integer, got"):
        env.reset(seed=0, options={"prompt_index": index})
    venv = gym.make_vec("textgym/CatText-v0", num_envs=2)
    with pytest.raises(TypeError, match=r"prompt_index must be an integer, got"):
        venv.reset(seed=0, options={"prompt_index": index})
