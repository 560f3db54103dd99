import numpy as np
import pytest

from textgym.data import (
    generate,
    generate_corpus,
    is_grammatical,
    mentions_cat,
    sample_report,
    sample_shop,
    story_openings,
    to_natural,
    vocabulary,
)
from textgym.data.corpus import sample_user_utterance


def test_corpus_is_seeded_and_grammatical() -> None:
    docs = generate_corpus(300, seed=5)
    assert docs == generate_corpus(300, seed=5)
    assert docs != generate_corpus(300, seed=6)
    assert all(is_grammatical(d) for d in docs)
    assert {d.split()[0] for d in docs} >= {"facts", "report"}  # all three kinds appear


@pytest.mark.parametrize(
    "text",
    [
        "the cat slept .",
        "one day , tom and anna went to the park .",
        "the cats were happy .",
        "a small dog gave the ball to the girl .",
        "then , she saw them near the river .",
    ],
)
def test_grammatical_sentences(text: str) -> None:
    assert is_grammatical(text, "SENT")


@pytest.mark.parametrize(
    "text",
    [
        "the cat slept",  # no full stop
        "the cats was happy .",  # number agreement
        "the cat was .",  # missing predicate
        "cat the slept .",  # word order
        "the ball ran .",  # things are not subjects
        "the cat slept . .",
        "the cat slept 3 .",  # a character outside the language
        "",
    ],
)
def test_ungrammatical_sentences(text: str) -> None:
    assert not is_grammatical(text, "SENT")
    assert not is_grammatical(text, "BODY")


def test_body_is_one_or_more_sentences() -> None:
    assert is_grammatical("the cat slept . the dog ran .", "BODY")
    assert not is_grammatical("the cat slept . the dog ran .", "SENT")


def test_unknown_start_symbol_raises() -> None:
    with pytest.raises(ValueError, match="start symbol"):
        is_grammatical("the cat slept .", "NOPE")


def test_generated_text_uses_only_the_vocabulary() -> None:
    rng = np.random.default_rng(0)
    vocab = set(vocabulary())
    for _ in range(200):
        assert set(generate("DOC", rng)) <= vocab


def test_shop_replies_follow_the_facts() -> None:
    rng = np.random.default_rng(1)
    for _ in range(100):
        shop = sample_shop(rng)
        item, price = next(iter(shop.prices.items()))
        assert shop.reply(f"how much are the {item} ?") == f"the {item} cost {price} coins ."
        assert f"the shop sells {item} for {price} coins ." in shop.facts_text()
        utterance = sample_user_utterance(rng, shop)
        assert is_grammatical(shop.reply(utterance), "REPLY")


def test_report_summary_is_the_stripped_main_event() -> None:
    rng = np.random.default_rng(2)
    for _ in range(100):
        body, summary = sample_report(rng)
        assert is_grammatical(body, "BODY") and is_grammatical(summary, "SENT")
        assert set(summary.split()) <= set(body.split())


def test_story_openings() -> None:
    train, val = story_openings("train", 100), story_openings("validation", 100)
    assert len(set(train)) == 100 and not set(train) & set(val)
    assert all(is_grammatical(p, "OPENING") and not mentions_cat(p) for p in train)
    with pytest.raises(ValueError, match="split"):
        story_openings("dev")


def test_to_natural() -> None:
    assert to_natural("one day , tom saw a cat .") == "One day, Tom saw a cat."
