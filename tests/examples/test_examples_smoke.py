"""Every top-level script in examples/ runs with --smoke and writes the figure and numbers it promises.

Each script runs in a subprocess in a fresh temporary folder with ``--smoke --out DIR`` and
must exit 0 and leave ``DIR/<script>.png`` and ``DIR/<script>.json`` (``textgym.plotting``
writes the plotted numbers beside the PNG). The test then checks those numbers: the x values
of each curve are the points the smoke configuration must produce (updates, evaluations or
rollouts), every value is finite, and the bars are the before/after scores the script printed.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from textgym.script_args import parse_args

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((REPO_ROOT / "examples").glob("*.py"))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# --smoke promises < 60 s; leave room for a loaded CI machine before calling it a hang.
TIMEOUT_S = 300

# Per script: the x values of every curve in each panel (None: checked by the script's own
# rule below), and the printed line tags whose means are the bars, in bar order.
EXPECTED: dict[str, dict] = {
    # 4000 episodes, a greedy evaluation every 1000
    "tabular_q_learning": {"x": [[1000, 2000, 3000, 4000]] * 2, "printed": {}},
    # 20 iterations of 32 episodes, evaluated every 10
    "reinforce_from_scratch": {"x": [[320, 640]] * 2, "printed": {}},
    # 4096 steps in updates of 8 envs x 128 steps
    "ppo_from_scratch": {"x": [[1024, 2048, 3072, 4096]] * 2, "printed": {}},
    # Monitor curves: one point per finished episode, checked below
    "sb3_stock_agents": {"x": [None], "printed": {}},
    # 256 steps in rollouts of 4 envs x 32 steps; bars: before and after PPO
    "sb3_ppo_lm_policy": {
        "x": [[128, 256], []],
        "printed": {"pretrained": "before PPO", "after PPO": "after PPO"},
    },
    # 128 steps in rollouts of 4 envs x 16 steps
    "dialogue": {"x": [[64, 128], []], "printed": {"base model": "before PPO", "after PPO": "after PPO"}},
    "summarization": {
        "x": [[64, 128], []],
        "printed": {"pretrained": "pretrained", "supervised": "supervised", "after PPO": "after PPO"},
    },
    # 256 steps in rollouts of 4 envs x 16 steps; grouped bars (checked in tests/rewards/test_rlhf_pipeline.py)
    "rlhf_pipeline": {"x": [[64, 128, 192, 256], []], "printed": {}},
    # 4096 steps in iterations of 8 envs x 128 steps; bars: the random and the greedy policy's evaluations
    "cleanrl_ppo": {
        "x": [[1024, 2048, 3072, 4096], []],
        "printed": {"random policy": "random policy", "PPO (greedy)": "PPO (greedy)"},
    },
    # 3000 steps, a training-curve point every 1000 (log_frequency)
    "cleanrl_dqn": {
        "x": [[1000, 2000, 3000], []],
        "printed": {"random policy": "random policy", "DQN (greedy)": "DQN (greedy)"},
    },
    # rounds of 64 low-level tokens (4 envs x 16 steps) and 8 high-level decisions (2 envs x 4) until
    # 200 tokens: how many rounds depends on the high level's reply lengths, checked below
    "hierarchical": {
        "x": [None, None, []],
        "printed": {"before training": "before training", "after training": "after training"},
    },
    # 2048 steps in rollouts of 8 envs x 128 steps (agents.RewardCurve); bars: the 2 recorded episodes' returns
    "record_video": {"x": [[1024, 2048], []], "printed": {}},
}

# Scripts with a --json flag (the docs tables are rendered from its file): the JSON record whose
# mean must equal each printed line's, as {record: printed tag}; "ppo.0" is the first of a list.
JSON_PRINTED: dict[str, dict[str, str]] = {
    "dialogue": {"before": "before PPO", "after": "after PPO"},
    "summarization": {"pretrained": "pretrained", "supervised": "supervised", "after": "after PPO"},
    "rlhf_pipeline": {"before": "base model", "ppo.0": "PPO, seed 0"},
}


def load(script: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)  # the scripts' work is under `if __name__ == "__main__"`
    return module


def test_every_example_has_expectations() -> None:
    assert {s.stem for s in SCRIPTS} == set(EXPECTED), "add the new example's expected outputs to EXPECTED"
    with_json = {s.stem for s in SCRIPTS if "json" in {f.name for f in dataclasses.fields(load(s).Args)}}
    assert with_json == set(JSON_PRINTED), "add the example's --json records to JSON_PRINTED"


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_example_flags_smoke_and_out(script: Path) -> None:
    module = load(script)
    args = parse_args(module.Args, module.__doc__, argv=["--smoke", "--out", "somewhere"], smoke=module.SMOKE)
    assert args.out == "somewhere" and args.smoke
    for name, value in module.SMOKE.items():
        assert getattr(args, name) == value, name
    full = parse_args(module.Args, module.__doc__, argv=[], smoke=module.SMOKE)
    assert full == module.Args() and not full.smoke


def module_smoke(script: Path) -> dict:
    """The script's --smoke overrides."""
    return load(script).SMOKE


