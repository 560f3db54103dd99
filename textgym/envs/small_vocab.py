"""Building blocks of the small-vocabulary tasks: a word-list tokenizer and the sentences it allows.

A small-vocabulary task fixes a handful of the grammar's words (at most
:data:`MAX_SMALL_VOCAB`) and a horizon of a few tokens, so that the whole language the agent
can write is small enough to enumerate: :func:`grammar_sentences` lists every grammatical
text of at most ``max_words`` words, which gives an exact, dense measure of progress
(:class:`GrammarProgressReward`) next to the project's binary
:class:`~textgym.rewards.GrammarReward`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from textgym.data.grammar import LEXICON, RULES, tokenize_words
from textgym.rewards.base import RewardModel, RewardOutput
from textgym.validation import check_int

#: Upper bound on a small task's vocabulary, the EOS token included.
MAX_SMALL_VOCAB = 64
EOS = "<eos>"


def word_list_tokenizer(words: Sequence[str]) -> PreTrainedTokenizerFast:
    """A word-level tokenizer whose vocabulary is exactly ``<eos>`` followed by ``words``.

    Token ids are positions: ``<eos>`` is 0 and ``words[i]`` is ``i + 1``. There is no BOS,
    PAD or UNK token, so every action of an env built on it is a real word or EOS (the env
    pads with EOS under an attention mask of 0). Encoding a text with a word outside the
    list raises an error rather than mapping it to an unknown token. Texts are lower-cased
    and split on white space and punctuation, like the tiny model's tokenizer.

    Args:
        words: Distinct lower-case words and punctuation marks, without ``<eos>``.

    Returns:
        A ``transformers`` fast tokenizer with ``eos_token="<eos>"``.

    Raises:
        ValueError: If a word repeats, contains white space or upper case, is ``<eos>``, or
            there are more than ``MAX_SMALL_VOCAB - 1`` words.

    >>> tok = word_list_tokenizer([".", "the", "cat", "sat"])
    >>> tok("the cat sat .")["input_ids"], len(tok), tok.eos_token_id
    ([2, 3, 4, 1], 5, 0)
    """
    words = list(words)
    if not words:
        raise ValueError("word_list_tokenizer needs at least one word")
    if len(words) + 1 > MAX_SMALL_VOCAB:
        raise ValueError(f"{len(words)} words plus <eos> exceed the small-vocabulary limit of {MAX_SMALL_VOCAB}")
    seen: set[str] = set()
    for w in words:
        if not w or w != w.strip() or len(w.split()) != 1 or w != w.lower() or w == EOS:
            raise ValueError(f"invalid word {w!r}: words must be single lower-case tokens other than {EOS!r}")
        if w in seen:
            raise ValueError(f"word {w!r} appears twice in the word list")
        seen.add(w)
    vocab = {EOS: 0, **{w: i + 1 for i, w in enumerate(words)}}
    # WordLevel needs an unk_token name; it is deliberately not in the vocabulary, so an
    # unknown word is an error instead of a silent <unk>.
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation("isolated")]
    )
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS)


def check_texts_in_vocabulary(texts: Sequence[str], words: Collection[str]) -> None:
    """Raise a ``ValueError`` naming the first text that uses a word outside ``words``."""
    allowed = set(words)
    for text in texts:
        split = tokenize_words(text)
        if split is None:
            raise ValueError(f"text {text!r} has characters outside the grammar's words")
        unknown = [w for w in split if w not in allowed]
        if unknown:
            raise ValueError(f"text {text!r} uses {unknown[0]!r}, which is not in the task's vocabulary")


def grammar_sentences(start: str, words: Collection[str], max_words: int) -> frozenset[tuple[str, ...]]:
    """Every text of at most ``max_words`` words derivable from ``start`` with only ``words``.

    Exhaustive top-down expansion of the grammar's rules, bounded by length: no production
    is empty, so each symbol yields at least one word and the budget always shrinks.

    Args:
        start: A non-terminal of :data:`textgym.data.grammar.RULES` (e.g. ``"SENT"``).
        words: The allowed words.
        max_words: Length bound (>= 1).

    Returns:
        The texts as tuples of words.

    Raises:
        ValueError: On an unknown start symbol or ``max_words < 1``.
        TypeError: If ``max_words`` is not an integer.

    >>> sorted(grammar_sentences("SENT", {"the", "cat", "dog", "ran", "."}, 4))
    [('the', 'cat', 'ran', '.'), ('the', 'dog', 'ran', '.')]
    """
    if start not in RULES:
        raise ValueError(f"unknown start symbol {start!r}; choose one of {sorted(RULES)}")
    max_words = check_int("max_words", max_words)
    allowed = frozenset(words)
    memo: dict[tuple[str, int], frozenset[tuple[str, ...]]] = {}
    active: set[tuple[str, int]] = set()

    def symbol(sym: str, budget: int) -> frozenset[tuple[str, ...]]:
        if sym in LEXICON:
            return frozenset((w,) for w in LEXICON[sym] if w in allowed)
        if sym not in RULES:
            return frozenset({(sym,)}) if sym in allowed else frozenset()
        key = (sym, budget)
        if key in memo:
            return memo[key]
        if key in active:  # a unit cycle would recurse without shrinking the budget
            raise RuntimeError(f"the grammar has a cycle of unit rules through {sym!r}")
        active.add(key)
        out: set[tuple[str, ...]] = set()
        for rhs, _ in RULES[sym]:
            out.update(sequence(rhs, budget))
        active.discard(key)
        memo[key] = frozenset(out)
        return memo[key]

    def sequence(rhs: tuple[str, ...], budget: int) -> set[tuple[str, ...]]:
        if len(rhs) > budget:
            return set()
        if len(rhs) == 1:
            return set(symbol(rhs[0], budget))
        out: set[tuple[str, ...]] = set()
        # The first symbol may use what the others (one word at least each) leave over.
        for head in symbol(rhs[0], budget - (len(rhs) - 1)):
            for tail in sequence(rhs[1:], budget - len(head)):
                out.add(head + tail)
        return out

    return symbol(start, max_words)


class GrammarProgressReward(RewardModel):
    """Dense credit for writing towards a sentence: how far the completion is on a valid path.

    ``progress = 1.0`` when the completion is one of ``sentences``; otherwise ``k / max_words``
    where ``k`` is the length of the longest leading run of the completion's words that
    begins some sentence. A completion that finishes a sentence and goes on is scored by the
    sentence's prefix only, so extra words never add credit. Because every sentence of
    length ``max_words`` is complete, an unfinished text scores at most
    ``(max_words - 1) / max_words``.

    With ``reward_mode="immediate"`` the step rewards are the differences of this score,
    which is potential-based shaping (Ng, Harada & Russell, 1999).

    Args:
        sentences: The complete texts, as tuples of words.
        max_words: The normaliser; at least the longest sentence.
        name: Component name.

    >>> r = GrammarProgressReward({("the", "cat", "ran", ".")}, max_words=5)
    >>> r.score(["", "", "", ""], ["the cat", "the cat ran .", "cat", "the cat ran . the"]).total.tolist()
    [0.4, 1.0, 0.0, 0.8]
    """

    def __init__(self, sentences: Collection[tuple[str, ...]], max_words: int, name: str = "progress"):
        if not sentences:
            raise ValueError("GrammarProgressReward needs at least one sentence")
        longest = max(len(s) for s in sentences)
        max_words = check_int("max_words", max_words)
        if max_words < longest:
            raise ValueError(f"max_words={max_words} is shorter than the longest sentence ({longest} words)")
        self.sentences = frozenset(tuple(s) for s in sentences)
        self.prefixes = frozenset(s[:k] for s in self.sentences for k in range(1, len(s) + 1))
        self.max_words = max_words
        self.name = name

    def progress(self, completion: str) -> float:
        """The score of one completion."""
        words = tokenize_words(completion) or []
        if tuple(words) in self.sentences:
            return 1.0
        k = 0
        while k < len(words) and tuple(words[: k + 1]) in self.prefixes:
            k += 1
        return k / self.max_words

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        """The progress of each completion (prompts are not used)."""
        total = np.array([self.progress(c) for c in completions])
        return RewardOutput(total=total, components={self.name: total})
