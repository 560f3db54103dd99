"""Training a :class:`~textgym.rewards.learned.LearnedRewardModel` from human feedback.

Each kind of feedback has its loss; kinds may be mixed in one training set, and each batch's
loss is the record-weighted mean of its kinds' losses:

* ratings: regression (mean squared error) on the ratings standardised over the training set;
* preferences: Bradley-Terry ``-log sigmoid(r_c - r_r)`` or the margin hinge
  ``max(0, m - (r_c - r_r))``;
* rankings (K >= 2, best first): Plackett-Luce listwise likelihood, or Bradley-Terry over all
  K(K-1)/2 implied pairs (InstructGPT);
* edits: a preference of the edited text over the original (same pairwise loss).

The report's held-out pairwise accuracy is measured on a validation split of the records:
pairs (chosen, rejected), (edited, original), every ordered pair of a ranking, and every pair
of held-out ratings with different ratings (a seeded sample of 200,000 of them when there are
more, as the report says).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from textgym.rewards.feedback import (
    Edit,
    Feedback,
    Preference,
    Ranking,
    Rating,
    feedback_from_dict,
    kind_of,
    read_feedback,
)
from textgym.rewards.learned import LearnedRewardModel
from textgym.rewards.losses import (
    all_pairs_loss,
    bradley_terry_loss,
    margin_hinge_loss,
    pairwise_accuracy,
    plackett_luce_loss,
)
from textgym.rewards.report import TrainingReport

FeedbackSource = str | Path | Sequence[str | Path] | Sequence[Feedback | Mapping[str, Any]]
MAX_RATING_PAIRS = 200_000


@dataclass
class RewardTrainingConfig:
    """Hyper-parameters of :func:`train_reward_model`.

    Attributes:
        backbone: Model name whose base model is the backbone (``"tiny"``).
        pairwise_loss: ``"bradley_terry"`` or ``"hinge"`` (preferences and edits).
        ranking_loss: ``"plackett_luce"`` or ``"all_pairs"``.
        margin: Margin of the hinge loss.
        epochs: Passes over the training records.
        batch_size: Records per gradient step.
        learning_rate: AdamW peak learning rate (linear decay to 0).
        weight_decay: AdamW weight decay.
        max_grad_norm: Gradient clipping.
        head_learning_rate: Peak learning rate of the linear head (default: ``learning_rate``).
        probe_epochs: Epochs of fitting the head alone on frozen features first (LP-FT);
            0 skips it.
        probe_learning_rate: Its AdamW learning rate.
        dropout: Keep the backbone's dropout on while training. Off by default: with a few
            thousand records it slows learning, and training is then deterministic.
        append_eos: Let the head read an appended EOS token (see :class:`LearnedRewardModel`).
        pooling: What the head reads: ``"last"``, ``"last+mean"`` or ``"last+mean+lm"``
            (see :class:`~textgym.rewards.learned.RewardNetwork`; the last is the most
            accurate on the simulated feedback and needs tied embeddings).
        val_fraction: Fraction of records held out for the accuracy report (0: none).
        seed: Seed of the split, the shuffling, the head's initialisation and dropout.
        name: Name of the resulting reward.
    """

    backbone: str = "tiny"
    pairwise_loss: Literal["bradley_terry", "hinge"] = "bradley_terry"
    ranking_loss: Literal["plackett_luce", "all_pairs"] = "plackett_luce"
    margin: float = 1.0
    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 5e-4
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    head_learning_rate: float | None = None
    probe_epochs: int = 20
    probe_learning_rate: float = 1e-2
    dropout: bool = False
    append_eos: bool = True
    pooling: str = "last"
    val_fraction: float = 0.1
    seed: int = 0
    name: str = "learned_reward"

    def __post_init__(self) -> None:
        if self.pairwise_loss not in ("bradley_terry", "hinge"):
            raise ValueError(f"pairwise_loss must be 'bradley_terry' or 'hinge', got {self.pairwise_loss!r}")
        if self.ranking_loss not in ("plackett_luce", "all_pairs"):
            raise ValueError(f"ranking_loss must be 'plackett_luce' or 'all_pairs', got {self.ranking_loss!r}")
        if min(self.epochs, self.probe_epochs) < 0 or self.epochs + self.probe_epochs < 1:
            raise ValueError("epochs and probe_epochs must be >= 0, and one of them >= 1")
        if self.batch_size < 1 or self.learning_rate <= 0 or self.probe_learning_rate <= 0:
            raise ValueError("batch_size must be >= 1 and learning rates > 0")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")


def load_feedback(feedback: FeedbackSource) -> list[Feedback]:
    """Records from a JSONL path, several paths, or in-memory records/dicts (validated).

    Raises:
        ValueError: On an invalid record (naming the file and line, or the record's index),
            or when there are no records.
    """
    if isinstance(feedback, (str, Path)):
        return read_feedback(feedback)
    items = list(feedback)
    if items and all(isinstance(x, (str, Path)) for x in items):
        return [r for path in items for r in read_feedback(path)]
    records: list[Feedback] = []
    for i, item in enumerate(items):
        if isinstance(item, (Rating, Preference, Ranking, Edit)):
            records.append(item)
        else:
            records.append(feedback_from_dict(item, f"feedback record {i}"))
    if not records:
        raise ValueError("no feedback records to train on")
    return records


def _texts(record: Feedback) -> list[str]:
    """The completions a record compares, better first (a rating has one)."""
    if isinstance(record, Rating):
        return [record.completion]
    if isinstance(record, Preference):
        return [record.chosen, record.rejected]
    if isinstance(record, Edit):
        return [record.edited, record.original]
    return list(record.completions)


def _flatten(records: Sequence[Feedback]) -> tuple[list[str], list[str], list[tuple[int, int]]]:
    """Prompts and completions of all records, and each record's (start, stop) among them."""
    prompts: list[str] = []
    completions: list[str] = []
    spans = []
    for r in records:
        texts = _texts(r)
        spans.append((len(completions), len(completions) + len(texts)))
        prompts += [r.prompt] * len(texts)
        completions += texts
    return prompts, completions, spans


def _loss(
    records: Sequence[Feedback],
    spans: Sequence[tuple[int, int]],
    scores: torch.Tensor,
    cfg: RewardTrainingConfig,
    rating_mean: float,
    rating_std: float,
) -> torch.Tensor:
    """Record-weighted mean of each kind's loss, given the scores of the records' texts."""
    parts: list[tuple[int, torch.Tensor]] = []
    ratings = [(a, r.rating) for r, (a, _) in zip(records, spans, strict=True) if isinstance(r, Rating)]
    if ratings:
        idx = torch.tensor([a for a, _ in ratings])
        target = (torch.tensor([v for _, v in ratings], dtype=scores.dtype) - rating_mean) / rating_std
        parts.append((len(ratings), torch.nn.functional.mse_loss(scores[idx], target)))
    pairs = [a for r, (a, _) in zip(records, spans, strict=True) if isinstance(r, (Preference, Edit))]
    if pairs:
        better, worse = scores[torch.tensor(pairs)], scores[torch.tensor(pairs) + 1]
        if cfg.pairwise_loss == "hinge":
            loss = margin_hinge_loss(better, worse, cfg.margin)
        else:
            loss = bradley_terry_loss(better, worse)
        parts.append((len(pairs), loss))
    by_k: dict[int, list[int]] = {}
    for r, (a, b) in zip(records, spans, strict=True):
        if isinstance(r, Ranking):
            by_k.setdefault(b - a, []).append(a)
    ranking_fn = plackett_luce_loss if cfg.ranking_loss == "plackett_luce" else all_pairs_loss
    for k, starts in by_k.items():
        idx = torch.tensor(starts)[:, None] + torch.arange(k)[None, :]
        parts.append((len(starts), ranking_fn(scores[idx])))
    return sum(n * loss for n, loss in parts) / len(records)


@torch.no_grad()
def _head_inputs(rm: LearnedRewardModel, prompts: Sequence[str], completions: Sequence[str]) -> torch.Tensor:
    """What the frozen backbone gives the head for each pair, shape (n, head width)."""
    out = []
    for i in range(0, len(prompts), rm.batch_size):
        ids, mask, prompt_lengths = rm.encode(prompts[i : i + rm.batch_size], completions[i : i + rm.batch_size])
        out.append(rm.network.features(ids, mask, rm._starts(prompt_lengths)))
    return torch.cat(out)


def _fit_head(
    rm: LearnedRewardModel,
    train: Sequence[Feedback],
    cfg: RewardTrainingConfig,
    rating_mean: float,
    rating_std: float,
    rng: np.random.Generator,
) -> None:
    """Linear probe: fit the head on the frozen backbone's features before fine-tuning.

    Fine-tuning through a randomly initialised head distorts the pretrained features before
    the head is any good (Kumar et al. 2022, "Fine-Tuning can Distort Pretrained Features
    and Underperform Out-of-Distribution": LP-FT). The features are computed once, so this
    costs about one forward pass over the training texts.
    """
    was_training = rm.network.training
    rm.network.eval()
    prompts, completions, spans = _flatten(train)
    features = _head_inputs(rm, prompts, completions)
    head = rm.network.head
    optimizer = torch.optim.AdamW(head.parameters(), lr=cfg.probe_learning_rate, weight_decay=cfg.weight_decay)
    for _ in range(cfg.probe_epochs):
        perm = rng.permutation(len(train))
        for start in range(0, len(train), cfg.batch_size):
            rows = perm[start : start + cfg.batch_size]
            batch = [train[i] for i in rows]
            index = torch.tensor([j for i in rows for j in range(*spans[i])])
            _, _, local = _flatten(batch)  # each record's texts among the batch's, as in training
            loss = _loss(batch, local, head(features[index]).squeeze(-1), cfg, rating_mean, rating_std)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    rm.network.train(was_training)


def _validation_pairs(
    records: Sequence[Feedback], rng: np.random.Generator
) -> tuple[list[str], list[str], np.ndarray, bool]:
    """Prompts and completions to score, and (better, worse) index pairs into them."""
    prompts: list[str] = []
    completions: list[str] = []
    pairs: list[tuple[int, int]] = []
    rated: list[tuple[int, float]] = []
    for r in records:
        start = len(completions)
        texts = _texts(r)
        prompts += [r.prompt] * len(texts)
        completions += texts
        if isinstance(r, Rating):
            rated.append((start, r.rating))
        else:
            pairs += [(start + i, start + j) for i in range(len(texts)) for j in range(i + 1, len(texts))]
    rating_pairs = [(a, b) for a, ra in rated for b, rb in rated if ra > rb]
    sampled = len(rating_pairs) > MAX_RATING_PAIRS
    if sampled:
        keep = rng.choice(len(rating_pairs), size=MAX_RATING_PAIRS, replace=False)
        rating_pairs = [rating_pairs[i] for i in keep]
    return prompts, completions, np.array(pairs + rating_pairs, dtype=np.int64).reshape(-1, 2), sampled


@torch.no_grad()
def _raw_scores_eval(rm: LearnedRewardModel, prompts: Sequence[str], completions: Sequence[str]) -> torch.Tensor:
    was_training = rm.network.training
    rm.network.eval()
    out = [
        rm.raw_scores(prompts[i : i + rm.batch_size], completions[i : i + rm.batch_size])
        for i in range(0, len(prompts), rm.batch_size)
    ]
    rm.network.train(was_training)
    return torch.cat(out) if out else torch.zeros(0)


def train_reward_model(
    feedback: FeedbackSource,
    config: RewardTrainingConfig | None = None,
    *,
    save_to: str | Path | None = None,
    log: Callable[[str], None] | None = None,
    **overrides: Any,
) -> LearnedRewardModel:
    """Train a scalar reward model on ratings, preferences, rankings and/or edits.

    Args:
        feedback: A JSONL file (see :mod:`textgym.rewards.feedback` for the schemas), a list
            of files, or in-memory records (dataclasses or dicts with the same fields).
        config: Hyper-parameters; ``overrides`` replace single fields
            (``train_reward_model(path, epochs=5)``).
        save_to: If given, save the trained model there (:meth:`LearnedRewardModel.save`).
        log: Called with a progress line after each epoch (e.g. ``print``).
        **overrides: Fields of :class:`RewardTrainingConfig`.

    Returns:
        The trained reward model, in eval mode; ``model.report`` is a :class:`TrainingReport`
        with the held-out pairwise accuracy.
    """
    cfg = RewardTrainingConfig(**{**asdict(config or RewardTrainingConfig()), **overrides})
    records = load_feedback(feedback)
    started = time.perf_counter()
    rng = np.random.default_rng(cfg.seed)
    train, val = _split(records, cfg.val_fraction, rng)
    kinds: dict[str, int] = {}
    for r in train:
        kinds[kind_of(r)] = kinds.get(kind_of(r), 0) + 1
    train_ratings = np.array([r.rating for r in train if isinstance(r, Rating)])
    rating_mean = float(train_ratings.mean()) if len(train_ratings) else None
    rating_std = float(train_ratings.std()) if len(train_ratings) else None
    scale = rating_std if rating_std else 1.0  # all ratings equal: nothing to standardise

    held_out = _validation_pairs(val, rng)
    with torch.random.fork_rng():
        torch.manual_seed(cfg.seed)
        rm = LearnedRewardModel.from_backbone(
            cfg.backbone, name=cfg.name, append_eos=cfg.append_eos, pooling=cfg.pooling
        )
        if cfg.probe_epochs:
            _fit_head(rm, train, cfg, rating_mean or 0.0, scale, rng)
        epoch_losses, epoch_acc = _fine_tune(rm, train, held_out, cfg, rating_mean or 0.0, scale, rng, log)
        final_accuracy = _held_out_accuracy(rm, held_out)
        train_prompts, train_completions, _ = _flatten(train)
        raw = _raw_scores_eval(rm, train_prompts, train_completions).double()
    rm.network.eval()
    std = float(raw.std()) if len(raw) > 1 else 1.0
    rm.score_mean, rm.score_std = float(raw.mean()), (std if std > 0 else 1.0)
    rm.report = TrainingReport(
        n_train=len(train),
        n_val=len(val),
        kinds=kinds,
        epoch_losses=epoch_losses,
        epoch_val_accuracy=epoch_acc,
        val_pairwise_accuracy=final_accuracy,
        val_pairs=len(held_out[2]),
        val_pairs_sampled=held_out[3],
        rating_mean=rating_mean,
        rating_std=rating_std,
        seconds=time.perf_counter() - started,
        config=asdict(cfg),
    )
    if save_to is not None:
        rm.save(save_to)
    return rm


def _split(
    records: Sequence[Feedback], val_fraction: float, rng: np.random.Generator
) -> tuple[list[Feedback], list[Feedback]]:
    """The training and the held-out records, in a random order; at least one of each when asked for."""
    order = rng.permutation(len(records))
    n_val = int(round(val_fraction * len(records)))
    if val_fraction > 0 and len(records) >= 2:
        n_val = min(max(n_val, 1), len(records) - 1)
    return [records[i] for i in order[n_val:]], [records[i] for i in order[:n_val]]


def _held_out_accuracy(rm: LearnedRewardModel, held_out: tuple[list[str], list[str], np.ndarray, bool]) -> float | None:
    """Pairwise accuracy on the held-out pairs (:func:`_validation_pairs`); None without any."""
    prompts, completions, pairs, _ = held_out
    if not len(pairs):
        return None
    scores = _raw_scores_eval(rm, prompts, completions)
    return pairwise_accuracy(scores[pairs[:, 0]], scores[pairs[:, 1]])


def _fine_tune(
    rm: LearnedRewardModel,
    train: Sequence[Feedback],
    held_out: tuple[list[str], list[str], np.ndarray, bool],
    cfg: RewardTrainingConfig,
    rating_mean: float,
    rating_scale: float,
    rng: np.random.Generator,
    log: Callable[[str], None] | None,
) -> tuple[list[float], list[float]]:
    """``cfg.epochs`` epochs of the whole network; each epoch's mean loss and held-out accuracy."""
    network = rm.network.train(cfg.dropout)
    head_lr = cfg.head_learning_rate if cfg.head_learning_rate is not None else cfg.learning_rate
    optimizer = torch.optim.AdamW(
        [
            {"params": network.backbone.parameters(), "lr": cfg.learning_rate},
            {"params": network.head_parameters(), "lr": head_lr},
        ],
        weight_decay=cfg.weight_decay,
    )
    steps_per_epoch = -(-len(train) // cfg.batch_size)
    total_steps = steps_per_epoch * cfg.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 - step / max(total_steps, 1))
    epoch_losses, epoch_acc = [], []
    for epoch in range(cfg.epochs):
        perm = rng.permutation(len(train))
        losses = []
        for start in range(0, len(train), cfg.batch_size):
            batch = [train[i] for i in perm[start : start + cfg.batch_size]]
            prompts, completions, spans = _flatten(batch)
            loss = _loss(batch, spans, rm.raw_scores(prompts, completions), cfg, rating_mean, rating_scale)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(network.parameters(), cfg.max_grad_norm)
            optimizer.step()
            schedule.step()
            losses.append(float(loss.detach()))
        epoch_losses.append(float(np.mean(losses)))
        accuracy = _held_out_accuracy(rm, held_out)
        if accuracy is not None:
            epoch_acc.append(accuracy)
        if log is not None:
            acc = f", held-out pairwise accuracy {epoch_acc[-1]:.3f}" if epoch_acc else ""
            log(f"epoch {epoch + 1}/{cfg.epochs}: loss {epoch_losses[-1]:.4f}{acc}")
    network.eval()
    return epoch_losses, epoch_acc
