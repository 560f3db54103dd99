"""Reward models: plain callables over batches of (prompt, completion), or RewardModel objects.

Built-ins score text by rule (keywords, grammar, length, repetition), against references
(ROUGE, BLEU, sentence-embedding similarity), with models (LM fluency, any sequence
classifier), or are learned from human feedback (:func:`train_reward_model`).

Every name below is imported from its module on first use (PEP 562), so that
``from textgym.rewards import KeywordReward`` does not import torch; the rewards that need it
(LM fluency, classifiers, embeddings, learned rewards) import it when they are used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textgym.lazy import lazy_exports

if TYPE_CHECKING:
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
    from textgym.rewards.feedback import Edit, Feedback, Preference, Ranking, Rating, read_feedback, write_feedback
    from textgym.rewards.fluency import LMFluencyReward
    from textgym.rewards.grammar import GrammarReward
    from textgym.rewards.keyword import KeywordReward
    from textgym.rewards.learned import LearnedRewardModel, RewardNetwork
    from textgym.rewards.overlap import BleuReward, RougeReward
    from textgym.rewards.penalties import LengthPenalty, RepetitionPenalty
    from textgym.rewards.report import TrainingReport
    from textgym.rewards.sampling import sample_completions
    from textgym.rewards.training import RewardTrainingConfig, train_reward_model

#: Public name -> the module (under textgym.rewards) that defines it.
_MODULES = {
    "HiddenPreference": "annotator",
    "SimulatedAnnotator": "annotator",
    "CallableReward": "base",
    "RewardLike": "base",
    "RewardModel": "base",
    "RewardOutput": "base",
    "as_reward_model": "base",
    "check_nonempty": "base",
    "score_batch": "base",
    "SequenceClassifierReward": "classifier",
    "WeightedSum": "composite",
    "EmbeddingSimilarityReward": "embedding",
    "Edit": "feedback",
    "Feedback": "feedback",
    "Preference": "feedback",
    "Ranking": "feedback",
    "Rating": "feedback",
    "read_feedback": "feedback",
    "write_feedback": "feedback",
    "LMFluencyReward": "fluency",
    "GrammarReward": "grammar",
    "KeywordReward": "keyword",
    "LearnedRewardModel": "learned",
    "RewardNetwork": "learned",
    "BleuReward": "overlap",
    "RougeReward": "overlap",
    "LengthPenalty": "penalties",
    "RepetitionPenalty": "penalties",
    "TrainingReport": "report",
    "sample_completions": "sampling",
    "RewardTrainingConfig": "training",
    "train_reward_model": "training",
}

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


__getattr__, __dir__ = lazy_exports(
    __name__, globals(), {name: f"{__name__}.{module}" for name, module in _MODULES.items()}
)
