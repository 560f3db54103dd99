"""Every measured table in README.md and docs/ is its benchmarks/results/*.md, rendered from the stored JSON now.

The check (``python benchmarks/tables.py --check``) covers how each stored run is written out; the
tests below it check what the stored runs cannot: the renderers' arithmetic on hand values, and
the branches no stored run takes.
"""

import hashlib
import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "benchmarks") not in sys.path:
    sys.path.append(str(ROOT / "benchmarks"))  # tables.py imports the renderers package beside it, as the scripts do
spec = importlib.util.spec_from_file_location("bench_tables", ROOT / "benchmarks" / "tables.py")
tables = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tables)

from renderers import (  # noqa: E402
    cli,
    ecosystem,
    hierarchy,
    hierarchy_oracle,
    losses,
    markdown,
    pretrain,
    real_lm,
    reward_accuracy,
    scaling,
    summarization,
    time_to_reward,
    update,
)


def test_tables_match_their_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert tables.main(["--check"]) == 0, f"run python benchmarks/tables.py:\n{capsys.readouterr().out}"


def test_stale_tables_are_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = tmp_path / "benchmarks" / "results"
    results.mkdir(parents=True)
    (results / "data.json").write_text('{"x": 1.5}')
    (results / "t.md").write_text("| x | typed by hand |\n")
    marker = "<!-- table: benchmarks/results/t.md -->\n"
    page = tmp_path / "README.md"
    page.write_text(f"intro\n{marker}| x | 1.5 |\n<!-- /table -->\nend\n")
    monkeypatch.setattr(tables, "ROOT", tmp_path)
    monkeypatch.setattr(tables, "RESULTS", results)
    monkeypatch.setattr(tables, "registry", lambda: {"t.md": ("data.json", lambda d: f"| x | {d['x']} |\n")})
    # The .md differs from its JSON's rendering; the page's block differs from the .md.
    assert tables.sync(write=False) == [
        "benchmarks/results/t.md differs from its renderer's output from data.json",
        "README.md: the block of benchmarks/results/t.md differs from that file",
    ]
    assert tables.main(["--check"]) == 1
    (results / "t.md").unlink()
    assert tables.sync(write=False)[0] == "benchmarks/results/t.md is missing: its renderer's output from data.json"
    (results / "data.json").write_text('{"x": 2.5}')
    assert len(tables.sync(write=True)) == 2  # writes the .md, then copies it into the page
    assert (results / "t.md").read_text() == "| x | 2.5 |\n"
    assert page.read_text() == f"intro\n{marker}| x | 2.5 |\n<!-- /table -->\nend\n"
    assert tables.sync(write=False) == [] and tables.main(["--check"]) == 0
    (results / "old.md").write_text("| left over |\n")  # a .md no renderer declares
    assert tables.undeclared() == ["benchmarks/results/old.md"] and tables.main(["--check"]) == 1
    (results / "old.md").unlink()
    page.write_text("<!-- table: benchmarks/results/other.md -->\n<!-- /table -->\n")
    with pytest.raises(ValueError, match="other.md, which no renderer declares"):
        tables.sync(write=False)
    page.write_text("<!-- table: t benchmarks/results/data.json -->\n<!-- /table -->\n")  # the old two-word form
    with pytest.raises(ValueError, match="not of the form"):
        tables.sync(write=False)
    monkeypatch.setattr(tables, "registry", lambda: {"t.md": ("run_*.json", lambda d: "")})
    with pytest.raises(FileNotFoundError, match="matches no file"):
        tables.sync(write=False)


def test_markdown_table_and_its_errors() -> None:
    assert markdown.markdown_table(["a", "", "c"], [[1, "", "x y"]]) == "| a | | c |\n|---|---|---|\n| 1 | | x y |\n"
    with pytest.raises(ValueError, match="row 1 has 1 cells for 2 columns"):
        markdown.markdown_table(["a", "b"], [[1, 2], [3]])
    with pytest.raises(ValueError, match="holds a '|'"):
        markdown.markdown_table(["a"], [["x | y"]])
    with pytest.raises(ValueError, match="at least one column"):
        markdown.markdown_table([], [])


