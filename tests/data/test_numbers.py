"""How Arithmetic-v0 reads a number from generated text (textgym.data.numbers)."""

import pytest

from textgym.data.numbers import number_word, read_answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8", 8.0),
        ("  8\n", 8.0),
        ("The answer is 8.", 8.0),
        ("8.0", 8.0),
        ("8.5", 8.5),  # a decimal point between digits: not 8, not 5
        ("-8", -8.0),
        ("5 + 3 = 8", 8.0),  # the last number: the model may show its work
        ("8 + 1 = 9", 9.0),
        ("20-14=6", 6.0),
        ("5-3", -3.0),  # a minus right before digits makes them negative
        ("1,000", 0.0),  # commas are not thousands separators
        ("Eight", 8.0),
        ("the answer is ELEVEN!", 11.0),
        ("forty-two", 42.0),
        ("forty two", 42.0),
        ("twenty", 20.0),
        ("twenty, one", 1.0),  # a comma between the words: two numbers
        ("zero", 0.0),
        ("someone ate it", None),  # "one" only as a whole word
        ("no number here", None),
        ("", None),
        ("It is 12, or twelve", 12.0),
        ("12 apples, not 13", 13.0),
        ("x = 7\n\nThis", 7.0),
    ],
)
def test_read_answer(text: str, expected: float | None) -> None:
    assert read_answer(text) == expected


@pytest.mark.parametrize(
    ("n", "word"), [(0, "zero"), (13, "thirteen"), (20, "twenty"), (21, "twenty-one"), (99, "ninety-nine")]
)
def test_number_word_round_trips(n: int, word: str) -> None:
    assert number_word(n) == word
    assert read_answer(word) == n


def test_every_number_word_reads_back() -> None:
    assert [read_answer(number_word(n)) for n in range(100)] == list(range(100))


@pytest.mark.parametrize("n", [-1, 100])
def test_number_word_out_of_range_is_an_error(n: int) -> None:
    with pytest.raises(ValueError, match="0-99"):
        number_word(n)
