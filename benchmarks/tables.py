"""Render the measured tables of README.md and docs/ from the JSON the benchmarks wrote.

A table lives between two markers, naming its renderer and its JSON file (or a glob of
files, whose records the renderer gets as a list in path order)::

    <!-- table: peer_trl benchmarks/results/peer_trl.json -->
    | ... generated ... |
    <!-- /table -->

``python benchmarks/tables.py`` rewrites every such block from its JSON;
``python benchmarks/tables.py --check`` exits 1 and names each block that differs (the test
``tests/test_docs_tables.py`` runs the same check), so no measured number is typed by hand.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"(<!-- table: (\S+) (\S+) -->\n)(.*?)(<!-- /table -->)", re.DOTALL)


def _f(x: float | None, digits: int = 1, suffix: str = "") -> str:
    return "—" if x is None else f"{x:,.{digits}f}{suffix}"


def peer_trl(data: dict[str, Any]) -> str:
    """textgym GRPO vs TRL GRPOTrainer (benchmarks/peer_trl.py)."""
    fl = data["fluency"]
    rows = [
        "| system | s per step (in turns) | steps to 0.9 | wall s to 0.9 | base-model log-lik / token "
        "| cat rate of samples |",
        "|---|---|---|---|---|---|",
        f"| base model (no training) | | | | {_f(fl['base']['log_likelihood_per_token'], 2)} | "
        f"{_f(100 * fl['base']['cat_rate'], 0, '%')} |",
    ]
    names = {"trl": "TRL `GRPOTrainer`", "textgym": "textgym `GRPO`", "textgym_kl": "textgym `GRPO` + KL"}
    for key, label in names.items():
        run = data.get(key)
        if not run:
            continue
        if key == "textgym_kl":
            cfg = data["config"]
            how = {"k1_reward": "k1 in the reward", "k3_loss": "k3 in the loss"}[cfg.get("kl_estimator", "k3_loss")]
            scaling = f", {cfg['kl_scale_rewards']} scaling" if "kl_scale_rewards" in cfg else ""
            beta = f"β = {cfg['kl_coef']}"
            if cfg.get("kl_target") is not None:
                beta = f"adaptive β from {cfg['kl_coef']} toward {cfg['kl_target']} nats/token"
            label += f" ({beta}, {how}{scaling}, alone)"
        per = run["seconds_per_step_median_in_turns"] or run["seconds_per_step_median"]
        rows.append(
            f"| {label} | {_f(per, 2)} | {run['steps_to_0.9'] or '—'} | {_f(run['seconds_to_0.9'], 0)} | "
            f"{_f(fl[key]['log_likelihood_per_token'], 2)} | {_f(100 * fl[key]['cat_rate'], 0, '%')} |"
        )
    lines = "\n".join(rows)
    ratio = data.get("step_time_ratio_textgym_over_trl")
    t_ratio = data.get("time_to_0.9_ratio_textgym_over_trl")
    notes = [f"Measured {data['date'][:10]} ({data['machine']})"]
    if ratio:
        notes.append(f"textgym's step takes {ratio:.2f}× TRL's")
    if t_ratio:
        notes.append(f"its time to 0.9 is {t_ratio:.2f}× TRL's")
    return lines + "\n\n" + "; ".join(notes) + ".\n"


def buffer_memory(data: dict[str, Any]) -> str:
    """Rollout buffer bytes, ours vs SB3's DictRolloutBuffer (benchmarks/buffer_memory.py)."""
    rows = [
        "| rollout shape | `DictRolloutBuffer` | `EpisodeRolloutBuffer` | smaller by |",
        "|---|---|---|---|",
    ]
    for r in data["rows"]:
        rows.append(
            f"| {r['shape']}, {r['n_envs']} envs × {r['n_steps']} steps | {r['sb3_bytes'] / 2**20:,.2f} MiB | "
            f"{r['ours_bytes'] / 2**10:,.1f} KiB | **{r['ratio']:.0f}×** |"
        )
    return "\n".join(rows) + "\n"


def train_run(data: dict[str, Any]) -> str:
    """Before/after table of a ``textgym train`` run (its ``textgym.json``) on CatText."""
    before, after = data["before"], data["after"]

    def row(label: str, r: dict[str, Any]) -> str:
        c = r["components"]
        return f"| {label} | {100 * c['topic']:.1f}% | {100 * c['fluency']:.1f}% | {r['mean_reward']:.3f} |"

    head = [
        f"| tiny model on {data['env_id'].split('/')[-1]} | mentions a cat | grammatical | mean reward (max 2) |",
        "|---|---|---|---|",
        row("before (validation prompts)", before),
        row(f"after {data['algo'].upper()}, {data['timesteps']:,} steps (validation prompts)", after),
    ]
    note = f"\nTraining took {data['train_seconds']:.0f} s"
    if data.get("n_envs"):
        note += (
            f" ({data['n_envs']} slots" + (f", groups of {data['group_size']}" if data.get("group_size") else "") + ")"
        )
    return "\n".join(head) + "\n" + note + ".\n"


