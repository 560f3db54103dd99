"""Rewards that know each prompt's right answer (a label word, a number) and check a completion against it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from textgym.rewards.base import RewardModel, RewardOutput


class KnownAnswerReward(RewardModel):
    """1.0 when a completion gives its prompt's known answer, else 0.0 (component ``"correct"``).

    This class owns the lookup of each prompt's answer and the error for a prompt that is not
    one of the task's; a subclass says what counts as giving the answer (:meth:`is_right`).

    Args:
        answers: Prompt text -> its answer.
    """

    name = "correct"
    #: What an answer is called in the error for an unknown prompt ("label", "answer").
    answer_name = "answer"

    def __init__(self, answers: Mapping[str, Any]):
        self.answers = dict(answers)

    def is_right(self, completion: str, answer: Any) -> bool:
        """Whether ``completion`` gives ``answer``."""
        raise NotImplementedError

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        """Whether each completion gives its prompt's answer.

        Raises:
            ValueError: If a prompt is not one of the task's prompts.
        """
        total = np.zeros(len(completions))
        for i, (prompt, completion) in enumerate(zip(prompts, completions, strict=True)):
            if prompt not in self.answers:
                raise ValueError(f"no {self.answer_name} for the prompt {prompt!r}: not a prompt of this task")
            total[i] = float(self.is_right(completion, self.answers[prompt]))
        return RewardOutput(total=total, components={self.name: total})
