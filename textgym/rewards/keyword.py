"""Keyword/regex topic reward."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from textgym.rewards.base import RewardModel, RewardOutput


class KeywordReward(RewardModel):
    """1.0 when the completion contains one of the keywords (or matches a regex), else 0.0.

    Keywords match whole words, case-insensitively: ``"cat"`` matches "The cat." but not
    "category".

    Args:
        keywords: Words to look for; ignored when ``pattern`` is given.
        pattern: A regular expression instead of keywords.
        name: Component name.
    """

    def __init__(self, keywords: Sequence[str] = (), pattern: str | None = None, name: str = "topic"):
        if pattern is None:
            if not keywords:
                raise ValueError("KeywordReward needs keywords or a pattern")
            pattern = r"\b(?:" + "|".join(re.escape(k) for k in keywords) + r")\b"
        self.pattern = pattern
        self._regex = re.compile(pattern, re.IGNORECASE)
        self.name = name

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        total = np.array([1.0 if self._regex.search(c) else 0.0 for c in completions])
        return RewardOutput(total=total, components={self.name: total})