def main_command(data: dict[str, Any]) -> str:
    """The README's PPO table: the main command's validation numbers and its test eval (benchmarks/main_command.py)."""
    train, test = data["train"], data["eval"]

    def row(label: str, r: dict[str, Any]) -> str:
        c = r["components"]
        return f"| {label} | {100 * c['topic']:.1f}% | {100 * c['fluency']:.1f}% | {r['mean_reward']:.3f} |"

    algo, env = train["algo"].upper(), train["env_id"].split("/")[-1]
    rows = [
        f"| tiny model on {env} | mentions a cat | grammatical | mean reward (max 2) |",
        "|---|---|---|---|",
        row(f"before {algo} (validation prompts)", train["before"]),
        row(f"after {algo}, {train['timesteps']:,} steps (validation prompts)", train["after"]),
        row(f"after {algo}, `textgym eval ... --split {test['split']}`", test),
    ]
    return "\n".join(rows) + "\n"


def train_classify(data: dict[str, Any]) -> str:
    """Validation accuracy before/after a ``textgym train`` run on Classify-v0 (its ``textgym.json``)."""
    before, after = data["before"], data["after"]
    rows = [
        f"| {data['model']} model on {data['env_id'].split('/')[-1]} | validation accuracy |",
        "|---|---|",
        f"| before training (base rate) | {100 * before['components']['correct']:.1f}% |",
        f"| after {data['algo'].upper()}, {data['timesteps']:,} steps | {100 * after['components']['correct']:.1f}% |",
    ]
    if "threads" in data:  # runs since the summary records its settings and threads
        threads = f"{data['threads']} thread" + ("s" if data["threads"] != 1 else "")
        kl = "the algorithm's default KL" if data["kl_coef"] is None else f"KL {data['kl_coef']:g}"
        note = (
            f"\n`textgym train` (lr {data['learning_rate']:g}, {kl}, seed {data['seed']}) trained "
            f"for {data['train_seconds']:.0f} s ({data['n_envs']} slots) on {threads} of the 2-core machine, "
            f"{data['date'][:10]}; {data['eval_episodes']} validation episodes, sampling at temperature 1.\n"
        )
    else:
        note = (
            f"\nTraining took {data['train_seconds']:.0f} s ({data['n_envs']} slots) on one CPU thread of a shared "
            "2-core machine (slower than 2 free cores); 256 validation episodes, sampling at temperature 1.\n"
        )
    return "\n".join(rows) + "\n" + note


def memory(data: dict[str, Any]) -> str:
    """Peak resident memory of a SmolLM2 PPO step, full vs LoRA (benchmarks/memory.py)."""
    rows = [
        "| SmolLM2-135M PPO, one rollout + update | trainable / all parameters | peak RSS after building | "
        "peak RSS after the step |",
        "|---|---|---|---|",
    ]
    for r in data["rows"]:
        label = "LoRA (adapters; reference = adapters off)" if r["config"] == "lora" else "full (reference = a copy)"
        peak = r["peak_rss_mib"]
        rows.append(
            f"| {label}, {r['n_envs']} envs × {r['new_tokens']} tokens | {r['trainable_parameters'] / 1e6:.1f}M / "
            f"{r['parameters'] / 1e6:.1f}M | {peak['after_build']:,.0f} MiB | {peak['after_step']:,.0f} MiB |"
        )
    return "\n".join(rows) + "\n"


def rollout(data: dict[str, Any]) -> str:
    """Rollout tokens/s of SB3 collection vs generate and the naive ways (benchmarks/rollout.py)."""
    rows = ["| method | tokens/s | ours' speed over it |", "|---|---|---|"]
    ratio_of = {
        "transformers generate (KV cache)": "ours / generate",
        "naive, bare loop: recompute prefix": "ours / naive (bare loop)",
        "naive, SB3 loop: policy without cache": "ours / naive (SB3 loop)",
    }
    for name, tps in data["tokens_per_s"].items():
        key = ratio_of.get(name)
        ratio = f"**{data['ratios_tokens_per_s'][key]:.2f}×**" if key else ""
        rows.append(f"| {name} | {tps:,.0f} | {ratio} |")
    note = (
        f"{data['model']}, {data['n_envs']} envs, {data['new_tokens']} new tokens, reward: {data['reward']}; "
        f"{data['timing']}; torch {data['torch']}, {data['threads']} threads{_load(data)}; {data['date'][:10]}."
    )
    return "\n".join(rows) + "\n\n" + note + "\n"


