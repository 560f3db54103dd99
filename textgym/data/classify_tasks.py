"""The data of Classify-v0: stories from the project's grammar, each about exactly one animal.

An example is a story of the grammar (start symbol ``"STORY"``) in which exactly one kind
of animal appears, and that kind is one of :data:`ANIMAL_LABELS`; the label is the animal's
singular word. Stories are drawn from the grammar and kept when they mention an animal and
have at most :data:`MAX_STORY_WORDS` words; every animal they mention (singular or plural)
is then renamed to the example's label, which stays grammatical because every animal word
has the same category. Labels cycle through :data:`ANIMAL_LABELS`, so every
split is balanced. Splits are disjoint: a story in ``train`` never appears in
``validation`` or ``test``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from textgym.data.corpus import SPLIT_SEEDS
from textgym.data.grammar import LEXICON, generate

#: The label words (singular animal nouns of the grammar), in label order.
ANIMAL_LABELS = ("cat", "dog", "bird", "fish")
#: Away from the corpus (0, 1), story openings (1000 + split), reports (2000 + split) and
#: shop scenarios (3000 + split).
CLASSIFY_SEED_OFFSET = 4000
#: Longest story, in words (grammar tokens), so that prompts stay short.
MAX_STORY_WORDS = 24
SPLIT_SIZES = {"train": 8192, "validation": 256, "test": 256}

# Singular and plural animal nouns are listed in the same order in the lexicon.
_SINGULAR = dict(zip(LEXICON["ANIMAL_PL"], LEXICON["ANIMAL_SG"], strict=True)) | {w: w for w in LEXICON["ANIMAL_SG"]}
_PLURAL = dict(zip(LEXICON["ANIMAL_SG"], LEXICON["ANIMAL_PL"], strict=True))


@dataclass(frozen=True)
class ClassifyExample:
    """One Classify-v0 example.

    Attributes:
        story: Grammar text mentioning exactly one kind of animal.
        label: That animal's singular word, one of :data:`ANIMAL_LABELS`.
    """

    story: str
    label: str


def animals_in(text: str) -> set[str]:
    """The kinds of animal a grammar text mentions, as singular words.

    >>> sorted(animals_in("the dogs saw a cat . the dog ran ."))
    ['cat', 'dog']
    """
    return {_SINGULAR[w] for w in text.split() if w in _SINGULAR}


def _rename_animal(words: list[str], old: str, new: str) -> list[str]:
    """Replace the singular and plural forms of animal ``old`` by those of ``new``."""
    swap = {old: new, _PLURAL[old]: _PLURAL[new]}
    return [swap.get(w, w) for w in words]


def classify_examples(split: str, n: int | None = None) -> list[ClassifyExample]:
    """The labelled stories of one split, in a fixed order (balanced labels, disjoint splits).

    Args:
        split: ``"train"`` (8192 by default), ``"validation"`` or ``"test"`` (256 each).
        n: How many examples (default: the split's size above).

    Returns:
        ``n`` distinct examples; example ``j`` has label ``ANIMAL_LABELS[j % 4]``.

    Raises:
        ValueError: If the split is unknown or ``n < 1``.

    >>> ex = classify_examples("train", 4)
    >>> [e.label for e in ex], all(animals_in(e.story) == {e.label} for e in ex)
    (['cat', 'dog', 'bird', 'fish'], True)
    """
    if split not in SPLIT_SEEDS:
        raise ValueError(f"unknown split {split!r}; choose one of {sorted(SPLIT_SEEDS)}")
    n = SPLIT_SIZES[split] if n is None else int(n)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return list(_classify_examples(split, n))


@lru_cache(maxsize=16)  # every env construction asks again
def _classify_examples(split: str, n: int) -> tuple[ClassifyExample, ...]:
    earlier: set[str] = set()
    for other, other_seed in SPLIT_SEEDS.items():
        if other_seed < SPLIT_SEEDS[split]:
            earlier.update(e.story for e in _classify_examples(other, SPLIT_SIZES[other]))
    rng = np.random.default_rng(CLASSIFY_SEED_OFFSET + SPLIT_SEEDS[split])
    out: list[ClassifyExample] = []
    seen: set[str] = set()
    while len(out) < n:
        label = ANIMAL_LABELS[len(out) % len(ANIMAL_LABELS)]
        words = generate("STORY", rng)
        kinds = animals_in(" ".join(words))
        if not kinds or len(words) > MAX_STORY_WORDS:
            continue
        for kind in kinds:  # every animal of the story becomes the label's animal
            words = _rename_animal(words, kind, label)
        story = " ".join(words)
        if story in seen or story in earlier:
            continue
        seen.add(story)
        out.append(ClassifyExample(story, label))
    return tuple(out)
