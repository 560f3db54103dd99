"""The table of ``benchmarks/peer_trl.py``: textgym's GRPO against TRL's ``GRPOTrainer``."""

from __future__ import annotations

from typing import Any

from .markdown import markdown_table

COLUMNS = (
    "system",
    "s per step (in turns)",
    "steps to 0.9",
    "wall s to 0.9",
    "base-model log-lik / token",
    "cat rate of samples",
)
SYSTEMS = {"trl": "TRL `GRPOTrainer`", "textgym": "textgym `GRPO`", "textgym_kl": "textgym `GRPO` + KL"}
KL_WHERE = {"k1_reward": "k1 in the reward", "k3_loss": "k3 in the loss"}


def _f(x: float | None, digits: int, suffix: str = "") -> str:
    return "—" if x is None else f"{x:,.{digits}f}{suffix}"


def _kl_settings(config: dict[str, Any]) -> str:
    """The KL run's settings, e.g. ``β = 0.04, k1 in the reward, none scaling``."""
    beta = f"β = {config['kl_coef']}"
    if config["kl_target"] is not None:
        beta = f"adaptive β from {config['kl_coef']} toward {config['kl_target']} nats/token"
    return f"{beta}, {KL_WHERE[config['kl_estimator']]}, {config['kl_scale_rewards']} scaling"


def render(data: dict[str, Any]) -> str:
    """Each system's step time, steps and seconds to 0.9, and the fluency of its samples."""
    fluency = data["fluency"]

    def sampled(key: str) -> list[str]:
        return [_f(fluency[key]["log_likelihood_per_token"], 2), _f(100 * fluency[key]["cat_rate"], 0, "%")]

    rows = [["base model (no training)", "", "", "", *sampled("base")]]
    for key, label in SYSTEMS.items():
        run = data[key]
        if run is None:  # no --kl-coef: no KL run
            continue
        if key == "textgym_kl":
            label += f" ({_kl_settings(data['config'])}, alone)"
        # The KL run runs alone, so it has no time in turns.
        per_step = run["seconds_per_step_median_in_turns"] or run["seconds_per_step_median"]
        steps = run["steps_to_0.9"] or "—"
        rows.append([label, _f(per_step, 2), steps, _f(run["seconds_to_0.9"], 0), *sampled(key)])
    notes = [f"Measured {data['date'][:10]} ({data['machine']})"]
    # Each ratio is written only when both systems have its numbers.
    if ratio := data.get("step_time_ratio_textgym_over_trl"):
        notes.append(f"textgym's step takes {ratio:.2f}× TRL's")
    if ratio := data.get("time_to_0.9_ratio_textgym_over_trl"):
        notes.append(f"its time to 0.9 is {ratio:.2f}× TRL's")
    return markdown_table(COLUMNS, rows) + "\n" + "; ".join(notes) + ".\n"


TABLES = {"peer_trl.md": ("peer_trl.json", render)}