def train_step(data: dict[str, Any]) -> str:
    """One PPO rollout + update against the model-math floor, by part (benchmarks/train_step.py)."""
    med, r = data["median_seconds"], data["ratios"]
    rows = [
        "| ours | s | floor | s | ours' time / floor's |",
        "|---|---|---|---|---|",
        f"| rollout (SB3 `collect_rollouts`) | {med['rollout']:.2f} | `generate` (KV cache) | {med['generate']:.2f} "
        f"| **{r['rollout / generate']:.2f}×** |",
        f"| update (`PPO.train`, 1 epoch) | {med['update']:.2f} | forward+backward + AdamW step "
        f"| {med['forward_backward'] + med['optimizer']:.2f} "
        f"| **{r['update / (forward+backward + optimizer)']:.2f}×** |",
        f"| step | {data['ours_step_seconds']:.2f} | floor | {data['floor_step_seconds']:.2f} "
        f"| **{r['step / floor']:.2f}×** |",
    ]
    note = (
        f"{data['model']}, {data['n_envs']} envs × {data['new_tokens']} new tokens (EOS masked: one whole episode "
        f"per env per rollout); {data['timing']}; torch {data['torch']}, {data['threads']} threads{_load(data)}; "
        f"{data['date'][:10]}."
    )
    return "\n".join(rows) + "\n\n" + note + "\n"


def scaling(data: dict[str, Any]) -> str:
    """Env-steps/s of RayVecEnv with 1 and 2 workers and of the local env (benchmarks/scaling.py)."""
    cfg = data["config"]
    labels = {
        "workers=1": "`RayVecEnv`, 1 worker",
        "workers=2": "`RayVecEnv`, 2 workers",
        "local": "local (no Ray)",
        "rollout=1": "`RolloutWorkers` (tiny policy), 1 worker",
        "rollout=2": "`RolloutWorkers` (tiny policy), 2 workers",
    }
    rows = [
        "| env | reward CPU ms / episode | env-steps/s | ms per batched step | episodes timed |",
        "|---|---|---|---|---|",
    ]
    for r in sorted(data["rows"], key=lambda r: (-r["reward_ms"], list(labels).index(r["config"]))):
        per_step = 1000 * r["seconds"] / (r["env_steps"] / cfg["n_envs"])
        rows.append(
            f"| {labels[r['config']]} | {r['reward_ms']:g} | {r['env_steps_per_s']:,.0f} | {per_step:,.2f} | "
            f"{r['episodes']} |"
        )
    rollout = ""
    if "rollout_speedup_2_over_1" in data:
        rollout = (
            f"Rollout workers, 2 over 1: **{data['rollout_speedup_2_over_1']:.2f}×** "
            f"({cfg['rollouts']} collections of one episode per slot each). "
        )
    note = (
        rollout + f"`RayVecEnv`, 2 workers over 1: **{data['speedup_2_over_1']:.2f}×** with the costly reward, "
        f"{data['speedup_2_over_1_free_reward']:.2f}× with a free one; 1 Ray worker over local: "
        f"{data['ray_1_over_local']:.2f}×. {cfg['n_envs']} slots, {cfg['steps']} timed steps, best of "
        f"{cfg['repeats']} in turns, Ray on {cfg['ray_cpus']} CPUs; {data['machine']}; {data['date'][:10]}"
        + (" (quick smoke run: not a measurement)" if cfg["quick"] else "")
        + "."
    )
    return "\n".join(rows) + "\n\n" + note + "\n"


def _arm_return(summary: dict[str, Any]) -> str:
    """``mean ± standard error`` of one arm of ``benchmarks/hierarchy.py`` (its ``summary``)."""
    return f"{summary['mean_return']:.3f} ± {summary['stderr']:.3f}"


def _paired_scenarios(runs: list[dict[str, Any]]) -> str:
    """The numbers of paired test scenarios of ``benchmarks/hierarchy.py`` runs, e.g. ``"384"``."""
    return "/".join(str(k) for k in sorted({r["paired"]["n"] for r in runs}))


#: benchmarks/hierarchy.py's LM learning rate (``--lm-lr``), which runs from before the flag used.
DEFAULT_LM_LR = 3e-4


