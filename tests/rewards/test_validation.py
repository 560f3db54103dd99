import gymnasium as gym
import numpy as np
import pytest

import textgym  # noqa: F401  (registers the environments)
from textgym.rewards import RewardModel, RewardOutput, as_reward_model, check_nonempty, score_batch


class WithTokenScores(RewardModel):
    name = "per_token"

    def __init__(self, token_scores: object):
        self.token_scores = token_scores

    def score(self, prompts, completions):
        return RewardOutput(total=np.zeros(len(completions)), token_scores=self.token_scores)


def test_token_scores_are_validated() -> None:
    out = score_batch(WithTokenScores([[1, 2], []]), ["a", "b"], ["x y", ""])
    np.testing.assert_array_equal(out.token_scores[0], [1.0, 2.0])
    with pytest.raises(ValueError, match="'per_token' returned token_scores for 1 pairs in a batch of 2"):
        score_batch(WithTokenScores([[1.0]]), ["a", "b"], ["x", "y"])
    with pytest.raises(ValueError, match="'per_token' returned a non-finite token score for pair 1"):
        score_batch(WithTokenScores([[1.0], [np.inf]]), ["a", "b"], ["x", "y"])
    with pytest.raises(ValueError, match="expected 1-D"):
        score_batch(WithTokenScores([[[1.0]]]), ["a"], ["x"])
    with pytest.raises(TypeError, match="not a list of arrays"):
        score_batch(WithTokenScores(3.0), ["a"], ["x"])


def test_user_reward_errors_name_the_reward() -> None:
    def my_reward(prompts, completions):
        return [[1.0, 2.0]] * len(completions)

    with pytest.raises(ValueError, match=r"'my_reward' returned score of shape \(1, 2\)"):
        score_batch(as_reward_model(my_reward), ["a"], ["b"])

    def strings(prompts, completions):
        return ["high"] * len(completions)

    with pytest.raises((TypeError, ValueError), match="'strings' returned score that is not numeric"):
        score_batch(as_reward_model(strings), ["a"], ["b"])
    with pytest.raises(ValueError, match="'needs_text' cannot score an empty completion \\(pair 1\\)"):
        check_nonempty("needs_text", ["a", " "])


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_reward_never_reaches_the_agent(bad: float) -> None:
    def flaky(prompts, completions):
        return [bad if c else 0.0 for c in completions]

    env = gym.make("textgym/CatText-v0", reward=flaky, max_new_tokens=2)
    env.reset(seed=0)
    tok = env.unwrapped.tokenizer
    env.step(tok.convert_tokens_to_ids("the"))
    with pytest.raises(ValueError, match="'flaky' returned a non-finite score"):
        env.step(tok.convert_tokens_to_ids("cat"))
    venv = gym.make_vec(
        "textgym/CatText-v0", num_envs=2, vectorization_mode="vector_entry_point", reward=flaky, max_new_tokens=1
    )
    venv.reset(seed=0)
    with pytest.raises(ValueError, match="'flaky'"):
        venv.step(np.array([tok.convert_tokens_to_ids("cat")] * 2))
