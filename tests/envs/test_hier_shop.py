"""HierShop: the act checker, the low view's goal and rewards, the high view's semi-MDP returns, SB3 on it."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import FilterObservation, FlattenObservation

import textgym  # noqa: F401  (registers the environments)
from textgym.data import Shop, is_grammatical
from textgym.data.shop_acts import ACT_WORDS, ACTS, act_features, act_slots, correct_act, realize, realizes
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


@pytest.mark.parametrize(
    ("act", "question", "expected"),
    [
        ("price", "how much are the eggs ?", ["eggs", "two"]),
        ("price", "how much are the cups ?", []),  # not sold: no realization, no slots
        ("stock", "how much are the cups ?", ["cups"]),  # "no , we do not sell cups ."
        ("stock", "do you sell hats ?", ["hats"]),
        ("stock", "what do you sell ?", ["eggs", "hats"]),
        ("stock", "when do you open ?", []),
        ("open", "when do you open ?", ["nine"]),
        ("close", "when do you close ?", []),  # the closing hour is unknown
        ("where", "how much are the eggs ?", ["lake"]),  # a realization for any question
        ("greet", "hello .", []),
        ("unknown", "when do you close ?", []),
    ],
)
def test_act_slots_are_the_realizations_fact_words(act: str, question: str, expected: list[str]) -> None:
    assert act_slots(act, SHOP, question) == expected
    text = realize(act, SHOP, question)
    # Every slot word is a word of the realization (and there is none without one).
    assert all(w in (text or "").split() for w in expected)


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


@pytest.mark.parametrize("position", ["before_speaker", "after_speaker"])
def test_low_level_observation_carries_the_goal(position: str) -> None:
    env = scenario_env(HierShopLowEnv, TWO_QUESTIONS, subgoal_policy=lambda features: OPEN, goal_position=position)
    tok = env.tokenizer

    def tail(obs: dict, k: int) -> list[str]:
        n = int(obs["attention_mask"].sum())
        return tok.convert_ids_to_tokens(obs["input_ids"][n - k : n].tolist())

    # v1 ("before_speaker"): the act ends the user's line, then "assistant :" opens the reply;
    # v0 ("after_speaker"): the act right after "assistant :", where the reply starts.
    expect = {"before_speaker": ["?", "open", "assistant", ":"], "after_speaker": ["?", "assistant", ":", "open"]}
    obs, _ = env.reset(seed=0)
    assert tail(obs, 4) == expect[position]
    assert (
        tok.convert_ids_to_tokens(obs["input_ids"][: int(obs["attention_mask"].sum())].tolist()).count("assistant") == 1
    )  # the speaker only moved: it is not there twice
    for w in "sorry , i do not know . <eos>".split():
        obs, *_ = env.step(tok.convert_tokens_to_ids(w))
    assert tail(obs, 4) == expect[position]  # the second turn's goal, after "how much are the eggs ?"
    text = tok.convert_ids_to_tokens(obs["input_ids"][: int(obs["attention_mask"].sum())].tolist())
    assert text.count("assistant") == 2 and text.count("open") == 2
    # The default goal is the correct act: "unknown" ("know") for the unknown closing hour.
    env = scenario_env(HierShopLowEnv, TWO_QUESTIONS, goal_position=position)
    obs, _ = env.reset(seed=0)
    assert "know" in tail(obs, 4) and "open" not in tail(obs, 4)


def test_v2_goal_carries_the_acts_slots() -> None:
    env = scenario_env(HierShopLowEnv, TWO_QUESTIONS, subgoal_policy=lambda features: OPEN, goal_slots=True)
    v1 = scenario_env(HierShopLowEnv, TWO_QUESTIONS)
    assert env.max_length == v1.max_length + env.max_turns * 2  # room for two slot words per turn
    assert env.observation_space["input_ids"].shape == (env.max_length,)
    tok = env.tokenizer
    obs, _ = env.reset(seed=0)
    n = int(obs["attention_mask"].sum())
    # "when do you close ?" with the act "open": its slot is the opening hour, from the facts.
    assert tok.convert_ids_to_tokens(obs["input_ids"][n - 5 : n].tolist()) == ["?", "open", "nine", "assistant", ":"]
    for w in "we open at nine . <eos>".split():
        obs, _, _, _, info = env.step(tok.convert_tokens_to_ids(w))
    assert info["turn_intrinsic"] == 1.0  # the act was realized (the wrong act for the question)
    assert [m["role"] for m in env.messages()] == ["user", "assistant", "user"]  # the goal is never a message
    # Registered as v2: the scripted low level realizes the correct act with its slots in view.
    assert gym.make("textgym/HierShopLow-v2").unwrapped.goal_slots
    high = gym.make("textgym/HierShopHigh-v2").unwrapped
    high.reset(seed=0, options={"prompt_index": 3})
    assert high.low.goal_slots
    with pytest.raises(ValueError, match="goal_slots"):
        HierShopHighEnv(low_env_kwargs={"goal_slots": True})


def test_v2_goal_words_outside_the_vocabulary_are_refused() -> None:
    odd = DialogueScenario(
        Shop(prices={"eggs": "two"}, opens="noonish", fact_order=["eggs", "opens"]), ("when do you open ?",)
    )
    env = scenario_env(HierShopLowEnv, odd, subgoal_policy=lambda features: OPEN, goal_slots=True)
    with pytest.raises(ValueError, match="vocabulary"):
        env.reset(seed=0)


def test_goal_position_is_checked() -> None:
    with pytest.raises(ValueError, match="goal_position"):
        scenario_env(HierShopLowEnv, TWO_QUESTIONS, goal_position="middle")
    with pytest.raises(ValueError, match="goal_position"):
        HierShopHighEnv(low_env_kwargs={"goal_position": "after_speaker"})


@pytest.mark.parametrize(
    ("acts", "expected"),
    [
        (None, [True, True]),  # the default goal is the correct act
        ((UNKNOWN, PRICE), [True, True]),  # the closing hour is unknown; eggs are sold
        ((OPEN, PRICE), [False, True]),
        ((CLOSE, STOCK), [False, False]),  # "close" has no realization here; eggs are sold, so not "stock"
    ],
)
def test_turn_info_says_whether_the_act_was_correct(acts: tuple[int, int] | None, expected: list[bool]) -> None:
    picks = iter(acts or ())
    policy = None if acts is None else (lambda features: next(picks))
    env = scenario_env(HierShopLowEnv, TWO_QUESTIONS, subgoal_policy=policy)
    env.reset(seed=0)
    tok = env.tokenizer
    seen = []
    for reply in ["sorry , i do not know .", "the eggs cost two coins ."]:  # the correct answers: two turns
        for w in [*reply.split(), "<eos>"]:
            _, _, term, trunc, info = env.step(tok.convert_tokens_to_ids(w))
            assert ("turn_act_correct" in info) == ("turn_reward_components" in info)
        seen.append(info["turn_act_correct"])
    assert term and seen == expected


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
    env = gym.make("textgym/HierShopHigh-v1").unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="act id"):
        env.step(7)


def test_random_low_policy_rarely_realizes_acts() -> None:
    env = HierShopHighEnv(low_policy="random")
    env.reset(seed=0)
    _, _, _, _, info = env.step(PRICE)
    assert info["intrinsic"] == 0.0 and 1 <= info["span_tokens"] <= env.low.max_reply_tokens


# ----- info="numeric" (issue 14): the default info's values as typed keys, on handmade episodes -----
def public(info: dict) -> dict:
    return {k: v for k, v in info.items() if not k.startswith("_")}


def act_of_last_token(obs: dict, tok) -> int:  # noqa: ANN001
    """The act whose control word was just appended (v1: it is followed by "assistant :")."""
    n = int(obs["attention_mask"].sum())
    assert tok.convert_ids_to_tokens(obs["input_ids"][n - 2 : n].tolist()) == ["assistant", ":"]
    return [ACT_WORDS[a] for a in ACTS].index(tok.convert_ids_to_tokens(int(obs["input_ids"][n - 3])))


@pytest.mark.parametrize(
    ("replies", "budget"),
    [
        # wrong act, then the act (the question is repeated), then the eggs: the user leaves satisfied
        (["we close at nine .", "sorry , i do not know .", "the eggs cost two coins ."], None),
        # the token budget (10) ends the second reply mid-way: its intrinsic reward is never checked
        (["sorry , i do not know .", "the eggs cost two coins ."], 10),
    ],
    ids=["three-turns", "budget"],
)
def test_low_level_numeric_info_carries_the_default_info_values(replies: list[str], budget: int | None) -> None:
    weight = 0.5
    kwargs = {"intrinsic_weight": weight, **({"max_new_tokens": budget} if budget else {})}
    default = scenario_env(HierShopLowEnv, TWO_QUESTIONS, **kwargs)
    numeric = scenario_env(HierShopLowEnv, TWO_QUESTIONS, info="numeric", **kwargs)
    tok = default.tokenizer
    obs, d = default.reset(seed=0)
    _, n = numeric.reset(seed=0)
    keys = {k: type(v) for k, v in public(n).items()}
    turn_names = ("helpfulness", "rudeness", "length", "fluency")  # Dialogue-v0's scored terms
    assert set(keys) == {
        "budget_exhausted",
        *(f"reward_{c}" for c in (*turn_names, "success", "intrinsic", "extrinsic")),
        "turn_ended",
        *(f"turn_reward_{c}" for c in turn_names),
        "turn_intrinsic",
        "goal_act",
        "goal_met",
    }
    assert n["_prompt"] == d["prompt"] and n["_goal"] == d["goal"]
    # Independent sums, from the default info's per-turn values and the rewards.
    sums = dict.fromkeys((*turn_names, "success", "intrinsic", "extrinsic"), 0.0)
    goal = act_of_last_token(obs, tok)  # the control token in the token state
    unchecked_turns = 0
    for word in [w for reply in replies for w in [*reply.split(), "<eos>"]]:
        a = tok.convert_tokens_to_ids(word)
        obs, r, term, trunc, d = default.step(a)
        n_obs, r_n, term_n, trunc_n, n = numeric.step(a)
        assert (r_n, term_n, trunc_n) == (r, term, trunc)
        np.testing.assert_array_equal(n_obs["input_ids"], obs["input_ids"])
        assert {k: type(v) for k, v in public(n).items()} == keys  # the same keys and types at every step
        ended = "turn_reward_components" in d
        assert n["turn_ended"] == ended
        intrinsic = d["turn_intrinsic"] if ended else None
        unchecked_turns += ended and intrinsic is None
        for c in turn_names:
            assert n[f"turn_reward_{c}"] == (d["turn_reward_components"][c] if ended else 0.0)
            sums[c] += d["turn_reward_components"][c] if ended else 0.0
        assert n["turn_intrinsic"] == (intrinsic or 0.0)
        sums["intrinsic"] += intrinsic or 0.0
        sums["extrinsic"] += r - weight * (intrinsic or 0.0)
        if term or trunc:
            sums["success"] = d["reward_components"]["success"]
        for c, total in sums.items():
            assert n[f"reward_{c}"] == pytest.approx(total, abs=1e-12), c
        if ended and not (term or trunc):
            goal = act_of_last_token(obs, tok)  # the next turn's act was just appended
        assert n["goal_act"] == goal
        assert n["budget_exhausted"] == d.get("budget_exhausted", False)
        assert n["goal_met"] == d.get("goal_met", False)
        # Every other key of the default info is kept, under an underscore.
        assert all(k in keys or n[f"_{k}"] == v for k, v in d.items())
        if term or trunc:
            break
    assert term or trunc
    # At the end the numeric sums are the default reward_components, exactly.
    assert {c: n[f"reward_{c}"] for c in d["reward_components"]} == d["reward_components"]
    if budget is None:
        assert term and n["goal_met"] and sums["intrinsic"] == 2.0 and unchecked_turns == 0
    else:
        assert trunc and n["budget_exhausted"] and unchecked_turns == 1 and sums["intrinsic"] == 1.0


def test_high_level_numeric_info_carries_the_span_values_by_hand() -> None:
    gamma = 0.9
    kwargs = {"gamma": gamma, "low_env_kwargs": {"scenarios": {"train": [TWO_QUESTIONS]}}}
    default, numeric = HierShopHighEnv(**kwargs), HierShopHighEnv(info="numeric", **kwargs)
    _, d = default.reset(seed=0)
    _, n = numeric.reset(seed=0)
    components = ("helpfulness", "rudeness", "length", "fluency", "success", "intrinsic", "extrinsic")
    span_keys = {"span_tokens": 0, "discount": 1.0, "intrinsic": 0.0, "span_extrinsic": 0.0}
    assert public(n) == {"budget_exhausted": False, **{f"reward_{c}": 0.0 for c in components}, **span_keys}
    keys = {k: type(v) for k, v in public(n).items()}
    assert keys["span_tokens"] is np.int64 and keys["discount"] is np.float64
    assert n["_prompt"] == d["prompt"]
    # (act, span tokens k, helpful, fluent, words, realized): as test_high_level_semi_mdp_returns_by_hand.
    spans = [(CLOSE, 1, 0, 0, 0, 0.0), (GREET, 8, 0, 1, 7, 1.0), (UNKNOWN, 8, 1, 1, 7, 1.0)]
    totals = dict.fromkeys(components, 0.0)
    for act, k, helpful, fluent, words, realized in spans:
        _, r_d, term_d, trunc_d, d = default.step(act)
        _, r, term, trunc, n = numeric.step(act)
        assert (r, term, trunc) == (r_d, term_d, trunc_d)
        assert {k: type(v) for k, v in public(n).items()} == keys
        extrinsic = helpful + 0.5 * fluent - 0.01 * words  # Dialogue-v0's turn reward, no success
        totals["helpfulness"] += helpful
        totals["fluency"] += fluent
        totals["length"] += -0.01 * words
        totals["intrinsic"] += realized
        totals["extrinsic"] += extrinsic
        assert n["span_tokens"] == k == d["span_tokens"]
        assert n["discount"] == pytest.approx(gamma**k) and n["discount"] == d["discount"]
        assert n["intrinsic"] == realized == d["intrinsic"]
        assert n["span_extrinsic"] == pytest.approx(extrinsic, abs=1e-12)  # undiscounted
        assert r == pytest.approx(gamma ** (k - 1) * extrinsic)  # paid on the span's last token
        for c, total in totals.items():
            assert n[f"reward_{c}"] == pytest.approx(total, abs=1e-12), c
        assert not n["budget_exhausted"]
    assert term and not trunc  # the user gives up after max_turns replies
    assert {c: n[f"reward_{c}"] for c in d["reward_components"]} == d["reward_components"]
    assert n["_completion"] == d["completion"] and "completion" not in n


def test_high_level_numeric_info_at_the_budget() -> None:
    kwargs = {"low_policy": "random", "low_env_kwargs": {"max_new_tokens": 3}}
    default, numeric = HierShopHighEnv(**kwargs), HierShopHighEnv(info="numeric", **kwargs)
    default.reset(seed=0)
    numeric.reset(seed=0)
    _, r_d, _, trunc_d, d = default.step(PRICE)
    _, r, _, trunc, n = numeric.step(PRICE)
    assert (r, trunc) == (r_d, trunc_d)
    # Three random tokens run out of the budget (a random stop token would end the span sooner).
    assert trunc and d["budget_exhausted"] and n["budget_exhausted"] and n["span_tokens"] == d["span_tokens"] == 3
    assert n["span_extrinsic"] == pytest.approx(r / 0.99**2)  # paid on the last token
    assert n["reward_extrinsic"] == d["reward_components"]["extrinsic"]
    assert n["_truncation_reason"] == d["truncation_reason"]


def test_numeric_info_option_is_checked() -> None:
    with pytest.raises(ValueError, match="info must be one of"):
        HierShopHighEnv(info="text")
    with pytest.raises(ValueError, match="low_env_kwargs must not set 'info'"):
        HierShopHighEnv(low_env_kwargs={"info": "numeric"})
    with pytest.raises(ValueError, match="info must be one of"):
        HierShopLowEnv(info="text")


# ----- stock SB3 on the high level -----
def high_level_return(policy, n: int = 64) -> np.ndarray:  # noqa: ANN001
    env = FlattenObservation(FilterObservation(gym.make("textgym/HierShopHigh-v1"), ["features"]))
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


# Margin over seeds 0-2 at 1 torch thread and seed 0 at 2 (benchmarks/results/learning_margins.json,
# 2026-12-07): lowest paired gain 1.37 against 0.7 (8.9 SE against 3).
@pytest.mark.slow  # about 2 minutes on one shared thread
@pytest.mark.learning
def test_sb3_ppo_trains_the_high_level_over_a_fixed_low_level(learning_seed, check_learned) -> None:
    from stable_baselines3 import PPO

    rng = np.random.default_rng(0)
    random_returns = high_level_return(lambda obs: int(rng.integers(len(ACTS))))
    env = FlattenObservation(FilterObservation(gym.make("textgym/HierShopHigh-v1"), ["features"]))
    model = PPO(
        "MlpPolicy", env, n_steps=256, batch_size=64, learning_rate=3e-3, gamma=0.99, seed=learning_seed, verbose=0
    )
    model.learn(3072)
    trained = high_level_return(lambda obs: int(model.predict(obs, deterministic=True)[0]))
    diff = trained - random_returns  # paired: the same scenarios
    check_learned(
        "paired gain over random, in standard errors", diff.mean() / (diff.std(ddof=1) / np.sqrt(len(diff))), ">", 3
    )
    # Measured (seed 0): random 1.33, trained 2.73 per conversation; paired difference 1.40 +- 0.15.
    check_learned("paired gain over random", diff.mean(), ">", 0.7)
