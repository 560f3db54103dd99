"""The table of ``benchmarks/train_step.py``: one PPO rollout + update against the model-math floor, by part."""

from __future__ import annotations

from typing import Any

from .markdown import load, markdown_table


def render(data: dict[str, Any]) -> str:
    """Rollout, update and the whole step: ours' seconds, the floor's, and the ratio."""
    med, r = data["median_seconds"], data["ratios"]
    floor_update = med["forward_backward"] + med["optimizer"]
    rows = [
        [
            "rollout (SB3 `collect_rollouts`)",
            f"{med['rollout']:.2f}",
            "`generate` (KV cache)",
            f"{med['generate']:.2f}",
            f"**{r['rollout / generate']:.2f}×**",
        ],
        [
            "update (`PPO.train`, 1 epoch)",
            f"{med['update']:.2f}",
            "forward+backward + AdamW step",
            f"{floor_update:.2f}",
            f"**{r['update / (forward+backward + optimizer)']:.2f}×**",
        ],
        [
            "step",
            f"{data['ours_step_seconds']:.2f}",
            "floor",
            f"{data['floor_step_seconds']:.2f}",
            f"**{r['step / floor']:.2f}×**",
        ],
    ]
    if data.get("eos", "masked") == "masked":  # results written before --allow-eos have no "eos"
        episodes = "EOS masked: one whole episode per env per rollout"
    else:
        episodes = (
            "EOS allowed: episodes end at the agent's EOS; the floor's forward+backward runs over the "
            "rollout's episode segments"
        )
    note = (
        f"{data['model']}, {data['n_envs']} envs × {data['new_tokens']} new tokens ({episodes}); "
        f"{data['timing']}; torch {data['torch']}, {data['threads']} threads{load(data)}; {data['date'][:10]}."
    )
    return markdown_table(("ours", "s", "floor", "s", "ours' time / floor's"), rows) + "\n" + note + "\n"


TABLES = {
    "train_step_smollm2-135m.md": ("train_step_smollm2-135m.json", render),
    "train_step_gemma3-270m.md": ("train_step_gemma3-270m.json", render),
}
