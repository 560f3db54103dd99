"""Reward models: plain callables over batches of (prompt, completion), or RewardModel objects."""

from textgym.rewards.base import (
    CallableReward,
    RewardLike,
    RewardModel,
    RewardOutput,
    as_reward_model,
    score_batch,
)
from textgym.rewards.composite import WeightedSum
from textgym.rewards.fluency import LMFluencyReward
from textgym.rewards.grammar import GrammarReward
from textgym.rewards.keyword import KeywordReward

__all__ = [
    "CallableReward",
    "GrammarReward",
    "KeywordReward",
    "LMFluencyReward",
    "RewardLike",
    "RewardModel",
    "RewardOutput",
    "WeightedSum",
    "as_reward_model",
    "score_batch",
]
