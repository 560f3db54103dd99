"""Every measured table in README.md and docs/ equals its rendering from the benchmark's JSON."""

import hashlib
import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("bench_tables", ROOT / "benchmarks" / "tables.py")
tables = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tables)


@pytest.mark.parametrize("path", tables.documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_tables_match_their_json(path: Path) -> None:
    _, changed = tables.render_file(path)
    assert not changed, f"tables differ from their JSON (run python benchmarks/tables.py): {changed}"


def test_a_stale_table_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = tmp_path / "page.md"
    doc.write_text("<!-- table: t data.json -->\n| typed | by hand |\n<!-- /table -->\n")
    (tmp_path / "data.json").write_text('{"x": 1.5}')
    monkeypatch.setattr(tables, "ROOT", tmp_path)
    monkeypatch.setitem(tables.RENDERERS, "t", lambda d: f"| x | {d['x']} |\n")
    text, changed = tables.render_file(doc)
    assert changed == ["page.md: t (data.json)"]
    assert "| x | 1.5 |" in text
    doc.write_text(text)
    assert tables.render_file(doc)[1] == []


def test_scaling_table_from_hand_made_json() -> None:
    data = {
        "date": "2026-01-02T00:00:00+00:00",
        "machine": "m",
        "config": {"n_envs": 4, "steps": 10, "repeats": 3, "rollouts": 2, "ray_cpus": 2, "quick": False},
        "reward_ms": 50.0,
        "rows": [
            {
                "config": "local",
                "reward_ms": 0.0,
                "seconds": 0.02,
                "env_steps": 40,
                "episodes": 3,
                "env_steps_per_s": 2000,
            },
            {
                "config": "workers=2",
                "reward_ms": 50.0,
                "seconds": 2.0,
                "env_steps": 40,
                "episodes": 5,
                "env_steps_per_s": 20,
            },
            {
                "config": "workers=1",
                "reward_ms": 50.0,
                "seconds": 4.0,
                "env_steps": 40,
                "episodes": 5,
                "env_steps_per_s": 10,
            },
            {
                "config": "rollout=2",
                "reward_ms": 50.0,
                "seconds": 1.0,
                "env_steps": 60,
                "episodes": 8,
                "env_steps_per_s": 60,
            },
            {
                "config": "rollout=1",
                "reward_ms": 50.0,
                "seconds": 2.0,
                "env_steps": 60,
                "episodes": 8,
                "env_steps_per_s": 30,
            },
        ],
        "speedup_2_over_1": 2.0,
        "rollout_speedup_2_over_1": 2.0,
        "speedup_2_over_1_free_reward": 0.5,
        "ray_1_over_local": 0.25,
    }
    text = tables.scaling(data)
    lines = text.splitlines()
    # Costly reward first, 1 worker before 2; ms per batched step = 1000 * seconds / (env_steps / n_envs).
    assert lines[2] == "| `RayVecEnv`, 1 worker | 50 | 10 | 400.00 | 5 |"
    assert lines[3] == "| `RayVecEnv`, 2 workers | 50 | 20 | 200.00 | 5 |"
    assert lines[4] == "| `RolloutWorkers` (tiny policy), 1 worker | 50 | 30 | 133.33 | 8 |"
    assert lines[5] == "| `RolloutWorkers` (tiny policy), 2 workers | 50 | 60 | 66.67 | 8 |"
    assert lines[6] == "| local (no Ray) | 0 | 2,000 | 2.00 | 3 |"
    assert "Rollout workers, 2 over 1: **2.00×** (2 collections of one episode per slot each)" in text
    assert "`RayVecEnv`, 2 workers over 1: **2.00×** with the costly reward, 0.50× with a free one" in text
    assert "not a measurement" not in text


def test_readme_is_a_front_page_and_its_test_command_is_ci() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) < 10_000, "README.md is over 10 KB: move details to docs/"
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    command = ci[ci.index("# --- README test command (keep identical to the README) ---") + 1]
    assert f"```bash\n{command}\n```" in readme, "the README's test command differs from .ci/run's"


