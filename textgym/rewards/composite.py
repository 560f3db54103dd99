"""Weighted sum of rewards that reports each component."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from textgym.rewards.base import RewardLike, RewardModel, RewardOutput, as_reward_model, score_batch


class WeightedSum(RewardModel):
    """``total = sum_k weight_k * reward_k``; each term's unweighted score is a component.

    Args:
        terms: Component name -> (reward, weight).
        name: Name of the composite in error messages.
    """

    def __init__(self, terms: Mapping[str, tuple[RewardLike, float]], name: str = "weighted_sum"):
        if not terms:
            raise ValueError("WeightedSum needs at least one term")
        self.terms = {k: (as_reward_model(r), float(w)) for k, (r, w) in terms.items()}
        self.name = name

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        total = np.zeros(len(completions))
        components = {}
        for key, (reward, weight) in self.terms.items():
            scores = score_batch(reward, prompts, completions).total
            components[key] = scores
            total = total + weight * scores
        return RewardOutput(total=total, components=components)