def test_shared_formatters() -> None:
    assert markdown.mean_se(2.0, 0.1) == "2.000 ± 0.100"
    assert markdown.mean_se(0.5, 0.125, bold=True, signed=True) == "**+0.500** ± 0.125"
    assert markdown.mean_se(-0.1, 0.2, digits=2, signed=True) == "-0.10 ± 0.20"
    assert markdown.paired_gap({"difference": 0.5, "stderr": 0.125, "margin_se": 4.0}) == "+0.500 ± 0.125 (+4.0 SE)"
    assert markdown.percent(0.25) == "25.0%" and markdown.percent(0.984375, 0) == "98%"
    assert markdown.threads(1) == "1 thread" and markdown.threads(2) == "2 threads"
    assert markdown.load({"load_average": [0.31, 0.52, 1.0]}) == "; load average 0.31 (1 min), 0.52 (5 min) at the end"
    assert markdown.load({"load_average": None}) == ""  # a run from before write_result recorded it
    assert markdown.ran(RUN) == "took 1,234 s on 1 thread, 2026-01-02"
    assert markdown.ran(RUN, smoke=True).endswith("2026-01-02 (a `--smoke` run: not a measurement)")


def test_scaling_table_from_hand_made_json() -> None:
    def row(config: str, reward_ms: float, seconds: float, env_steps: int, episodes: int, rate: float) -> dict:
        return {
            "config": config,
            "reward_ms": reward_ms,
            "seconds": seconds,
            "env_steps": env_steps,
            "episodes": episodes,
            "env_steps_per_s": rate,
        }

    data = {
        "date": "2026-01-02T00:00:00+00:00",
        "machine": "m",
        "config": {"n_envs": 4, "steps": 10, "repeats": 3, "rollouts": 2, "ray_cpus": 2, "quick": False},
        "reward_ms": 50.0,
        "rows": [
            row("local", 0.0, 0.02, 40, 3, 2000),
            row("workers=2", 50.0, 2.0, 40, 5, 20),
            row("workers=1", 50.0, 4.0, 40, 5, 10),
            row("rollout=2", 50.0, 1.0, 60, 8, 60),
            row("rollout=1", 50.0, 2.0, 60, 8, 30),
        ],
        "speedup_2_over_1": 2.0,
        "rollout_speedup_2_over_1": 2.0,
        "speedup_2_over_1_free_reward": 0.5,
        "ray_1_over_local": 0.25,
    }
    text = scaling.render(data)
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


def _summary(mean: float, sem: float, n: int = 4, **components: float) -> dict:
    return {"mean_reward": mean, "standard_error": sem, "components": components, "n_episodes": n}


RUN = {"seconds": 1234.4, "threads": 1, "date": "2026-01-02T00:00:00+00:00"}


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
    lines = summarization.render(data).splitlines()
    assert lines[2:5] == [
        "| pretrained | 0.250 ± 0.005 |",
        "| supervised, 400 steps (PPO's start) | 0.750 ± 0.009 |",
        "| after PPO, 24,576 steps | **0.800** ± 0.008 |",
    ]
    assert lines[6].startswith(
        "PPO's paired gain over its start: **+0.050** ± 0.011; over the pretrained model: +0.550"
    )
    data["supervised"], data["args"]["smoke"] = None, True  # --sft-steps 0: no supervised row; a smoke run says so
    text = summarization.render(data)
    assert "supervised" not in text and "over the pretrained model" not in text and "not a measurement" in text


def test_reward_accuracy_table_from_hand_made_json() -> None:
    kinds = ("rating", "preference", "ranking", "edit")
    rows = [{"pooling": "a", "kind": k, "accuracy": 0.8, "n_pairs": 1027} for k in kinds]
    rows += [
        {"pooling": "b", "kind": k, "accuracy": a, "n_pairs": 1027}
        for k, a in zip(kinds, (0.9, 0.7, 0.8, 0.95), strict=True)
    ]
    with pytest.raises(ValueError, match="cut short"):
        reward_accuracy.render({**RUN, "rows": rows[:5], "complete": False})
    lines = reward_accuracy.render({**RUN, "rows": rows, "complete": True}).splitlines()
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
        "evaluated_only": False,
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
    lines = pretrain.render(data).splitlines()
    assert "| grammatical rate of free samples (500) |" in lines[0]
    assert lines[2] == "| 3.896 | 95.6% | 9.0% | 94.4% |"
    assert lines[4].startswith(
        "`python -m textgym.models.pretrain` (60,000 documents, 3,000 steps, seed 0) took 31 min"
    )
    assert f"it wrote the shipped weights (SHA-256 {shipped[:12]}" in lines[4]
    # A report of other weights says so, so its table cannot pass for the shipped model's.
    assert "**not** the shipped weights" in pretrain.render({**data, "weights_sha256": "0" * 64})
    # An --evaluate report says it trained nothing, and which weights it measured.
    evaluated = pretrain.render(
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
    text = update.render(data)
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
        "load_average": None,
    }
    assert "| 1.8 | 15,360 | 26 | 29 | 1.812 ± 0.021 (" in time_to_reward.render(reached)
    missed = time_to_reward.render({**reached, "steps": None, "seconds": None, "test": None})
    assert "| 1.8 | not reached in 60,000 | | 29 | |" in missed