def test_hierarchy_table_from_hand_made_json() -> None:
    arm = {"stderr": 0.1, "components": {"success": 0.25, "helpfulness": 0.5}}
    data = {
        "command": "python benchmarks/hierarchy.py --tokens 100 --eval-episodes 4",
        "config": {"seed": 0},
        "tokens": {"hierarchical": 1234, "low_ppo": 1024, "high_rollouts": 210},
        "flat_tokens": 1536,
        "hierarchical": {**arm, "mean_return": 2.0},
        "flat": {**arm, "mean_return": 1.5},
        "paired": {"difference": 0.5, "stderr": 0.125, "n": 4, "margin_se": 4.0},
        "threads": 1,
        "train_seconds": {"hierarchical": 10.4, "flat": 7.6},
    }
    lines = tables.hierarchy(data).splitlines()
    assert lines[2] == "| hierarchical (`agents.make_hierarchical`) | 1,234 | 2.000 ± 0.100 | 25.0% | 0.500 |"
    assert lines[3] == "| flat PPO on `Dialogue-v0` (`agents.make_ppo`) | 1,536 | 1.500 ± 0.100 | 25.0% | 0.500 |"
    assert "**+0.500 ± 0.125** (+4.0 standard errors" in lines[5]
    assert "1,024 in low-level PPO rollouts, 210 written inside" in lines[5]


def test_ray_ppo_table_from_hand_made_json() -> None:
    def run(cat: float, grammatical: float, seconds: float) -> dict:
        return {
            "train_seconds": seconds,
            "after": {"mean_reward": cat + grammatical, "components": {"topic": cat, "fluency": grammatical}},
        }

    data = {
        "date": "2026-01-02T00:00:00+00:00",
        "threads": 1,
        "config": {
            "timesteps": 4096,
            "workers": 2,
            "ray_cpus": 2,
            "eval_episodes": 8,
            "n_envs": 16,
            "seed": 0,
            "quick": False,
        },
        "local": run(0.875, 1.0, 100.4),
        "ray": run(1.0, 0.75, 1234.0),
    }
    lines = tables.ray_ppo(data).splitlines()
    assert lines[2] == "| local PPO, 4,096 steps | 87.5% | 100.0% | 1.875 | 100 s |"
    assert lines[3] == "| PPO, 2 Ray rollout workers, 4,096 steps | 100.0% | 75.0% | 1.750 | 1,234 s |"
    assert lines[5].startswith("8 validation episodes after training; 16 slots, seed 0, Ray on 2 CPUs")


def _summary(mean: float, sem: float, n: int = 4, **components: float) -> dict:
    return {"mean_reward": mean, "standard_error": sem, "components": components, "n_episodes": n}


RUN = {"seconds": 1234.4, "threads": 1, "date": "2026-01-02T00:00:00+00:00"}


def test_dialogue_table_from_hand_made_json() -> None:
    c = {"helpfulness": 0.5, "fluency": 2.0, "length": -0.1}
    data = {
        **RUN,
        "args": {
            "model": "tiny",
            "env_id": "textgym/Dialogue-v0",
            "total_timesteps": 98304,
            "learning_rate": 3e-4,
            "kl_coef": 0.05,
            "separate_critic": True,
        },
        "before": _summary(1.25, 0.0333, success=0.125, **c),
        "after": _summary(1.5, 0.04, success=0.375, **{**c, "helpfulness": 0.75}),
        "gain": {"gain": 0.25, "standard_error": 0.03, "n_pairs": 4},
    }
    lines = tables.dialogue(data).splitlines()
    assert lines[0].startswith("| tiny model on Dialogue-v0, 4 test episodes | reward | goal met |")
    assert lines[2] == "| base model | 1.250 ± 0.033 | 12.5% | 0.500 | 2.00 |"
    assert lines[3] == "| after PPO, 98,304 steps | **1.500** ± 0.040 | 37.5% | 0.750 | 2.00 |"
    assert lines[5].startswith(
        "Paired gain **+0.250** ± 0.030 over 4 episodes. `python examples/dialogue.py` (lr 0.0003"
    )
    assert "separate critic trunk) took 1,234 s on 1 thread, 2026-01-02." in lines[5]


def test_summarization_table_from_hand_made_json() -> None:
    args = {"model": "tiny", "env_id": "textgym/Summarization-v0", "sft_steps": 400, "total_timesteps": 24576}
    data = {
        **RUN,
        "args": {**args, "learning_rate": 1e-4, "kl_coef": 0.05, "smoke": False},
        "pretrained": _summary(0.25, 0.005),
        "supervised": _summary(0.75, 0.009),
        "after": _summary(0.8, 0.0084),
        "gain_over_start": {"gain": 0.05, "standard_error": 0.011, "n_pairs": 4},
        "gain_over_pretrained": {"gain": 0.55, "standard_error": 0.012, "n_pairs": 4},
    }
    lines = tables.summarization(data).splitlines()
    assert lines[2:5] == [
        "| pretrained | 0.250 ± 0.005 |",
        "| supervised, 400 steps (PPO's start) | 0.750 ± 0.009 |",
        "| after PPO, 24,576 steps | **0.800** ± 0.008 |",
    ]
    assert lines[6].startswith(
        "PPO's paired gain over its start: **+0.050** ± 0.011; over the pretrained model: +0.550"
    )
    data["supervised"], data["args"]["smoke"] = None, True  # --sft-steps 0: no supervised row; a smoke run says so
    text = tables.summarization(data)
    assert "supervised" not in text and "over the pretrained model" not in text and "not a measurement" in text


