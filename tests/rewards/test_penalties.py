import numpy as np
import pytest

from textgym.rewards import LengthPenalty, RepetitionPenalty, score_batch


def test_length_penalty_counts_words_beyond_the_free_length() -> None:
    r = LengthPenalty(weight=0.5, free_length=3)
    out = score_batch(r, ["p"] * 4, ["the cat slept in the park .", "the cat", "", "a b c"])
    # 7 words -> 4 beyond 3 -> -2.0; 2 and 0 and 3 words -> no penalty
    np.testing.assert_allclose(out.total, [-2.0, 0.0, 0.0, 0.0])
    assert out.components == {"length": pytest.approx(out.total)}


def test_length_penalty_in_tokens() -> None:
    r = LengthPenalty(weight=1.0, tokenizer="tiny")
    # the tiny tokenizer splits punctuation off: "cat." -> "cat", "." (no <bos> counted)
    np.testing.assert_allclose(r(["p", "p"], ["the cat.", ""]), [-3.0, 0.0])


def test_length_penalty_rejects_negative_weights() -> None:
    with pytest.raises(ValueError, match="weight"):
        LengthPenalty(weight=-1)


def test_repetition_penalty_hand_computed() -> None:
    texts = ["the cat saw the cat .", "a b c", "", "x x x x"]
    # unigrams: 6 words, 4 distinct -> 1 - 4/6 = 1/3; no repeats; nothing; 4 words 1 distinct -> 3/4
    np.testing.assert_allclose(RepetitionPenalty(n=1, weight=2.0)(["p"] * 4, texts), [-2 / 3, 0, 0, -1.5])
    # bigrams: (the cat) (cat saw) (saw the) (the cat) (cat .) -> 5, 4 distinct -> 1/5;
    # "x x x x": 3 bigrams, 1 distinct -> 2/3
    np.testing.assert_allclose(RepetitionPenalty(n=2)(["p"] * 4, texts), [-0.2, 0, 0, -2 / 3])
    # fewer words than n: nothing to repeat
    assert RepetitionPenalty(n=3)(["p"], ["a a"]).tolist() == [0.0]
