import numpy as np
import pytest

from textgym.rewards import (
    GrammarReward,
    KeywordReward,
    LMFluencyReward,
    RewardModel,
    RewardOutput,
    WeightedSum,
    as_reward_model,
    score_batch,
)


def test_keyword_reward_matches_whole_words_case_insensitively() -> None:
    r = KeywordReward(["cat", "kitten"])
    out = r(["p"] * 5, ["The Cat.", "a category", "kittens", "my kitten!", "dog"])
    np.testing.assert_array_equal(out, [1, 0, 0, 1, 0])
    assert KeywordReward(pattern=r"\bkitt\w+")(["p"], ["kittens"]).tolist() == [1.0]
    with pytest.raises(ValueError):
        KeywordReward([])


def test_grammar_reward() -> None:
    r = GrammarReward()
    np.testing.assert_array_equal(r(["", "", ""], ["the cat slept .", "the cat slept", ""]), [1, 0, 0])


def test_weighted_sum_reports_unweighted_components() -> None:
    r = WeightedSum({"topic": (KeywordReward(["cat"]), 2.0), "len": (lambda p, c: [len(x) for x in c], 0.5)})
    out = score_batch(r, ["a", "b"], ["cat", "dogs"])
    np.testing.assert_allclose(out.total, [2.0 + 1.5, 0.0 + 2.0])
    np.testing.assert_allclose(out.components["topic"], [1, 0])
    np.testing.assert_allclose(out.components["len"], [3, 4])


def test_lm_fluency_is_mean_log_likelihood() -> None:
    import torch

    from textgym.models import load_model, load_tokenizer

    model, tok = load_model("tiny"), load_tokenizer("tiny")
    r = LMFluencyReward(model, tokenizer=tok)
    prompt, completion = "the dog ran .", "the cat slept ."
    got = r([prompt], [completion])[0]
    ids = tok(prompt + " " + completion)["input_ids"] + [tok.eos_token_id]
    n_prompt = len(tok(prompt)["input_ids"])
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor([ids])).logits[0], -1)
    expected = np.mean([float(logp[t - 1, ids[t]]) for t in range(n_prompt, len(ids))])
    assert got == pytest.approx(expected, abs=1e-5)
    # batching and padding do not change a pair's score
    batch = r([prompt, "once upon a time , there was a dog ."], [completion, "it ran"])
    assert batch[0] == pytest.approx(got, abs=1e-5)
    assert batch[1] < got  # a sentence without its full stop is less fluent


def test_score_batch_validation_names_the_reward() -> None:
    class Broken(RewardModel):
        name = "broken"

        def score(self, prompts, completions):
            return RewardOutput(total=np.array([np.nan] * len(completions)))

    with pytest.raises(ValueError, match="'broken'.*non-finite"):
        score_batch(Broken(), ["a"], ["b"])
    with pytest.raises(ValueError, match="2 prompts but 1 completions"):
        score_batch(as_reward_model(lambda p, c: [0.0]), ["a", "b"], ["c"])
    with pytest.raises(TypeError, match="callable"):
        as_reward_model("not a reward")
