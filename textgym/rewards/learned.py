"""A reward model learned from feedback: a transformers backbone and a linear head.

The scalar reward of (prompt, completion) is a linear function of the backbone's last hidden
state at the last real token of ``prompt + completion + EOS`` (Ziegler et al. 2019,
"Fine-Tuning Language Models from Human Preferences"; Ouyang et al. 2022). The appended EOS
is GPT-1's "extract" token (Radford et al. 2018): the head always reads the same token,
whose state attends to the whole text. Scores of the completion's prefixes give per-token
rewards (their differences).

Saved models are a ``save_pretrained``-style directory: the backbone's ``config.json`` and
``model.safetensors``, the tokenizer files, ``reward_head.safetensors`` and
``reward_config.json`` (score normalisation and the training report).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from textgym.rewards.base import RewardModel, RewardOutput
from textgym.rewards.report import TrainingReport
from textgym.tokenization import resolve_tokenizer

CONFIG_NAME = "reward_config.json"
HEAD_NAME = "reward_head.safetensors"
FORMAT = "textgym.LearnedRewardModel"


POOLINGS = ("last", "last+mean", "last+mean+lm")
LM_FEATURES = 16
LM_SCALE = 5.0  # nats: log-probs are divided by it before the soft thresholds


class RewardNetwork(nn.Module):
    """Backbone (a transformers base model returning ``last_hidden_state``) + linear head.

    Args:
        backbone: E.g. ``load_model("tiny").base_model`` (a ``GPT2Model``).
        pooling: What the head reads. ``"last"``: the hidden state at the last real token.
            ``"last+mean"``: that, concatenated with the mean hidden state over the
            completion (from the prompt's last token, whose state reads the first completion
            token, to the last real token). The mean makes "some token is X" features
            (a word, a phrase) linear in the input, which the last state alone must first
            learn to gather by attention; with a few thousand labels that matters.
            ``"last+mean+lm"``: that, plus two numbers from the backbone's own language
            model: the mean and the minimum log-probability of the completion's tokens
            (the appended EOS included) given what precedes them. One unlikely token marks
            a flaw of form (a swapped word, a sentence cut short: on the tiny model's
            grammar the minimum separates grammatical from ungrammatical completions with
            ROC AUC 1.0), which the hidden states carry only implicitly. Needs a backbone
            whose output embeddings are its input embeddings (``tie_word_embeddings``),
            since a base model has no LM head of its own.
    """

    def __init__(self, backbone: nn.Module, pooling: str = "last"):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.backbone = backbone
        self.pooling = pooling
        if pooling == "last+mean+lm" and not getattr(backbone.config, "tie_word_embeddings", False):
            raise ValueError(
                "pooling='last+mean+lm' needs a backbone with tied input and output embeddings "
                f"(tie_word_embeddings=True); {type(backbone).__name__} has none"
            )
        width = int(backbone.config.hidden_size) * (1 if pooling == "last" else 2)
        if pooling == "last+mean+lm":
            # A flaw shows as one very unlikely token, whatever its exact log-prob: a soft
            # threshold (tanh of an affine map) lets the linear head read "is any token this
            # unlikely" rather than the raw, heavy-tailed log-probs.
            self.lm_features = nn.Sequential(nn.Linear(2, LM_FEATURES), nn.Tanh())
            width += LM_FEATURES
        self.head = nn.Linear(width, 1)
        nn.init.normal_(self.head.weight, std=1.0 / np.sqrt(width))
        nn.init.zeros_(self.head.bias)

    def head_parameters(self) -> list[nn.Parameter]:
        """Every parameter on top of the backbone (the head and, with ``"+lm"``, the soft thresholds)."""
        return [p for name, p in self.named_parameters() if not name.startswith("backbone.")]

    def features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
        """What the head reads, shape (batch, head width); right padding assumed.

        Args:
            input_ids: (batch, seq) token ids.
            attention_mask: (batch, seq), 1 on real tokens.
            starts: (batch,) index of each row's first pooled position (the prompt's last
                token); not used by ``"last"``.
        """
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        last = attention_mask.sum(1) - 1  # (batch,)
        rows = torch.arange(len(input_ids), device=hidden.device)
        pooled = hidden[rows, last]  # (batch, hidden)
        if self.pooling == "last":
            return pooled
        pos = torch.arange(hidden.shape[1], device=hidden.device)[None, :]  # (1, seq)
        span = ((pos >= starts[:, None]) & (pos <= last[:, None])).to(hidden.dtype)  # (batch, seq)
        mean = (hidden * span[..., None]).sum(1) / span.sum(1, keepdim=True)  # (batch, hidden)
        pooled = torch.cat([pooled, mean], dim=-1)  # (batch, 2 * hidden)
        if self.pooling == "last+mean+lm":
            # Positions that predict the completion's tokens: the prompt's last to the one
            # before the last real token (the last real token predicts padding).
            predicts = ((pos >= starts[:, None]) & (pos < last[:, None]))[:, :-1].to(hidden.dtype)  # (batch, seq - 1)
            stats = self._lm_stats(hidden, input_ids, predicts) / LM_SCALE  # (batch, 2)
            pooled = torch.cat([pooled, self.lm_features(stats)], dim=-1)  # (batch, 2 * hidden + 16)
        return pooled

    def _lm_stats(self, hidden: torch.Tensor, input_ids: torch.Tensor, span: torch.Tensor) -> torch.Tensor:
        """Mean and min log-prob of the tokens that positions in ``span`` predict, (batch, 2).

        ``span`` (batch, seq - 1) marks the positions whose next token counts.
        """
        embeddings = self.backbone.get_input_embeddings().weight  # (vocab, hidden), tied LM head
        logprobs = torch.log_softmax(hidden[:, :-1] @ embeddings.T, dim=-1)  # (batch, seq - 1, vocab)
        token_lp = logprobs.gather(-1, input_ids[:, 1:, None]).squeeze(-1)  # (batch, seq - 1)
        count = span.sum(1)
        mean = (token_lp * span).sum(1) / count.clamp(min=1)
        minimum = token_lp.masked_fill(span == 0, float("inf")).min(1).values
        # A pair with no completion token and no EOS predicts nothing: both stats are 0.
        minimum = torch.where(count > 0, minimum, torch.zeros_like(minimum))
        return torch.stack([mean, minimum], dim=-1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
        """One score per row, shape (batch,)."""
        return self.head(self.features(input_ids, attention_mask, starts)).squeeze(-1)


class LearnedRewardModel(RewardModel):
    """A trained :class:`RewardNetwork` as a RewardModel: plug it into any env.

    Scores are standardised, ``(raw - score_mean) / score_std``, with the mean and standard
    deviation of the raw scores of the training texts (Bradley-Terry rewards are defined up to
    a shift, so this only fixes a convenient scale for RL). Any completion can be scored, the
    empty one included; a pair longer than the backbone's positions is an error.

    Args:
        network: The network.
        tokenizer: Its tokenizer (object or name).
        score_mean: Subtracted from raw scores.
        score_std: Raw scores are divided by it.
        batch_size: Pairs per forward pass when scoring.
        token_scores: Also return per-token rewards: the change in the (standardised) score of
            the completion's token prefixes, counting the first token's prefix from 0, so
            they sum to the total (as in the env's immediate reward mode). Costs one extra
            sequence per completion token.
        append_eos: Append the tokenizer's EOS to every text, so the head always reads the
            same "extract" token, whose state attends to the whole text (the GPT-1 recipe for
            classification, Radford et al. 2018). Without it the head reads the text's own
            last token.
        name: Name of the reward.
        report: How it was trained (a :class:`~textgym.rewards.report.TrainingReport`).

    Example:
        >>> import gymnasium as gym
        >>> rm = LearnedRewardModel.from_backbone("tiny")  # untrained: random head
        >>> env = gym.make("textgym/CatText-v0", reward=rm)
        >>> _ = env.reset(seed=0)
    """

    def __init__(
        self,
        network: RewardNetwork,
        tokenizer: str | Any,
        *,
        score_mean: float = 0.0,
        score_std: float = 1.0,
        batch_size: int = 64,
        token_scores: bool = False,
        append_eos: bool = True,
        name: str = "learned_reward",
        report: Any = None,
    ):
        if not score_std > 0:
            raise ValueError(f"score_std must be > 0, got {score_std}")
        self.network = network.eval()
        self.tokenizer = resolve_tokenizer(tokenizer)
        self.score_mean = float(score_mean)
        self.score_std = float(score_std)
        self.batch_size = int(batch_size)
        self.token_scores = bool(token_scores)
        self.append_eos = bool(append_eos)
        self.name = name
        self.report = report
        config = network.backbone.config
        self.max_positions = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
        pad = self.tokenizer.pad_token_id
        self.pad_token_id = int(pad if pad is not None else self.tokenizer.eos_token_id)

    @classmethod
    def from_backbone(
        cls,
        backbone: str | Any = "tiny",
        tokenizer: str | Any | None = None,
        pooling: str = "last",
        **kwargs: Any,
    ) -> LearnedRewardModel:
        """An untrained reward model on a backbone: a model name (its base model is used) or module.

        Args:
            backbone: A name for :func:`textgym.models.load_model` (``"tiny"``), or a
                transformers base model.
            tokenizer: Defaults to ``backbone`` when that is a name.
            pooling: What the head reads (see :class:`RewardNetwork`).
            **kwargs: Passed to the constructor.
        """
        from textgym.models import load_model

        if isinstance(backbone, str):
            tokenizer = tokenizer if tokenizer is not None else backbone
            backbone = load_model(backbone).base_model
        if tokenizer is None:
            raise ValueError("from_backbone needs a tokenizer when backbone is a module")
        return cls(RewardNetwork(backbone, pooling), tokenizer, **kwargs)

    # ----- encoding -----
    def _check_rows(self, rows: list[list[int]]) -> None:
        for i, row in enumerate(rows):
            if not row:
                raise ValueError(f"reward {self.name!r}: pair {i} (empty prompt and completion) has no tokens")
            if self.max_positions is not None and len(row) > self.max_positions:
                raise ValueError(
                    f"reward {self.name!r}: pair {i} has {len(row)} tokens, more than the backbone's "
                    f"{self.max_positions} positions"
                )

    def _pad(self, rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(map(len, rows))
        ids = torch.full((len(rows), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = 1
        return ids, mask

    def _token_rows(
        self, prompts: Sequence[str], completions: Sequence[str]
    ) -> tuple[list[list[int]], list[list[int]]]:
        if len(prompts) != len(completions):
            raise ValueError(f"reward {self.name!r}: {len(prompts)} prompts but {len(completions)} completions")
        p_ids = self.tokenizer(list(prompts))["input_ids"]
        c_ids = self.tokenizer(list(completions), add_special_tokens=False)["input_ids"]
        return p_ids, c_ids

    def encode(
        self, prompts: Sequence[str], completions: Sequence[str]
    ) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
        """Right-padded ``prompt + completion (+ EOS)`` token ids, the mask, and each prompt's length.

        Raises:
            ValueError: If a pair has no tokens or more than the backbone's positions.
        """
        p_ids, c_ids = self._token_rows(prompts, completions)
        eos = [self.tokenizer.eos_token_id] if self.append_eos else []
        rows = [p + c + eos for p, c in zip(p_ids, c_ids, strict=True)]
        self._check_rows(rows)
        ids, mask = self._pad(rows)
        return ids, mask, [len(p) for p in p_ids]

    def raw_scores(self, prompts: Sequence[str], completions: Sequence[str]) -> torch.Tensor:
        """Unnormalised, differentiable scores (for training), shape (batch,)."""
        ids, mask, prompt_lengths = self.encode(prompts, completions)
        return self.network(ids, mask, self._starts(prompt_lengths))

    @staticmethod
    def _starts(prompt_lengths: Sequence[int]) -> torch.Tensor:
        # The prompt's last token (its state reads the first completion token); 0 if none.
        return torch.tensor([max(n - 1, 0) for n in prompt_lengths], dtype=torch.long)

    def _prefix_scores(self, prompt_ids: list[int], completion_ids: list[int]) -> np.ndarray:
        """Standardised scores of ``prompt + completion[:k] (+ EOS)`` for k = 1..n."""
        eos = [self.tokenizer.eos_token_id] if self.append_eos else []
        rows = [prompt_ids + completion_ids[:k] + eos for k in range(1, len(completion_ids) + 1)]
        out = []
        for start in range(0, len(rows), self.batch_size):
            chunk = rows[start : start + self.batch_size]
            ids, mask = self._pad(chunk)
            starts = self._starts([len(prompt_ids)] * len(chunk))
            out.append(self.network(ids, mask, starts).double().numpy())
        raw = np.concatenate(out) if out else np.zeros(0)
        return (raw - self.score_mean) / self.score_std

    # ----- RewardModel -----
    @torch.no_grad()
    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        """Score each pair (standardised), with per-token rewards if enabled."""
        was_training = self.network.training
        self.network.eval()
        total = np.zeros(len(completions))
        for start in range(0, len(completions), self.batch_size):
            stop = start + self.batch_size
            raw = self.raw_scores(prompts[start:stop], completions[start:stop]).double().numpy()
            total[start : start + len(raw)] = (raw - self.score_mean) / self.score_std
        per_token = None
        if self.token_scores:
            p_ids, c_ids = self._token_rows(prompts, completions)
            per_token = [np.diff(self._prefix_scores(p, c), prepend=0.0) for p, c in zip(p_ids, c_ids, strict=True)]
        self.network.train(was_training)
        return RewardOutput(total=total, components={self.name: total}, token_scores=per_token)

    # ----- persistence -----
    def save(self, path: str | Path) -> Path:
        """Save to a directory (created if needed); load it back with :meth:`load`."""
        from dataclasses import asdict, is_dataclass

        from safetensors.torch import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.network.backbone.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        head = {k: v.detach().contiguous() for k, v in self.network.head.state_dict().items()}
        if self.network.pooling == "last+mean+lm":
            lm = self.network.lm_features.state_dict()
            head |= {f"lm_features.{k}": v.detach().contiguous() for k, v in lm.items()}
        save_file(head, str(path / HEAD_NAME))
        report = asdict(self.report) if is_dataclass(self.report) else self.report
        config = {
            "format": FORMAT,
            "version": 1,
            "name": self.name,
            "score_mean": self.score_mean,
            "score_std": self.score_std,
            "append_eos": self.append_eos,
            "pooling": self.network.pooling,
            "report": report,
        }
        (path / CONFIG_NAME).write_text(json.dumps(config, indent=2))
        return path

    @classmethod
    def load(cls, path: str | Path, **kwargs: Any) -> LearnedRewardModel:
        """Load a model saved by :meth:`save` (offline).

        Args:
            path: The directory.
            **kwargs: Override constructor arguments (``batch_size``, ``token_scores``, ...).

        Raises:
            FileNotFoundError: If ``path`` is not a saved LearnedRewardModel.
        """
        from safetensors.torch import load_file
        from transformers import AutoModel, AutoTokenizer

        path = Path(path)
        config_file = path / CONFIG_NAME
        if not config_file.is_file():
            raise FileNotFoundError(f"{path} is not a saved LearnedRewardModel: {CONFIG_NAME} is missing")
        config = json.loads(config_file.read_text())
        if config.get("format") != FORMAT:
            raise ValueError(f"{config_file}: unknown format {config.get('format')!r}, expected {FORMAT!r}")
        backbone = AutoModel.from_pretrained(str(path), local_files_only=True)
        network = RewardNetwork(backbone, pooling=config.get("pooling", "last"))
        tensors = load_file(str(path / HEAD_NAME))
        lm_prefix = "lm_features."
        network.head.load_state_dict({k: v for k, v in tensors.items() if not k.startswith(lm_prefix)})
        if network.pooling == "last+mean+lm":
            lm = {k[len(lm_prefix) :]: v for k, v in tensors.items() if k.startswith(lm_prefix)}
            network.lm_features.load_state_dict(lm)
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        report = config.get("report")
        if report is not None:
            report = TrainingReport(**report)
        args: dict[str, Any] = {
            "append_eos": config["append_eos"],
            "score_mean": config["score_mean"],
            "score_std": config["score_std"],
            "name": config["name"],
            "report": report,
        }
        args.update(kwargs)
        return cls(network, tokenizer, **args)
