"""The project's own language: grammar, grammaticality check and seeded text generators."""

from textgym.data.corpus import (
    CAT_WORDS,
    Shop,
    generate_corpus,
    mentions_cat,
    sample_dialogue,
    sample_report,
    sample_shop,
    sample_story,
    story_openings,
    to_natural,
)
from textgym.data.grammar import LEXICON, RULES, generate, is_grammatical, tokenize_words, vocabulary

__all__ = [
    "CAT_WORDS",
    "LEXICON",
    "RULES",
    "Shop",
    "generate",
    "generate_corpus",
    "is_grammatical",
    "mentions_cat",
    "sample_dialogue",
    "sample_report",
    "sample_shop",
    "sample_story",
    "story_openings",
    "to_natural",
    "tokenize_words",
    "vocabulary",
]
