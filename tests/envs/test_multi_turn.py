"""TextGenEnv's turn hooks on a hand-made two-turn task: tokens, rewards, budgets, vector parity."""

from collections.abc import Sequence

import numpy as np
import pytest
from gymnasium.vector import SyncVectorEnv

from textgym.envs import Episode, TextGenEnv, TextGenVectorEnv, TurnEnd
from textgym.models import load_tokenizer

TOK = load_tokenizer("tiny")
EOS = TOK.eos_token_id
PROMPT = "the dog ran ."


def ids(text: str) -> list[int]:
    return TOK(text, add_special_tokens=False)["input_ids"]


def words(prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
    """Words in the reply, plus 100 when the prompt holds the env's question."""
    return [len(c.split()) + 100.0 * ("then ?" in p) for p, c in zip(prompts, completions, strict=True)]


class TwoTurns(TextGenEnv):
    """After the agent's first turn the env asks "then ?"; the second turn ends the episode (+5)."""

    def __init__(self, **kwargs: object):
        kwargs = {"max_new_tokens": 10, **kwargs}
        super().__init__([PROMPT], tokenizer=TOK, reward=words, **kwargs)
        self.max_reply_tokens = 3

    def turn_prompt(self, episode: Episode) -> str:
        return " ".join(t.text for t in episode.turns)

    def end_turn(self, episode: Episode) -> TurnEnd:
        if len(episode.agent_turns) >= 2:
            return TurnEnd(terminated=True, reward=5.0, components={"bonus": 1.0})
        return TurnEnd(terminated=False, context=ids("then ?"), context_role="env", context_text="then ?")


def real(obs: dict) -> list[int]:
    return obs["input_ids"][: int(obs["attention_mask"].sum())].tolist()


def test_context_is_appended_and_each_turn_is_scored_against_its_prompt() -> None:
    env = TwoTurns()
    obs, info = env.reset(seed=0)
    opening = TOK(PROMPT)["input_ids"]
    assert info == {"prompt": PROMPT} and real(obs) == opening
    steps = [env.step(a) for a in ids("the cat") + [EOS]]
    assert [s[1] for s in steps] == [0.0, 0.0, 2.0]  # "the cat", scored at the turn's end
    assert not any(s[2] or s[3] for s in steps) and steps[-1][4] == {}
    assert real(steps[-1][0]) == opening + ids("the cat") + [EOS] + ids("then ?")  # context, not an action
    steps = [env.step(a) for a in ids("a big dog")]  # three tokens: max_reply_tokens ends the turn
    obs, reward, terminated, truncated, info = steps[-1]
    assert reward == 3.0 + 100.0 + 5.0  # the second prompt holds "then ?"; +5 from end_turn
    assert (terminated, truncated) == (True, False)
    assert info == {
        "prompt": PROMPT,
        "completion": "the cat\na big dog",
        "reward_components": {"words": 2.0 + 103.0, "bonus": 1.0},
        "budget_exhausted": False,
    }
    assert [(t.role, t.text) for t in env.episode.turns] == [
        ("prompt", PROMPT),
        ("assistant", "the cat"),
        ("env", "then ?"),
        ("assistant", "a big dog"),
    ]
    assert env.completion == "the cat\na big dog"


def test_the_token_budget_truncates_and_scores_the_reply_so_far() -> None:
    env = TwoTurns(max_new_tokens=4, max_length=20)
    env.reset(seed=0)
    *_, (obs, reward, terminated, truncated, info) = [env.step(a) for a in ids("the cat") + [EOS] + ids("a")]
    assert (terminated, truncated, reward) == (False, True, 1.0 + 100.0)
    assert info["budget_exhausted"] and info["truncation_reason"] == "the agent wrote max_new_tokens=4 tokens"
    assert info["completion"] == "the cat\na"


def test_context_that_does_not_fit_truncates_with_a_warning() -> None:
    env = TwoTurns(max_length=9)  # 5 prompt tokens + 3 agent tokens leave 1: too few for "then ?" + a reply
    env.reset(seed=0)
    env.step(ids("the")[0])
    env.step(ids("cat")[0])
    with pytest.warns(UserWarning, match="episode truncated: observation budget: the env's turn 'then ."):
        obs, reward, terminated, truncated, info = env.step(EOS)
    assert (terminated, truncated, reward) == (False, True, 2.0)
    assert "needs 2 tokens but only 0 of max_length=9 are free" in info["truncation_reason"]
    assert real(obs) == TOK(PROMPT)["input_ids"] + ids("the cat") + [EOS]  # nothing half-written
    assert env.episode.turns[-1].role == "env" and env.episode.turns[-1].token_ids == []


def test_max_length_must_leave_room_for_the_agent() -> None:
    with pytest.raises(ValueError, match=r"has 5 tokens, leaving no room for the agent in max_length=5"):
        TwoTurns(max_length=5)


def test_vector_env_runs_the_hooks_per_slot_like_sync_vector_env() -> None:
    n = 3
    ours, ref = TextGenVectorEnv(TwoTurns(), n), SyncVectorEnv([TwoTurns for _ in range(n)])
    ours.reset(seed=0)
    ref.reset(seed=0)
    rng = np.random.default_rng(0)
    ended = 0
    for _ in range(40):
        actions = np.where(rng.random(n) < 0.3, EOS, rng.integers(len(TOK), size=n))
        a, b = ours.step(actions), ref.step(actions)
        for x, y in zip(a[:4], b[:4], strict=True):
            np.testing.assert_equal(x, y)
        for key in ("completion", "reward_components", "budget_exhausted"):
            np.testing.assert_equal(a[4].get(key), b[4].get(key))
        ended += int((a[2] | a[3]).sum())
    assert ended >= 5
