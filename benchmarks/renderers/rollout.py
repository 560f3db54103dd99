"""The tables of ``benchmarks/rollout.py``: rollout tokens/s of SB3 collection against generate and the naive ways."""

from __future__ import annotations

from typing import Any

from .markdown import load, markdown_table

#: The method of each row whose speed ours is compared with -> its key in ``ratios_tokens_per_s``.
RATIO_OF = {
    "transformers generate (KV cache)": "ours / generate",
    "naive, bare loop: recompute prefix": "ours / naive (bare loop)",
    "naive, SB3 loop: policy without cache": "ours / naive (SB3 loop)",
}


def render(data: dict[str, Any]) -> str:
    """Each method's tokens/s, with ours' speed over it."""
    rows = []
    for name, tokens_per_s in data["tokens_per_s"].items():
        key = RATIO_OF.get(name)  # ours' own row has no ratio
        ratio = f"**{data['ratios_tokens_per_s'][key]:.2f}×**" if key else ""
        rows.append([name, f"{tokens_per_s:,.0f}", ratio])
    note = (
        f"{data['model']}, {data['n_envs']} envs, {data['new_tokens']} new tokens, reward: {data['reward']}; "
        f"{data['timing']}; torch {data['torch']}, {data['threads']} threads{load(data)}; {data['date'][:10]}."
    )
    return markdown_table(("method", "tokens/s", "ours' speed over it"), rows) + "\n" + note + "\n"


TABLES = {
    "rollout_tiny.md": ("rollout_tiny.json", render),
    "rollout_smollm2-135m.md": ("rollout_smollm2-135m.json", render),
    "rollout_gemma3-270m.md": ("rollout_gemma3-270m.json", render),
}
