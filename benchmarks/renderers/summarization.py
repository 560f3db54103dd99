"""The table of ``examples/summarization.py --json``: test-split ROUGE of the pretrained, supervised and PPO models."""

from __future__ import annotations

from typing import Any

from .markdown import evaluation, markdown_table, mean_se, ran


def render(data: dict[str, Any]) -> str:
    """ROUGE of each stage (no supervised row after ``--sft-steps 0``) and PPO's paired gains."""
    a = data["args"]
    columns = (
        f"{a['model']} model on {a['env_id'].split('/')[-1]}, {data['after']['n_episodes']} test reports",
        "ROUGE (mean of 1/2/L F1)",
    )
    rows = [["pretrained", evaluation(data["pretrained"])]]
    if data["supervised"] is not None:
        rows.append([f"supervised, {a['sft_steps']} steps (PPO's start)", evaluation(data["supervised"])])
    rows.append([f"after PPO, {a['total_timesteps']:,} steps", evaluation(data["after"], bold=True)])
    start, whole = data["gain_over_start"], data["gain_over_pretrained"]
    gain = mean_se(start["gain"], start["standard_error"], bold=True, signed=True)
    note = f"PPO's paired gain over its start: {gain}"
    if data["supervised"] is not None:
        note += f"; over the pretrained model: {mean_se(whole['gain'], whole['standard_error'], signed=True)}"
    note += (
        f". `python examples/summarization.py` (lr {a['learning_rate']:g}, KL {a['kl_coef']:g} to PPO's start) "
        f"{ran(data, smoke=a['smoke'])}."
    )
    return markdown_table(columns, rows) + "\n" + note + "\n"


TABLES = {"summarization.md": ("summarization.json", render)}
