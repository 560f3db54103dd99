"""Seeded generators for the pretraining corpus and the tasks' prompts.

Stories come straight from the grammar. Shop dialogues and reports need meaning as well as
form (an answer must match the shop's facts, a summary must match its report), so they are
built by small semantic generators whose output the grammar still accepts; the tests check
that.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from textgym.data.grammar import LEXICON, RULES, generate

CAT_WORDS = ("cat", "cats", "kitten", "kittens", "kitty", "kitties")
SPLIT_SEEDS = {"train": 0, "validation": 1, "test": 2}


def _pick(rng: np.random.Generator, category: str) -> str:
    words = LEXICON[category]
    return words[int(rng.integers(len(words)))]


def _text(words: list[str]) -> str:
    return " ".join(words)


def sample_story(rng: np.random.Generator) -> str:
    """One story: an opening sentence and a body of one or more sentences."""
    return _text(generate("STORY", rng))


@dataclass
class Shop:
    """The facts of one shop in the dialogue domain."""

    prices: dict[str, str]  # item (plural) -> price in words
    opens: str | None = None
    closes: str | None = None
    near: str | None = None
    fact_order: list[str] = field(default_factory=list)

    def facts_text(self) -> str:
        """The facts as grammar sentences, in ``fact_order``."""
        sentences = []
        for fact in self.fact_order:
            if fact in self.prices:
                sentences.append(f"the shop sells {fact} for {self.prices[fact]} coins .")
            elif fact == "opens":
                sentences.append(f"the shop opens at {self.opens} .")
            elif fact == "closes":
                sentences.append(f"the shop closes at {self.closes} .")
            elif fact == "near":
                sentences.append(f"the shop is near the {self.near} .")
        return " ".join(sentences)

    def reply(self, utterance: str) -> str:
        """The correct assistant reply to a user utterance of the grammar."""
        words = utterance.split()
        items = list(self.prices)
        if utterance == "hello .":
            return "hello , how can i help ?"
        if utterance == "thank you .":
            return "you are welcome ."
        if utterance == "what do you sell ?":
            return "we sell " + " and ".join(items[:2]) + " ."
        if utterance.startswith("how much are the"):
            item = words[4]
            if item in self.prices:
                return f"the {item} cost {self.prices[item]} coins ."
            return f"no , we do not sell {item} ."
        if utterance.startswith("do you sell"):
            item = words[3]
            return f"yes , we sell {item} ." if item in self.prices else f"no , we do not sell {item} ."
        if utterance == "when do you open ?":
            return f"we open at {self.opens} ." if self.opens else "sorry , i do not know ."
        if utterance == "when do you close ?":
            return f"we close at {self.closes} ." if self.closes else "sorry , i do not know ."
        if utterance == "where is the shop ?":
            return f"the shop is near the {self.near} ." if self.near else "sorry , i do not know ."
        raise ValueError(f"the shop assistant has no reply for {utterance!r}")


def sample_shop(rng: np.random.Generator) -> Shop:
    """A shop selling one or two items, with some of its hours and place known."""
    n_items = 1 + int(rng.integers(2))
    items = [str(x) for x in rng.choice(LEXICON["ITEM_PL"], size=n_items, replace=False)]
    shop = Shop(prices={item: _pick(rng, "NUMBER") for item in items})
    facts = list(items)
    if rng.random() < 0.6:
        shop.opens = _pick(rng, "NUMBER")
        facts.append("opens")
    if rng.random() < 0.6:
        shop.closes = _pick(rng, "NUMBER")
        facts.append("closes")
    if rng.random() < 0.5:
        shop.near = _pick(rng, "PLACE")
        facts.append("near")
    shop.fact_order = [facts[i] for i in rng.permutation(len(facts))]
    return shop


def sample_user_utterance(rng: np.random.Generator, shop: Shop) -> str:
    """A user question about the shop (sometimes about an item it does not sell)."""
    kind = int(rng.integers(7))
    if kind == 0:
        return "what do you sell ?"
    if kind == 1:
        return f"how much are the {list(shop.prices)[int(rng.integers(len(shop.prices)))]} ?"
    if kind == 2:
        return f"do you sell {_pick(rng, 'ITEM_PL')} ?"
    return ("when do you open ?", "when do you close ?", "where is the shop ?", "hello .")[kind - 3]


def sample_dialogue(rng: np.random.Generator) -> str:
    """A shop dialogue: facts, then one to three user/assistant turns."""
    shop = sample_shop(rng)
    parts = ["facts :", shop.facts_text()]
    n_turns = 1 + int(rng.integers(3))
    for t in range(n_turns):
        utterance = sample_user_utterance(rng, shop)
        if t == n_turns - 1 and n_turns > 1 and rng.random() < 0.5:
            utterance = "thank you ."
        parts += ["user :", utterance, "assistant :", shop.reply(utterance)]
    return " ".join(parts)


def _noun_phrase(rng: np.random.Generator, animate: bool) -> tuple[list[str], list[str]]:
    """A singular noun phrase with and without its adjective: (full, core)."""
    if rng.random() < 0.25:
        name = _pick(rng, "NAME")
        return [name], [name]
    if animate:
        noun = _pick(rng, "ANIMAL_SG" if rng.random() < 2 / 3 else "PERSON_SG")
    else:
        noun = _pick(rng, ("ANIMAL_SG", "PERSON_SG", "THING_SG")[int(rng.integers(3))])
    det = _pick(rng, "DET_SG")
    if rng.random() < 0.6:
        return [det, _pick(rng, "ADJ"), noun], [det, noun]
    return [det, noun], [det, noun]


def sample_report(rng: np.random.Generator) -> tuple[str, str]:
    """A report and its reference summary.

    The report's first sentence is the main event, decorated with adjectives, an opener and a
    place; one or two unrelated sentences follow. The summary is the main event stripped to
    subject, verb and object.

    Returns:
        ``(report_body, summary)``, both grammar text.
    """
    subj, subj_core = _noun_phrase(rng, animate=True)
    obj, obj_core = _noun_phrase(rng, animate=False)
    verb = _pick(rng, "V_TR")
    main = subj + [verb] + obj
    if rng.random() < 0.6:
        main += [_pick(rng, "PREP"), "the", _pick(rng, "PLACE")]
    if rng.random() < 0.4:
        opener = [list(rhs) for rhs, _ in RULES["OPENER"]][int(rng.integers(len(RULES["OPENER"])))]
        main = opener + [","] + main
    sentences = [_text(main + ["."])]
    for _ in range(1 + int(rng.integers(2))):
        sentences.append(_text(generate("SENT", rng)))
    return " ".join(sentences), _text(subj_core + [verb] + obj_core + ["."])


def sample_report_document(rng: np.random.Generator) -> str:
    """A report document as it appears in the corpus: ``report : ... summary : ...``."""
    body, summary = sample_report(rng)
    return f"report : {body} summary : {summary}"


def generate_corpus(n_docs: int, seed: int) -> list[str]:
    """Sample pretraining documents: stories, shop dialogues and reports, 70/15/15.

    Args:
        n_docs: Number of documents.
        seed: Seed of the only random generator used; the same seed gives the same corpus.

    Returns:
        The documents as grammar text (no special tokens).
    """
    rng = np.random.default_rng(seed)
    kinds = rng.choice(3, size=n_docs, p=[0.7, 0.15, 0.15])
    makers = (sample_story, sample_dialogue, sample_report_document)
    return [makers[int(k)](rng) for k in kinds]


def mentions_cat(text: str) -> bool:
    """Whether a grammar text contains a cat word."""
    return any(w in CAT_WORDS for w in text.lower().split())


def story_openings(split: str, n: int = 512) -> list[str]:
    """Distinct story openings that do not mention a cat: the CatText prompts.

    Splits are disjoint: an opening in ``train`` never appears in ``validation`` or ``test``.

    Args:
        split: ``"train"``, ``"validation"`` or ``"test"``.
        n: How many openings.

    Returns:
        The openings, in a fixed order.
    """
    if split not in SPLIT_SEEDS:
        raise ValueError(f"unknown split {split!r}; choose one of {sorted(SPLIT_SEEDS)}")
    earlier = set()
    for other, other_seed in SPLIT_SEEDS.items():
        if other_seed < SPLIT_SEEDS[split]:
            earlier.update(story_openings(other, n))
    rng = np.random.default_rng(1000 + SPLIT_SEEDS[split])
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        text = _text(generate("OPENING", rng))
        if text in seen or text in earlier or mentions_cat(text) or len(text.split()) > 14:
            continue
        seen.add(text)
        out.append(text)
    return out


def to_natural(text: str) -> str:
    """Render grammar text as ordinary prose: capitals at sentence starts, tight punctuation.

    >>> to_natural("once upon a time , there was a dog . tom saw it .")
    'Once upon a time, there was a dog. Tom saw it.'
    """
    words = text.split()
    out: list[str] = []
    capitalize = True
    for w in words:
        if w in {".", ",", "?", "!", ":"}:
            out[-1] = out[-1] + w if out else w
            capitalize = w in {".", "?", "!"}
            continue
        out.append(w.capitalize() if capitalize or w in LEXICON["NAME"] else w)
        capitalize = False
    return " ".join(out)
