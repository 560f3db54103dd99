"""The table of ``benchmarks/real_lm.py``: a real LM's held-out score before and after RL, one row per run."""

from __future__ import annotations

from typing import Any

from .markdown import markdown_table, mean_se, percent


def _measure(run: dict[str, Any], name: str, digits: int) -> str:
    """``before → after`` of one second measure (``real_lm.summarize``'s ``measures``)."""
    before, after = run["before"]["measures"][name], run["textgym"]["after"]["measures"][name]
    return f"{before:.{digits}f} → {after:.{digits}f}"


def render(runs: list[dict[str, Any]]) -> str:
    """One row per stored run: task, training, test score before and after, the paired gain, second measures."""
    columns = (
        "task (model, algorithm, seed)",
        "training",
        "test score, sampled",
        "paired gain",
        "words per answer",
        "base LM log-likelihood per token",
        "distinct-2",
    )
    rows = []
    for run in runs:
        s, ours = run["settings"], run["textgym"]
        gain = ours["paired"]
        tag = f", {s['tag'].strip('_')}" if s.get("tag") else ""
        rows.append(
            [
                f"{run['env_id'].split('/')[-1]} ({run['model']}, {run['algo'].upper()}, seed {s['seed']}{tag})",
                f"{ours['steps']} steps of {s['n_envs']} completions (groups of {s['group_size']}) in "
                f"{ours['train_seconds'] / 60:.0f} min, lr {s['lr']:g}, KL {s['kl_coef']:g}; "
                f"{s['val_items']} validation items",
                f"{percent(run['before']['score'])} → **{percent(ours['after']['score'])}**",
                mean_se(100 * gain["score_gain"], 100 * gain["score_standard_error"], digits=1, signed=True)
                + f" points ({gain['score_gain'] / gain['score_standard_error']:.0f} SE, {gain['n_pairs']} pairs)",
                _measure(run, "mean_words", 1),
                _measure(run, "base_log_likelihood_per_token", 2),
                _measure(run, "distinct_2", 2),
            ]
        )
    # Rows come in file-name order, so the dates, loads and machines are read from all of them.
    loads = sorted(run["load_average"][0] for run in runs)
    dates = sorted(run["date"][:10] for run in runs)
    machines = ", ".join(sorted({run["machine"] for run in runs}))
    note = (
        "Each row is one run of `python benchmarks/real_lm.py --task TASK --minutes M --seed S` "
        f"({machines}; {dates[0]} to {dates[-1]}; load average "
        f"{loads[0]:.1f}-{loads[-1]:.1f} at the end, beside other jobs). The test items are held out and scored "
        "before and after on the same seeds, sampling at temperature 1 as the agent trains. The training budget "
        "is wall time, so the step count follows the machine's load."
    )
    return markdown_table(columns, rows) + "\n" + note + "\n"


TABLES = {"real_lm.md": ("real_lm_*.json", render)}
