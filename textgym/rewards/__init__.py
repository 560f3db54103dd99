"""Reward models: plain callables over batches of (prompt, completion), or RewardModel objects.

Built-ins score text by rule (keywords, grammar, length, repetition), against references
(ROUGE, BLEU, sentence-embedding similarity), with models (LM fluency, any sequence
classifier), or are learned from human feedback (:func:`train_reward_model`).
"""

from textgym.rewards.annotator import HiddenPreference, SimulatedAnnotator
from textgym.rewards.base import (
    CallableReward,
    RewardLike,
    RewardModel,
    RewardOutput,
    as_reward_model,
    check_nonempty,
    score_batch,
)
from textgym.rewards.classifier import SequenceClassifierReward
from textgym.rewards.composite import WeightedSum
from textgym.rewards.embedding import EmbeddingSimilarityReward
from textgym.rewards.feedback import (
    Edit,
    Feedback,
    Preference,
    Ranking,
    Rating,
    read_feedback,
    write_feedback,
)
from textgym.rewards.fluency import LMFluencyReward
from textgym.rewards.grammar import GrammarReward
from textgym.rewards.keyword import KeywordReward
from textgym.rewards.learned import LearnedRewardModel, RewardNetwork
from textgym.rewards.overlap import BleuReward, RougeReward
from textgym.rewards.penalties import LengthPenalty, RepetitionPenalty
from textgym.rewards.sampling import sample_completions
from textgym.rewards.training import RewardTrainingConfig, TrainingReport, train_reward_model

__all__ = [
    "BleuReward",
    "CallableReward",
    "Edit",
    "EmbeddingSimilarityReward",
    "Feedback",
    "GrammarReward",
    "HiddenPreference",
    "KeywordReward",
    "LMFluencyReward",
    "LearnedRewardModel",
    "LengthPenalty",
    "Preference",
    "Ranking",
    "Rating",
    "RepetitionPenalty",
    "RewardLike",
    "RewardModel",
    "RewardNetwork",
    "RewardOutput",
    "RewardTrainingConfig",
    "RougeReward",
    "SequenceClassifierReward",
    "SimulatedAnnotator",
    "TrainingReport",
    "WeightedSum",
    "as_reward_model",
    "check_nonempty",
    "read_feedback",
    "sample_completions",
    "score_batch",
    "train_reward_model",
    "write_feedback",
]
