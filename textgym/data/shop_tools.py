"""The shop's tools for ShopTools-v0: the call syntax, running a call, and the one-question scenarios.

A call is a few grammar words closed by ``?`` (so the tiny model can write every call):

* ``cost ITEM ?`` (price lookup): ``"the shop sells eggs for seven coins ."``, or ``"the shop
  sells no hats ."`` when it does not sell them;
* ``sell ITEM ?`` (stock): ``"the shop sells eggs ."`` or ``"the shop sells no hats ."``;
* ``sell ?`` (the catalogue): ``"the shop sells eggs and cups ."``;
* ``when ?`` (hours): the known opening and closing hours, e.g. ``"the shop opens at ten .
  the shop closes at one ."``, or ``"sorry , i do not know ."`` when neither is known;
* ``where ?`` (place): ``"the shop is near the lake ."`` or ``"sorry , i do not know ."``.

``ITEM`` is a plural item word of the grammar (``eggs``, ``cups``, ...). Anything else closed
by ``?`` is a malformed call: it fails, with an error naming what is wrong, and never raises.
The results are grammar text, so they read as the facts the tiny model was pretrained on.
"""

from __future__ import annotations

from dataclasses import dataclass

from textgym.data.corpus import Shop
from textgym.data.grammar import LEXICON
from textgym.data.shop_tasks import DialogueScenario, normalize_words, shop_scenarios

#: The word that closes every call.
CALL_CLOSE = "?"
#: The calls, as the docs and the chat system prompt show them.
CALL_FORMS = ("cost ITEM ?", "sell ITEM ?", "sell ?", "when ?", "where ?")
#: The result of a call for a fact the shop's records do not hold.
UNKNOWN = "sorry , i do not know ."
#: The user's greeting needs no fact: ShopTools' scenarios leave it out.
_NO_FACT_QUESTIONS = frozenset({"hello ."})
_ITEMS = frozenset(LEXICON["ITEM_PL"])


@dataclass(frozen=True)
class ToolResult:
    """One call and what it returned.

    Attributes:
        call: The call's words, closing ``?`` included (normalised grammar text).
        result: What the tool returned (grammar text), or "" for a failed call.
        error: Why the call failed (English), or None when it ran.
    """

    call: str
    result: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the call ran."""
        return self.error is None


def run_call(shop: Shop, text: str) -> ToolResult:
    """Run the call ``text`` (its words before the closing ``?``; a trailing ``?`` is ignored) on ``shop``.

    Never raises: a malformed call is returned as a failed :class:`ToolResult`.

    >>> from textgym.data.corpus import Shop
    >>> shop = Shop(prices={"eggs": "seven"}, opens="ten", fact_order=["eggs", "opens"])
    >>> run_call(shop, "cost eggs").result
    'the shop sells eggs for seven coins .'
    >>> run_call(shop, "when ?").result
    'the shop opens at ten .'
    >>> run_call(shop, "cost the eggs").error
    "cost takes one item word, got 'the eggs'"
    """
    words = normalize_words(text)
    if words and words[-1] == CALL_CLOSE:
        words = words[:-1]
    call = " ".join([*words, CALL_CLOSE])
    if not words:
        return ToolResult(call, "", "empty call: write a tool name before '?'")
    tool, args = words[0], words[1:]
    if tool in ("when", "where") and args:
        return ToolResult(call, "", f"{tool} takes no argument, got {' '.join(args)!r}")
    if tool == "when":
        hours = [f"the shop opens at {shop.opens} ."] if shop.opens else []
        hours += [f"the shop closes at {shop.closes} ."] if shop.closes else []
        return ToolResult(call, " ".join(hours) or UNKNOWN)
    if tool == "where":
        return ToolResult(call, f"the shop is near the {shop.near} ." if shop.near else UNKNOWN)
    if tool == "sell" and not args:
        return ToolResult(call, "the shop sells " + " and ".join(shop.prices) + " .")
    if tool in ("cost", "sell"):
        if len(args) != 1 or args[0] not in _ITEMS:
            return ToolResult(call, "", f"{tool} takes one item word, got {' '.join(args)!r}")
        item = args[0]
        if item not in shop.prices:
            return ToolResult(call, f"the shop sells no {item} .")
        if tool == "cost":
            return ToolResult(call, f"the shop sells {item} for {shop.prices[item]} coins .")
        return ToolResult(call, f"the shop sells {item} .")
    return ToolResult(call, "", f"unknown tool {tool!r}; the calls are: {', '.join(CALL_FORMS)}")


def tool_scenarios(split: str, n: int = 512) -> list[DialogueScenario]:
    """``n`` one-question shop scenarios of ``split`` whose question needs a fact (no greetings).

    They are the first such of :func:`~textgym.data.shop_tasks.shop_scenarios` with one
    question, so the splits are disjoint and the order is fixed.

    >>> s = tool_scenarios("test", 3)
    >>> len(s), all(len(x.questions) == 1 and x.questions[0] != "hello ." for x in s)
    (3, True)
    """
    pool = shop_scenarios(split, 2 * n + 16, max_questions=1)  # 1 in 7 questions is a greeting
    out = [s for s in pool if s.questions[0] not in _NO_FACT_QUESTIONS][:n]
    if len(out) < n:  # cannot happen with the generator's 1-in-7 greetings; guards a change to it
        raise ValueError(f"only {len(out)} fact questions among {len(pool)} scenarios of split {split!r}")
    return out
