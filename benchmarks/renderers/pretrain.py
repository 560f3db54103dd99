"""The table of ``python -m textgym.models.pretrain --json``: the tiny model's pretraining metrics.

The report names its weights by SHA-256; the note says whether they are the shipped ones
(``textgym/models/tiny/model.safetensors``), so a report of another run cannot pass as theirs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from .markdown import markdown_table, percent, threads

SHIPPED = Path(__file__).resolve().parents[2] / "textgym" / "models" / "tiny" / "model.safetensors"


def render(data: dict[str, Any]) -> str:
    """Perplexity and sample rates, and how they were measured (trained, or ``--evaluate`` of saved weights)."""
    m, cfg = data["metrics"], data["config"]
    columns = (
        "held-out perplexity",
        f"grammatical rate of free samples ({cfg['eval_samples']})",
        "CatText completions that mention a cat",
        "CatText completions that are grammatical",
    )
    row = [
        f"{m['heldout_perplexity']:.3f}",
        percent(m["grammatical_rate"]),
        percent(m["cattext_cat_rate"]),
        percent(m["cattext_grammatical_rate"]),
    ]
    shipped = hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    which = "the shipped weights" if data["weights_sha256"] == shipped else "**not** the shipped weights"
    weights = f"{which} (SHA-256 {data['weights_sha256'][:12]}…)"
    if data["evaluated_only"]:
        note = (
            f"`{data['command']}` (no training: {cfg['eval_samples']} samples each, seed {cfg['seed']}) measured "
            f"{weights} in {m['seconds']:.0f} s on {threads(data['threads'])}, {data['date'][:10]}."
        )
    else:
        note = (
            f"`{data['command']}` ({cfg['train_docs']:,} documents, {cfg['steps']:,} steps, seed {cfg['seed']}) "
            f"took {m['seconds'] / 60:.0f} min on {threads(data['threads'])}, {data['date'][:10]}; it wrote {weights}."
        )
    return markdown_table(columns, [row]) + "\n" + note + "\n"


TABLES = {"pretrain_tiny.md": ("pretrain_tiny.json", render)}