def test_losses_table_from_hand_made_json() -> None:
    def runs(steps: list[int | None], seconds: list[float | None], scores: list[float]) -> list[dict]:
        return [
            {"seed": i, "steps_to_target": st, "seconds_to_target": sec, "test": _summary(score, 0.01)}
            for i, (st, sec, score) in enumerate(zip(steps, seconds, scores, strict=True))
        ]

    data = {
        **RUN,
        "env": "CatText-v0",
        "model": "tiny",
        "target": 1.8,
        "max_steps": 24576,
        "n_envs": 64,
        "group_size": 8,
        "eval_episodes": 256,
        "seeds": [0, 1, 2],
        "configs": {
            "grpo": {"options": {}, "runs": runs([10000, 14000, None], [20.0, 30.0, None], [1.9, 2.0, 1.8])},
            "cispo": {"options": {"loss_type": "cispo"}, "runs": runs([None] * 3, [None] * 3, [1.0] * 3)},
        },
        "torch": "2.13.0",
        "load_average": [0.31, 0.52, 1.0],
    }
    text = losses.render(data)
    # grpo: two of three seeds reached it, at (10,000 + 14,000) / 2 steps and (20 + 30) / 2 s;
    # test rewards 1.9, 2.0, 1.8: mean 1.9, sample std sqrt((0 + 0.01 + 0.01) / 2) = 0.1, SE 0.1 / sqrt(3) = 0.0577
    assert "| grpo | defaults | 2/3 | 12,000 | 25 | 1.900 ± 0.058 | 1.900, 2.000, 1.800 |" in text
    assert "| cispo | `loss_type=cispo` | 0/3 | | | 1.000 ± 0.000 | 1.000, 1.000, 1.000 |" in text
    assert "64 slots in groups of 8, 24,576 steps per run, seeds 0, 1, 2" in text


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
    text = cli.train_classify(data)
    assert "| before training (base rate) | 2.0% |" in text
    assert "| after PPO, 40,000 steps | 97.3% |" in text
    assert "(lr 0.0005, KL 0, seed 0) trained for 371 s (16 slots) on 1 thread of the 2-core machine" in text
    assert "the algorithm's default KL" in cli.train_classify({**data, "kl_coef": None})


def test_ecosystem_table_from_hand_made_json() -> None:
    def row(key: str, command: list[str], result: dict | None, not_run: str | None = None) -> dict:
        return {
            "key": key,
            "client": key.upper(),
            "command": command,
            "unmodified": "yes" if not_run is None else "no: it cannot",
            "not_run": not_run,
            "result": result,
            "seconds": 60.0 if result else 0.0,
        }

    data = {
        "env_id": "textgym/TinyCat-v1",
        "seed": 0,
        "complete": True,
        "rows": [
            row("sb3", ["PPO(...)"], {"steps": 32768, "greedy_returns": [1.5, 1.5, 1.5, 0.5]}),
            row("zoo", ["train", "enjoy"], {"steps": 50000, "greedy_returns": [1.5] * 4, "enjoy_mean_reward": 1.25}),
            row("cleanrl", ["python ppo.py"], None, not_run="nothing to read"),
            row("copy", ["python copy.py"], {"steps": 39936, "greedy_return": 1.466}),
        ],
        "versions": {"gymnasium": "1.4.0", "stable-baselines3": "2.9.2", "rl_zoo3": "2.9.2"},
        "rllib_versions": {"ray": "2.60.0", "gymnasium": "1.2.2"},
        "threads": 1,
        "date": "2026-01-02T00:00:00+00:00",
    }
    text = ecosystem.render(data)
    assert text.startswith("| client | the exact command or code | unmodified? | learned (steps, return) |\n")
    # (1.5 * 3 + 0.5) / 4 = 1.25: the mean over the prompts, not their maximum
    assert "| SB3 | `PPO(...)` | yes | 32,768 steps, greedy return 1.25 |" in text
    assert "| ZOO | `train` then `enjoy` | yes | 50,000 steps, greedy return 1.50; `enjoy`'s mean reward 1.25 |" in text
    assert "| CLEANRL | `python ppo.py` | no: it cannot | not measured (nothing to read) |" in text
    assert "| 39,936 steps, greedy return 1.47 (100 seeded episodes) |" in text
    assert "ray 2.60.0 on Gymnasium 1.2.2" in text and "every row in 3 min on 1 thread, 2026-01-02." in text
    with pytest.raises(ValueError, match="some rows only"):
        ecosystem.render({**data, "complete": False})
    with pytest.raises(ValueError, match="'sb3' was run but has no result"):
        ecosystem.render({**data, "rows": [{**data["rows"][0], "result": None}]})


