"""Grammaticality under the project's own grammar (the tiny model's language)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from textgym.data.grammar import RULES, is_grammatical
from textgym.rewards.base import RewardModel, RewardOutput


class GrammarReward(RewardModel):
    """1.0 when the completion parses under the grammar from ``start``, else 0.0.

    Args:
        start: Start symbol; ``"BODY"`` (one or more story sentences) by default.
        name: Component name.
    """

    def __init__(self, start: str = "BODY", name: str = "fluency"):
        if start not in RULES:
            raise ValueError(f"unknown start symbol {start!r}; choose one of {sorted(RULES)}")
        self.start = start
        self.name = name

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        total = np.array([1.0 if is_grammatical(c, self.start) else 0.0 for c in completions])
        return RewardOutput(total=total, components={self.name: total})