def test_rlhf_pipeline_table_from_hand_made_json() -> None:
    feats = {"grammar": 0.9, "cat": 0.125, "place": 0.5, "short": 1.0}
    data = {
        **RUN,
        "args": {"feedback": "ranking", "rm_pooling": "last+mean"},
        "rm_accuracy": 0.93,
        "rm_accuracy_pairs": 1027,
        "before": _summary(2.5, 0.04, **feats),
        "ppo": [{"seed": 0, **_summary(3.5, 0.02, **feats)}, {"seed": 1, **_summary(3.0, 0.03, **feats)}],
        "margins": [1.0, 0.5],
        "margin_mean": 0.75,
        "margin_standard_error": 0.25,
    }
    lines = tables.rlhf_pipeline(data).splitlines()
    assert lines[2] == "| base model | 2.500 ± 0.040 | 0.90 | 0.12 | 0.50 | 1.00 |"
    assert lines[4] == "| PPO, seed 1 | 3.000 ± 0.030 | 0.90 | 0.12 | 0.50 | 1.00 |"
    assert lines[5] == "| **margin over the base model** | **+0.750** ± 0.250 across seeds (+1.000, +0.500) | | | | |"
    assert "orders **93.0%** of 1,027 pairs" in lines[7]


def test_reward_accuracy_table_from_hand_made_json() -> None:
    kinds = ("rating", "preference", "ranking", "edit")
    rows = [{"pooling": "a", "kind": k, "accuracy": 0.8, "n_pairs": 1027} for k in kinds]
    rows += [
        {"pooling": "b", "kind": k, "accuracy": a, "n_pairs": 1027}
        for k, a in zip(kinds, (0.9, 0.7, 0.8, 0.95), strict=True)
    ]
    with pytest.raises(ValueError, match="cut short"):
        tables.reward_accuracy({**RUN, "rows": rows[:5], "complete": False})
    lines = tables.reward_accuracy({**RUN, "rows": rows, "complete": True}).splitlines()
    assert lines[0] == "| pooling | rating | preference | ranking | edit |"
    # The best of each column is bold; a tie bolds both.
    assert lines[2] == '| `"a"` | 0.800 | **0.800** | **0.800** | 0.800 |'
    assert lines[3] == '| `"b"` | **0.900** | 0.700 | **0.800** | **0.950** |'
    assert (
        lines[5] == "1,027 held-out pairs; `python benchmarks/reward_accuracy.py` took 1,234 s on 1 thread, 2026-01-02 "
        "(8 reward models)."
    )


def test_pretrain_table_from_hand_made_json() -> None:
    shipped = hashlib.sha256((ROOT / "textgym" / "models" / "tiny" / "model.safetensors").read_bytes()).hexdigest()
    data = {
        **RUN,
        "command": "python -m textgym.models.pretrain",
        "config": {"eval_samples": 500, "train_docs": 60000, "steps": 3000, "seed": 0},
        "metrics": {
            "heldout_perplexity": 3.8964,
            "grammatical_rate": 0.956,
            "cattext_cat_rate": 0.09,
            "cattext_grammatical_rate": 0.944,
            "seconds": 1860.0,
        },
        "weights_sha256": shipped,
    }
    lines = tables.pretrain(data).splitlines()
    assert "| grammatical rate of free samples (500) |" in lines[0]
    assert lines[2] == "| 3.896 | 95.6% | 9.0% | 94.4% |"
    assert lines[4].startswith(
        "`python -m textgym.models.pretrain` (60,000 documents, 3,000 steps, seed 0) took 31 min"
    )
    assert f"it wrote the shipped weights (SHA-256 {shipped[:12]}" in lines[4]
    # A report of other weights says so, so its table cannot pass for the shipped model's.
    assert "**not** the shipped weights" in tables.pretrain({**data, "weights_sha256": "0" * 64})
    # An --evaluate report says it trained nothing, and which weights it measured.
    evaluated = tables.pretrain(
        {**data, "command": "python -m textgym.models.pretrain --evaluate", "evaluated_only": True}
    )
    assert "(no training: 500 samples each, seed 0) measured the shipped weights" in evaluated
    assert "took 31 min" not in evaluated