def test_ecosystem_json_holds_the_commands_the_tests_run() -> None:
    # The stored run must be of today's rows: a command changed in benchmarks/ecosystem_rows.py (which the
    # slow tests run) leaves the table stale until benchmarks/ecosystem.py runs again.
    import ecosystem_rows

    data = json.loads((ROOT / "benchmarks" / "results" / "ecosystem.json").read_text())
    assert data["complete"] and data["env_id"] == ecosystem_rows.ENV_ID
    stored = [(r["key"], r["client"], r["command"], r["unmodified"], r["not_run"]) for r in data["rows"]]
    assert stored == [(r.key, r.client, list(r.command), r.unmodified, r.not_run) for r in ecosystem_rows.ROWS]


def test_readme_names_every_example_and_docs_page() -> None:
    # The README lists them compactly (it must stay under 10 KB); none may drop out of it.
    readme = (ROOT / "README.md").read_text()
    missing = [p.name for p in sorted((ROOT / "examples").glob("*.py")) if p.name not in readme]
    missing += [f"docs/{p.name}" for p in sorted((ROOT / "docs").glob("*.md")) if f"docs/{p.name}" not in readme]
    assert not missing, f"README.md does not mention {missing}"


@pytest.mark.parametrize("page", tables.documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_images_exist(page: Path) -> None:
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page.read_text())
    if page.name == "README.md":
        assert images, "the README shows no figure"
    missing = [i for i in images if not (page.parent / i).is_file()]
    assert not missing, f"{page.relative_to(ROOT)} shows missing images {missing}"


def test_hierarchy_budgets_averages_seeds_by_hand() -> None:
    def run(budget: int, seed: int, hier: float, flat: float, gap: float, se: float, **config: Any) -> dict:
        defaults = {
            "schedule": "alternate",
            "skill_tokens": 0,
            "version": "v1",
            "sft": None,
            "lm_ppo": {"learning_rate": 3e-4},
        }
        return {
            "config": {"tokens_budget": budget, "seed": seed, **defaults, **config},
            "hierarchical": {"mean_return": hier},
            "flat": {"mean_return": flat},
            "paired": {"difference": gap, "stderr": se, "n": 384},
        }

    text = hierarchy.budgets(
        [
            run(100, 1, 1.5, 1.6, -0.3, 0.05),
            run(100, 0, 1.7, 1.4, 0.1, 0.04),
            run(50, 0, 1.0, 1.2, -0.2, 0.03),
            run(100, 0, 2.0, 1.4, 0.6, 0.04, schedule="joint"),  # its own row, not averaged with the others
            # a skill phase and another LM lr: their own row too (the default lr is not named)
            run(100, 0, 1.9, 1.4, 0.5, 0.04, skill_tokens=2048, lm_ppo={"learning_rate": 1e-4}),
            run(100, 0, 2.1, 1.4, 0.7, 0.04, version="v2"),  # HierShop-v2: named, its own row
            run(100, 0, 2.2, 1.4, 0.8, 0.04, version="v2", sft={"steps": 600, "scenarios": 512}),
        ]
    )
    rows = text.splitlines()[2:]
    assert rows[0] == "| HierShop-v2, alternate | 100 | 1 | 2.100 | 1.400 | +0.700 ± 0.040 (paired) |"
    assert (
        rows[1]
        == "| HierShop-v2, alternate, warm start 600 steps | 100 | 1 | 2.200 | 1.400 | +0.800 ± 0.040 (paired) |"
    )
    assert rows[2] == "| alternate | 50 | 1 | 1.000 | 1.200 | -0.200 ± 0.030 (paired) |"
    # two seeds: mean gap (0.1 - 0.3) / 2 = -0.1; SE = stdev(0.1, -0.3) / sqrt(2) = 0.2828 / 1.4142 = 0.2; -0.5 SE
    assert rows[3] == "| alternate | 100 | 2 | 1.600 | 1.500 | -0.100 ± 0.200 over seeds, -0.5 SE (+0.10, -0.30) |"
    assert rows[4] == "| alternate, skill phase 2k, LM lr 1e-4 | 100 | 1 | 1.900 | 1.400 | +0.500 ± 0.040 (paired) |"
    assert rows[5] == "| joint | 100 | 1 | 2.000 | 1.400 | +0.600 ± 0.040 (paired) |"
    assert hierarchy.settings(run(100, 1, 1.9, 1.4, 0.5, 0.04)) == "alternate"  # the defaults are not named
    mean, se = hierarchy.seeds_mean_se([0.1, -0.3])
    assert mean == pytest.approx(-0.1) and se == pytest.approx(0.2)
    with pytest.raises(ValueError, match="at least two seeds"):
        hierarchy.seeds_mean_se([0.1])


