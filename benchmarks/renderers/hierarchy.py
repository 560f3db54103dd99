"""The tables of ``benchmarks/hierarchy.py``: hierarchical training against flat PPO at equal token budgets.

Three views of its runs: one run in full (:func:`run`), one line per run (:func:`runs`), and the
runs grouped by settings and budget with the gap averaged over seeds (:func:`budgets`).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from .markdown import markdown_table, mean_se, paired_gap, percent

#: benchmarks/hierarchy.py's LM learning rate (``--lm-lr``): the settings name any other.
DEFAULT_LM_LR = 3e-4


def lr_text(lr: float) -> str:
    """A learning rate as ``1e-4`` (``f"{lr:.0e}"`` writes ``1e-04``)."""
    mantissa, exponent = f"{lr:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def lm_lr(record: dict[str, Any]) -> float:
    """The LM learning rate of a ``benchmarks/hierarchy.py`` or ``hierarchy_oracle.py`` run."""
    return record["config"]["lm_ppo"]["learning_rate"]


def version_prefix(record: dict[str, Any]) -> str:
    """``"HierShop-v2, "`` for a run on v2; nothing for v1."""
    version = record["config"]["version"]
    return "" if version == "v1" else f"HierShop-{version}, "


def settings(record: dict[str, Any]) -> str:
    """A run's settings: HierShop's version past v1, the schedule, a warm start, a skill phase, another LM lr."""
    config = record["config"]
    label = version_prefix(record) + config["schedule"]
    if config["sft"] is not None:
        label += f", warm start {config['sft']['steps']} steps"
    if config["skill_tokens"]:
        label += f", skill phase {config['skill_tokens'] / 1024:g}k"
    lr = lm_lr(record)
    return label + ("" if lr == DEFAULT_LM_LR else f", LM lr {lr_text(lr)}")


def seeds_mean_se(values: Sequence[float]) -> tuple[float, float]:
    """The mean of per-seed values and its standard error across seeds (sample stdev / sqrt(n)).

    Raises:
        ValueError: for fewer than two values (one seed has no spread).
    """
    if len(values) < 2:
        raise ValueError(f"a standard error across seeds needs at least two seeds, got {len(values)}")
    return statistics.mean(values), statistics.stdev(values) / len(values) ** 0.5


def _arm(summary: dict[str, Any]) -> str:
    return mean_se(summary["mean_return"], summary["stderr"])


def paired_scenarios(records: list[dict[str, Any]]) -> str:
    """The numbers of paired test scenarios of the runs, e.g. ``"384/512"``."""
    return "/".join(str(k) for k in sorted({r["paired"]["n"] for r in records}))


def run(data: dict[str, Any]) -> str:
    """One run: both arms' test return, goal rate and helpfulness, the paired gap, tokens and times."""

    def row(label: str, tokens: int, arm: dict[str, Any]) -> list[object]:
        c = arm["components"]
        return [label, f"{tokens:,}", _arm(arm), percent(c["success"]), f"{c['helpfulness']:.3f}"]

    t, p = data["tokens"], data["paired"]
    columns = ("arm", "tokens written", "test return (Dialogue-v0's reward)", "goal met", "helpful turns")
    rows = [
        row("hierarchical (`agents.make_hierarchical`)", t["hierarchical"], data["hierarchical"]),
        row("flat PPO on `Dialogue-v0` (`agents.make_ppo`)", data["flat_tokens"], data["flat"]),
    ]
    note = (
        f"Paired over {p['n']} test scenarios, hierarchical − flat: "
        f"**{mean_se(p['difference'], p['stderr'], signed=True)}** "
        f"({p['margin_se']:+.1f} standard errors; the issue's bar is +3). The hierarchy's tokens: "
        f"{t['low_ppo']:,} in low-level PPO rollouts, {t['high_rollouts']:,} written inside the high level's. "
        f"Command: `{data['command']}` (seed {data['config']['seed']}), {data['threads']} torch thread on a "
        f"shared 2-core machine; training took {data['train_seconds']['hierarchical']:.0f} s (hierarchical) and "
        f"{data['train_seconds']['flat']:.0f} s (flat)."
    )
    return markdown_table(columns, rows) + "\n" + note + "\n"


def runs(records: list[dict[str, Any]]) -> str:
    """One line per run, by settings, budget and seed: both arms and the paired gap."""
    columns = ("settings", "tokens per arm", "seed", "hierarchical", "flat PPO", "hierarchical − flat (paired)")
    rows = [
        [
            settings(r),
            f"{r['tokens']['hierarchical']:,}",
            r["config"]["seed"],
            _arm(r["hierarchical"]),
            _arm(r["flat"]),
            paired_gap(r["paired"]),
        ]
        for r in sorted(records, key=lambda r: (settings(r), r["config"]["tokens_budget"], r["config"]["seed"]))
    ]
    n = paired_scenarios(records)
    note = f"Test return (Dialogue-v0's reward), mean ± standard error over {n} paired test scenarios."
    return markdown_table(columns, rows) + "\n" + note + "\n"


def budgets(records: list[dict[str, Any]]) -> str:
    """The runs grouped by settings and budget: both arms' mean and the gap, over seeds when there are several."""
    columns = ("settings", "tokens per arm", "seeds", "hierarchical", "flat PPO", "hierarchical − flat")
    rows = []
    for label, budget in sorted({(settings(r), r["config"]["tokens_budget"]) for r in records}):
        group = sorted(
            (r for r in records if (settings(r), r["config"]["tokens_budget"]) == (label, budget)),
            key=lambda r: r["config"]["seed"],
        )
        gaps = [r["paired"]["difference"] for r in group]
        if len(group) == 1:
            gap = f"{mean_se(gaps[0], group[0]['paired']['stderr'], signed=True)} (paired)"
        else:  # the seeds' spread, not the paired SE of one run: seed-to-seed variation is larger
            mean, sem = seeds_mean_se(gaps)
            per_seed = ", ".join(f"{g:+.2f}" for g in gaps)
            gap = f"{mean_se(mean, sem, signed=True)} over seeds, {mean / sem:+.1f} SE ({per_seed})"
        hier = statistics.mean(r["hierarchical"]["mean_return"] for r in group)
        flat = statistics.mean(r["flat"]["mean_return"] for r in group)
        rows.append([label, f"{budget:,}", len(group), f"{hier:.3f}", f"{flat:.3f}", gap])
    n = paired_scenarios(records)
    note = f"Mean test return (Dialogue-v0's reward) on {n} paired test scenarios; ± is a standard error."
    return markdown_table(columns, rows) + "\n" + note + "\n"


TABLES = {
    "hierarchy.md": ("hierarchy.json", run),
    "hierarchy_30k.md": ("hierarchy_30k.json", run),
    "hierarchy_60k.md": ("hierarchy_60k.json", run),
    "hierarchy_60k_seed1.md": ("hierarchy_60k_seed1.json", run),
    "hierarchy_runs.md": ("hierarchy*.json", runs),
    "hierarchy_v2_budgets.md": ("hierarchy_v2*.json", budgets),
}
