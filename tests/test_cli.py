"""The ``textgym`` command: train writes the agent, its summary and its learning curve; eval reloads it."""

import json
from pathlib import Path

import pytest

from textgym.cli import main


def test_train_then_eval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    # PPO's defaults: 64 steps per env per rollout, so 2 envs make one rollout of 128 steps.
    argv = ["train", "CatText-v0", "--timesteps", "128", "--n-envs", "2", "--eval-episodes", "4", "--samples", "1"]
    main([*argv, "--out", str(out), "--no-progress", "--json", str(tmp_path / "copy.json")])
    meta = json.loads((out / "textgym.json").read_text())
    assert meta["env_id"] == "textgym/CatText-v0" and meta["algo"] == "ppo" and meta["timesteps"] == 128
    assert json.loads((tmp_path / "copy.json").read_text()) == meta
    assert set(meta["after"]["components"]) == {"topic", "fluency"}
    # The curve's numbers beside the PNG (textgym.plotting): one point after the one rollout.
    curve = json.loads((out / "learning_curve.json").read_text())["panels"][0]["curves"]["PPO"]
    assert curve["steps"] == [128.0] and len(curve["values"]) == 1
    assert (out / "learning_curve.png").read_bytes()[:4] == b"\x89PNG" and (out / "model.zip").is_file()
    capsys.readouterr()
    main(["eval", str(out), "--episodes", "4", "--split", "test", "--samples", "1", "--json", str(tmp_path / "e.json")])
    printed = capsys.readouterr().out.replace("\n", " ")
    summary = json.loads((tmp_path / "e.json").read_text())
    assert (summary["split"], summary["episodes"], summary["algo"]) == ("test", 4, "ppo")
    assert f"over 4 episodes: mean reward {summary['mean_reward']:.3f}" in printed
    assert summary["mean_reward"] == pytest.approx(sum(summary["components"].values()))  # weights 1 and 1


def test_group_size_is_only_for_group_algorithms(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="--group-size is for grpo and rloo, not ppo"):
        main(["train", "CatText-v0", "--group-size", "4", "--out", str(tmp_path)])
