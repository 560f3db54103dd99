"""Small-vocabulary tasks: exact rewards, the enumerated language, and stock agents that learn TinyCat.

The learning tests measure a uniformly random policy on the same evaluation episodes and
require the trained agent to beat it by a wide margin (random: success ~3e-5, return ~0.03;
see the numbers in each assertion).
"""

import itertools
import math
from collections import defaultdict
from collections.abc import Callable

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.env_util import make_vec_env

import textgym  # noqa: F401  (registers the environments)
from textgym.data import is_grammatical
from textgym.envs.small_vocab import (
    MAX_SMALL_VOCAB,
    GrammarProgressReward,
    grammar_sentences,
    word_list_tokenizer,
)
from textgym.envs.tiny_cat import TINY_CAT_WORDS, TinyCatEnv, cat_sentences
from textgym.envs.tiny_shop import TINY_SHOP_WORDS, TinyShopReward, tiny_shop_dialogues
from textgym.wrappers import wrap_for_stock_agents

ENV_ID = "textgym/TinyCat-v0"
SHOP_ID = "textgym/TinyShop-v0"
SHOP_EPISODES = 30_000
EVAL_EPISODES = 200


# ----- the tokenizer and the enumerated language -----
def test_word_list_tokenizer_ids_are_positions() -> None:
    tok = word_list_tokenizer(["the", "cat", "."])
    assert tok.get_vocab() == {"<eos>": 0, "the": 1, "cat": 2, ".": 3}
    assert tok("The cat.")["input_ids"] == [1, 2, 3]  # lower-cased, punctuation split
    assert tok.decode([1, 2, 3, 0], skip_special_tokens=True) == "the cat ."
    assert (tok.eos_token_id, tok.pad_token_id, tok.bos_token_id) == (0, None, None)
    with pytest.raises(Exception, match="UNK|unk"):  # an unknown word is never mapped silently
        tok("the dog")


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ([], "at least one word"),
        (["a", "a"], "appears twice"),
        (["Cat"], "lower-case"),
        (["two words"], "single lower-case"),
        (["<eos>"], "other than"),
        ([f"w{i}" for i in range(MAX_SMALL_VOCAB)], "exceed the small-vocabulary limit of 64"),
    ],
)
def test_word_list_tokenizer_rejects_bad_word_lists(words: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        word_list_tokenizer(words)


def test_grammar_sentences_by_hand() -> None:
    words = {"the", "a", "cat", "ran", "saw", "tom", "."}
    got = grammar_sentences("SENT", words, 4)
    expected = {
        ("tom", "ran", "."),
        ("the", "cat", "ran", "."),
        ("a", "cat", "ran", "."),
        ("tom", "saw", "tom", "."),
    }
    assert got == expected


def test_grammar_sentences_equal_brute_force_parsing() -> None:
    # Every sequence of up to 4 of these 7 words (2800 of them), parsed by the Earley recognizer.
    words = ["the", "cat", "cats", "ran", "saw", "it", "."]
    parsed = {seq for k in range(1, 5) for seq in itertools.product(words, repeat=k) if is_grammatical(seq, "SENT")}
    assert parsed and grammar_sentences("SENT", words, 4) == parsed


def test_grammar_sentences_errors() -> None:
    with pytest.raises(ValueError, match="unknown start symbol"):
        grammar_sentences("NOPE", {"a"}, 3)
    with pytest.raises(ValueError, match="max_words must be >= 1"):
        grammar_sentences("SENT", {"a"}, 0)


def test_grammar_progress_reward_by_hand() -> None:
    reward = GrammarProgressReward({("the", "cat", "ran", "."), ("tom", "ran", ".")}, max_words=5)
    completions = ["", "the", "the cat ran", "the cat ran .", "tom ran .", "tom cat", "cat ran .", "the cat ran . ."]
    expected = [0.0, 0.2, 0.6, 1.0, 1.0, 0.2, 0.0, 0.8]
    np.testing.assert_allclose(reward.score([""] * 8, completions).total, expected)
    with pytest.raises(ValueError, match="shorter than the longest sentence"):
        GrammarProgressReward({("the", "cat", "ran", ".")}, max_words=3)


# ----- the TinyCat task -----
def test_tiny_cat_spaces_and_language() -> None:
    env = gym.make(ENV_ID).unwrapped
    assert env.action_space.n == len(TINY_CAT_WORDS) + 1 == 18 <= MAX_SMALL_VOCAB
    assert env.max_length == 9
    targets = cat_sentences(5)
    assert len(targets) == 51  # the docstring's count
    assert all(is_grammatical(s, "SENT") and {"cat", "cats"} & set(s) for s in targets)
    assert ("the", "cat", "sat", ".") in targets and ("it", "saw", "the", "cat", ".") in targets
    assert math.isclose(51 / 18**5, 2.7e-5, rel_tol=0.01)


def play(env: gym.Env, text: str, seed: int = 0) -> list[tuple]:
    env.reset(seed=seed)
    tok = env.unwrapped.tokenizer
    steps = []
    for word in text.split():
        steps.append(env.step(tok.convert_tokens_to_ids(word))[1:])
        if steps[-1][1] or steps[-1][2]:
            break
    return steps


@pytest.mark.parametrize(
    ("text", "total", "components"),
    [
        ("the cat sat . <eos>", 1.5, (1.0, 1.0, 1.0)),
        ("it saw the cat .", 1.5, (1.0, 1.0, 1.0)),  # truncated after 5 tokens: still scored
        ("the dog sat . <eos>", 0.1, (0.0, 1.0, 0.2)),  # grammatical, no cat: only "the" leads on
        ("cat cat cat cat cat", 0.0, (1.0, 0.0, 0.0)),  # topic alone pays nothing
        ("the cat sat . the", 0.4, (1.0, 0.0, 0.8)),  # a word after the sentence spoils it
        ("a big cat <eos>", 0.3, (1.0, 0.0, 0.6)),
        ("<eos>", 0.0, (0.0, 0.0, 0.0)),
    ],
)
def test_tiny_cat_rewards_by_hand(text: str, total: float, components: tuple[float, float, float]) -> None:
    terminal = play(gym.make(ENV_ID, reward_mode="terminal"), text)
    immediate = play(gym.make(ENV_ID), text)
    assert math.isclose(terminal[-1][0], total) and all(s[0] == 0.0 for s in terminal[:-1])
    assert math.isclose(sum(s[0] for s in immediate), total)  # shaping is potential-based
    info = terminal[-1][3]
    assert (
        info["reward_components"]["topic"],
        info["reward_components"]["grammar"],
        info["reward_components"]["progress"],
    ) == components


def test_tiny_cat_immediate_rewards_step_by_step() -> None:
    rewards = [s[0] for s in play(gym.make(ENV_ID), "the cat sat . <eos>")]
    np.testing.assert_allclose(rewards, [0.1, 0.1, 0.1, 1.2, 0.0])


def test_tiny_cat_shaping_weight_and_errors() -> None:
    sparse = gym.make(ENV_ID, shaping=0.0)
    assert [s[0] for s in play(sparse, "the cat sat . <eos>")] == [0.0, 0.0, 0.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="shaping must be >= 0"):
        TinyCatEnv(shaping=-1.0)
    with pytest.raises(ValueError, match="too short for any cat sentence"):
        TinyCatEnv(max_new_tokens=3)
    with pytest.raises(TypeError):
        TinyCatEnv(split="test")  # one set of prompts: no silent split


# ----- the TinyShop task -----
SHOP_PROMPT = (
    "facts : the shop sells pears for four coins . the shop sells apples for three coins . "
    "user : how much are the apples ? assistant :"
)


def test_tiny_shop_dialogues() -> None:
    dialogues = tiny_shop_dialogues()
    assert len(dialogues) == 6 * 9 * 2  # ordered item pairs x prices x asked item
    assert dialogues[SHOP_PROMPT] == "the apples cost three coins ."
    assert all(is_grammatical(f"{p} {r}", "DIALOGUE") for p, r in dialogues.items())
    env = gym.make("textgym/TinyShop-v0").unwrapped
    assert env.action_space.n == len(TINY_SHOP_WORDS) + 1 == 22 <= MAX_SMALL_VOCAB
    assert env.max_length == 28 + 6


@pytest.mark.parametrize(
    ("text", "total", "components"),
    [
        ("the apples cost three coins .", 1.5, (1.0, 1.0, 1.0)),
        ("the apples cost four coins .", 0.25, (0.0, 0.5, 1.0)),  # grammatical, wrong price
        ("the pears cost three coins .", 1 / 12, (0.0, 1 / 6, 1.0)),  # wrong item
        ("the apples <eos>", 1 / 6, (0.0, 1 / 3, 0.0)),
        ("<eos>", 0.0, (0.0, 0.0, 0.0)),
    ],
)
def test_tiny_shop_rewards_by_hand(text: str, total: float, components: tuple[float, float, float]) -> None:
    options = {"prompt_index": list(tiny_shop_dialogues()).index(SHOP_PROMPT)}
    for mode in ("terminal", "immediate"):
        env = gym.make("textgym/TinyShop-v0", reward_mode=mode)
        env.reset(seed=0, options=options)
        tok, rewards = env.unwrapped.tokenizer, []
        for word in text.split():
            _, reward, terminated, truncated, info = env.step(tok.convert_tokens_to_ids(word))
            rewards.append(reward)
            if terminated or truncated:
                break
        assert math.isclose(sum(rewards), total, abs_tol=1e-12)
        assert info["prompt"] == SHOP_PROMPT
        c = info["reward_components"]
        np.testing.assert_allclose((c["correct"], c["progress"], c["grammar"]), components)


def test_tiny_shop_reward_rejects_unknown_prompts() -> None:
    with pytest.raises(ValueError, match="no correct reply for prompt 'hello'"):
        TinyShopReward(tiny_shop_dialogues()).score(["hello"], ["the apples cost two coins ."])
    with pytest.raises(ValueError, match="shaping must be >= 0"):
        TinyShopReward({}, shaping=float("nan"))


# ----- learning: stock agents against a random policy -----
def success_of(components: dict[str, float]) -> float:
    """TinyCat: a grammatical sentence about a cat; TinyShop: the correct reply."""
    return components["correct"] if "correct" in components else components["topic"] * components["grammar"]


def evaluate(
    policy: Callable[[object], int], observation: str, env_id: str = ENV_ID, seed: int = 10_000
) -> tuple[float, float]:
    """(success rate, mean return) over EVAL_EPISODES episodes."""
    env = wrap_for_stock_agents(gym.make(env_id), observation)
    successes, returns = 0.0, []
    obs, _ = env.reset(seed=seed)
    for _ in range(EVAL_EPISODES):
        done, ret = False, 0.0
        while not done:
            obs, reward, terminated, truncated, info = env.step(policy(obs))
            ret += float(reward)
            done = terminated or truncated
        successes += success_of(info["reward_components"])
        returns.append(ret)
        obs, _ = env.reset()
    return successes / EVAL_EPISODES, float(np.mean(returns))


@pytest.fixture(scope="module")
def random_baseline() -> tuple[float, float]:
    rng = np.random.default_rng(0)
    success, mean_return = evaluate(lambda obs: int(rng.integers(18)), "one_hot")
    assert success == 0.0 and mean_return < 0.1  # measured: 0.0 and about 0.03
    return success, mean_return


def q_learning(
    env: gym.Env,
    episodes: int,
    alpha: float = 0.5,
    epsilon_start: float = 1.0,
    epsilon_end: float = 0.05,
    seed: int = 0,
) -> dict[int, np.ndarray]:
    """Tabular Q-learning (Watkins, 1989); epsilon-greedy, epsilon decaying linearly over 70% of the episodes."""
    rng = np.random.default_rng(seed)
    n_actions = env.action_space.n
    q: dict[int, np.ndarray] = defaultdict(lambda: np.zeros(n_actions))
    state, _ = env.reset(seed=seed)
    for episode in range(episodes):
        epsilon = epsilon_start + (epsilon_end - epsilon_start) * min(1.0, episode / (0.7 * episodes))
        done = False
        while not done:
            if rng.random() < epsilon:
                action = int(rng.integers(n_actions))
            else:  # greedy, ties broken at random so that unseen states are explored
                action = int(rng.choice(np.flatnonzero(q[state] == q[state].max())))
            next_state, reward, terminated, truncated, _ = env.step(action)
            target = reward if terminated else reward + q[next_state].max()
            q[state][action] += alpha * (target - q[state][action])
            state, done = next_state, terminated or truncated
        state, _ = env.reset()
    return q


# Margin over seeds 0-2 at 1 torch thread and seed 0 at 2 (benchmarks/results/learning_margins.json,
# 2026-12-07): greedy success 1.0 (the maximum) against 0.9.
@pytest.mark.learning
def test_tabular_q_learning_learns_tiny_cat(
    random_baseline: tuple[float, float], learning_seed: int, check_learned: Callable[..., None]
) -> None:
    env = wrap_for_stock_agents(gym.make(ENV_ID), "index")
    q = q_learning(env, episodes=6000, seed=learning_seed)
    success, mean_return = evaluate(lambda s: int(np.argmax(q[s])), "index")
    check_learned("greedy success", success, ">=", 0.9)
    check_learned("greedy return - random return", mean_return - random_baseline[1], ">=", 1.0)


SB3_CASES = {
    # algorithm: (class, steps, hyperparameters); gamma=1: the task is undiscounted.
    "ppo": (PPO, 40_000, dict(n_steps=128, batch_size=256, n_epochs=10, learning_rate=3e-4, ent_coef=0.01)),
    "a2c": (A2C, 40_000, dict(n_steps=8, learning_rate=1e-3, ent_coef=0.01)),
    "dqn": (
        DQN,
        15_000,
        dict(
            learning_starts=1000,
            exploration_fraction=0.5,
            exploration_final_eps=0.05,
            target_update_interval=500,
            learning_rate=1e-3,
        ),
    ),
}


# Margin over seeds 0-2 at 1 torch thread and seed 0 at 2 (benchmarks/results/learning_margins.json,
# 2026-12-07): greedy success 1.0 (the maximum) against 0.9 for PPO, A2C and DQN.
@pytest.mark.slow
@pytest.mark.learning
@pytest.mark.parametrize("algo", sorted(SB3_CASES))
def test_sb3_mlp_policy_learns_tiny_cat(
    algo: str, random_baseline: tuple[float, float], learning_seed: int, check_learned: Callable[..., None]
) -> None:
    cls, steps, kwargs = SB3_CASES[algo]
    n_envs = 1 if cls is DQN else 8
    # SB3's make_vec_env asks for render_mode="rgb_array" unless told otherwise.
    venv = make_vec_env(
        ENV_ID, n_envs=n_envs, seed=learning_seed, wrapper_class=wrap_for_stock_agents, env_kwargs={"render_mode": None}
    )
    model = cls("MlpPolicy", venv, gamma=1.0, seed=learning_seed, **kwargs)
    model.learn(steps)
    success, mean_return = evaluate(lambda obs: int(model.predict(obs, deterministic=True)[0]), "one_hot")
    check_learned("greedy success", success, ">=", 0.9)
    check_learned("greedy return - random return", mean_return - random_baseline[1], ">=", 1.0)


# Margin over seeds 0-2 at 1 torch thread and seed 0 at 2 (benchmarks/results/learning_margins.json,
# 2026-12-07): lowest greedy success 0.965 against 0.9.
@pytest.mark.slow
@pytest.mark.learning
def test_tabular_q_learning_learns_tiny_shop(learning_seed: int, check_learned: Callable[..., None]) -> None:
    # The right reply depends on the prompt: the table learns each of the 108 prompts on its
    # own. The env is deterministic, so alpha=1 is exact, and greedy choices with random
    # tie-breaks among zero-valued (untried or useless) actions already explore; a little
    # epsilon at first helps. Measured: 0.965 success in about 22 s of training.
    rng = np.random.default_rng(0)
    random_success, random_return = evaluate(lambda s: int(rng.integers(22)), "index", SHOP_ID)
    assert random_success == 0.0 and random_return < 0.05  # measured: 0.0 and about 0.01
    env = wrap_for_stock_agents(gym.make(SHOP_ID), "index")
    q = q_learning(env, episodes=SHOP_EPISODES, alpha=1.0, epsilon_start=0.05, epsilon_end=0.0, seed=learning_seed)
    success, mean_return = evaluate(lambda s: int(np.argmax(q[s])), "index", SHOP_ID)
    check_learned("greedy success", success, ">=", 0.9)
    check_learned("greedy return - random return", mean_return - random_return, ">=", 1.0)