def test_update_and_time_to_reward_tables_from_hand_made_json() -> None:
    data = {
        **RUN,
        "model": "tiny",
        "env": "CatText-v0",
        "n_envs": 16,
        "n_steps": 96,
        "batch_size": 512,
        "transitions": 1536,
        "segments": 156,
        "ms_per_token": {
            "floor: bare fwd+bwd over segment sequences": 0.25,
            "naive: fwd+bwd per transition": 2.5,
            "ours: PPO.train, one epoch": 0.2,
        },
        "ratios": {"ours / floor": 0.8, "naive / ours": 12.5},
        "timing": "best of 5 each",
        "torch": "2.13.0",
        "load_average": [0.31, 0.52, 1.0],
    }
    text = tables.update(data)
    assert "| ours: `PPO.train` | 0.200 | |" in text
    assert "ours' time / floor's: **0.80×**" in text and "naive's time / ours: **12.5×**" in text
    assert "load average 0.31 (1 min), 0.52 (5 min) at the end" in text
    reached = {
        **RUN,
        "env": "CatText-v0",
        "model": "tiny",
        "target": 1.8,
        "max_steps": 60000,
        "seed": 0,
        "steps": 15360,
        "seconds": 26.4,
        "seconds_with_setup": 29.0,
        "test": _summary(1.812, 0.021),
        "torch": "2.13.0",
    }
    assert "| 1.8 | 15,360 | 26 | 29 | 1.812 ± 0.021 (" in tables.time_to_reward(reached)
    missed = tables.time_to_reward({**reached, "steps": None, "seconds": None, "test": None})
    assert "| 1.8 | not reached in 60,000 | | 29 | |" in missed


def test_train_classify_table_from_hand_made_json() -> None:
    data = {
        "env_id": "textgym/Classify-v0",
        "algo": "ppo",
        "model": "tiny",
        "timesteps": 40000,
        "n_envs": 16,
        "seed": 0,
        "learning_rate": 5e-4,
        "kl_coef": 0.0,
        "eval_episodes": 256,
        "train_seconds": 371.4,
        "threads": 1,
        "date": "2026-01-02T00:00:00+00:00",
        "before": {"mean_reward": 0.02, "components": {"correct": 0.0203}},
        "after": {"mean_reward": 0.97, "components": {"correct": 0.9727}},
    }
    text = tables.train_classify(data)
    assert "| before training (base rate) | 2.0% |" in text
    assert "| after PPO, 40,000 steps | 97.3% |" in text
    assert "(lr 0.0005, KL 0, seed 0) trained for 371 s (16 slots) on 1 thread of the 2-core machine" in text
    assert "the algorithm's default KL" in tables.train_classify({**data, "kl_coef": None})


def test_goal_position_table_from_hand_made_json() -> None:
    def variant(reward: float, diff: float, rate: float) -> dict:
        return {
            "first_reply_reward": reward,
            "standard_error": 0.03,
            "realized_rate": rate,
            "paired_difference_to_no_act": diff,
            "paired_standard_error": 0.02,
        }

    data = {
        **RUN,
        "episodes": 384,
        "split": "validation",
        "variants": {"none": variant(0.75, 0.0, 0.32), "after": variant(0.2, -0.55, 0.0)},
    }
    lines = tables.goal_position(data).splitlines()
    assert lines[2] == "| none | 0.750 ± 0.030 |  | 32.0% |"
    assert lines[3] == "| after | 0.200 ± 0.030 | -0.550 ± 0.020 | 0.0% |"
    assert "384 validation scenarios" in lines[5] and "1 thread, 2026-01-02" in lines[5]


def test_readme_names_every_example_and_docs_page() -> None:
    # The README lists them compactly (it must stay under 10 KB); none may drop out of it.
    readme = (ROOT / "README.md").read_text()
    missing = [p.name for p in sorted((ROOT / "examples").glob("*.py")) if p.name not in readme]
    missing += [f"docs/{p.name}" for p in sorted((ROOT / "docs").glob("*.md")) if f"docs/{p.name}" not in readme]
    assert not missing, f"README.md does not mention {missing}"