def _lm_lr(run: dict[str, Any]) -> float:
    """The LM learning rate of a ``benchmarks/hierarchy.py`` or ``hierarchy_oracle.py`` run."""
    return run["config"].get("lm_ppo", {}).get("learning_rate", DEFAULT_LM_LR)


def _settings(run: dict[str, Any]) -> str:
    """A ``benchmarks/hierarchy.py`` run's settings: v2, schedule, warm start, skill phase, a non-default LM lr.

    Runs from before a flag existed used its default: HierShop-v1, the alternating schedule, no
    warm start, no skill phase, lr 3e-4.
    """
    config = run["config"]
    label = _version_prefix(run) + config.get("schedule", "alternate")
    if config.get("sft"):
        label += f", warm start {config['sft']['steps']} steps"
    if config.get("skill_tokens"):
        label += f", skill phase {config['skill_tokens'] / 1024:g}k"
    lr = _lm_lr(run)
    return label + ("" if lr == DEFAULT_LM_LR else f", LM lr {lr_text(lr)}")


def _version_prefix(run: dict[str, Any]) -> str:
    """``"HierShop-v2, "`` for a run on v2; nothing for v1 (runs from before ``--version``)."""
    version = run["config"].get("version", "v1")
    return "" if version == "v1" else f"HierShop-{version}, "


def lr_text(lr: float) -> str:
    """A learning rate as ``1e-4`` (``f"{lr:.0e}"`` writes ``1e-04``)."""
    mantissa, exponent = f"{lr:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def hierarchy(data: dict[str, Any]) -> str:
    """Hierarchical training vs flat PPO, equal token budget, paired on test scenarios (benchmarks/hierarchy.py)."""

    def row(label: str, tokens: int, r: dict[str, Any]) -> str:
        c = r["components"]
        return f"| {label} | {tokens:,} | {_arm_return(r)} | {100 * c['success']:.1f}% | {c['helpfulness']:.3f} |"

    t, p = data["tokens"], data["paired"]
    rows = [
        "| arm | tokens written | test return (Dialogue-v0's reward) | goal met | helpful turns |",
        "|---|---|---|---|---|",
        row("hierarchical (`agents.make_hierarchical`)", t["hierarchical"], data["hierarchical"]),
        row("flat PPO on `Dialogue-v0` (`agents.make_ppo`)", data["flat_tokens"], data["flat"]),
    ]
    note = (
        f"\nPaired over {p['n']} test scenarios, hierarchical − flat: **{p['difference']:+.3f} ± {p['stderr']:.3f}** "
        f"({p['margin_se']:+.1f} standard errors; the issue's bar is +3). The hierarchy's tokens: "
        f"{t['low_ppo']:,} in low-level PPO rollouts, {t['high_rollouts']:,} written inside the high level's. "
        f"Command: `{data['command']}` (seed {data['config']['seed']}), {data['threads']} torch thread on a "
        f"shared 2-core machine; training took {data['train_seconds']['hierarchical']:.0f} s (hierarchical) and "
        f"{data['train_seconds']['flat']:.0f} s (flat).\n"
    )
    return "\n".join(rows) + "\n" + note


def hierarchy_runs(runs: list[dict[str, Any]]) -> str:
    """One line per ``benchmarks/hierarchy.py`` run: budget, seed, both arms and the paired gap, by budget."""
    rows = [
        "| settings | tokens per arm | seed | hierarchical | flat PPO | hierarchical − flat (paired) |",
        "|---|---|---|---|---|---|",
    ]
    for r in sorted(runs, key=lambda r: (_settings(r), r["config"]["tokens_budget"], r["config"]["seed"])):
        p = r["paired"]
        rows.append(
            f"| {_settings(r)} | {r['tokens']['hierarchical']:,} | {r['config']['seed']} | "
            f"{_arm_return(r['hierarchical'])} | "
            f"{_arm_return(r['flat'])} | {p['difference']:+.3f} ± {p['stderr']:.3f} ({p['margin_se']:+.1f} SE) |"
        )
    n = _paired_scenarios(runs)
    note = f"\nTest return (Dialogue-v0's reward), mean ± standard error over {n} paired test scenarios.\n"
    return "\n".join(rows) + "\n" + note


