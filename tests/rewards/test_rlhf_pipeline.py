import dataclasses
import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

from textgym.rewards import LearnedRewardModel, read_feedback

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "rlhf_pipeline.py"


def load_script():
    spec = importlib.util.spec_from_file_location("rlhf_pipeline", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_rlhf_pipeline_smoke_run(tmp_path) -> None:
    script = load_script()
    out = tmp_path / "run"
    result = script.main(dataclasses.replace(script.Args(out=str(out), feedback="edit"), **script.SMOKE))
    assert all(math.isfinite(v) for v in result.values())
    assert 0 <= result["rm_accuracy"] <= 1 and 0 <= result["before"] <= 4 and 0 <= result["after"] <= 4
    records = read_feedback(out / "edit.jsonl")
    assert records and all(r.edited != r.original for r in records)
    assert LearnedRewardModel.load(out / "reward_model").report.n_train > 0
    assert (out / "rlhf_pipeline.png").stat().st_size > 0
    # The plot's numbers: the bars are the printed (returned) scores, the curve has a point per rollout.
    plotted = json.loads((out / "rlhf_pipeline.json").read_text())
    curve, bars = plotted["panels"][0]["curves"]["seed 0"], plotted["panels"][1]["bars"]
    assert curve["steps"] == [64.0, 128.0, 192.0, 256.0]  # 4 rollouts of 4 envs x 16 steps, each ending episodes
    assert bars["base model"]["total (of 4)"] == result["before"]
    assert bars["after PPO (mean of 1 seeds)"]["total (of 4)"] == pytest.approx(result["after"], abs=1e-12)
