"""TextGenVectorEnv: the same batched info as SyncVectorEnv (multi-turn Dialogue included), prompt_index."""

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv

import textgym  # noqa: F401  (registers the environments)
from textgym.envs import CatTextEnv, DialogueEnv, TextGenVectorEnv
from textgym.envs.dialogue import DialogueVectorEnv

N = 4
# Canned replies: some answer a customer's question ("sorry , i do not know ." is right for
# facts the shop does not give), so goals are met; the rest is random tokens.
REPLIES = ["sorry , i do not know .", "we sell eggs .", "the cups cost ten coins ."]


def assert_same_info(a: Any, b: Any, where: str = "info") -> None:
    """Recursive equality of gymnasium's batched infos (dicts, object arrays, nested dicts)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{where}: keys {sorted(a)} != {sorted(b)}"
        for key in a:
            assert_same_info(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, np.ndarray) and a.dtype == object:
        assert isinstance(b, np.ndarray) and b.dtype == object and a.shape == b.shape, where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_info(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
        assert a.dtype == np.asarray(b).dtype, where
    elif isinstance(a, list | tuple):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_info(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


class Agent:
    """Per slot: a canned reply or random tokens, ended by EOS or "user"; seeded."""

    def __init__(self, env: DialogueEnv | CatTextEnv, seed: int):
        self.tok = env.tokenizer
        self.rng = np.random.default_rng(seed)
        self.queues: list[list[int]] = [[] for _ in range(N)]
        self.stops = sorted(env.stop_token_ids)

    def act(self) -> np.ndarray:
        actions = np.zeros(N, dtype=np.int64)
        for i, queue in enumerate(self.queues):
            if not queue:
                if self.rng.random() < 0.7:
                    text = REPLIES[int(self.rng.integers(len(REPLIES)))]
                    queue += self.tok(text, add_special_tokens=False)["input_ids"]
                else:
                    queue += self.rng.integers(len(self.tok), size=int(self.rng.integers(1, 6))).tolist()
                queue.append(int(self.rng.choice(self.stops)))
            actions[i] = queue.pop(0)
        return actions


@pytest.mark.parametrize("make", [DialogueEnv, CatTextEnv], ids=["Dialogue", "CatText"])
@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP], ids=["next", "same"])
def test_batched_env_equals_sync_vector_env_exactly(make: type, mode: AutoresetMode) -> None:
    ours = TextGenVectorEnv(make(), N, autoreset_mode=mode)
    ref = SyncVectorEnv([make for _ in range(N)], autoreset_mode=mode)
    obs_a, info_a = ours.reset(seed=5)
    obs_b, info_b = ref.reset(seed=5)
    assert_same_info(obs_a, obs_b, "reset obs")
    assert_same_info(info_a, info_b, "reset info")
    agent = Agent(ours.env, seed=1)
    ended, goals, user_turns = 0, 0, 0
    for t in range(150):
        actions = agent.act()
        a, b = ours.step(actions), ref.step(actions)
        for name, x, y in zip(("obs", "rewards", "terminated", "truncated", "info"), a, b, strict=True):
            assert_same_info(x, y, f"step {t} {name}")
        info = a[4] if mode == AutoresetMode.NEXT_STEP else a[4].get("final_info", {})
        done = a[2] | a[3]
        ended += int(done.sum())
        goals += int(np.sum(info.get("goal_met", np.zeros(N, dtype=bool)) & done))
        if "turns" in info:
            user_turns += sum(t["role"] == "user" for turns in info["turns"][done] for t in turns[2:])
    assert ended >= 10
    if make is DialogueEnv:  # the multi-turn paths ran: user turns mid-episode, goals met
        assert goals >= 2 and user_turns >= 5
    ours.close()
    ref.close()


def test_step_infos_are_each_slots_single_env_info() -> None:
    ours = TextGenVectorEnv(DialogueEnv(), N, autoreset_mode=AutoresetMode.SAME_STEP)
    singles = [DialogueEnv() for _ in range(N)]
    ours.reset(seed=3)
    for i, env in enumerate(singles):
        env.reset(seed=3 + i)
    agent = Agent(ours.env, seed=2)
    finished = 0
    for _ in range(80):
        actions = agent.act()
        _, _, terms, truncs, _ = ours.step(actions)
        for i, env in enumerate(singles):
            *_, te, tr, info = env.step(int(actions[i]))
            assert_same_info(ours.step_infos[i], info, f"slot {i}")
            if te or tr:
                finished += 1
                assert ours.reset_infos[i] == env.reset()[1]
    assert finished >= 4


def test_reset_prompt_index_starts_every_slot_from_that_prompt() -> None:
    venv = DialogueVectorEnv(num_envs=3)
    env = venv.env
    obs, info = venv.reset(seed=0, options={"prompt_index": 7})
    n = len(env.prompt_ids[7])
    for i in range(3):
        assert obs["input_ids"][i, :n].tolist() == env.prompt_ids[7].tolist()
        assert obs["attention_mask"][i].sum() == n
    assert list(info["prompt"]) == [env.prompts[7]] * 3
    assert [list(g) for g in info["goal"]] == [list(env.scenarios[7].questions)] * 3
    with pytest.raises(ValueError, match="prompt_index 512 out of range for 512 scenarios"):
        venv.reset(options={"prompt_index": 512})
    np.testing.assert_array_equal(
        venv.step(np.zeros(3, dtype=np.int64))[0]["input_ids"][:, :n], obs["input_ids"][:, :n]
    )
    cat = gym.make_vec("textgym/CatText-v0", num_envs=2, vectorization_mode="vector_entry_point")
    _, info = cat.reset(seed=0, options={"prompt_index": 2})
    assert list(info["prompt"]) == [cat.env.prompts[2]] * 2
    with pytest.raises(ValueError, match="prompt_index -1 out of range for 512 prompts"):
        cat.reset(options={"prompt_index": -1})


def test_render_shows_each_slot_as_the_single_env_does() -> None:
    venv = TextGenVectorEnv(DialogueEnv(render_mode="ansi"), 2)
    single = DialogueEnv(render_mode="ansi")
    venv.reset(seed=0)
    single.reset(seed=0)
    tok = single.tokenizer
    for word in "the dog ran . <eos> we".split():  # not an answer: the user asks again
        token = tok.convert_tokens_to_ids(word)
        venv.step(np.array([token, token]))
        single.step(token)
    assert venv.render()[0] == single.render()
    assert single.render().splitlines()[-1] == "assistant : we"
