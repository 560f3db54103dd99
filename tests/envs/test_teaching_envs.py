"""Issue 29: TinyCat-v1 and TinyShop-v1, the teaching ids, with the defaults stock agents read.

The rewards are v0's; these tests pin what v1 changes (the flat Box, the budget as
termination, numeric info, TinyCat's period that ends the episode) and that v0 is unchanged.
"""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import textgym  # noqa: F401  (registers the environments)
from textgym.envs.observations import one_hot_tokens
from textgym.envs.tiny_cat import TINY_CAT_WORDS, cat_sentences
from textgym.envs.tiny_shop import tiny_shop_dialogues

CAT, SHOP = "textgym/TinyCat-v1", "textgym/TinyShop-v1"


def play(env: gym.Env, text: str) -> tuple[list[float], bool, bool, dict]:
    """Write ``text``'s words; return the step rewards and the last step's flags and info."""
    tok = env.unwrapped.tokenizer
    rewards, terminated, truncated, info = [], False, False, {}
    for word in text.split():
        _, reward, terminated, truncated, info = env.step(tok.convert_tokens_to_ids(word))
        rewards.append(reward)
    return rewards, terminated, truncated, info


@pytest.mark.parametrize(("env_id", "length", "vocab"), [(CAT, 9, 18), (SHOP, 34, 22)])
def test_v1_observation_is_the_documented_flat_one_hot_box(env_id: str, length: int, vocab: int) -> None:
    env = gym.make(env_id)
    assert env.observation_space == spaces.Box(0.0, 1.0, (length * vocab,), np.float32)
    assert env.action_space == spaces.Discrete(vocab)
    obs, _ = env.reset(seed=5)
    base = env.unwrapped
    state = base._slots.obs(0)
    np.testing.assert_array_equal(obs, one_hot_tokens(state["input_ids"], state["attention_mask"], vocab))
    # Right-aligned: the prompt's last token is in the last row; the rows of the unwritten tokens are empty.
    rows = obs.reshape(length, vocab)
    n_prompt = int(state["attention_mask"].sum())
    assert rows[: length - n_prompt].sum() == 0
    assert rows[-1].argmax() == state["input_ids"][n_prompt - 1]


def test_tinycat_v1_period_ends_the_episode_and_stays_in_the_text() -> None:
    env = gym.make(CAT)
    env.reset(seed=0)
    rewards, terminated, truncated, info = play(env, "the cat sat .")
    assert np.allclose(rewards, [0.1, 0.1, 0.1, 1.2])
    assert (terminated, truncated, info["_completion"], bool(info["budget_exhausted"])) == (
        True,
        False,
        "the cat sat .",
        False,
    )
    assert (info["reward_topic"], info["reward_grammar"], info["reward_progress"]) == (1.0, 1.0, 1.0)
    env.reset(seed=0)
    rewards, terminated, _, info = play(env, "the dog ran .")  # a sentence without a cat: only "the" pays
    assert terminated and np.allclose(rewards, [0.1, 0.0, 0.0, 0.0])
    assert (info["reward_topic"], info["reward_grammar"]) == (0.0, 1.0)


def test_tinycat_v0_is_unchanged_the_period_does_not_end_it() -> None:
    env = gym.make("textgym/TinyCat-v0")
    env.reset(seed=0)
    rewards, terminated, truncated, info = play(env, "the cat sat . the")
    assert not terminated and truncated and info["budget_exhausted"]
    assert np.allclose(rewards, [0.1, 0.1, 0.1, 1.2, -1.1])  # the fifth word undoes the sentence


@pytest.mark.parametrize(("env_id", "text"), [(CAT, "the cat chased the cat"), (SHOP, "the the the the the the")])
def test_v1_reports_the_budget_as_termination(env_id: str, text: str) -> None:
    env = gym.make(env_id)
    env.reset(seed=0)
    _, terminated, truncated, info = play(env, text)
    assert terminated and not truncated
    assert isinstance(info["budget_exhausted"], np.bool_) and info["budget_exhausted"]


@pytest.mark.parametrize("env_id", [CAT, SHOP])
def test_v1_info_has_the_same_numeric_keys_and_types_at_every_step(env_id: str) -> None:
    env = gym.make(env_id)
    rng = np.random.default_rng(0)
    _, info = env.reset(seed=0)
    layout = {k: type(v) for k, v in info.items() if not k.startswith("_")}
    assert layout["budget_exhausted"] is np.bool_
    assert all(t is np.float64 for k, t in layout.items() if k.startswith("reward_"))
    for _ in range(40):
        _, _, terminated, truncated, info = env.step(int(rng.integers(env.action_space.n)))
        assert {k: type(v) for k, v in info.items() if not k.startswith("_")} == layout
        if terminated or truncated:
            _, info = env.reset()


def test_tinycat_v1_returns_are_the_terminal_score() -> None:
    """Potential-based shaping: an episode's rewards sum to topic * grammar + 0.5 * progress of its text."""
    env = gym.make(CAT)
    rng = np.random.default_rng(1)
    successes = {" ".join(s) for s in cat_sentences(5)}
    for episode in range(60):
        env.reset(seed=episode)
        total, done = 0.0, False
        # Half the episodes follow a successful text for a while, so that both kinds of ends occur.
        plan = sorted(successes)[episode % len(successes)].split() if episode % 2 else []
        for t in range(5):
            word = plan[t] if t < len(plan) and rng.random() < 0.9 else TINY_CAT_WORDS[rng.integers(17)]
            _, reward, terminated, truncated, info = env.step(env.unwrapped.tokenizer.convert_tokens_to_ids(word))
            total += reward
            if terminated or truncated:
                done = True
                break
        assert done  # the budget ends every episode by the fifth word
        score = info["reward_topic"] * info["reward_grammar"] + 0.5 * info["reward_progress"]
        assert total == pytest.approx(score)
        assert (info["_completion"] in successes) == (score == 1.5)


def test_tinyshop_v1_correct_reply_scores_the_maximum_from_every_prompt() -> None:
    env = gym.make(SHOP)
    replies = tiny_shop_dialogues()
    for index, prompt in enumerate(env.unwrapped.prompts):
        _, info = env.reset(seed=0, options={"prompt_index": index})
        rewards, terminated, _, info = play(env, replies[prompt])
        assert terminated and sum(rewards) == pytest.approx(1.5) and info["reward_correct"] == 1.0
