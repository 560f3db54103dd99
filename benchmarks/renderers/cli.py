"""The tables of the CLI's JSON: ``textgym train --json`` runs, and ``benchmarks/main_command.py``'s train + eval."""

from __future__ import annotations

from typing import Any

from .markdown import markdown_table, percent, threads


def _cat_text(summary: dict[str, Any]) -> list[str]:
    """A CatText evaluation's cells: the cat rate, the grammatical rate and the mean reward."""
    c = summary["components"]
    return [percent(c["topic"]), percent(c["fluency"]), f"{summary['mean_reward']:.3f}"]


def _cat_text_columns(env_id: str) -> tuple[str, ...]:
    return (f"tiny model on {env_id.split('/')[-1]}", "mentions a cat", "grammatical", "mean reward (max 2)")


def train_run(data: dict[str, Any]) -> str:
    """Before/after a ``textgym train`` run on CatText, and its training time."""
    rows = [
        ["before (validation prompts)", *_cat_text(data["before"])],
        [f"after {data['algo'].upper()}, {data['timesteps']:,} steps (validation prompts)", *_cat_text(data["after"])],
    ]
    groups = f", groups of {data['group_size']}" if data["group_size"] else ""  # None for PPO
    note = f"Training took {data['train_seconds']:.0f} s ({data['n_envs']} slots{groups})."
    return markdown_table(_cat_text_columns(data["env_id"]), rows) + "\n" + note + "\n"


def main_command(data: dict[str, Any]) -> str:
    """The README's PPO table: the main command's validation numbers and its test-split evaluation."""
    train, test = data["train"], data["eval"]
    algo = train["algo"].upper()
    rows = [
        [f"before {algo} (validation prompts)", *_cat_text(train["before"])],
        [f"after {algo}, {train['timesteps']:,} steps (validation prompts)", *_cat_text(train["after"])],
        [f"after {algo}, `textgym eval ... --split {test['split']}`", *_cat_text(test)],
    ]
    return markdown_table(_cat_text_columns(train["env_id"]), rows)


def train_classify(data: dict[str, Any]) -> str:
    """Validation accuracy before/after a ``textgym train`` run on Classify-v0, and how it ran."""
    columns = (f"{data['model']} model on {data['env_id'].split('/')[-1]}", "validation accuracy")
    rows = [
        ["before training (base rate)", percent(data["before"]["components"]["correct"])],
        [f"after {data['algo'].upper()}, {data['timesteps']:,} steps", percent(data["after"]["components"]["correct"])],
    ]
    kl = "the algorithm's default KL" if data["kl_coef"] is None else f"KL {data['kl_coef']:g}"
    note = (
        f"`textgym train` (lr {data['learning_rate']:g}, {kl}, seed {data['seed']}) trained "
        f"for {data['train_seconds']:.0f} s ({data['n_envs']} slots) on {threads(data['threads'])} of the 2-core "
        f"machine, {data['date'][:10]}; {data['eval_episodes']} validation episodes, sampling at temperature 1."
    )
    return markdown_table(columns, rows) + "\n" + note + "\n"


TABLES = {
    "main_command_ppo.md": ("main_command_ppo.json", main_command),
    "train_grpo_cattext.md": ("train_grpo_cattext.json", train_run),
    "train_rloo_cattext.md": ("train_rloo_cattext.json", train_run),
    "train_ppo_classify.md": ("train_ppo_classify.json", train_classify),
}