def printed_means(stdout: str) -> dict[str, str]:
    """``tag: <what> 1.234 +- 0.056 (n=...`` lines (agents.describe) -> {tag: "1.234"}."""
    pattern = re.compile(r"^(?P<tag>[^:\n]+?)\s*: [a-z ()0-9]+? (?P<mean>-?\d+\.\d+) \+- ", re.MULTILINE)
    return {m["tag"].strip(): m["mean"] for m in pattern.finditer(stdout)}


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_example_runs_with_smoke_and_writes_its_numbers(script: Path, tmp_path: Path) -> None:
    if script.stem == "record_video":
        pytest.importorskip("moviepy", reason="video recording needs moviepy: pip install -e '.[video]'")
    cmd = [sys.executable, str(script), "--smoke", "--out", str(tmp_path)]
    if script.stem in JSON_PRINTED:
        cmd += ["--json", str(tmp_path / "result.json")]
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    output = f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert proc.returncode == 0, f"{script.name} exited {proc.returncode}:\n{output}"
    png, numbers = tmp_path / f"{script.stem}.png", tmp_path / f"{script.stem}.json"
    assert png.read_bytes()[:8] == PNG_MAGIC, output
    plotted = json.loads(numbers.read_text())

    expected = EXPECTED[script.stem]
    assert len(plotted["panels"]) == len(expected["x"])
    for k, (panel, xs) in enumerate(zip(plotted["panels"], expected["x"], strict=True)):
        for label, curve in panel["curves"].items():
            assert len(curve["steps"]) == len(curve["values"]) > 0, label
            assert all(math.isfinite(v) for v in curve["values"]), label
            if xs is not None:
                assert curve["steps"] == xs, label
            elif script.stem == "hierarchical":  # one point per rollout: multiples of its size, the first one first
                size = [64, 8][k]
                assert curve["steps"] == [size * (i + 1) for i in range(len(curve["steps"]))], label
            else:  # Monitor: running total of episode lengths (TinyCat: 1 to 5 tokens each)
                steps = curve["steps"]
                assert all(1 <= b - a <= 5 for a, b in zip([0.0, *steps], steps, strict=False)), label
        for row in panel["bars"].values():
            assert all(math.isfinite(v) for v in row.values())
    printed = printed_means(proc.stdout)
    if expected["printed"]:
        bars = plotted["panels"][-1]["bars"][""]  # one unnamed series: the before/after bars
        assert list(bars) == list(expected["printed"])
        for bar, tag in expected["printed"].items():
            assert f"{bars[bar]:.3f}" == printed[tag], (bar, printed)  # the same number, printed to 3 decimals
    if script.stem in JSON_PRINTED:  # the numbers a docs table is rendered from are the printed ones
        result = json.loads((tmp_path / "result.json").read_text())
        assert result["args"]["smoke"] and result["seconds"] > 0 and result["threads"] >= 1, result
        for key, tag in JSON_PRINTED[script.stem].items():
            name, _, index = key.partition(".")
            record = result[name][int(index)] if index else result[name]
            assert f"{record['mean_reward']:.3f}" == printed[tag], (key, printed)
            assert record["n_episodes"] == module_smoke(script)["eval_episodes"]
    if script.stem == "sb3_stock_agents":  # one curve per SB3 agent, each from its own Monitor log
        assert [label.split()[0] for label in plotted["panels"][0]["curves"]] == ["PPO", "A2C", "DQN"]
        assert list(plotted["panels"][0]["baselines"]) == ["random policy"]
    if script.stem == "record_video":  # one video per recorded episode (SMOKE: 2), and a bar for each
        videos = sorted((tmp_path / "videos").glob("*.mp4"))
        assert [v.name for v in videos] == [f"tinycat-ppo-episode-{k}.mp4" for k in range(2)], output
        assert all(v.stat().st_size > 0 for v in videos)
        assert list(plotted["panels"][1]["bars"]["greedy return"]) == ["episode 0", "episode 1"]
        returns = re.findall(r"^'.*' -> '.*': return (-?\d+\.\d+)$", proc.stdout, re.MULTILINE)
        assert [f"{v:.2f}" for v in plotted["panels"][1]["bars"]["greedy return"].values()] == returns
