"""The table of ``benchmarks/scaling.py``: env-steps/s of ``RayVecEnv`` with 1 and 2 workers and of the local env."""

from __future__ import annotations

from typing import Any

from .markdown import markdown_table

#: The configurations in table order (within each reward cost) and their labels.
LABELS = {
    "workers=1": "`RayVecEnv`, 1 worker",
    "workers=2": "`RayVecEnv`, 2 workers",
    "local": "local (no Ray)",
    "rollout=1": "`RolloutWorkers` (tiny policy), 1 worker",
    "rollout=2": "`RolloutWorkers` (tiny policy), 2 workers",
}
COLUMNS = ("env", "reward CPU ms / episode", "env-steps/s", "ms per batched step", "episodes timed")


def render(data: dict[str, Any]) -> str:
    """One row per configuration and reward cost, the costly reward first; the speedups in the note."""
    cfg = data["config"]
    rows = []
    for r in sorted(data["rows"], key=lambda r: (-r["reward_ms"], list(LABELS).index(r["config"]))):
        # One batched step advances every slot: env_steps / n_envs of them were timed.
        per_step = 1000 * r["seconds"] / (r["env_steps"] / cfg["n_envs"])
        rows.append(
            [
                LABELS[r["config"]],
                f"{r['reward_ms']:g}",
                f"{r['env_steps_per_s']:,.0f}",
                f"{per_step:,.2f}",
                r["episodes"],
            ]
        )
    note = (
        f"Rollout workers, 2 over 1: **{data['rollout_speedup_2_over_1']:.2f}×** "
        f"({cfg['rollouts']} collections of one episode per slot each). "
        f"`RayVecEnv`, 2 workers over 1: **{data['speedup_2_over_1']:.2f}×** with the costly reward, "
        f"{data['speedup_2_over_1_free_reward']:.2f}× with a free one; 1 Ray worker over local: "
        f"{data['ray_1_over_local']:.2f}×. {cfg['n_envs']} slots, {cfg['steps']} timed steps, best of "
        f"{cfg['repeats']} in turns, Ray on {cfg['ray_cpus']} CPUs; {data['machine']}; {data['date'][:10]}"
        + (" (quick smoke run: not a measurement)" if cfg["quick"] else "")
        + "."
    )
    return markdown_table(COLUMNS, rows) + "\n" + note + "\n"


TABLES = {"scaling.md": ("scaling.json", render)}
