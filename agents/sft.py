"""Supervised fine-tuning of a causal LM on (prompt, target) pairs: the warm start before RL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F
from transformers import PreTrainedModel

from textgym.models.pretrain import pad_batch
from textgym.validation import check_float, check_int


def target_loss(
    model: PreTrainedModel, tokenizer: Any, prompts: Sequence[str], targets: Sequence[str], append_eos: bool = True
) -> torch.Tensor:
    """Mean next-token cross-entropy over the targets' tokens only (the prompts are context).

    Each row is ``prompt ids + target ids (+ EOS)``, right-padded; only the positions that
    predict a target token (or the EOS) count, so the model learns to continue each prompt with
    its target, not to write prompts.

    Args:
        model: A causal LM.
        tokenizer: Its tokenizer (adds BOS to prompts as it does for the env's prompts).
        prompts: The contexts, as the env shows them.
        targets: What should follow each prompt (e.g. a reference summary).
        append_eos: End each target with EOS, so the model also learns to stop.

    Returns:
        A differentiable scalar.

    Raises:
        ValueError: On a length mismatch, an empty target, or a row longer than the model's
            positions.
    """
    if len(prompts) != len(targets):
        raise ValueError(f"{len(prompts)} prompts but {len(targets)} targets")
    p_ids = tokenizer(list(prompts))["input_ids"]
    t_ids = tokenizer(list(targets), add_special_tokens=False)["input_ids"]
    eos = [tokenizer.eos_token_id] if append_eos else []
    limit = getattr(model.config, "max_position_embeddings", None) or getattr(model.config, "n_positions", None)
    rows, spans = [], []
    for i, (p, t) in enumerate(zip(p_ids, t_ids, strict=True)):
        if not t + eos:
            raise ValueError(f"target {i} is empty")
        row = p + t + eos
        if limit is not None and len(row) > limit:
            raise ValueError(f"pair {i} has {len(row)} tokens, more than the model's {limit} positions")
        rows.append(row)
        spans.append((len(p), len(row)))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    ids, mask = pad_batch(rows, int(pad))  # (batch, longest row) each
    labels = torch.full_like(ids, -100)  # -100: ignored by the loss
    for i, (start, stop) in enumerate(spans):
        labels[i, start:stop] = ids[i, start:stop]
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]  # (batch, width - 1, vocab)
    targets_next = labels[:, 1:]  # position k predicts token k + 1
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets_next.reshape(-1), ignore_index=-100)


def supervised_finetune(
    model: PreTrainedModel,
    tokenizer: Any,
    prompts: Sequence[str],
    targets: Sequence[str],
    *,
    steps: int,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> list[float]:
    """Fine-tune ``model`` in place on targets given prompts (AdamW, constant learning rate).

    The usual first stage of RL from feedback on a task the pretrained model cannot yet do
    (Stiennon et al. 2020 start PPO for summarization from a supervised model): RL then
    sharpens what the supervised model does imperfectly. Batches are drawn with
    ``np.random.default_rng(seed)``, so a run is reproducible given torch's seed.

    Args:
        model: A causal LM (trained in place; left in eval mode).
        tokenizer: Its tokenizer.
        prompts: The contexts.
        targets: The continuations to learn.
        steps: Gradient steps, an integer (0: nothing to do).
        batch_size: Pairs per step, drawn without replacement within a step (an integer >= 1).
        learning_rate: AdamW learning rate (finite, > 0).
        seed: Seed of the batch order.
        log: Called with a progress line every 100 steps.

    Returns:
        The loss of each step.

    Raises:
        ValueError: If there are no pairs or fewer targets than prompts, ``steps`` is below 0,
            ``batch_size`` below 1, or ``learning_rate`` is not a finite number > 0.
        TypeError: If ``steps`` or ``batch_size`` is not an integer, or ``learning_rate`` not a number.
    """
    if len(prompts) != len(targets) or not prompts:
        raise ValueError(f"need as many targets as prompts, at least one: got {len(prompts)} and {len(targets)}")
    steps = check_int("steps", steps, minimum=0)
    batch_size = check_int("batch_size", batch_size)
    check_float("learning_rate", learning_rate, positive=True)  # inf or NaN would make every weight NaN
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    model.train()
    losses: list[float] = []
    for step in range(steps):
        index = rng.choice(len(prompts), size=min(batch_size, len(prompts)), replace=False)
        loss = target_loss(model, tokenizer, [prompts[i] for i in index], [targets[i] for i in index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        if log is not None and (step % 100 == 0 or step == steps - 1):
            log(f"supervised step {step + 1}/{steps}: loss {losses[-1]:.3f}")
    model.eval()
    return losses