def hierarchy_budgets(runs: list[dict[str, Any]]) -> str:
    """``benchmarks/hierarchy.py`` runs grouped by budget: both arms and the gap, over seeds when there are several."""
    rows = [
        "| settings | tokens per arm | seeds | hierarchical | flat PPO | hierarchical − flat |",
        "|---|---|---|---|---|---|",
    ]
    for settings, budget in sorted({(_settings(r), r["config"]["tokens_budget"]) for r in runs}):
        group = sorted(
            (r for r in runs if (_settings(r), r["config"]["tokens_budget"]) == (settings, budget)),
            key=lambda r: r["config"]["seed"],
        )
        gaps = [r["paired"]["difference"] for r in group]
        if len(group) == 1:
            gap = f"{gaps[0]:+.3f} ± {group[0]['paired']['stderr']:.3f} (paired)"
        else:  # the seeds' spread, not the paired SE of one run: seed-to-seed variation is larger
            sem = statistics.stdev(gaps) / len(gaps) ** 0.5
            mean = statistics.mean(gaps)
            per_seed = ", ".join(f"{g:+.2f}" for g in gaps)
            gap = f"{mean:+.3f} ± {sem:.3f} over seeds, {mean / sem:+.1f} SE ({per_seed})"
        hier = statistics.mean(r["hierarchical"]["mean_return"] for r in group)
        flat = statistics.mean(r["flat"]["mean_return"] for r in group)
        rows.append(f"| {settings} | {budget:,} | {len(group)} | {hier:.3f} | {flat:.3f} | {gap} |")
    n = _paired_scenarios(runs)
    note = f"\nMean test return (Dialogue-v0's reward) on {n} paired test scenarios; ± is a standard error.\n"
    return "\n".join(rows) + "\n" + note


def hierarchy_oracle(runs: list[dict[str, Any]]) -> str:
    """The low level given the correct acts against the stored flat arm, per seed (benchmarks/hierarchy_oracle.py)."""
    rows = [
        "| settings | seed | tokens | low level, correct acts | flat PPO | correct acts − flat (paired) |",
        "|---|---|---|---|---|---|",
    ]
    for r in sorted(runs, key=lambda r: (_version_prefix(r), -_lm_lr(r), r["config"]["seed"])):
        o, p = r["oracle"], r["paired"]
        rows.append(
            f"| {_version_prefix(r)}LM lr {lr_text(_lm_lr(r))} | {r['config']['seed']} | {r['config']['tokens']:,} | "
            f"{o['mean_extrinsic']:.3f} ± {o['stderr']:.3f} | "
            f"{r['flat_mean_return']:.3f} | {p['difference']:+.3f} ± {p['stderr']:.3f} ({p['margin_se']:+.1f} SE) |"
        )
    n = "/".join(str(k) for k in sorted({r["paired"]["n"] for r in runs}))
    note = f"\nTest return (Dialogue-v0's reward, the extrinsic part), paired over {n} test scenarios.\n"
    return "\n".join(rows) + "\n" + note


def ray_ppo(data: dict[str, Any]) -> str:
    """Local PPO against PPO on Ray rollout workers, same settings and seed (benchmarks/ray_ppo.py)."""
    cfg = data["config"]
    rows = [
        "| tiny model on CatText-v0, same seed | mentions a cat | grammatical | mean reward (max 2) | training time |",
        "|---|---|---|---|---|",
    ]
    labels = {"local": "local PPO", "ray": f"PPO, {cfg['workers']} Ray rollout workers"}
    for key, label in labels.items():
        r = data[key]
        c = r["after"]["components"]
        rows.append(
            f"| {label}, {cfg['timesteps']:,} steps | {100 * c['topic']:.1f}% | {100 * c['fluency']:.1f}% | "
            f"{r['after']['mean_reward']:.3f} | {r['train_seconds']:,.0f} s |"
        )
    note = (
        f"{cfg['eval_episodes']} validation episodes after training; {cfg['n_envs']} slots, seed {cfg['seed']}, "
        f"Ray on {cfg['ray_cpus']} CPUs, {data['threads']} torch thread per process; {data['date'][:10]}"
        + (" (quick smoke run: not a measurement)" if cfg["quick"] else "")
        + "."
    )
    return "\n".join(rows) + "\n\n" + note + "\n"


def _load(data: dict[str, Any]) -> str:
    """The machine's load averages when a timing was written, if the run recorded them."""
    if "load_average" not in data:
        return ""
    one, five, _ = data["load_average"]
    return f"; load average {one:.2f} (1 min), {five:.2f} (5 min) at the end"


