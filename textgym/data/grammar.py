"""The project's own English grammar: a weighted context-free grammar with a lexicon.

The embedded tiny model is pretrained on text generated from this grammar, so whether a
text belongs to the language is decidable exactly (:func:`is_grammatical`, an Earley
recognizer). Texts are lower case, words and punctuation separated by single spaces, e.g.
``"once upon a time , there was a little dog . the dog chased a ball in the park ."``.

Start symbols users care about:

* ``"DOC"``: any pretraining document (story, shop dialogue or report with summary).
* ``"STORY"``: an opening sentence followed by a body.
* ``"OPENING"``: a story opening (the CatText prompts).
* ``"BODY"``: one or more story sentences (what CatText completions must be).
* ``"SENT"``: one story sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

# Word categories (pre-terminals). Every category expands to one word, chosen uniformly.
# Nouns that start with a vowel are left out so that the article is always "a".
LEXICON: dict[str, tuple[str, ...]] = {
    "ANIMAL_SG": (
        "cat",
        "kitten",
        "dog",
        "puppy",
        "bird",
        "fish",
        "horse",
        "cow",
        "pig",
        "duck",
        "rabbit",
        "mouse",
        "fox",
        "frog",
        "goat",
        "bear",
        "lion",
        "hen",
    ),
    "ANIMAL_PL": (
        "cats",
        "kittens",
        "dogs",
        "puppies",
        "birds",
        "fishes",
        "horses",
        "cows",
        "pigs",
        "ducks",
        "rabbits",
        "mice",
        "foxes",
        "frogs",
        "goats",
        "bears",
        "lions",
        "hens",
    ),
    "PERSON_SG": (
        "boy",
        "girl",
        "man",
        "woman",
        "farmer",
        "teacher",
        "baker",
        "king",
        "queen",
        "child",
    ),
    "PERSON_PL": (
        "boys",
        "girls",
        "men",
        "women",
        "farmers",
        "teachers",
        "bakers",
        "kings",
        "queens",
        "children",
    ),
    "NAME": ("tom", "anna", "ben", "lily", "sam", "mia", "max", "lucy"),
    "PLACE": (
        "garden",
        "house",
        "park",
        "forest",
        "river",
        "farm",
        "kitchen",
        "school",
        "market",
        "hill",
        "village",
        "lake",
        "barn",
        "field",
        "beach",
    ),
    "THING_SG": (
        "ball",
        "box",
        "hat",
        "cake",
        "book",
        "basket",
        "toy",
        "bed",
        "tree",
        "flower",
        "boat",
        "cup",
        "bag",
        "kite",
    ),
    "THING_PL": (
        "balls",
        "boxes",
        "hats",
        "cakes",
        "books",
        "baskets",
        "toys",
        "beds",
        "trees",
        "flowers",
        "boats",
        "cups",
        "bags",
        "kites",
    ),
    "ADJ": (
        "big",
        "small",
        "little",
        "happy",
        "sad",
        "young",
        "red",
        "brown",
        "white",
        "black",
        "lazy",
        "quick",
        "soft",
        "tiny",
        "hungry",
        "sleepy",
        "kind",
        "funny",
    ),
    "V_INTR": (
        "ran",
        "slept",
        "jumped",
        "sang",
        "played",
        "laughed",
        "hid",
        "sat",
        "walked",
        "danced",
        "waited",
        "cried",
        "smiled",
    ),
    "V_TR": (
        "saw",
        "found",
        "chased",
        "liked",
        "helped",
        "watched",
        "followed",
        "carried",
        "loved",
        "took",
        "met",
        "heard",
    ),
    "ADV": ("quickly", "slowly", "happily", "quietly", "loudly"),
    "PREP": ("in", "near", "behind", "under"),
    "PRON_SG": ("he", "she", "it"),
    "PRON_OBJ": ("him", "her", "it", "them"),
    "DET_SG": ("the", "a"),
    "DET_PL": ("the", "some", "two", "three"),
    "DET_PLI": ("some", "two", "three"),
    "ITEM_PL": (
        "apples",
        "pears",
        "eggs",
        "cakes",
        "books",
        "hats",
        "toys",
        "flowers",
        "cups",
        "shoes",
    ),
    "NUMBER": (
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
    ),
}

# Productions: left-hand side -> list of (right-hand side, weight). Upper-case symbols are
# non-terminals or lexicon categories; lower-case symbols and punctuation are words.
# No production is empty, so the recognizer needs no nullable handling.
RULES: dict[str, list[tuple[tuple[str, ...], float]]] = {}


def _rule(lhs: str, *alternatives: tuple[str, float] | str) -> None:
    """Add productions written as space-separated strings, optionally with a weight."""
    for alt in alternatives:
        text, weight = (alt, 1.0) if isinstance(alt, str) else alt
        RULES.setdefault(lhs, []).append((tuple(text.split()), weight))


_rule("DOC", ("STORY", 7.0), ("DIALOGUE", 1.5), ("REPORT", 1.5))
# --- stories ---
_rule("STORY", "OPENING BODY")
_rule("OPENING", ("once upon a time , EXIST .", 2.0), ("once upon a time , EXIST LOC .", 1.0), "SENT")
_rule(
    "EXIST",
    "there was a ANIMATE_SG",
    "there was a ADJ ANIMATE_SG",
    "there were DET_PLI ANIMATE_PL",
    "there were DET_PLI ADJ ANIMATE_PL",
)
# A body has on average 1 / 0.6 ~ 1.7 sentences (geometric).
_rule("BODY", ("SENT", 0.6), ("SENT BODY", 0.4))
_rule("SENT", ("CLAUSE .", 3.0), "OPENER , CLAUSE .")
_rule("OPENER", "one day", "then", "later", "after that", "in the morning", "at night")
_rule("CLAUSE", ("SUBJ_SG PRED_SG", 2.0), "SUBJ_PL PRED_PL")
_rule("PRED_SG", ("VP", 4.0), "was ADJ", "was LOC")
_rule("PRED_PL", ("VP", 4.0), "were ADJ", "were LOC")
_rule(
    "VP",
    "V_INTR",
    "V_INTR LOC",
    "V_INTR ADV",
    ("V_TR OBJ", 2.0),
    "V_TR OBJ LOC",
    ("gave OBJ to OBJ", 0.5),
    "went to the PLACE",
)
_rule("SUBJ_SG", ("ANP_SG", 4.0), ("NAME", 2.0), "PRON_SG")
_rule("SUBJ_PL", ("ANP_PL", 3.0), "they", "NAME and NAME")
_rule("ANP_SG", "DET_SG ANIMATE_SG", "DET_SG ADJ ANIMATE_SG")
_rule("ANP_PL", "DET_PL ANIMATE_PL", "DET_PL ADJ ANIMATE_PL")
_rule("ANIMATE_SG", ("ANIMAL_SG", 2.0), "PERSON_SG")
_rule("ANIMATE_PL", ("ANIMAL_PL", 2.0), "PERSON_PL")
_rule("NP_SG", "DET_SG NOUN_SG", "DET_SG ADJ NOUN_SG")
_rule("NP_PL", "DET_PL NOUN_PL", "DET_PL ADJ NOUN_PL")
_rule("NOUN_SG", ("ANIMAL_SG", 2.0), "PERSON_SG", "THING_SG")
_rule("NOUN_PL", ("ANIMAL_PL", 2.0), "PERSON_PL", "THING_PL")
_rule("OBJ", ("NP_SG", 3.0), ("NP_PL", 2.0), "NAME", "PRON_OBJ")
_rule("LOC", "PREP the PLACE")
# --- shop dialogues (facts, then user/assistant turns) ---
_rule("DIALOGUE", "facts : FACTS TURNS")
_rule("FACTS", ("FACT", 0.4), ("FACT FACTS", 0.6))
_rule(
    "FACT",
    ("the shop sells ITEM_PL for NUMBER coins .", 2.0),
    "the shop opens at NUMBER .",
    "the shop closes at NUMBER .",
    "the shop is near the PLACE .",
)
_rule("TURNS", ("TURN", 0.4), ("TURN TURNS", 0.6))
_rule("TURN", "user : UTTERANCE assistant : REPLY")
_rule(
    "UTTERANCE",
    "hello .",
    "what do you sell ?",
    "how much are the ITEM_PL ?",
    "when do you open ?",
    "when do you close ?",
    "where is the shop ?",
    "do you sell ITEM_PL ?",
    "thank you .",
)
_rule(
    "REPLY",
    "hello , how can i help ?",
    "we sell ITEM_PL .",
    "we sell ITEM_PL and ITEM_PL .",
    "the ITEM_PL cost NUMBER coins .",
    "we open at NUMBER .",
    "we close at NUMBER .",
    "the shop is near the PLACE .",
    "yes , we sell ITEM_PL .",
    "no , we do not sell ITEM_PL .",
    "sorry , i do not know .",
    "you are welcome .",
)
# --- reports with a one-sentence summary ---
_rule("REPORT", "report : BODY summary : SENT")

START_SYMBOLS = ("DOC", "STORY", "OPENING", "BODY", "SENT", "DIALOGUE", "REPORT", "REPLY")

_WORD_RE = re.compile(r"[a-z]+|[.,?:!]")
_LEXICON_SETS = {cat: frozenset(words) for cat, words in LEXICON.items()}


def tokenize_words(text: str) -> list[str] | None:
    """Split a text into the grammar's words.

    Args:
        text: Any text; it is lower-cased first.

    Returns:
        The words, or ``None`` if the text contains a character the grammar has no word for
        (digits, quotes, ...), which makes it ungrammatical.
    """
    lowered = text.lower()
    words = _WORD_RE.findall(lowered)
    # Anything that is neither a word, punctuation nor white space is outside the language.
    if len("".join(words)) != len("".join(lowered.split())):
        return None
    return words


def vocabulary() -> list[str]:
    """Every word the grammar can produce, sorted."""
    words = {w for ws in LEXICON.values() for w in ws}
    for alternatives in RULES.values():
        for rhs, _ in alternatives:
            words.update(s for s in rhs if s not in RULES and s not in LEXICON)
    return sorted(words)


def generate(symbol: str, rng: np.random.Generator) -> list[str]:
    """Sample words from ``symbol`` by weighted random expansion.

    Args:
        symbol: A non-terminal, lexicon category or word.
        rng: The only source of randomness, so the same seed gives the same text.

    Returns:
        The generated words.
    """
    if symbol in LEXICON:
        words = LEXICON[symbol]
        return [words[int(rng.integers(len(words)))]]
    if symbol not in RULES:
        return [symbol]
    alternatives = RULES[symbol]
    weights = np.array([w for _, w in alternatives])
    rhs = alternatives[int(rng.choice(len(alternatives), p=weights / weights.sum()))][0]
    out: list[str] = []
    for s in rhs:
        out.extend(generate(s, rng))
    return out


def _matches(symbol: str, word: str) -> bool:
    lex = _LEXICON_SETS.get(symbol)
    return word in lex if lex is not None else symbol == word


@lru_cache(maxsize=65536)
def _recognize(words: tuple[str, ...], start: str) -> bool:
    """Earley recognizer (Earley 1970) over RULES; items are (lhs, rhs, dot, origin)."""
    n = len(words)
    if n == 0:
        return False  # no production is empty
    charts: list[list[tuple[str, tuple[str, ...], int, int]]] = [[] for _ in range(n + 1)]
    seen: list[set[tuple[str, tuple[str, ...], int, int]]] = [set() for _ in range(n + 1)]

    def add(i: int, item: tuple[str, tuple[str, ...], int, int]) -> None:
        if item not in seen[i]:
            seen[i].add(item)
            charts[i].append(item)

    for rhs, _ in RULES[start]:
        add(0, (start, rhs, 0, 0))
    for i in range(n + 1):
        j = 0
        while j < len(charts[i]):  # the chart grows while we walk it
            lhs, rhs, dot, origin = charts[i][j]
            j += 1
            if dot < len(rhs):
                nxt = rhs[dot]
                if nxt in RULES:  # predict
                    for alt, _ in RULES[nxt]:
                        add(i, (nxt, alt, 0, i))
                elif i < n and _matches(nxt, words[i]):  # scan
                    add(i + 1, (lhs, rhs, dot + 1, origin))
            else:  # complete; origin < i because no rule is empty
                for plhs, prhs, pdot, porigin in charts[origin]:
                    if pdot < len(prhs) and prhs[pdot] == lhs:
                        add(i, (plhs, prhs, pdot + 1, porigin))
        if i < n and not charts[i + 1]:
            return False  # no item scanned words[i]: no parse can continue (no rule is empty)
    return any(lhs == start and dot == len(rhs) and origin == 0 for lhs, rhs, dot, origin in charts[n])


def is_grammatical(text: str | Sequence[str], start: str = "DOC") -> bool:
    """Say whether a text parses under the grammar.

    Args:
        text: A string, or a sequence of words already split.
        start: The start symbol, e.g. ``"DOC"``, ``"STORY"``, ``"BODY"`` or ``"SENT"``.

    Returns:
        True when the whole text is derivable from ``start``.

    Raises:
        ValueError: If ``start`` is not a non-terminal of the grammar.

    >>> is_grammatical("the cat slept .", start="SENT")
    True
    >>> is_grammatical("the cat slept", start="SENT")
    False
    """
    if start not in RULES:
        raise ValueError(f"unknown start symbol {start!r}; choose one of {sorted(RULES)}")
    words = tokenize_words(text) if isinstance(text, str) else [w.lower() for w in text]
    if words is None:
        return False
    return _recognize(tuple(words), start)
