"""The task-oriented shop domain of Dialogue-v0: scenarios, a fact checker and a scripted user.

A scenario is a shop (its facts) and a customer's goal: one or two questions. The fact
checker decides whether an assistant reply answers a question correctly given the shop's
facts; it reads grammar text ("the apples cost three coins .") and ordinary prose ("The
apples cost 3 coins.") alike, so it serves both the tiny model and chat models. The
scripted user asks its questions in order, repeats a question until it gets a correct
answer, and thanks the assistant once every question is answered.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from textgym.data.corpus import SPLIT_SEEDS, Shop, sample_shop, sample_user_utterance
from textgym.data.grammar import LEXICON

# Away from the corpus (0, 1), story openings (1000 + split) and reports (2000 + split).
SHOP_SEED_OFFSET = 3000
CLOSING = "thank you ."

_NUMBER_WORDS = {str(i + 1): w for i, w in enumerate(LEXICON["NUMBER"])}  # "3" -> "three"
# Words that state a fact of the shop: saying one the question does not call for is a
# wrong (or made-up) fact.
FACT_WORDS = (
    frozenset(LEXICON["NUMBER"])
    | frozenset(LEXICON["ITEM_PL"])
    | frozenset(LEXICON["PLACE"])
    | {
        "yes",
        "no",
    }
)
# Replies without a fact word still have to say the right thing.
_KEYWORD_OF_REPLY = {
    "hello , how can i help ?": "help",
    "sorry , i do not know .": "know",
    "you are welcome .": "welcome",
}


@dataclass(frozen=True)
class DialogueScenario:
    """One Dialogue-v0 episode's setting.

    Attributes:
        shop: The shop whose facts the assistant is given.
        questions: The customer's goal: questions to get answered, in order (grammar text).
    """

    shop: Shop
    questions: tuple[str, ...]

    @property
    def facts(self) -> str:
        """The shop's facts as grammar text."""
        return self.shop.facts_text()


@dataclass(frozen=True)
class UserTurn:
    """What a simulated user says, and whether the conversation is over.

    Attributes:
        text: The utterance ("" for none).
        goal_met: The user got what they came for.
        done: The user ends the conversation (after ``text``).
    """

    text: str
    goal_met: bool = False
    done: bool = False


def normalize_words(text: str) -> list[str]:
    """Lower-case words and punctuation of a text, with digits 1-12 written as words.

    >>> normalize_words("The apples cost 3 coins.")
    ['the', 'apples', 'cost', 'three', 'coins', '.']
    """
    words = re.findall(r"[a-z]+|[0-9]+|[.,?!:]", text.lower())
    return [_NUMBER_WORDS.get(w, w) for w in words]


def shop_scenarios(split: str, n: int = 512, max_questions: int = 2) -> list[DialogueScenario]:
    """Distinct Dialogue-v0 scenarios; splits are disjoint.

    Args:
        split: ``"train"``, ``"validation"`` or ``"test"``.
        n: How many scenarios.
        max_questions: Each goal has 1 to ``max_questions`` distinct questions (uniformly);
            ``"hello ."`` only ever opens a conversation.

    Returns:
        The scenarios, in a fixed order.

    >>> s = shop_scenarios("train", 2)[0]
    >>> s.facts.startswith("the shop") and 1 <= len(s.questions) <= 2
    True
    """
    if split not in SPLIT_SEEDS:
        raise ValueError(f"unknown split {split!r}; choose one of {sorted(SPLIT_SEEDS)}")
    if n < 1 or max_questions < 1:
        raise ValueError(f"n and max_questions must be >= 1, got {n} and {max_questions}")
    return list(_shop_scenarios(split, n, max_questions))


@lru_cache(maxsize=16)  # every env construction asks again
def _shop_scenarios(split: str, n: int, max_questions: int) -> tuple[DialogueScenario, ...]:
    earlier: set[tuple[str, tuple[str, ...]]] = set()
    for other, other_seed in SPLIT_SEEDS.items():
        if other_seed < SPLIT_SEEDS[split]:
            earlier.update((s.facts, s.questions) for s in _shop_scenarios(other, n, max_questions))
    rng = np.random.default_rng(SHOP_SEED_OFFSET + SPLIT_SEEDS[split])
    out: list[DialogueScenario] = []
    seen: set[tuple[str, tuple[str, ...]]] = set()
    while len(out) < n:
        shop = sample_shop(rng)
        n_questions = 1 + int(rng.integers(max_questions))
        questions: list[str] = []
        while len(questions) < n_questions:
            q = sample_user_utterance(rng, shop)
            if q in questions or (q == "hello ." and questions):
                continue
            questions.append(q)
        key = (shop.facts_text(), tuple(questions))
        if key in seen or key in earlier:
            continue
        seen.add(key)
        out.append(DialogueScenario(shop, tuple(questions)))
    return tuple(out)


_FACT_PATTERNS = (
    (re.compile(r"the shop sells ([a-z]+) for ([a-z]+) coins"), "sells"),
    (re.compile(r"the shop opens at ([a-z]+)"), "opens"),
    (re.compile(r"the shop closes at ([a-z]+)"), "closes"),
    (re.compile(r"the shop is near the ([a-z]+)"), "near"),
)


