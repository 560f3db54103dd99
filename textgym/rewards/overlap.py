"""ROUGE and BLEU against reference texts, through the ``rouge-score`` and ``sacrebleu`` packages.

Both are computed by the packages themselves (not re-implemented here); this module only
adapts them to the batch reward interface. An empty completion shares no n-gram with any
reference and scores 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from textgym.rewards.base import RewardModel, RewardOutput
from textgym.rewards.references import References, check_references, lookup_references

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")


class RougeReward(RewardModel):
    """ROUGE (Lin 2004) of the completion against the prompt's reference(s), in ``[0, 1]``.

    With several ROUGE types the total is their mean and each type is a component; with one
    the total is that type. With several references per prompt, each type takes the best
    reference (``rouge_score``'s ``score_multi``).

    Args:
        references: Mapping prompt -> reference(s), or callable prompt -> reference(s).
        rouge_types: Any of ``"rouge1"``, ``"rouge2"``, ``"rougeL"``, ``"rougeLsum"``.
        measure: ``"fmeasure"`` (default), ``"precision"`` or ``"recall"``.
        use_stemmer: Porter-stem words first (``rouge_score``'s option).
        name: Name of the reward (and of its component when there is one type).

    >>> r = RougeReward({"report": "the cat slept ."}, rouge_types=["rouge1"])
    >>> r(["report"], ["the cat ran ."]).tolist()  # 2 of 3 words match: P = R = F = 2/3
    [0.6666666666666666]
    """

    def __init__(
        self,
        references: References,
        rouge_types: Sequence[str] = ("rougeL",),
        measure: Literal["fmeasure", "precision", "recall"] = "fmeasure",
        use_stemmer: bool = False,
        name: str = "rouge",
    ):
        from rouge_score import rouge_scorer

        check_references(name, references)
        rouge_types = list(rouge_types)
        unknown = [t for t in rouge_types if t not in ROUGE_TYPES]
        if not rouge_types or unknown:
            raise ValueError(f"rouge_types must be a non-empty subset of {ROUGE_TYPES}, got {rouge_types}")
        if measure not in ("fmeasure", "precision", "recall"):
            raise ValueError(f"measure must be 'fmeasure', 'precision' or 'recall', got {measure!r}")
        self.references = references
        self.rouge_types = rouge_types
        self.measure = measure
        self.name = name
        self._scorer = rouge_scorer.RougeScorer(rouge_types, use_stemmer=use_stemmer)

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        """Score each pair by ROUGE against its best reference."""
        refs = lookup_references(self.name, self.references, prompts)
        per_type = {t: np.zeros(len(completions)) for t in self.rouge_types}
        for i, (completion, targets) in enumerate(zip(completions, refs, strict=True)):
            scores = self._scorer.score_multi(targets, completion)
            for t in self.rouge_types:
                per_type[t][i] = getattr(scores[t], self.measure)
        if len(self.rouge_types) == 1:
            total = per_type[self.rouge_types[0]]
            return RewardOutput(total=total, components={self.name: total})
        return RewardOutput(total=np.mean(list(per_type.values()), axis=0), components=per_type)


class BleuReward(RewardModel):
    """Sentence BLEU (Papineni et al. 2002) from ``sacrebleu.sentence_bleu``, scaled to ``[0, 1]``.

    sacrebleu reports BLEU in ``[0, 100]``; the reward is that score divided by 100.
    Sentence-level BLEU needs smoothing (Chen & Cherry 2014) or it is 0 whenever a 4-gram
    order has no match; sacrebleu's default ``"exp"`` smoothing is used unless changed.

    Args:
        references: Mapping prompt -> reference(s), or callable prompt -> reference(s).
        smooth_method: sacrebleu's ``"exp"``, ``"floor"``, ``"add-k"`` or ``"none"``.
        tokenize: sacrebleu tokenizer (``"13a"`` by default).
        lowercase: Case-insensitive BLEU.
        name: Component name.

    >>> BleuReward({"p": "the cat sat on the mat ."})(["p"], ["the cat sat on the mat ."]).round(6).tolist()
    [1.0]
    """

    def __init__(
        self,
        references: References,
        smooth_method: str = "exp",
        tokenize: str = "13a",
        lowercase: bool = False,
        name: str = "bleu",
    ):
        from sacrebleu.metrics import BLEU

        check_references(name, references)
        self.references = references
        self.name = name
        self._bleu = BLEU(smooth_method=smooth_method, tokenize=tokenize, lowercase=lowercase, effective_order=True)

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        """Score each pair by sentence BLEU / 100."""
        refs = lookup_references(self.name, self.references, prompts)
        total = np.array(
            [self._bleu.sentence_score(c, r).score / 100.0 for c, r in zip(completions, refs, strict=True)]
        )
        return RewardOutput(total=total, components={self.name: total})
