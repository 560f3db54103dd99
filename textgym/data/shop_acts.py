"""Dialogue acts of the shop domain: the subgoals of HierShop, their exact checker and features.

A dialogue act is what the assistant's reply does: greet, give the price, the opening or
closing hour, the place, say what is (not) in stock, or say it does not know. Given the
shop's facts and the customer's question, an act has at most one realization, a reply of
the grammar (:func:`realize`); :func:`realizes` checks a reply against it exactly. For every
question of the domain exactly one act realizes the correct answer (:func:`correct_act`),
and which one depends on the facts: "when do you open ?" needs ``open`` if the opening hour
is known and ``unknown`` otherwise; "how much are the eggs ?" needs ``price`` if eggs are
sold and ``stock`` ("no , we do not sell eggs .") otherwise.
"""

from __future__ import annotations

import numpy as np

from textgym.data.corpus import Shop
from textgym.data.shop_tasks import normalize_words

#: The acts (subgoal ids are positions) and the word of the tiny vocabulary that stands for
#: each in the low level's observation (its control prefix).
ACTS = ("greet", "price", "open", "close", "where", "stock", "unknown")
ACT_WORDS = {
    "greet": "hello",
    "price": "coins",
    "open": "open",
    "close": "close",
    "where": "near",
    "stock": "sell",
    "unknown": "know",
}
#: The most slot words an act carries (:func:`act_slots`; ``price``: the item and its price).
MAX_SLOTS = 2
#: Question kinds, in the order of the features' one-hot block.
QUESTION_KINDS = ("hello", "what_sell", "how_much", "do_sell", "open", "close", "where")
N_FEATURES = len(QUESTION_KINDS) + 5


def question_kind(question: str) -> tuple[str, str | None]:
    """The kind of a shop question and the item it names (or None).

    Raises:
        ValueError: If it is not a question of the shop domain.

    >>> question_kind("how much are the eggs ?")
    ('how_much', 'eggs')
    """
    words = question.split()
    if question == "hello .":
        return "hello", None
    if question == "what do you sell ?":
        return "what_sell", None
    if question.startswith("how much are the ") and len(words) == 6:
        return "how_much", words[4]
    if question.startswith("do you sell ") and len(words) == 5:
        return "do_sell", words[3]
    fixed = {"when do you open ?": "open", "when do you close ?": "close", "where is the shop ?": "where"}
    if question in fixed:
        return fixed[question], None
    raise ValueError(f"not a question of the shop domain: {question!r}")


def realize(act: str, shop: Shop, question: str) -> str | None:
    """The reply that performs ``act`` for ``question`` with the shop's facts, or None if it has none.

    ``price`` and ``stock`` talk about the item the question names (``stock`` for "what do
    you sell ?" lists the first two items); ``open``, ``close`` and ``where`` need their fact
    to be known; ``greet`` and ``unknown`` always have a realization.

    Raises:
        ValueError: If ``act`` is not one of :data:`ACTS` or the question is not of the domain.

    >>> shop = Shop(prices={"eggs": "two"}, fact_order=["eggs"])
    >>> realize("price", shop, "how much are the eggs ?"), realize("open", shop, "when do you open ?")
    ('the eggs cost two coins .', None)
    """
    if act not in ACTS:
        raise ValueError(f"unknown act {act!r}; choose one of {ACTS}")
    kind, item = question_kind(question)
    if act == "greet":
        return "hello , how can i help ?"
    if act == "unknown":
        return "sorry , i do not know ."
    if act == "price":
        return f"the {item} cost {shop.prices[item]} coins ." if item in shop.prices else None
    if act == "stock":
        if kind == "what_sell":
            return "we sell " + " and ".join(list(shop.prices)[:2]) + " ."
        if item is None:
            return None
        return f"yes , we sell {item} ." if item in shop.prices else f"no , we do not sell {item} ."
    fact = {"open": shop.opens, "close": shop.closes, "where": shop.near}[act]
    if fact is None:
        return None
    return f"the shop is near the {fact} ." if act == "where" else f"we {act} at {fact} ."


def act_slots(act: str, shop: Shop, question: str) -> list[str]:
    """The words ``act``'s realization takes from the shop's facts and the question: its slot values.

    What a dialogue manager's act carries to the sentence writer in a pipeline dialogue system
    (``inform(price, eggs, two)``): the database lookup is done, only the wording is left.
    An act without a realization (:func:`realize` gives None) and the fixed replies (``greet``,
    ``unknown``) have none. At most :data:`MAX_SLOTS` words.

    Raises:
        ValueError: If ``act`` is not one of :data:`ACTS` or the question is not of the domain.

    >>> shop = Shop(prices={"eggs": "two"}, opens="nine", fact_order=["eggs", "opens"])
    >>> act_slots("price", shop, "how much are the eggs ?"), act_slots("open", shop, "when do you open ?")
    (['eggs', 'two'], ['nine'])
    """
    if realize(act, shop, question) is None or act in ("greet", "unknown"):
        return []
    kind, item = question_kind(question)
    if act == "price":
        return [item, shop.prices[item]]
    if act == "stock":
        return list(shop.prices)[:2] if kind == "what_sell" else [item]
    return [{"open": shop.opens, "close": shop.closes, "where": shop.near}[act]]


def realizes(act: str, shop: Shop, question: str, reply: str) -> bool:
    """The intrinsic checker: whether ``reply`` is exactly the realization of ``act`` (words compared).

    >>> shop = Shop(prices={"eggs": "two"}, fact_order=["eggs"])
    >>> q = "how much are the eggs ?"
    >>> realizes("price", shop, q, "the eggs cost two coins ."), realizes("price", shop, q, "the eggs cost")
    (True, False)
    """
    target = realize(act, shop, question)
    return target is not None and normalize_words(reply) == normalize_words(target)


def correct_act(shop: Shop, question: str) -> int:
    """The id of the act whose realization is the correct answer (:meth:`Shop.reply`).

    >>> correct_act(Shop(prices={"eggs": "two"}, fact_order=["eggs"]), "when do you open ?")
    6
    """
    answer = shop.reply(question)
    for i, act in enumerate(ACTS):
        if realize(act, shop, question) == answer:
            return i
    raise AssertionError(f"no act realizes {answer!r}")  # every domain answer is some act's realization


def act_features(shop: Shop, question: str) -> np.ndarray:
    """What the high level sees: float32, shape (N_FEATURES,) = (12,).

    A one-hot of the question's kind (:data:`QUESTION_KINDS`, 7), then 0/1: the item the
    question names is sold; the opening hour, the closing hour, the place is known; the
    question names an item.
    """
    kind, item = question_kind(question)
    out = np.zeros(N_FEATURES, dtype=np.float32)
    out[QUESTION_KINDS.index(kind)] = 1.0
    k = len(QUESTION_KINDS)
    out[k : k + 5] = [
        item in shop.prices,
        shop.opens is not None,
        shop.closes is not None,
        shop.near is not None,
        item is not None,
    ]
    return out
