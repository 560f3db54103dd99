"""Length and repetition penalties (non-positive rewards)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from textgym.rewards.base import RewardModel, RewardOutput
from textgym.tokenization import resolve_tokenizer


class LengthPenalty(RewardModel):
    """``-weight * max(0, length - free_length)``: a cost per unit of length beyond a budget.

    Length counts whitespace-separated words by default, or tokens of ``tokenizer`` (special
    tokens excluded). An empty completion has length 0, so no penalty.

    Args:
        weight: Cost per unit beyond ``free_length``; must be >= 0.
        free_length: Length that costs nothing.
        tokenizer: Count tokens of this tokenizer (a name or object) instead of words.
        name: Component name.

    >>> LengthPenalty(weight=0.5, free_length=2)(["p", "p"], ["the cat slept .", "hi"]).tolist()
    [-1.0, -0.0]
    """

    def __init__(
        self,
        weight: float = 1.0,
        free_length: int = 0,
        tokenizer: str | Any | None = None,
        name: str = "length",
    ):
        if weight < 0 or free_length < 0:
            raise ValueError(f"weight and free_length must be >= 0, got {weight} and {free_length}")
        self.weight = float(weight)
        self.free_length = int(free_length)
        self.tokenizer = None if tokenizer is None else resolve_tokenizer(tokenizer)
        self.name = name

    def length(self, completion: str) -> int:
        """The completion's length in words (or tokens)."""
        if self.tokenizer is None:
            return len(completion.split())
        return len(self.tokenizer(completion, add_special_tokens=False)["input_ids"])

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        """Score each pair: minus the weighted excess length."""
        lengths = np.array([self.length(c) for c in completions], dtype=np.float64)
        total = -self.weight * np.maximum(0.0, lengths - self.free_length)
        return RewardOutput(total=total, components={self.name: total})


class RepetitionPenalty(RewardModel):
    """``-weight * (1 - distinct / total)`` over the completion's word n-grams.

    The fraction of n-grams that repeat an earlier one (the complement of "distinct-n",
    Li et al. 2016, "A Diversity-Promoting Objective Function for Neural Conversation
    Models"). Words are whitespace-separated and lower-cased. A completion with fewer than
    ``n`` words (an empty one included) has nothing to repeat: penalty 0.

    Args:
        n: N-gram size.
        weight: Scale; the penalty lies in ``[-weight, 0]``.
        name: Component name.

    >>> RepetitionPenalty(n=1)(["p"], ["the cat saw the cat ."]).round(4).tolist()
    [-0.3333]
    """

    def __init__(self, n: int = 1, weight: float = 1.0, name: str = "repetition"):
        if n < 1 or weight < 0:
            raise ValueError(f"n must be >= 1 and weight >= 0, got n={n}, weight={weight}")
        self.n = int(n)
        self.weight = float(weight)
        self.name = name

    def repeated_fraction(self, completion: str) -> float:
        """Fraction of the completion's n-grams that are repeats."""
        words = completion.lower().split()
        grams = [tuple(words[i : i + self.n]) for i in range(len(words) - self.n + 1)]
        if not grams:
            return 0.0
        return 1.0 - len(set(grams)) / len(grams)

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        """Score each pair: minus the weighted repeated n-gram fraction."""
        total = np.array([-self.weight * self.repeated_fraction(c) for c in completions], dtype=np.float64)
        return RewardOutput(total=total, components={self.name: total})
