"""The table of ``benchmarks/update.py``: PPO update ms per token against the bare floor and the per-transition way."""

from __future__ import annotations

from typing import Any

from .markdown import load, markdown_table


def render(data: dict[str, Any]) -> str:
    """Ours', the floor's and the naive way's ms per token, with the two ratios."""
    ms, r = data["ms_per_token"], data["ratios"]
    rows = [
        ["ours: `PPO.train`", f"{ms['ours: PPO.train, one epoch']:.3f}", ""],
        [
            "floor: bare forward+backward+step over the same sequences",
            f"{ms['floor: bare fwd+bwd over segment sequences']:.3f}",
            f"ours' time / floor's: **{r['ours / floor']:.2f}×**",
        ],
        [
            "naive: forward+backward per transition",
            f"{ms['naive: fwd+bwd per transition']:.3f}",
            f"naive's time / ours: **{r['naive / ours']:.1f}×**",
        ],
    ]
    note = (
        f"{data['model']} model, {data['env']}, {data['n_envs']} envs × {data['n_steps']} steps "
        f"({data['transitions']:,} transitions in {data['segments']} episode segments), "
        f"minibatch {data['batch_size']}; "
        f"{data['timing']}; torch {data['torch']}, {data['threads']} threads{load(data)}; {data['date'][:10]}."
    )
    return markdown_table(("method", "ms per token (one epoch)", ""), rows) + "\n" + note + "\n"


TABLES = {"update_tiny.md": ("update_tiny.json", render)}
