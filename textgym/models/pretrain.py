"""Pretrain the embedded tiny model: ``python -m textgym.models.pretrain``.

Steps: generate a seeded corpus from the project's grammar; train a word-level tokenizer on
it; pretrain a small GPT-2 (``GPT2LMHeadModel``) with next-token cross-entropy; then report
held-out perplexity, the grammatical rate of freely sampled documents, and how often the
model's CatText completions mention a cat. Weights (safetensors) and tokenizer are written to
``textgym/models/tiny`` (or ``--out``). ``--json PATH`` also writes the settings, the metrics,
the run's versions and the SHA-256 of the written weights, which docs/models.md's table is
rendered from (``benchmarks/tables.py``; its test checks the hash against the shipped weights).

``--evaluate`` trains nothing: it measures the same metrics on the weights already in ``--out``
(by default the shipped model), on the same seeded held-out documents, in about a minute.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerBase

from textgym.data import generate_corpus, is_grammatical, mentions_cat, story_openings, vocabulary
from textgym.models.loading import TINY_DIR
from textgym.tokenization import train_word_tokenizer


@dataclass
class PretrainConfig:
    """Settings of the pretraining run (the shipped model uses the defaults)."""

    out: Path = TINY_DIR
    seed: int = 0
    train_docs: int = 60_000
    heldout_docs: int = 2_000
    n_embd: int = 128
    n_layer: int = 4
    n_head: int = 4
    n_positions: int = 128
    batch_size: int = 64
    steps: int = 3_000
    lr: float = 3e-3
    warmup: int = 100
    eval_samples: int = 500
    cattext_new_tokens: int = 24


def encode_docs(tok: PreTrainedTokenizerBase, docs: list[str], max_len: int) -> list[list[int]]:
    """Token ids of ``<bos> doc <eos>`` for each document (the tokenizer adds ``<bos>``)."""
    ids = [row + [tok.eos_token_id] for row in tok(docs)["input_ids"]]
    too_long = [i for i, row in enumerate(ids) if len(row) > max_len]
    if too_long:
        raise ValueError(f"{len(too_long)} documents exceed the context of {max_len} tokens")
    return ids


def pad_batch(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad rows; return (input_ids, attention_mask), each (batch, longest row)."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = 1
    return ids, mask


def lm_loss(model: GPT2LMHeadModel, ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Summed next-token cross-entropy over real tokens, and the number of predicted tokens."""
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
    targets = ids[:, 1:].masked_fill(mask[:, 1:] == 0, -100)
    loss = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100, reduction="sum"
    )
    return loss, int((targets != -100).sum())


@torch.no_grad()
def perplexity(model: GPT2LMHeadModel, rows: list[list[int]], pad_id: int) -> float:
    """Per-token perplexity of the model on the given documents."""
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(rows), 256):
        loss, n = lm_loss(model, *pad_batch(rows[start : start + 256], pad_id))
        total, count = total + float(loss), count + n
    return math.exp(total / count)


@torch.no_grad()
def sample_continuations(
    model: GPT2LMHeadModel, tok: PreTrainedTokenizerBase, prompts: list[str], max_new_tokens: int
) -> list[str]:
    """Sample (temperature 1, no top-k/top-p) a continuation of each prompt, stopping at EOS.

    Prompts are grouped by token length so no padding is needed.
    """
    encoded = tok(prompts)["input_ids"]
    out: list[str] = [""] * len(prompts)
    by_len: dict[int, list[int]] = {}
    for i, row in enumerate(encoded):
        by_len.setdefault(len(row), []).append(i)
    for length, idx in by_len.items():
        ids = torch.tensor([encoded[i] for i in idx])
        gen = model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            do_sample=True,
            top_k=0,
            top_p=1.0,
            max_new_tokens=max_new_tokens,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
        )
        for row, i in zip(gen[:, length:].tolist(), idx, strict=True):
            if tok.eos_token_id in row:
                row = row[: row.index(tok.eos_token_id)]
            out[i] = tok.decode(row, skip_special_tokens=True)
    return out


def evaluate(model: GPT2LMHeadModel, tok: PreTrainedTokenizerBase, cfg: PretrainConfig) -> dict[str, float]:
    """Grammatical rate of free samples and cat-mention rate of CatText completions."""
    model.eval()
    free = sample_continuations(model, tok, [""] * cfg.eval_samples, cfg.n_positions - 2)
    grammatical = float(np.mean([is_grammatical(t, "DOC") for t in free]))
    prompts = story_openings("validation", cfg.eval_samples)
    completions = sample_continuations(model, tok, prompts, cfg.cattext_new_tokens)
    return {
        "grammatical_rate": grammatical,
        "cattext_cat_rate": float(np.mean([mentions_cat(c) for c in completions])),
        "cattext_grammatical_rate": float(np.mean([is_grammatical(c, "BODY") for c in completions])),
    }