def update(data: dict[str, Any]) -> str:
    """PPO update ms per token against the bare forward+backward and the per-transition way (benchmarks/update.py)."""
    ms, r = data["ms_per_token"], data["ratios"]
    rows = [
        "| method | ms per token (one epoch) | |",
        "|---|---|---|",
        f"| ours: `PPO.train` | {ms['ours: PPO.train, one epoch']:.3f} | |",
        f"| floor: bare forward+backward+step over the same sequences "
        f"| {ms['floor: bare fwd+bwd over segment sequences']:.3f} "
        f"| ours' time / floor's: **{r['ours / floor']:.2f}×** |",
        f"| naive: forward+backward per transition | {ms['naive: fwd+bwd per transition']:.3f} "
        f"| naive's time / ours: **{r['naive / ours']:.1f}×** |",
    ]
    note = (
        f"{data['model']} model, {data['env']}, {data['n_envs']} envs × {data['n_steps']} steps "
        f"({data['transitions']:,} transitions in {data['segments']} episode segments), "
        f"minibatch {data['batch_size']}; "
        f"{data['timing']}; torch {data['torch']}, {data['threads']} threads{_load(data)}; {data['date'][:10]}."
    )
    return "\n".join(rows) + "\n\n" + note + "\n"


def time_to_reward(data: dict[str, Any]) -> str:
    """Wall time and steps for ``make_ppo`` to reach a mean training reward (benchmarks/time_to_reward.py)."""
    rows = [
        "| target (mean of the last 100 training episodes) | steps | s of training | s with setup "
        "| test-split reward after |",
        "|---|---|---|---|---|",
    ]
    if data["steps"] is None:
        rows.append(
            f"| {data['target']} | not reached in {data['max_steps']:,} | | {data['seconds_with_setup']:.0f} | |"
        )
    else:
        rows.append(
            f"| {data['target']} | {data['steps']:,} | {data['seconds']:.0f} | {data['seconds_with_setup']:.0f} "
            f"| {_pm(data['test'])} ({data['test']['n_episodes']} episodes) |"
        )
    note = (
        f"`agents.make_ppo` defaults, {data['model']} model, {data['env']}, seed {data['seed']}; "
        f"torch {data['torch']}, {data['threads']} threads{_load(data)}; {data['date'][:10]}."
    )
    return "\n".join(rows) + "\n\n" + note + "\n"


def goal_position(data: dict[str, Any]) -> str:
    """The base model's first HierShop reply with the act token before, after or without it (goal_position.py)."""
    rows = [
        "| act token | first-reply reward (Dialogue-v0's turn reward) | paired difference to no act token "
        "| replies that realize the act |",
        "|---|---|---|---|",
    ]
    for name, r in data["variants"].items():
        diff = (
            ""
            if name == next(iter(data["variants"]))
            else f"{r['paired_difference_to_no_act']:+.3f} ± {r['paired_standard_error']:.3f}"
        )
        rows.append(
            f"| {name} | {r['first_reply_reward']:.3f} ± {r['standard_error']:.3f} | {diff} "
            f"| {100 * r['realized_rate']:.1f}% |"
        )
    threads = f"{data['threads']} thread" + ("s" if data["threads"] != 1 else "")
    note = (
        f"The pretrained tiny model, no training; {data['episodes']} {data['split']} scenarios, the correct act, "
        f"sampling at temperature 1 with the same seed for the three; {threads}, {data['date'][:10]}."
    )
    return "\n".join(rows) + "\n\n" + note + "\n"


def _pm(r: dict[str, Any], digits: int = 3, bold: bool = False) -> str:
    """``mean ± standard error`` of an evaluation summary (benchmarks/common.evaluation_summary)."""
    mean = f"{r['mean_reward']:.{digits}f}"
    return f"{f'**{mean}**' if bold else mean} ± {r['standard_error']:.{digits}f}"


def _ran(data: dict[str, Any]) -> str:
    """How a run was made: its seconds, threads and date (benchmarks/common.write_result)."""
    threads = f"{data['threads']} thread" + ("s" if data["threads"] != 1 else "")
    smoke = " (a `--smoke` run: not a measurement)" if data.get("args", {}).get("smoke") else ""
    return f"took {data['seconds']:,.0f} s on {threads}, {data['date'][:10]}{smoke}"