def parse_shop(facts: str) -> Shop:
    """Read a shop back from its facts (grammar text or prose); inverse of ``Shop.facts_text``.

    Raises:
        ValueError: If a sentence is not one of the four fact forms.

    >>> parse_shop("The shop sells eggs for 2 coins. The shop is near the lake.").facts_text()
    'the shop sells eggs for two coins . the shop is near the lake .'
    """
    shop = Shop(prices={})
    sentences = [s.strip() for s in " ".join(normalize_words(facts)).split(".") if s.strip()]
    if not sentences:
        raise ValueError(f"no facts in {facts!r}")
    for sentence in sentences:
        for pattern, kind in _FACT_PATTERNS:
            m = pattern.fullmatch(sentence)
            if m is None:
                continue
            if kind == "sells":
                shop.prices[m[1]] = m[2]
                shop.fact_order.append(m[1])
            else:
                setattr(shop, kind, m[1])
                shop.fact_order.append(kind)
            break
        else:
            raise ValueError(f"cannot read the fact {sentence!r} of {facts!r}")
    return shop


def is_helpful(shop: Shop, question: str, reply: str) -> bool:
    """Whether ``reply`` answers ``question`` correctly given the shop's facts.

    The correct answer is :meth:`Shop.reply`. A reply is helpful when it states every fact
    word of the correct answer that the question does not already name (price, hour,
    place, items, yes/no; or for replies without one: "help" to a greeting, "know" when the
    fact is unknown, "welcome" to thanks) and no other fact word, except those the question
    names. So "the apples cost three coins ."
    and "Three coins." both answer "how much are the apples ?" for a price of three, while
    "four" or "we open at three" do not.

    Raises:
        ValueError: If the question is not one of the shop domain's questions.

    >>> shop = Shop(prices={"apples": "three"}, fact_order=["apples"])
    >>> is_helpful(shop, "how much are the apples ?", "The apples cost 3 coins.")
    True
    >>> is_helpful(shop, "how much are the apples ?", "the apples cost four coins .")
    False
    """
    q_words = normalize_words(question)
    correct = shop.reply(" ".join(q_words))
    named = set(q_words) & FACT_WORDS  # e.g. the item asked about: it may be repeated
    required = (set(normalize_words(correct)) & FACT_WORDS) - named or {_KEYWORD_OF_REPLY[correct]}
    allowed = required | named
    words = set(normalize_words(reply))
    return required <= words and (words & FACT_WORDS) <= allowed


def dialogue_context(facts: str, messages: Sequence[Mapping[str, str]]) -> str:
    """The conversation as one line of text, ending where the assistant speaks next.

    ``"facts : F user : Q1 assistant : A1 user : Q2 assistant :"``, the format the tiny
    model was pretrained on; the per-turn rewards score replies given this context.

    >>> dialogue_context("the shop opens at two .", [{"role": "user", "content": "hello ."}])
    'facts : the shop opens at two . user : hello . assistant :'
    """
    parts = ["facts :", facts]
    for m in messages:
        parts += [f"{m['role']} :", m["content"]]
    return " ".join(parts + ["assistant :"])


def parse_dialogue_context(context: str) -> tuple[Shop, str]:
    """The shop and the question being answered, from a :func:`dialogue_context` string.

    Raises:
        ValueError: If the text is not a dialogue context.
    """
    if not context.startswith("facts : ") or " user : " not in context:
        raise ValueError(f"not a dialogue context ('facts : ... user : ... assistant :'): {context!r}")
    facts = context[len("facts : ") :].split(" user : ", 1)[0]
    last = context.rsplit(" user : ", 1)[-1]
    if not last.endswith(" assistant :"):
        raise ValueError(f"a dialogue context must end with 'user : QUESTION assistant :': {context!r}")
    return parse_shop(facts), last[: -len(" assistant :")]


class ShopUser:
    """The scripted customer of Dialogue-v0.

    It asks its goal's questions in order and repeats a question until a reply answers it
    (:func:`is_helpful`); when all are answered it says "thank you ." and leaves with its
    goal met. It keeps no state: each turn is worked out from the conversation, so it is
    deterministic and pickles trivially.

    >>> s = DialogueScenario(Shop({"eggs": "two"}, fact_order=["eggs"]), ("how much are the eggs ?",))
    >>> user = ShopUser()
    >>> user(s, [])
    UserTurn(text='how much are the eggs ?', goal_met=False, done=False)
    >>> history = [{"role": "user", "content": "how much are the eggs ?"},
    ...            {"role": "assistant", "content": "the eggs cost two coins ."}]
    >>> user(s, history)
    UserTurn(text='thank you .', goal_met=True, done=True)
    """

    def __call__(self, scenario: DialogueScenario, messages: Sequence[Mapping[str, str]]) -> UserTurn:
        """The user's next turn given the conversation so far (``[]`` at the start)."""
        answered = 0
        question = None
        for m in messages:
            if m["role"] == "user":
                question = m["content"]
            elif question is not None and is_helpful(scenario.shop, question, m["content"]):
                answered += 1
                question = None
        if answered >= len(scenario.questions):
            return UserTurn(CLOSING, goal_met=True, done=True)
        return UserTurn(scenario.questions[answered])
