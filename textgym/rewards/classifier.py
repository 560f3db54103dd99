"""Any transformers sequence classifier as a reward."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch

from textgym.rewards.base import RewardModel, RewardOutput


class SequenceClassifierReward(RewardModel):
    """The logit (or probability) of one label of an ``AutoModelForSequenceClassification``.

    With one output (a regression head, ``num_labels=1``) the reward is that output, or its
    sigmoid with ``output="probability"``. With several labels, ``label`` picks one (an index
    or a name of ``config.id2label``) and the reward is its logit, or its softmax probability.

    The classifier reads the completion alone (``text="completion"``) or the pair
    (``text="pair"``: the tokenizer's sentence-pair encoding of prompt and completion).
    A completion that encodes to no tokens at all (an empty one, with a tokenizer that adds
    no special tokens) cannot be scored and is an error naming the reward; so is a text
    longer than the model's maximum positions (never silently truncated).

    Args:
        model: A loaded ``PreTrainedModel`` for sequence classification, or a path/Hub id.
        tokenizer: Its tokenizer (object or name); default: loaded from ``model`` when that
            is a path.
        label: Which label to score when the model has several.
        output: ``"logit"`` or ``"probability"``.
        text: ``"completion"`` or ``"pair"``.
        batch_size: Texts per forward pass; padding needs a pad token, so a tokenizer
            without one scores texts one at a time.
        name: Component name.
    """

    def __init__(
        self,
        model: str | Any,
        tokenizer: str | Any | None = None,
        label: int | str | None = None,
        output: Literal["logit", "probability"] = "logit",
        text: Literal["completion", "pair"] = "completion",
        batch_size: int = 32,
        name: str = "classifier",
    ):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        if output not in ("logit", "probability"):
            raise ValueError(f"output must be 'logit' or 'probability', got {output!r}")
        if text not in ("completion", "pair"):
            raise ValueError(f"text must be 'completion' or 'pair', got {text!r}")
        if isinstance(model, str):
            tokenizer = tokenizer if tokenizer is not None else model
            model = AutoModelForSequenceClassification.from_pretrained(model)
        if tokenizer is None:
            raise ValueError("SequenceClassifierReward needs a tokenizer when model is an object")
        if isinstance(tokenizer, str):
            tokenizer = AutoTokenizer.from_pretrained(tokenizer)
        self.model = model.eval()
        self.tokenizer = tokenizer
        n_labels = int(model.config.num_labels)
        if n_labels == 1:
            if label not in (None, 0):
                raise ValueError(f"the classifier has a single output; label must be None or 0, got {label!r}")
            self.label = 0
        else:
            if label is None:
                raise ValueError(
                    f"the classifier has {n_labels} labels {model.config.id2label}; pass label= to pick one"
                )
            if isinstance(label, str):
                names = {v: int(k) for k, v in model.config.id2label.items()}
                if label not in names:
                    raise ValueError(f"unknown label {label!r}; the classifier has {sorted(names)}")
                label = names[label]
            if not 0 <= int(label) < n_labels:
                raise ValueError(f"label {label} out of range for {n_labels} labels")
            self.label = int(label)
        self.n_labels = n_labels
        self.output = output
        self.text = text
        self.batch_size = int(batch_size) if tokenizer.pad_token_id is not None else 1
        config = model.config
        self.max_positions = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
        self.name = name

    def _encode(self, prompts: Sequence[str], completions: Sequence[str]) -> list[list[int]]:
        if self.text == "pair":
            rows = [self.tokenizer(p, c)["input_ids"] for p, c in zip(prompts, completions, strict=True)]
        else:
            rows = [self.tokenizer(c)["input_ids"] for c in completions]
        for i, row in enumerate(rows):
            if not row:
                raise ValueError(
                    f"reward {self.name!r} cannot score completion {i} ({completions[i]!r}): it encodes to no tokens"
                )
            if self.max_positions is not None and len(row) > self.max_positions:
                raise ValueError(
                    f"reward {self.name!r}: pair {i} has {len(row)} tokens, more than the classifier's "
                    f"{self.max_positions} positions"
                )
        return rows

    @torch.no_grad()
    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        """Score each pair by the classifier's logit or probability of the label."""
        rows = self._encode(prompts, completions)
        total = np.zeros(len(rows))
        for start in range(0, len(rows), self.batch_size):
            batch = rows[start : start + self.batch_size]
            enc = self.tokenizer.pad({"input_ids": batch}, return_tensors="pt")
            logits = self.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits.float()
            if self.output == "probability":
                probs = torch.sigmoid(logits) if self.n_labels == 1 else torch.softmax(logits, -1)
                values = probs[:, self.label]
            else:
                values = logits[:, self.label]
            total[start : start + len(batch)] = values.numpy()
        return RewardOutput(total=total, components={self.name: total})
