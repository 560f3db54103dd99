"""Fluency as mean log-likelihood under a frozen reference language model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from textgym.rewards.base import RewardModel, RewardOutput


class LMFluencyReward(RewardModel):
    """Mean per-token log-likelihood (nats) of ``completion + EOS`` given the prompt.

    EOS is scored too, so an empty completion still has a defined score (how likely it is to
    stop at once) and ending mid-sentence is penalised. The model is loaded lazily on first
    use and is not pickled (it is reloaded after unpickling).

    Args:
        model: A model name for :func:`textgym.models.load_model`, or a loaded causal LM.
        tokenizer: A tokenizer name/object; defaults to ``model`` when that is a name.
        batch_size: Pairs per forward pass.
        name: Component name.
    """

    def __init__(
        self, model: str | Any = "tiny", tokenizer: str | Any | None = None, batch_size: int = 32, name: str = "fluency"
    ):
        self._model_spec = model
        self._tokenizer_spec = tokenizer if tokenizer is not None else model
        if isinstance(self._tokenizer_spec, torch.nn.Module):
            raise ValueError("LMFluencyReward needs a tokenizer when model is a module")
        self.batch_size = batch_size
        self.name = name
        self._model: Any = None
        self._tokenizer: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if isinstance(state["_model_spec"], str):
            state["_model"] = None  # reload from the name instead of pickling weights
        return state

    def _load(self) -> None:
        from textgym.models import load_model
        from textgym.tokenization import resolve_tokenizer

        if self._model is None:
            spec = self._model_spec
            self._model = load_model(spec) if isinstance(spec, str) else spec.eval()
        if self._tokenizer is None:
            self._tokenizer = resolve_tokenizer(self._tokenizer_spec)

    @torch.no_grad()
    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        self._load()
        tok, model = self._tokenizer, self._model
        eos = tok.eos_token_id
        scores = np.zeros(len(completions))
        for start in range(0, len(completions), self.batch_size):
            rows, spans = [], []
            chunk = slice(start, start + self.batch_size)
            for p, c in zip(prompts[chunk], completions[chunk], strict=True):
                p_ids = tok(p)["input_ids"]
                c_ids = tok(c, add_special_tokens=False)["input_ids"] + [eos]
                rows.append(p_ids + c_ids)
                spans.append((len(p_ids), len(p_ids) + len(c_ids)))
            width = max(map(len, rows))
            ids = torch.full((len(rows), width), tok.pad_token_id if tok.pad_token_id is not None else eos)
            mask = torch.zeros_like(ids)
            for i, r in enumerate(rows):
                ids[i, : len(r)] = torch.tensor(r)
                mask[i, : len(r)] = 1
            logp = torch.log_softmax(model(input_ids=ids, attention_mask=mask).logits.float(), -1)
            for i, (a, b) in enumerate(spans):
                # logits at position t predict token t + 1
                token_logp = logp[i, a - 1 : b - 1].gather(-1, ids[i, a:b, None]).squeeze(-1)
                scores[start + i] = float(token_logp.mean())
        return RewardOutput(total=scores, components={self.name: scores})