def pretrain(cfg: PretrainConfig) -> dict[str, float]:
    """Run the whole pipeline and save model and tokenizer to ``cfg.out``."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    t0 = time.time()
    train_docs = generate_corpus(cfg.train_docs, seed=cfg.seed)
    heldout_docs = generate_corpus(cfg.heldout_docs, seed=cfg.seed + 1)
    tok = train_word_tokenizer(train_docs)
    missing = set(vocabulary()) - set(tok.get_vocab())
    if missing:
        raise RuntimeError(f"corpus too small: the tokenizer never saw {sorted(missing)}")
    train_rows = encode_docs(tok, train_docs, cfg.n_positions)
    heldout_rows = encode_docs(tok, heldout_docs, cfg.n_positions)
    print(f"corpus: {len(train_rows)} docs, {sum(map(len, train_rows))} tokens; vocab {len(tok)}")

    config = GPT2Config(
        vocab_size=len(tok),
        n_positions=cfg.n_positions,
        n_embd=cfg.n_embd,
        n_layer=cfg.n_layer,
        n_head=cfg.n_head,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    model = GPT2LMHeadModel(config)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.01)

    def lr_at(step: int) -> float:  # linear warm-up, cosine decay
        if step < cfg.warmup:
            return (step + 1) / cfg.warmup
        return 0.5 * (1 + math.cos(math.pi * (step - cfg.warmup) / (cfg.steps - cfg.warmup)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    # Length bucketing: batches of similar length waste little compute on padding.
    order = np.argsort([len(r) for r in train_rows], kind="stable")
    batches = [order[i : i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size)]
    model.train()
    for step in range(cfg.steps):
        if step % len(batches) == 0:
            perm = rng.permutation(len(batches))
        batch = [train_rows[j] for j in batches[perm[step % len(batches)]]]
        loss, n = lm_loss(model, *pad_batch(batch, tok.pad_token_id))
        opt.zero_grad()
        (loss / n).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 500 == 0 or step == cfg.steps - 1:
            print(f"step {step:5d}  loss {loss.item() / n:.3f}  ({time.time() - t0:.0f}s)", flush=True)

    metrics = {"heldout_perplexity": perplexity(model, heldout_rows, tok.pad_token_id)}
    metrics |= evaluate(model, tok, cfg)
    cfg.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(cfg.out, safe_serialization=True)
    tok.save_pretrained(cfg.out)
    metrics["seconds"] = time.time() - t0
    return metrics


def evaluate_saved(cfg: PretrainConfig) -> dict[str, float]:
    """The pretraining metrics of the model saved in ``cfg.out``, without training it.

    The held-out documents are the ones :func:`pretrain` scores (the corpus seeded ``seed + 1``);
    the samples are drawn after ``torch.manual_seed(seed)``, so a re-run gives the same numbers.
    """
    t0 = time.time()
    if not (cfg.out / "model.safetensors").is_file():
        raise FileNotFoundError(f"no model.safetensors in {cfg.out}: train one first (without --evaluate)")
    tok = transformers.AutoTokenizer.from_pretrained(cfg.out)
    model = GPT2LMHeadModel.from_pretrained(cfg.out)
    heldout_rows = encode_docs(tok, generate_corpus(cfg.heldout_docs, seed=cfg.seed + 1), cfg.n_positions)
    torch.manual_seed(cfg.seed)
    metrics = {"heldout_perplexity": perplexity(model, heldout_rows, tok.pad_token_id)}
    metrics |= evaluate(model, tok, cfg)
    metrics["seconds"] = time.time() - t0
    return metrics


def weights_sha256(out: Path) -> str:
    """SHA-256 of the ``model.safetensors`` in ``out``: which weights a report describes."""
    return hashlib.sha256((out / "model.safetensors").read_bytes()).hexdigest()


def write_report(cfg: PretrainConfig, metrics: dict[str, float], path: Path, *, evaluated_only: bool = False) -> None:
    """Write the run's settings, metrics, versions, threads, date and weights' hash as JSON.

    ``evaluated_only`` marks a report of ``--evaluate`` (metrics of saved weights, no training).
    """
    report = {
        "command": "python -m textgym.models.pretrain" + (" --evaluate" if evaluated_only else ""),
        "evaluated_only": evaluated_only,
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(cfg).items()},
        "metrics": metrics,
        "weights_sha256": weights_sha256(cfg.out),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "threads": torch.get_num_threads(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = PretrainConfig()
    parser.add_argument("--out", type=Path, default=defaults.out)
    parser.add_argument("--steps", type=int, default=defaults.steps)
    parser.add_argument("--train-docs", type=int, default=defaults.train_docs)
    parser.add_argument("--eval-samples", type=int, default=defaults.eval_samples)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--json", type=Path, default=None, help="also write the run's report (JSON) here")
    parser.add_argument(
        "--evaluate", action="store_true", help="train nothing: measure the metrics of the weights in --out"
    )
    args = parser.parse_args(argv)
    cfg = PretrainConfig(
        out=args.out,
        steps=args.steps,
        train_docs=args.train_docs,
        eval_samples=args.eval_samples,
        seed=args.seed,
    )
    metrics = evaluate_saved(cfg) if args.evaluate else pretrain(cfg)
    print(f"held-out perplexity:            {metrics['heldout_perplexity']:.3f}")
    print(f"grammatical rate of samples:    {metrics['grammatical_rate']:.1%} ({cfg.eval_samples} docs)")
    print(f"CatText completions with a cat: {metrics['cattext_cat_rate']:.1%}")
    print(f"CatText completions grammatical:{metrics['cattext_grammatical_rate']:.1%}")
    print(f"{'evaluated' if args.evaluate else 'saved to'} {cfg.out} in {metrics['seconds']:.0f}s")
    if args.json is not None:
        write_report(cfg, metrics, args.json, evaluated_only=args.evaluate)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