def test_readme_images_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme)
    assert images, "the README shows no figure"
    missing = [i for i in images if not (ROOT / i).is_file()]
    assert not missing, f"README.md shows missing images {missing}"


def test_hierarchy_budgets_averages_seeds_by_hand() -> None:
    def run(
        budget: int, seed: int, hier: float, flat: float, gap: float, se: float, schedule: str = "", **config: Any
    ) -> dict:
        return {
            "config": {"tokens_budget": budget, "seed": seed, **({"schedule": schedule} if schedule else {}), **config},
            "hierarchical": {"mean_return": hier},
            "flat": {"mean_return": flat},
            "paired": {"difference": gap, "stderr": se, "n": 384},
        }

    text = tables.hierarchy_budgets(
        [
            run(100, 1, 1.5, 1.6, -0.3, 0.05),
            run(100, 0, 1.7, 1.4, 0.1, 0.04),
            run(50, 0, 1.0, 1.2, -0.2, 0.03),
            run(100, 0, 2.0, 1.4, 0.6, 0.04, schedule="joint"),  # its own row, not averaged with the others
            # a skill phase and another LM lr: their own row too (the default lr is not named)
            run(100, 0, 1.9, 1.4, 0.5, 0.04, "alternate", skill_tokens=2048, lm_ppo={"learning_rate": 1e-4}),
            run(100, 0, 2.1, 1.4, 0.7, 0.04, "alternate", version="v2"),  # HierShop-v2: named, its own row
            run(100, 0, 2.2, 1.4, 0.8, 0.04, "alternate", version="v2", sft={"steps": 600, "scenarios": 512}),
        ]
    )
    rows = text.splitlines()[2:]
    assert rows[0] == "| HierShop-v2, alternate | 100 | 1 | 2.100 | 1.400 | +0.700 ± 0.040 (paired) |"
    assert (
        rows[1]
        == "| HierShop-v2, alternate, warm start 600 steps | 100 | 1 | 2.200 | 1.400 | +0.800 ± 0.040 (paired) |"
    )
    assert rows[2] == "| alternate | 50 | 1 | 1.000 | 1.200 | -0.200 ± 0.030 (paired) |"  # no schedule: alternated
    # two seeds: mean gap (0.1 - 0.3) / 2 = -0.1; SE = stdev(0.1, -0.3) / sqrt(2) = 0.2828 / 1.4142 = 0.2; -0.5 SE
    assert rows[3] == "| alternate | 100 | 2 | 1.600 | 1.500 | -0.100 ± 0.200 over seeds, -0.5 SE (+0.10, -0.30) |"
    assert rows[4] == "| alternate, skill phase 2k, LM lr 1e-4 | 100 | 1 | 1.900 | 1.400 | +0.500 ± 0.040 (paired) |"
    assert rows[5] == "| joint | 100 | 1 | 2.000 | 1.400 | +0.600 ± 0.040 (paired) |"
    defaults = run(
        100, 1, 1.9, 1.4, 0.5, 0.04, "alternate", skill_tokens=0, lm_ppo={"learning_rate": 3e-4}, version="v1", sft=None
    )
    assert tables._settings(defaults) == "alternate"


def test_hierarchy_oracle_table_from_hand_made_json() -> None:
    run = {
        "config": {"seed": 3, "tokens": 61573},
        "oracle": {"mean_extrinsic": 1.5, "stderr": 0.04},
        "flat_mean_return": 1.9,
        "paired": {"difference": -0.4, "stderr": 0.05, "n": 384, "margin_se": -8.0},
    }
    other = {**run, "config": {"seed": 0, "tokens": 100, "lm_ppo": {"learning_rate": 1e-4}}}
    v2 = {**run, "config": {"seed": 0, "tokens": 100, "lm_ppo": {"learning_rate": 1e-4}, "version": "v2"}}
    rows = tables.hierarchy_oracle([v2, other, run]).splitlines()
    # no lm_ppo: 3e-4; no version: v1 (not named); v2 after v1
    assert rows[2] == "| LM lr 3e-4 | 3 | 61,573 | 1.500 ± 0.040 | 1.900 | -0.400 ± 0.050 (-8.0 SE) |"
    assert rows[3] == "| LM lr 1e-4 | 0 | 100 | 1.500 ± 0.040 | 1.900 | -0.400 ± 0.050 (-8.0 SE) |"
    assert rows[4] == "| HierShop-v2, LM lr 1e-4 | 0 | 100 | 1.500 ± 0.040 | 1.900 | -0.400 ± 0.050 (-8.0 SE) |"
