"""Sampling completions from a language model, to collect feedback on them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from textgym.tokenization import resolve_tokenizer


@torch.no_grad()
def sample_completions(
    prompts: Sequence[str],
    n_per_prompt: int = 4,
    model: str | Any = "tiny",
    tokenizer: str | Any | None = None,
    max_new_tokens: int = 24,
    temperature: float = 1.0,
    seed: int = 0,
    batch_size: int = 256,
) -> list[list[str]]:
    """Sample ``n_per_prompt`` completions of each prompt, decoded as an env would decode them.

    Sampling is ancestral (no top-k/top-p), stops at EOS, and decodes without special tokens,
    so the texts are what a TextGenEnv episode with the same model would produce. Prompts are
    grouped by token length so no padding is needed. The global torch RNG is left untouched.

    Args:
        prompts: The prompts.
        n_per_prompt: Completions per prompt.
        model: A name for :func:`textgym.models.load_model`, or a loaded causal LM.
        tokenizer: Its tokenizer; defaults to ``model`` when that is a name.
        max_new_tokens: Longest completion, in tokens.
        temperature: Softmax temperature.
        seed: Seed of the sampling.
        batch_size: Sequences generated together.

    Returns:
        ``out[i]``: the completions of ``prompts[i]``.
    """
    from textgym.models import load_model

    if n_per_prompt < 1 or max_new_tokens < 1 or temperature <= 0:
        raise ValueError("n_per_prompt and max_new_tokens must be >= 1 and temperature > 0")
    if tokenizer is None:
        if not isinstance(model, str):
            raise ValueError("sample_completions needs a tokenizer when model is an object")
        tokenizer = model
    tok = resolve_tokenizer(tokenizer)
    lm = load_model(model) if isinstance(model, str) else model.eval()
    encoded = tok(list(prompts))["input_ids"]
    out: list[list[str]] = [[] for _ in prompts]
    by_len: dict[int, list[int]] = {}
    for i, ids in enumerate(encoded):
        by_len.setdefault(len(ids), []).extend([i] * n_per_prompt)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for length in sorted(by_len):
            rows = by_len[length]
            for start in range(0, len(rows), batch_size):
                chunk = rows[start : start + batch_size]
                ids = torch.tensor([encoded[i] for i in chunk])
                gen = lm.generate(
                    ids,
                    attention_mask=torch.ones_like(ids),
                    do_sample=True,
                    top_k=0,
                    top_p=1.0,
                    temperature=temperature,
                    max_new_tokens=max_new_tokens,
                    eos_token_id=tok.eos_token_id,
                    pad_token_id=pad,
                )
                for i, row in zip(chunk, gen[:, length:].tolist(), strict=True):
                    if tok.eos_token_id in row:
                        row = row[: row.index(tok.eos_token_id)]
                    out[i].append(tok.decode(row, skip_special_tokens=True))
    return out
