"""Tokenizers: training the tiny model's word-level tokenizer, and resolving user input.

Environments and agents accept a tokenizer as a model name (``"tiny"``, ``"smollm2-135m"``),
a local path or Hugging Face repo id ``owner/name`` (:func:`textgym.models.load_tokenizer`; any
other name is an error at once), or a ready ``transformers`` tokenizer object.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerBase, PreTrainedTokenizerFast

from textgym.data.grammar import vocabulary

SPECIAL_TOKENS = {"pad_token": "<pad>", "bos_token": "<bos>", "eos_token": "<eos>", "unk_token": "<unk>"}


def train_word_tokenizer(texts: Iterable[str], vocab_size: int = 2000) -> PreTrainedTokenizerFast:
    """Train a word-level tokenizer with the ``tokenizers`` library.

    Words and punctuation marks are separate tokens; text is lower-cased; encoding a text
    prepends ``<bos>`` (the model always starts from it); ``<eos>`` ends a document.

    Args:
        texts: The training corpus.
        vocab_size: Upper bound on the vocabulary, special tokens included.

    Returns:
        A ``PreTrainedTokenizerFast`` (save it with ``save_pretrained``).
    """
    tok = Tokenizer(models.WordLevel(unk_token=SPECIAL_TOKENS["unk_token"]))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation("isolated")]
    )
    specials = [SPECIAL_TOKENS[k] for k in ("pad_token", "bos_token", "eos_token", "unk_token")]
    trainer = trainers.WordLevelTrainer(vocab_size=vocab_size, special_tokens=specials, min_frequency=1)
    tok.train_from_iterator(texts, trainer=trainer)
    bos = SPECIAL_TOKENS["bos_token"]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A $B", special_tokens=[(bos, tok.token_to_id(bos))]
    )
    return PreTrainedTokenizerFast(tokenizer_object=tok, **SPECIAL_TOKENS)


def resolve_tokenizer(tokenizer: str | Any) -> PreTrainedTokenizerBase:
    """Turn a name, path or tokenizer object into a ``transformers`` tokenizer.

    Raises:
        TypeError: If ``tokenizer`` is neither a string nor a transformers tokenizer.
        ValueError: If the tokenizer has no EOS token (episodes could never terminate), or the
            name is unknown (:func:`textgym.models.load_tokenizer`).
    """
    if isinstance(tokenizer, str):
        from textgym.models import load_tokenizer

        tokenizer = load_tokenizer(tokenizer)
    if not isinstance(tokenizer, PreTrainedTokenizerBase):
        raise TypeError(
            f"tokenizer must be a model name, a path or a transformers tokenizer, got {type(tokenizer).__name__}"
        )
    if tokenizer.eos_token_id is None:
        raise ValueError(
            f"tokenizer {getattr(tokenizer, 'name_or_path', '')!r} has no EOS token; "
            "a text-generation episode needs one to terminate"
        )
    return tokenizer


def speaks_grammar(tokenizer: PreTrainedTokenizerBase) -> bool:
    """Whether every non-special token is a word of the project's grammar (as the tiny model's are).

    Envs use it to choose their language: grammar text, grammar-based fluency rewards and the
    tiny model's prompt formats for such a tokenizer; natural prose otherwise.

    >>> from textgym.models import load_tokenizer
    >>> speaks_grammar(load_tokenizer("tiny"))
    True
    """
    words = set(tokenizer.get_vocab()) - set(tokenizer.all_special_tokens)
    return words <= set(vocabulary())