def test_hierarchy_oracle_table_from_hand_made_json() -> None:
    run = {
        "config": {"seed": 3, "tokens": 61573, "lm_ppo": {"learning_rate": 3e-4}, "version": "v1"},
        "oracle": {"mean_extrinsic": 1.5, "stderr": 0.04},
        "flat_mean_return": 1.9,
        "paired": {"difference": -0.4, "stderr": 0.05, "n": 384, "margin_se": -8.0},
    }
    other = {**run, "config": {"seed": 0, "tokens": 100, "lm_ppo": {"learning_rate": 1e-4}, "version": "v1"}}
    v2 = {**run, "config": {"seed": 0, "tokens": 100, "lm_ppo": {"learning_rate": 1e-4}, "version": "v2"}}
    rows = hierarchy_oracle.render([v2, other, run]).splitlines()
    # the higher lr first; v1 is not named; v2 after v1
    assert rows[2] == "| LM lr 3e-4 | 3 | 61,573 | 1.500 ± 0.040 | 1.900 | -0.400 ± 0.050 (-8.0 SE) |"
    assert rows[3] == "| LM lr 1e-4 | 0 | 100 | 1.500 ± 0.040 | 1.900 | -0.400 ± 0.050 (-8.0 SE) |"
    assert rows[4] == "| HierShop-v2, LM lr 1e-4 | 0 | 100 | 1.500 ± 0.040 | 1.900 | -0.400 ± 0.050 (-8.0 SE) |"


def test_real_lm_table_from_hand_made_json() -> None:
    def run(before: float, after: float, gain: float, se: float, words: tuple[float, float]) -> dict:
        measures = dict(base_log_likelihood_per_token=-2.0, distinct_2=0.5)
        return {
            "env_id": "textgym/Classify-v0",
            "model": "smollm2-135m",
            "algo": "grpo",
            "settings": {
                "seed": 3,
                "tag": "",
                "n_envs": 16,
                "group_size": 4,
                "lr": 5e-5,
                "kl_coef": 0.0,
                "val_items": 64,
            },
            "before": {"score": before, "measures": {**measures, "mean_words": words[0]}},
            "textgym": {
                "after": {"score": after, "measures": {**measures, "mean_words": words[1]}},
                "paired": {"score_gain": gain, "score_standard_error": se, "n_pairs": 256},
                "steps": 10,
                "train_seconds": 120.0,
            },
            "load_average": [2.0, 1.0, 1.0],
            "date": "2026-01-02T00:00:00+00:00",
            "machine": "x86_64, 1 threads",
        }

    table = real_lm.render([run(0.1, 0.5, 0.4, 0.05, (5.0, 1.25))])
    row = table.splitlines()[2]
    assert row.startswith(
        "| Classify-v0 (smollm2-135m, GRPO, seed 3) | 10 steps of 16 completions (groups of 4) in 2 min"
    )
    assert "| 10.0% → **50.0%** | +40.0 ± 5.0 points (8 SE, 256 pairs) | 5.0 → 1.2 |" in row
    assert "(x86_64, 1 threads; 2026-01-02 to 2026-01-02; load average 2.0-2.0 at the end" in table
