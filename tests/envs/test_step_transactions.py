"""A step whose reward fails changes nothing (issue 30): single env, vector env, agents' SB3 adapter.

Each test plays the same actions on two envs built alike, one whose reward fails once at a chosen
step. The failing step must raise an error naming the reward and leave the env's whole state (token
arrays, episode records, flags; the vector env's autoreset bookkeeping) as it was; then the same
action, with the reward working again, must give exactly what the env that never failed gave, and
so must every later step.
"""

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

from textgym.data.shop_tasks import ShopUser
from textgym.envs import DialogueEnv, TextGenEnv, TextGenVectorEnv
from textgym.envs.dialogue import default_turn_reward
from textgym.models import load_tokenizer

TOK = load_tokenizer("tiny")
EOS = TOK.eos_token_id
FAILURES = ("raise", "nan", "inf")


def ids(text: str) -> list[int]:
    return [EOS if w == "<eos>" else TOK.convert_tokens_to_ids(w) for w in text.split()]


def words(prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
    return [float(len(c.split())) for c in completions]


def text_env(reward: Any, **kwargs: Any) -> TextGenEnv:
    kwargs.setdefault("max_new_tokens", 6)
    return TextGenEnv(["the dog ran .", "a big cat sat ."], tokenizer=TOK, reward=reward, **kwargs)


def dialogue_env(reward: Any = None, **kwargs: Any) -> DialogueEnv:
    # 8 scenarios a split (the first ones are the default's) build in milliseconds instead of a second.
    return DialogueEnv(reward=reward, n_scenarios=8, **kwargs)


def expected_error(how: str) -> type[Exception]:
    # The reward's own exception stays itself; score_batch refuses NaN and inf with a ValueError.
    return RuntimeError if how == "raise" else ValueError


# (env builder given its reward, the reward's inner scorer, reset options, actions, step that fails)
SINGLE_CASES = {
    # The EOS that ends the episode (the probe: the EOS stayed and the episode went on, "dog dog dog").
    "terminal_at_eos": (text_env, words, {}, "the cat sat <eos>", 3),
    # The last token of the budget: the episode would be truncated.
    "terminal_at_budget": (lambda r: text_env(r, max_new_tokens=3), words, {}, "the cat sat", 2),
    # Mid-episode in immediate mode: every step is scored; last_score must not move.
    "immediate_mid_episode": (lambda r: text_env(r, reward_mode="immediate"), words, {}, "the cat sat <eos>", 1),
    "immediate_at_eos": (lambda r: text_env(r, reward_mode="immediate"), words, {}, "the cat sat <eos>", 3),
    # Multi-turn: the EOS ending a wrong first reply, after which the user would repeat the question.
    "dialogue_turn_end": (
        dialogue_env,
        default_turn_reward("grammar"),
        {"prompt_index": 1},
        "hello . <eos> sorry , i do not know . <eos>",
        2,
    ),
    "dialogue_immediate_mid_reply": (
        lambda r: dialogue_env(r, reward_mode="immediate"),
        default_turn_reward("grammar"),
        {"prompt_index": 1},
        "hello . <eos> sorry , i do not know . <eos>",
        4,
    ),
}


def play_with_failure(tx: Any, make: Callable, inner: Any, options: dict, actions: list[int], fail_at: int, how: str):
    """Play ``actions`` on an env whose reward fails at step ``fail_at`` and on one whose never does."""
    reward, ref_reward = tx.Flaky(inner, how), tx.Flaky(inner, how)
    env, ref = make(reward), make(ref_reward)
    tx.same(env.reset(seed=0, options=options), ref.reset(seed=0, options=options), "reset")
    for t, action in enumerate(actions):
        if t == fail_at:
            before = tx.state(env)
            reward.arm()
            with pytest.raises(expected_error(how)) as err:
                env.step(action)
            assert "'flaky_judge'" in tx.error_text(err.value)
            assert reward.failures == 1  # it was called, and failed
            tx.same(tx.state(env), before, f"state after the failed step {t}")
        out = env.step(action)  # the same action again, the reward working
        tx.same(out, ref.step(action), f"step {t}")
        if out[2] or out[3]:
            break
    assert t >= fail_at  # the failing step was reached
    assert ref_reward.failures == 0
    return out


@pytest.mark.parametrize("how", FAILURES)
@pytest.mark.parametrize("case", sorted(SINGLE_CASES))
def test_single_env_step_with_failing_reward_changes_nothing(tx, case: str, how: str) -> None:
    make, inner, options, text, fail_at = SINGLE_CASES[case]
    last = play_with_failure(tx, make, inner, options, ids(text), fail_at, how)
    assert last[2] or last[3]  # played to the episode's end


def test_the_reward_is_named_in_the_raised_error_and_its_type_kept(tx) -> None:
    env = text_env(tx.Flaky(words))
    env.reset(seed=0)
    env.reward_model.arm("raise")
    with pytest.raises(RuntimeError, match="the judge is unavailable") as err:
        env.step(EOS)
    note = "raised by reward 'flaky_judge' while scoring a batch of 1 (prompt, completion) pairs"
    assert err.value.__notes__ == [note]
    env.reward_model.arm("nan")
    with pytest.raises(ValueError, match="reward 'flaky_judge' returned a non-finite score \\(nan\\) for pair 0"):
        env.step(EOS)
    obs, reward, terminated, truncated, info = env.step(EOS)  # the episode ends as if nothing had failed
    assert (reward, terminated, info["completion"]) == (0.0, True, "")
    assert obs["attention_mask"].sum() == len(TOK(info["prompt"])["input_ids"]) + 1  # one EOS, not three


class FlakyUser:
    """Dialogue-v0's scripted user, raising once (mid-episode) after :meth:`arm`."""

    def __init__(self) -> None:
        self.user = ShopUser()
        self.armed = False

    def arm(self) -> None:
        self.armed = True

    def __call__(self, scenario: Any, messages: Sequence[Any]) -> Any:
        if self.armed and messages:
            self.armed = False
            raise RuntimeError("the user hung up")
        return self.user(scenario, messages)


def test_a_turn_hook_that_raises_rolls_the_step_back(tx) -> None:
    # The reward has already scored the reply and the turn is recorded when the user (end_turn) raises.
    user = FlakyUser()
    env, ref = dialogue_env(user=user), dialogue_env()
    options = {"prompt_index": 1}
    tx.same(env.reset(seed=0, options=options), ref.reset(seed=0, options=options))
    for t, action in enumerate(ids("hello . <eos> sorry , i do not know . <eos>")):
        if t == 2:
            before = tx.state(env)
            user.arm()
            with pytest.raises(RuntimeError, match="the user hung up"):
                env.step(action)
            tx.same(tx.state(env), before, "state after the failed step")
        out = env.step(action)
        tx.same(out, ref.step(action), f"step {t}")
    assert out[2] and out[4]["goal_met"] and len(out[4]["turns"]) == 5  # prompt, reply, user, reply, closing


# ----- the vector env -----
N = 4


def vector_actions(steps: int = 8) -> np.ndarray:
    """Slot i emits EOS at step i, so at each early step one slot ends and the one before it resets or waits."""
    (word,) = ids("the")
    actions = np.full((steps, N), word)
    for i in range(N):
        actions[i, i] = EOS
    return actions


VECTOR_CASES = {
    # Slot 0 ended at step 0: its autoreset is due in step 1, where slot 1's EOS is scored and fails.
    "next_step_pending_autoreset": (AutoresetMode.NEXT_STEP, 1, "terminal", 1),
    # Slot 1 would be reset at once (final_obs, final_info) in the failing step.
    "same_step": (AutoresetMode.SAME_STEP, 1, "terminal", 1),
    # Group (0, 1) finished at step 1; its reset is due in step 2, where slot 2's EOS fails.
    "next_step_group_reset_due": (AutoresetMode.NEXT_STEP, 2, "terminal", 2),
    # Slot 0 waits for its group; slot 1's EOS would complete the group.
    "no_autoreset_group_waiting": (AutoresetMode.DISABLED, 2, "terminal", 1),
    # Immediate mode: every running slot is scored in the failing step.
    "immediate_next_step": (AutoresetMode.NEXT_STEP, 1, "immediate", 1),
    "immediate_same_step_groups": (AutoresetMode.SAME_STEP, 2, "immediate", 2),
}


@pytest.mark.parametrize("how", FAILURES)
@pytest.mark.parametrize("case", sorted(VECTOR_CASES))
def test_vector_env_step_with_failing_reward_changes_nothing(tx, case: str, how: str) -> None:
    mode, group_size, reward_mode, fail_at = VECTOR_CASES[case]
    reward, ref_reward = tx.Flaky(words, how), tx.Flaky(words, how)

    def make(r: Any) -> TextGenVectorEnv:
        env = text_env(r, max_new_tokens=4, reward_mode=reward_mode)
        return TextGenVectorEnv(env, N, autoreset_mode=mode, group_size=group_size)

    venv, ref = make(reward), make(ref_reward)
    tx.same(venv.reset(seed=3), ref.reset(seed=3), "reset")
    for t, actions in enumerate(vector_actions()):
        if t == fail_at:
            before = tx.state(venv)
            reward.arm()
            with pytest.raises(expected_error(how)) as err:
                venv.step(actions)
            assert "'flaky_judge'" in tx.error_text(err.value) and reward.failures == 1
            tx.same(tx.state(venv), before, f"state after the failed step {t}")
        tx.same(venv.step(actions), ref.step(actions), f"step {t}")
    assert ref_reward.failures == 0


@pytest.mark.parametrize("how", FAILURES)
def test_vector_dialogue_turn_end_with_failing_reward_changes_nothing(tx, how: str) -> None:
    # Multi-turn in the vector env: slot 0's wrong reply ends its turn (the user would answer) and fails.
    reward, ref_reward = tx.Flaky(default_turn_reward("grammar"), how), tx.Flaky(default_turn_reward("grammar"), how)
    venv, ref = (TextGenVectorEnv(dialogue_env(r), 2) for r in (reward, ref_reward))
    options = {"prompt_index": 1}
    tx.same(venv.reset(seed=0, options=options), ref.reset(seed=0, options=options))
    slot0 = ids("hello . <eos> sorry , i do not know . <eos>")
    slot1 = ids("sorry , i do not know . <eos> the")
    for t, actions in enumerate(zip(slot0, slot1, strict=False)):
        actions = np.array(actions)
        if t == 2:
            before = tx.state(venv)
            reward.arm()
            with pytest.raises(expected_error(how)):
                venv.step(actions)
            tx.same(tx.state(venv), before, "state after the failed step")
        tx.same(venv.step(actions), ref.step(actions), f"step {t}")


# ----- agents.make_env: the SB3 VecEnv adapter -----
@pytest.mark.parametrize("how", FAILURES)
def test_sb3_adapter_step_with_failing_reward_changes_nothing(tx, how: str) -> None:
    import agents

    reward, ref_reward = tx.Flaky(words, how), tx.Flaky(words, how)
    venv, ref = (agents.make_env("CatText-v0", n_envs=N, env_kwargs={"reward": r}) for r in (reward, ref_reward))
    assert venv.get_attr("reward_model")[0] is reward
    tx.same(venv.reset(), ref.reset(), "reset")
    monitor = venv.venv  # VecMonitor: its running returns must not count the failed step either
    for t, actions in enumerate(vector_actions()):
        if t == 1:
            before = tx.state(venv), monitor.episode_returns.copy(), monitor.episode_lengths.copy()
            reward.arm()
            with pytest.raises(expected_error(how)) as err:
                venv.step(actions)
            assert "'flaky_judge'" in tx.error_text(err.value)
            after = tx.state(venv), monitor.episode_returns.copy(), monitor.episode_lengths.copy()
            tx.same(after, before, "state after the failed step")
        (obs, rewards, dones, infos), want = venv.step(actions), ref.step(actions)
        tx.same((obs, rewards, dones), want[:3], f"step {t}")
        for i, (got, exp) in enumerate(zip(infos, want[3], strict=True)):
            got, exp = dict(got), dict(exp)
            for info in (got, exp):  # VecMonitor's wall-clock time differs
                info.get("episode", {}).pop("t", None)
            tx.same(got, exp, f"step {t} slot {i} info")
        tx.same(venv.unwrapped.reset_infos, ref.unwrapped.reset_infos, f"step {t} reset infos")
    assert ref_reward.failures == 0