def dialogue(data: dict[str, Any]) -> str:
    """Test-split reward before/after PPO on Dialogue-v0 (``examples/dialogue.py --json``)."""
    a, before, after, gain = data["args"], data["before"], data["after"], data["gain"]
    critic = "separate critic trunk" if a["separate_critic"] else "value head on the policy's trunk"

    def row(label: str, r: dict[str, Any], bold: bool) -> str:
        c = r["components"]
        return (
            f"| {label} | {_pm(r, bold=bold)} | {100 * c['success']:.1f}% | {c['helpfulness']:.3f} | "
            f"{c['fluency']:.2f} |"
        )

    rows = [
        f"| {a['model']} model on {a['env_id'].split('/')[-1]}, {before['n_episodes']} test episodes | reward "
        "| goal met | helpful turns / episode | grammatical turns / episode |",
        "|---|---|---|---|---|",
        row("base model", before, False),
        row(f"after PPO, {a['total_timesteps']:,} steps", after, True),
    ]
    note = (
        f"Paired gain **{gain['gain']:+.3f}** ± {gain['standard_error']:.3f} over {gain['n_pairs']} episodes. "
        f"`python examples/dialogue.py` (lr {a['learning_rate']:g}, KL {a['kl_coef']:g}, {critic}) {_ran(data)}."
    )
    return "\n".join(rows) + "\n\n" + note + "\n"


def summarization(data: dict[str, Any]) -> str:
    """Test-split ROUGE of the pretrained, supervised and PPO models (``examples/summarization.py --json``)."""
    a = data["args"]
    rows = [
        f"| {a['model']} model on {a['env_id'].split('/')[-1]}, {data['after']['n_episodes']} test reports "
        "| ROUGE (mean of 1/2/L F1) |",
        "|---|---|",
        f"| pretrained | {_pm(data['pretrained'])} |",
    ]
    if data["supervised"] is not None:
        rows.append(f"| supervised, {a['sft_steps']} steps (PPO's start) | {_pm(data['supervised'])} |")
    rows.append(f"| after PPO, {a['total_timesteps']:,} steps | {_pm(data['after'], bold=True)} |")
    start, whole = data["gain_over_start"], data["gain_over_pretrained"]
    note = f"PPO's paired gain over its start: **{start['gain']:+.3f}** ± {start['standard_error']:.3f}"
    if data["supervised"] is not None:
        note += f"; over the pretrained model: {whole['gain']:+.3f} ± {whole['standard_error']:.3f}"
    note += (
        f". `python examples/summarization.py` (lr {a['learning_rate']:g}, KL {a['kl_coef']:g} to PPO's start) "
        f"{_ran(data)}."
    )
    return "\n".join(rows) + "\n\n" + note + "\n"


def rlhf_pipeline(data: dict[str, Any]) -> str:
    """Hidden-preference score of the base model and each PPO seed (``examples/rlhf_pipeline.py --json``)."""
    names = ("grammar", "cat", "place", "short")

    def row(label: str, r: dict[str, Any]) -> str:
        return f"| {label} | {_pm(r)} | " + " | ".join(f"{r['components'][n]:.2f}" for n in names) + " |"

    rows = [
        "| | hidden preference (of 4) | grammatical | cat | place | short |",
        "|---|---|---|---|---|---|",
        row("base model", data["before"]),
        *(row(f"PPO, seed {r['seed']}", r) for r in data["ppo"]),
        f"| **margin over the base model** | **{data['margin_mean']:+.3f}** ± {data['margin_standard_error']:.3f} "
        f"across seeds ({', '.join(f'{m:+.3f}' for m in data['margins'])}) | | | | |",
    ]
    a = data["args"]
    note = (
        f"Reward model ({a['feedback']} feedback, `pooling={a['rm_pooling']!r}`): it orders "
        f"**{100 * data['rm_accuracy']:.1f}%** of {data['rm_accuracy_pairs']:,} pairs of held-out completions as "
        f"the hidden preference does. `python examples/rlhf_pipeline.py` {_ran(data)}."
    )
    return "\n".join(rows) + "\n\n" + note + "\n"


def reward_accuracy(data: dict[str, Any]) -> str:
    """Held-out accuracy by pooling and feedback kind (benchmarks/reward_accuracy.py)."""
    if not data["complete"]:
        raise ValueError("reward_accuracy: that run was cut short (complete: false); run benchmarks/reward_accuracy.py")
    kinds = ("rating", "preference", "ranking", "edit")
    acc = {(r["pooling"], r["kind"]): r["accuracy"] for r in data["rows"]}
    poolings = list(dict.fromkeys(r["pooling"] for r in data["rows"]))
    best = {k: max(acc[p, k] for p in poolings) for k in kinds}
    rows = ["| pooling | " + " | ".join(kinds) + " |", "|---" * (len(kinds) + 1) + "|"]
    for p in poolings:
        cells = [f"**{acc[p, k]:.3f}**" if acc[p, k] == best[k] else f"{acc[p, k]:.3f}" for k in kinds]
        rows.append(f'| `"{p}"` | ' + " | ".join(cells) + " |")
    pairs = sorted({r["n_pairs"] for r in data["rows"]})
    note = (
        f"{'/'.join(f'{n:,}' for n in pairs)} held-out pairs; `python benchmarks/reward_accuracy.py` "
        f"{_ran(data)} ({len(data['rows'])} reward models)."
    )
    return "\n".join(rows) + "\n\n" + note + "\n"


