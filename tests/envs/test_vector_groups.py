"""Prompt groups and whole-episode (no autoreset) collection in the batched vector env."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

from textgym.envs import CatTextEnv, TextGenVectorEnv


def make(n: int = 6, g: int = 3, mode: AutoresetMode = AutoresetMode.SAME_STEP, **env_kwargs) -> TextGenVectorEnv:
    return TextGenVectorEnv(CatTextEnv(max_new_tokens=4, **env_kwargs), n, autoreset_mode=mode, group_size=g)


def prompts_of(venv: TextGenVectorEnv) -> np.ndarray:
    return np.array([venv.slots.episodes[i].index for i in range(venv.num_envs)])


def test_num_envs_must_be_a_multiple_of_group_size() -> None:
    with pytest.raises(ValueError, match="multiple of group_size=4"):
        make(n=6, g=4)
    with pytest.raises(ValueError, match="multiple of group_size"):
        gym.make_vec("textgym/CatText-v0", num_envs=5, group_size=2)


def test_make_vec_passes_group_size() -> None:
    venv = gym.make_vec("textgym/CatText-v0", num_envs=4, group_size=2)
    _, infos = venv.reset(seed=0)
    ids = infos["group_id"]
    assert ids[0] == ids[1] != ids[2] == ids[3]


@pytest.mark.parametrize("mode", [AutoresetMode.SAME_STEP, AutoresetMode.NEXT_STEP])
def test_groups_share_a_prompt_and_wait_for_each_other(mode: AutoresetMode) -> None:
    venv = make(mode=mode)
    eos = venv.env.eos_token_id
    other = venv.env.tokenizer.convert_tokens_to_ids("cat")
    obs, infos = venv.reset(seed=5)
    p = prompts_of(venv)
    assert p[0] == p[1] == p[2] and p[3] == p[4] == p[5]
    assert len(set(infos["group_id"])) == 2 and infos["group_id"][0] == infos["group_id"][2]
    # slot 0 ends at once; slots 1, 2 (same group) keep writing; slot 0 must wait, untouched
    actions = np.array([eos, other, other, other, other, other])
    obs, rewards, term, trunc, infos = venv.step(actions)
    assert term[0] and not infos["waiting"][0] and not term[1:].any()
    frozen = obs["input_ids"][0].copy()
    obs, rewards, term, trunc, infos = venv.step(np.array([other] * 6))
    assert infos["waiting"][0] and not term[0] and not trunc[0] and rewards[0] == 0.0
    np.testing.assert_array_equal(obs["input_ids"][0], frozen)  # its action was ignored
    group_0 = infos["group_id"][0]
    obs, rewards, term, trunc, infos = venv.step(np.array([other, eos, eos, eos, other, other]))
    assert term[1] and term[2] and term[3] and not term[0]  # slot 0 does not end twice
    assert not (term[4] or trunc[4])  # slot 3 ended by EOS; it waits while 4 and 5 run on
    if mode == AutoresetMode.SAME_STEP:
        # group 0 is complete: reset at once, one new prompt for its three slots
        assert infos["group_id"][0] == infos["group_id"][1] == infos["group_id"][2] != group_0
        assert not infos["waiting"][:3].any()
        assert prompts_of(venv)[0] == prompts_of(venv)[1] == prompts_of(venv)[2]
        assert obs["attention_mask"][0].sum() == obs["attention_mask"][1].sum()  # fresh prompts
    obs, rewards, term, trunc, infos = venv.step(np.array([other] * 6))  # NEXT_STEP: this step resets group 0
    if mode == AutoresetMode.NEXT_STEP:
        assert infos["group_id"][0] == infos["group_id"][2] != group_0 and (rewards[:3] == 0).all()
    # slots 4 and 5 run into the token budget; slot 3 waited, its action ignored
    assert trunc[4] and trunc[5] and not (term[3] or trunc[3]) and rewards[3] == 0.0


def test_group_size_one_is_the_plain_env() -> None:
    a = TextGenVectorEnv(CatTextEnv(max_new_tokens=4), 3, autoreset_mode=AutoresetMode.SAME_STEP)
    b = make(n=3, g=1)
    oa, ia = a.reset(seed=1)
    ob, ib = b.reset(seed=1)
    np.testing.assert_array_equal(oa["input_ids"], ob["input_ids"])
    assert "group_id" not in ib and "waiting" not in ib
    rng = np.random.default_rng(0)
    for _ in range(12):
        acts = rng.integers(a.single_action_space.n, size=3)
        ra, rb = a.step(acts), b.step(acts)
        np.testing.assert_array_equal(ra[0]["input_ids"], rb[0]["input_ids"])
        np.testing.assert_array_equal(ra[1], rb[1])


def test_disabled_autoreset_waits_until_reset_mask() -> None:
    venv = make(n=4, g=2, mode=AutoresetMode.DISABLED)
    eos = venv.env.eos_token_id
    obs, _ = venv.reset(seed=0)
    obs, _, term, _, _ = venv.step(np.full(4, eos))
    assert term.all()
    before = obs["input_ids"].copy()
    for _ in range(3):  # nobody is reset: every slot waits
        obs, rewards, term, trunc, infos = venv.step(np.full(4, 7))
        assert infos["waiting"].all() and not (term | trunc).any() and (rewards == 0).all()
    np.testing.assert_array_equal(obs["input_ids"], before)
    with pytest.raises(ValueError, match="whole groups"):
        venv.reset(options={"reset_mask": np.array([True, False, False, False])})
    group_ids = venv._group_id.copy()
    obs, infos = venv.reset(options={"reset_mask": np.array([False, False, True, True])})
    assert (venv._group_id[:2] == group_ids[:2]).all() and (venv._group_id[2:] != group_ids[2:]).all()
    np.testing.assert_array_equal(obs["input_ids"][:2], before[:2])
    prompt_len = [len(venv.env.prompt_ids[i]) for i in prompts_of(venv)[2:]]
    np.testing.assert_array_equal(obs["attention_mask"][2:].sum(axis=1), prompt_len)  # fresh episodes
    obs, _, term, _, infos = venv.step(np.full(4, eos))
    assert not term[:2].any() and term[2:].all() and infos["waiting"][:2].all()


def test_same_seed_same_groups() -> None:
    a, b = make(n=6, g=2), make(n=6, g=2)
    a.reset(seed=3)
    b.reset(seed=3)
    np.testing.assert_array_equal(prompts_of(a), prompts_of(b))
    c = make(n=6, g=2)
    c.reset(seed=4)
    assert not np.array_equal(prompts_of(a), prompts_of(c))
