"""HierShop: the act checker, the low view's goal and rewards, the high view's semi-MDP returns, SB3 on it."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import FilterObservation, FlattenObservation

import textgym  # noqa: F401  (registers the environments)
from textgym.data import Shop, is_grammatical
from textgym.data.shop_acts import ACT_WORDS, ACTS, act_features, correct_act, realize, realizes
from textgym.data.shop_tasks import DialogueScenario, is_helpful, shop_scenarios
from textgym.envs.dialogue import DialogueEnv
from textgym.envs.hier_shop import HierShopHighEnv, HierShopLowEnv

SHOP = Shop(
    prices={"eggs": "two", "hats": "five"}, opens="nine", near="lake", fact_order=["eggs", "hats", "opens", "near"]
)
PRICE, OPEN, CLOSE, WHERE, STOCK, UNKNOWN, GREET = (
    ACTS.index(a) for a in ("price", "open", "close", "where", "stock", "unknown", "greet")
)


# ----- the intrinsic checker on handmade spans -----
@pytest.mark.parametrize(
    ("act", "question", "reply", "expected"),
    [
        ("price", "how much are the eggs ?", "the eggs cost two coins .", True),
        ("price", "how much are the eggs ?", "The eggs cost 2 coins.", True),  # prose, same words
        ("price", "how much are the eggs ?", "the eggs cost five coins .", False),  # wrong fact
        ("price", "how much are the eggs ?", "the eggs cost two", False),  # half done
        ("price", "how much are the eggs ?", "the eggs cost two coins . the", False),  # overshoots
        ("price", "how much are the cups ?", "the cups cost two coins .", False),  # not sold: no realization
        ("stock", "how much are the cups ?", "no , we do not sell cups .", True),
        ("stock", "do you sell hats ?", "yes , we sell hats .", True),
        ("stock", "what do you sell ?", "we sell eggs and hats .", True),
        ("stock", "what do you sell ?", "we sell eggs", False),
        ("open", "when do you open ?", "we open at nine .", True),
        ("open", "when do you open ?", "we close at nine .", False),  # another act
        ("close", "when do you close ?", "we close at nine .", False),  # closing hour unknown
        ("unknown", "when do you close ?", "sorry , i do not know .", True),
        ("where", "where is the shop ?", "the shop is near the lake .", True),
        ("where", "where is the shop ?", "the shop is near the", False),
        ("greet", "hello .", "hello , how can i help ?", True),
        ("greet", "hello .", "", False),
    ],
)
def test_intrinsic_checker_on_handmade_spans(act: str, question: str, reply: str, expected: bool) -> None:
    assert realizes(act, SHOP, question, reply) is expected


def test_realizations_are_grammatical_replies_and_the_correct_act_answers() -> None:
    for scenario in shop_scenarios("validation", 128):
        for q in scenario.questions:
            act = correct_act(scenario.shop, q)
            answer = realize(ACTS[act], scenario.shop, q)
            assert answer == scenario.shop.reply(q)
            assert is_helpful(scenario.shop, q, answer)
            for other in ACTS:
                text = realize(other, scenario.shop, q)
                if text is not None:
                    assert is_grammatical(text, "REPLY"), text


def test_features_read_the_question_and_the_facts() -> None:
    f = act_features(SHOP, "how much are the cups ?")
    # kinds: hello what_sell how_much do_sell open close where; then sold, opens, closes, near, names item
    assert f.tolist() == [0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 1]
    assert act_features(SHOP, "when do you close ?").tolist() == [0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0]
    with pytest.raises(ValueError, match="not a question of the shop domain"):
        act_features(SHOP, "thank you .")


# ----- the low-level view -----
def scenario_env(cls: type, scenario: DialogueScenario, **kwargs):  # noqa: ANN202
    return cls(scenarios={"train": [scenario]}, **kwargs)


TWO_QUESTIONS = DialogueScenario(SHOP, ("when do you close ?", "how much are the eggs ?"))


def test_low_level_observation_carries_the_goal() -> None:
    env = scenario_env(HierShopLowEnv, TWO_QUESTIONS, subgoal_policy=lambda features: OPEN)
    obs, _ = env.reset(seed=0)
    n = int(obs["attention_mask"].sum())
    tok = env.tokenizer
    # The control token sits right after "assistant :", where the reply starts.
    assert obs["input_ids"][n - 1] == tok.convert_tokens_to_ids(ACT_WORDS["open"])
    assert tok.convert_ids_to_tokens(obs["input_ids"][n - 3 : n - 1].tolist()) == ["assistant", ":"]
    for w in "sorry , i do not know . <eos>".split():
        obs, *_ = env.step(tok.convert_tokens_to_ids(w))
    n = int(obs["attention_mask"].sum())
    assert obs["input_ids"][n - 1] == tok.convert_tokens_to_ids("open")  # the second turn's goal
    # The default goal is the correct act: "unknown" for the unknown closing hour.
    env = scenario_env(HierShopLowEnv, TWO_QUESTIONS)
    obs, _ = env.reset(seed=0)
    assert obs["input_ids"][int(obs["attention_mask"].sum()) - 1] == tok.convert_tokens_to_ids("know")


@pytest.mark.parametrize("weight", [0.0, 0.5, 2.0])
def test_low_level_reward_is_extrinsic_plus_weighted_intrinsic(weight: float) -> None:
    low = scenario_env(HierShopLowEnv, TWO_QUESTIONS, intrinsic_weight=weight)
    flat = scenario_env(DialogueEnv, TWO_QUESTIONS)  # the extrinsic task, computed independently
    low.reset(seed=0)
    flat.reset(seed=0)
    replies = ["we close at nine .", "sorry , i do not know .", "the eggs cost two coins ."]
    intrinsic = [0.0, 1.0, 1.0]  # goals: unknown, unknown (repeated question), price
    tok = low.tokenizer
    total_ext = 0.0
    for reply, x in zip(replies, intrinsic, strict=True):
        for w in [*reply.split(), "<eos>"]:
            a = tok.convert_tokens_to_ids(w)
            _, r_low, term, trunc, info = low.step(a)
            _, r_flat, term_f, trunc_f, _ = flat.step(a)
            assert (term, trunc) == (term_f, trunc_f)
        assert r_low == pytest.approx(r_flat + weight * x)
        assert info["turn_intrinsic"] == x
        total_ext += r_flat
    assert term
    c = info["reward_components"]
    assert c["intrinsic"] == 2.0
    assert c["extrinsic"] == pytest.approx(total_ext)


# ----- the high-level view: semi-MDP returns -----
def test_high_level_semi_mdp_returns_by_hand() -> None:
    gamma = 0.9
    env = HierShopHighEnv(gamma=gamma, low_env_kwargs={"scenarios": {"train": [TWO_QUESTIONS]}})
    env.reset(seed=0)

    def turn_reward(helpful: float, fluent: float, words: int, success: float = 0.0) -> float:
        # Dialogue-v0's turn reward (its docstring): helpfulness + 0.5 fluency - 0.01 per word (+ success).
        return helpful + 0.5 * fluent - 0.01 * words + success

    # 1. "close" has no realization (closing hour unknown): the scripted low level writes just EOS, 1 token.
    _, r, term, _, info = env.step(CLOSE)
    assert info["span_tokens"] == 1 and info["intrinsic"] == 0.0 and not term
    assert r == pytest.approx(turn_reward(0, 0, 0))
    assert info["discount"] == pytest.approx(gamma)
    # 2. "greet": "hello , how can i help ?" = 7 words + EOS: 8 tokens, paid on the last one.
    _, r, term, _, info = env.step(GREET)
    assert info["span_tokens"] == 8 and info["intrinsic"] == 1.0 and not term
    assert r == pytest.approx(gamma**7 * turn_reward(0, 1, 7))
    # 3. "unknown": 7 words + EOS answers the closing question; the user asks about the eggs.
    _, r, term, _, info = env.step(UNKNOWN)
    assert info["span_tokens"] == 8
    assert r == pytest.approx(gamma**7 * turn_reward(1, 1, 7))
    # max_turns = 3 replies: the user gives up, unmet goal (success 0).
    assert term and info["reward_components"]["success"] == 0.0


def test_high_level_success_ends_with_the_bonus() -> None:
    env = HierShopHighEnv(gamma=0.5, low_env_kwargs={"scenarios": {"train": [TWO_QUESTIONS]}})
    obs, _ = env.reset(seed=0)
    assert obs["features"].tolist() == act_features(SHOP, "when do you close ?").tolist()
    _, r1, *_ = env.step(UNKNOWN)
    _, r2, term, _, info = env.step(PRICE)  # "the eggs cost two coins ." + EOS: 7 tokens
    assert info["span_tokens"] == 7 and term
    assert r1 == pytest.approx(0.5**7 * (1 + 0.5 - 0.07))
    assert r2 == pytest.approx(0.5**6 * (1 + 0.5 - 0.06 + 1.0))
    assert info["reward_components"]["success"] == 1.0
    with pytest.raises(RuntimeError, match="finished episode"):
        env.step(PRICE)


def test_high_level_bad_action_is_named() -> None:
    env = gym.make("textgym/HierShopHigh-v0").unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="act id"):
        env.step(7)


def test_random_low_policy_rarely_realizes_acts() -> None:
    env = HierShopHighEnv(low_policy="random")
    env.reset(seed=0)
    _, _, _, _, info = env.step(PRICE)
    assert info["intrinsic"] == 0.0 and 1 <= info["span_tokens"] <= env.low.max_reply_tokens


# ----- stock SB3 on the high level -----
def high_level_return(policy, n: int = 64) -> np.ndarray:  # noqa: ANN001
    env = FlattenObservation(FilterObservation(gym.make("textgym/HierShopHigh-v0"), ["features"]))
    returns = []
    for ep in range(n):
        obs, _ = env.reset(seed=1000 + ep)
        done, total = False, 0.0
        while not done:
            obs, r, term, trunc, _ = env.step(policy(obs))
            total += r
            done = term or trunc
        returns.append(total)
    return np.array(returns)


@pytest.mark.slow  # about 2 minutes on one shared thread
def test_sb3_ppo_trains_the_high_level_over_a_fixed_low_level() -> None:
    from stable_baselines3 import PPO

    rng = np.random.default_rng(0)
    random_returns = high_level_return(lambda obs: int(rng.integers(len(ACTS))))
    env = FlattenObservation(FilterObservation(gym.make("textgym/HierShopHigh-v0"), ["features"]))
    model = PPO("MlpPolicy", env, n_steps=256, batch_size=64, learning_rate=3e-3, gamma=0.99, seed=0, verbose=0)
    model.learn(3072)
    trained = high_level_return(lambda obs: int(model.predict(obs, deterministic=True)[0]))
    diff = trained - random_returns  # paired: the same scenarios
    assert diff.mean() > 3 * diff.std(ddof=1) / np.sqrt(len(diff)), (trained.mean(), random_returns.mean())
    # Measured (seed 0): random 1.33, trained 2.73 per conversation; paired difference 1.40 +- 0.15.
    assert trained.mean() > random_returns.mean() + 0.7