def pretrain(data: dict[str, Any]) -> str:
    """The tiny model's pretraining metrics (``python -m textgym.models.pretrain --json``).

    The report names its weights by SHA-256; the note says whether they are the shipped ones
    (``textgym/models/tiny/model.safetensors``), so a report of another run cannot pass as theirs.
    """
    m, cfg = data["metrics"], data["config"]
    shipped = hashlib.sha256((ROOT / "textgym" / "models" / "tiny" / "model.safetensors").read_bytes()).hexdigest()
    rows = [
        f"| held-out perplexity | grammatical rate of free samples ({cfg['eval_samples']}) "
        "| CatText completions that mention a cat | CatText completions that are grammatical |",
        "|---|---|---|---|",
        f"| {m['heldout_perplexity']:.3f} | {100 * m['grammatical_rate']:.1f}% | {100 * m['cattext_cat_rate']:.1f}% "
        f"| {100 * m['cattext_grammatical_rate']:.1f}% |",
    ]
    which = "the shipped weights" if data["weights_sha256"] == shipped else "**not** the shipped weights"
    threads = f"{data['threads']} thread" + ("s" if data["threads"] != 1 else "")
    if data.get("evaluated_only"):
        note = (
            f"`{data['command']}` (no training: {cfg['eval_samples']} samples each, seed {cfg['seed']}) measured "
            f"{which} (SHA-256 {data['weights_sha256'][:12]}…) in {m['seconds']:.0f} s on {threads}, "
            f"{data['date'][:10]}."
        )
    else:
        note = (
            f"`{data['command']}` ({cfg['train_docs']:,} documents, {cfg['steps']:,} steps, seed {cfg['seed']}) "
            f"took {m['seconds'] / 60:.0f} min on {threads}, {data['date'][:10]}; it wrote {which} "
            f"(SHA-256 {data['weights_sha256'][:12]}…)."
        )
    return "\n".join(rows) + "\n\n" + note + "\n"


RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "train_step": train_step,
    "scaling": scaling,
    "ray_ppo": ray_ppo,
    "rollout": rollout,
    "goal_position": goal_position,
    "update": update,
    "time_to_reward": time_to_reward,
    "memory": memory,
    "peer_trl": peer_trl,
    "buffer_memory": buffer_memory,
    "train_run": train_run,
    "main_command": main_command,
    "train_classify": train_classify,
    "hierarchy_runs": hierarchy_runs,
    "hierarchy_budgets": hierarchy_budgets,
    "hierarchy_oracle": hierarchy_oracle,
    "hierarchy": hierarchy,
    "dialogue": dialogue,
    "summarization": summarization,
    "rlhf_pipeline": rlhf_pipeline,
    "reward_accuracy": reward_accuracy,
    "pretrain": pretrain,
}


def render_file(path: Path) -> tuple[str, list[str]]:
    """The file's text with every table block re-rendered, and the names of blocks that changed."""
    text = path.read_text()
    changed: list[str] = []

    def sub(m: re.Match[str]) -> str:
        name, source = m.group(2), m.group(3)
        if name not in RENDERERS:
            raise ValueError(f"{path}: unknown table {name!r}; known: {sorted(RENDERERS)}")
        is_glob = "*" in source  # a glob: the renderer gets the list of records, in path order
        paths = [p for p in sorted(ROOT.glob(source)) if p.is_file()]
        if not paths:
            missing = "matches no file" if is_glob else "does not exist"
            raise FileNotFoundError(f"{path}: table {name!r} reads {source}, which {missing}")
        records = [json.loads(p.read_text()) for p in paths]
        body = RENDERERS[name](records if is_glob else records[0])
        if body != m.group(4):
            changed.append(f"{path.relative_to(ROOT)}: {name} ({source})")
        return m.group(1) + body + m.group(5)

    return BLOCK.sub(sub, text), changed


def documents() -> list[Path]:
    """README.md and every Markdown page under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true", help="only report blocks that differ from their JSON")
    args = parser.parse_args()
    stale: list[str] = []
    for path in documents():
        text, changed = render_file(path)
        stale += changed
        if changed and not args.check:
            path.write_text(text)
    for line in stale:
        print(("differs: " if args.check else "rewrote: ") + line)
    sys.exit(1 if stale and args.check else 0)


if __name__ == "__main__":
    main()
