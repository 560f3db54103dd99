"""Whole numbers 0-99 in English words, and reading the answer a model wrote.

:func:`number_word` writes a number the way Arithmetic-v0's word prompts do; :func:`read_answer`
is the one rule by which Arithmetic-v0 reads a completion (its docstring is the specification).
"""

from __future__ import annotations

import re

#: The words of 0-19, in order.
SMALL = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen"
).split()
#: The words of 20, 30, ..., 90, in order.
TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
#: The largest number that has words here.
MAX_WORD_NUMBER = 99

_WORD_VALUE = {w: i for i, w in enumerate(SMALL)} | {w: 20 + 10 * i for i, w in enumerate(TENS)}
# One number: a run of ASCII digits (with a "-" right before it, a negative number; with a
# decimal part, a decimal), or the words of 0-99 ("twenty-one" / "twenty one": one number).
# Tens-with-unit comes first in the alternation so that "twenty one" is not read as "twenty".
_NUMBER = re.compile(
    r"(?P<digits>-?\d+(?:\.\d+)?)"
    r"|\b(?P<tens>" + "|".join(TENS) + r")(?:[\s-]+(?P<unit>" + "|".join(SMALL[1:10]) + r"))?\b"
    r"|\b(?P<small>" + "|".join(SMALL) + r")\b",
    re.IGNORECASE,
)


def number_word(n: int) -> str:
    """``n`` in English words, 0-99, with a hyphen between tens and units.

    >>> number_word(7), number_word(40), number_word(42)
    ('seven', 'forty', 'forty-two')

    Raises:
        ValueError: If ``n`` is outside 0-99.
    """
    if not 0 <= n <= MAX_WORD_NUMBER:
        raise ValueError(f"number words cover 0-{MAX_WORD_NUMBER}, got {n}")
    if n < 20:
        return SMALL[n]
    tens, unit = divmod(n, 10)
    return TENS[tens - 2] + (f"-{SMALL[unit]}" if unit else "")


def read_answer(text: str) -> float | None:
    """The last number written in ``text``, or None if it has none.

    A number is either
    * ASCII digits, read as a decimal number: ``"42"``, ``"-3"`` (a minus sign right before
      the digits makes it negative), ``"2.5"`` (a point *between* digits is a decimal point;
      ``"8."`` at the end of a sentence is 8). A comma is not a thousands separator
      (``"1,000"`` is 1 and then 0), and ``"5-3"`` is 5 and then -3; or
    * English words of 0-99, whole words in any case: ``"Seven"``, ``"forty-two"``,
      ``"forty two"`` (one number). Words are only read up to 99 (``"one hundred"`` is 1).

    The *last* number counts, so a model may show its work (``"5 + 3 = 8"`` reads 8), and
    the word "one" used as a pronoun is read as 1 when nothing follows it.

    >>> read_answer("5 + 3 = 8"), read_answer("The answer is Eight."), read_answer("forty two")
    (8.0, 8.0, 42.0)
    >>> read_answer("I cannot say") is None
    True
    """
    last = None
    for match in _NUMBER.finditer(text):
        last = match
    if last is None:
        return None
    if last["digits"] is not None:
        return float(last["digits"])
    if last["tens"] is not None:
        unit = _WORD_VALUE[last["unit"].lower()] if last["unit"] else 0
        return float(_WORD_VALUE[last["tens"].lower()] + unit)
    return float(_WORD_VALUE[last["small"].lower()])
