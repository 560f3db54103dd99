"""Issue 14, part 7: text-level adapters (TRL-style reward function, text-level env, Dialogue user environment)."""

import gymnasium as gym
import numpy as np
import pytest

import textgym  # noqa: F401  (registers the environments)
from textgym.text_level import TextLevelEnv
from textgym.trl_adapters import DialogueUserEnvironment, trl_reward_function

SINGLE_TURN = ["textgym/CatText-v0", "textgym/TinyCat-v0", "textgym/Summarization-v0", "textgym/TinyShop-v0"]


def random_episode(env: gym.Env, rng: np.random.Generator) -> tuple[float, dict]:
    """Random tokens until the episode ends; the return and the final info."""
    done, total = False, 0.0
    while not done:
        _, reward, terminated, truncated, info = env.step(int(rng.integers(env.action_space.n)))
        total, done = total + reward, terminated or truncated
    return total, info


@pytest.mark.parametrize("env_id", SINGLE_TURN)
def test_reward_function_equals_the_envs_return(env_id: str) -> None:
    env = gym.make(env_id)
    rng = np.random.default_rng(0)
    prompts, completions, returns = [], [], []
    for episode in range(6):
        env.reset(seed=episode)
        total, info = random_episode(env, rng)
        prompts.append(info["prompt"])
        completions.append(info["completion"])
        returns.append(total)
    reward_fn = trl_reward_function(env_id)
    got = reward_fn(prompts=prompts, completions=completions, trainer_state=None, extra_column=[0] * 6)
    assert isinstance(got, list) and all(isinstance(x, float) for x in got)
    np.testing.assert_allclose(got, returns, rtol=1e-9, atol=1e-9)
    # TRL's conversational form: lists of messages.
    conv = reward_fn(
        prompts=[[{"role": "user", "content": p}] for p in prompts],
        completions=[[{"role": "assistant", "content": c}] for c in completions],
    )
    np.testing.assert_allclose(conv, returns, rtol=1e-9, atol=1e-9)


def test_reward_function_from_a_callable_and_errors() -> None:
    fn = trl_reward_function(lambda p, c: [float(len(x)) for x in c], name="length")
    assert fn.__name__ == "length"
    assert fn(["a", "b"], ["xyz", ""]) == [3.0, 0.0]
    with pytest.raises(ValueError, match="2 prompts but 1 completions"):
        fn(["a", "b"], ["x"])
    with pytest.raises(TypeError, match="completion must be a str"):
        fn(["a"], [3])
    with pytest.raises(TypeError, match="callable"):
        trl_reward_function(3)


def token_path(env_id: str, seed: int, utterances: list[str]) -> list[tuple]:
    """The token env stepped by hand: each utterance's tokens, then EOS; per turn (obs text, reward sum, ends)."""
    env = gym.make(env_id)
    base = env.unwrapped
    tok = base.tokenizer
    obs, _ = env.reset(seed=seed)
    out = []
    done = False
    for utterance in utterances:
        if done:
            break
        turns_before = len(base.episode.agent_turns)
        total = 0.0
        for token_id in tok(utterance, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]:
            obs, reward, terminated, truncated, info = env.step(token_id)
            total += reward
            done = terminated or truncated
            if done or len(base.episode.agent_turns) > turns_before:
                break
        real = obs["input_ids"][: obs["attention_mask"].sum()]
        out.append((tok.decode(real.tolist()), total, terminated, truncated, info.get("reward_components")))
    return out


UTTERANCES = {
    "textgym/CatText-v0": ["the cat sat on the mat ."],
    "textgym/TinyCat-v0": ["cat"],
    "textgym/Summarization-v0": ["the cat sat ."],
    "textgym/TinyShop-v0": ["apples"],
    "textgym/Dialogue-v0": ["we open at ten .", "yes , we sell eggs .", "thank you ."],
}


@pytest.mark.parametrize("env_id", sorted(UTTERANCES))
def test_text_step_equals_stepping_the_token_env(env_id: str) -> None:
    expected = token_path(env_id, 3, UTTERANCES[env_id])
    env = TextLevelEnv(env_id)
    obs, _ = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    got = []
    for utterance in UTTERANCES[env_id][: len(expected)]:
        assert env.action_space.contains(utterance)
        obs, reward, terminated, truncated, info = env.step(utterance)
        got.append((obs, reward, terminated, truncated, info.get("reward_components")))
    assert len(got) == len(expected)
    for (o, r, te, tr, comp), (eo, er, ete, etr, ecomp) in zip(got, expected, strict=True):
        assert o == eo
        assert r == pytest.approx(er, abs=1e-12)
        assert (te, tr, comp) == (ete, etr, ecomp)
    assert got[-1][2] or got[-1][3]  # each script ends its episode


def test_text_level_multi_turn_continues_and_rejects_bad_utterances() -> None:
    env = TextLevelEnv("textgym/Dialogue-v0")
    obs0, _ = env.reset(seed=0)
    obs1, _, terminated, truncated, info = env.step("hello .")
    assert not (terminated or truncated)
    assert obs1.startswith(obs0) and len(obs1) > len(obs0) + len(" hello .")  # the user answered
    assert info["utterance_tokens_written"] == 2 and not info["utterance_cut"]
    with pytest.raises(ValueError, match="stop token"):
        env.step("hello <eos> there")
    with pytest.raises(TypeError, match="str utterance"):
        env.step(5)


def test_text_level_reports_a_cut_utterance() -> None:
    env = TextLevelEnv("textgym/TinyCat-v0")  # max_new_tokens=5
    env.reset(seed=0)
    _, _, terminated, truncated, info = env.step("cat cat cat cat cat cat cat")
    assert terminated or truncated
    assert info["utterance_cut"] and info["utterance_tokens_written"] == 5
    with pytest.raises(RuntimeError, match="reset"):
        env.step("cat")


def test_dialogue_user_environment_matches_the_text_level_env() -> None:
    replies = ["we open at ten .", "yes .", "bye ."]
    reference = TextLevelEnv("textgym/Dialogue-v0")
    opening, _ = reference.reset(options={"prompt_index": 2})
    user = DialogueUserEnvironment()
    assert user.reset(prompt_index=2, prompt="ignored") == opening
    total = 0.0
    for reply in replies:
        previous, _ = reference._observe(), None
        obs, reward, terminated, truncated, _ = reference.step(reply)
        total += reward
        answer = user.reply(reply)
        if terminated or truncated:
            assert answer.endswith("(the conversation has ended)")
            break
        # The user's answer is the text the token env appended after the agent's reply.
        assert answer in obs[len(previous) :]
    assert user.get_reward() == pytest.approx(total, abs=1e-12)
    assert "reply" in {name for name in dir(user) if not name.startswith("_")}
