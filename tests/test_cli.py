"""The ``textgym`` command: train writes the agent, its summary and its learning curve; eval reloads it."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agents.cli import main


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


# ----- issue 30: nothing lost, nothing silent -----
TINY = ["--n-envs", "2", "--eval-episodes", "4", "--samples", "1", "--no-progress"]


def tiny_train(out: Path, *extra: str, timesteps: int = 128) -> list[str]:
    """argv of a quick run: one PPO rollout of 2 x 64 steps per 128 timesteps."""
    return ["train", "CatText-v0", "--timesteps", str(timesteps), *TINY, "--out", str(out), *extra]


def contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "run"
    main(tiny_train(out))
    return out


@pytest.fixture
def run_copy(finished_run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(finished_run, copy)
    return copy


@pytest.mark.parametrize("value", ["0", "-1", "1.5"])
def test_timesteps_must_be_a_positive_integer(value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Before: 0 and -1 saved an untrained model and exited 0.
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "CatText-v0", "--timesteps", value, "--out", str(tmp_path / "run")])
    assert exit_info.value.code == 2
    assert f"argument --timesteps: must be an integer >= 1, got '{value}'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("value", ["nan", "inf", "-0.1"])
def test_kl_coef_must_be_finite_and_non_negative(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: --kl-coef nan wrote NaN into textgym.json, which is not JSON.
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "CatText-v0", "--kl-coef", value, "--out", str(tmp_path / "run")])
    assert exit_info.value.code == 2
    assert f"argument --kl-coef: must be a finite number >= 0, got '{value}'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_nan_result_is_refused_not_written_into_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import agents

    evaluate = agents.evaluate_policy_text

    def nan_after_training(model: object, *args: object, **kwargs: object) -> dict:
        result = evaluate(model, *args, **kwargs)
        return {**result, "mean_reward": float("nan")} if model.num_timesteps else result  # type: ignore[attr-defined]

    monkeypatch.setattr(agents, "evaluate_policy_text", nan_after_training)
    out = tmp_path / "run"
    with pytest.raises(SystemExit, match=r"refusing to write nan \(after\.mean_reward\) into .*textgym\.json"):
        main(tiny_train(out, "--json", str(tmp_path / "copy.json")))
    assert not (out / "textgym.json").exists() and not (tmp_path / "copy.json").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left either


def test_a_second_run_is_refused_and_leaves_the_first_byte_identical(run_copy: Path) -> None:
    # Before: a second run overwrote model.zip, textgym.json and the curve without a word.
    before = contents(run_copy)
    with pytest.raises(SystemExit) as exit_info:
        main(tiny_train(run_copy))
    message = str(exit_info.value.code)
    assert message.startswith(f"{run_copy} holds a previous run (settings.json, model.zip, textgym.json")
    assert "pass --overwrite to replace it" in message
    assert contents(run_copy) == before


def test_overwrite_removes_the_previous_runs_files_only(run_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import agents

    (run_copy / "notes.txt").write_text("mine")
    old_model = (run_copy / "model.zip").read_bytes()
    # A run that records no curve point (no finished episode) must not leave the previous run's curve.
    monkeypatch.setattr(agents.RewardCurve, "_on_rollout_end", lambda self: None)
    main([*tiny_train(run_copy, "--seed", "1"), "--overwrite"])
    assert (run_copy / "notes.txt").read_text() == "mine"
    assert not (run_copy / "learning_curve.png").exists() and not (run_copy / "learning_curve.json").exists()
    assert json.loads((run_copy / "textgym.json").read_text())["seed"] == 1
    assert json.loads((run_copy / "settings.json").read_text())["seed"] == 1
    assert (run_copy / "model.zip").read_bytes() != old_model
    assert len(list((run_copy / "tb").glob("*/events.out.tfevents.*"))) == 1  # the old run's events went


def test_eval_missing_model(run_copy: Path) -> None:
    (run_copy / "model.zip").unlink()
    with pytest.raises(SystemExit, match=r"model\.zip not found: the run in .* saved no model"):
        main(["eval", str(run_copy), "--episodes", "4"])


def test_eval_summary_that_is_not_json(run_copy: Path) -> None:
    (run_copy / "textgym.json").write_text('{"algo": "ppo", NaN')
    with pytest.raises(SystemExit, match=r"textgym\.json is not valid JSON \(Expecting"):
        main(["eval", str(run_copy), "--episodes", "4"])


def test_eval_unknown_algorithm(run_copy: Path) -> None:
    meta = json.loads((run_copy / "textgym.json").read_text())
    (run_copy / "textgym.json").write_text(json.dumps({**meta, "algo": "dqn"}))
    with pytest.raises(SystemExit, match=r"names algorithm 'dqn'; textgym knows ppo, a2c, reinforce, grpo, rloo"):
        main(["eval", str(run_copy), "--episodes", "4"])


def test_eval_env_with_other_observations(run_copy: Path) -> None:
    # CatText-v0 observations are 39 tokens long, Dialogue-v0's 114.
    expected = (
        r"model\.zip was trained on observations \{attention_mask: \(39,\), input_ids: \(39,\)\} and actions "
        r"Discrete\(247\); textgym/Dialogue-v0 has observations \{attention_mask: \(114,\), input_ids: \(114,\)\}"
    )
    with pytest.raises(SystemExit, match=expected):
        main(["eval", str(run_copy), "--episodes", "4", "--env", "Dialogue-v0"])


def test_help_imports_no_torch() -> None:
    # The CLI imports torch and the algorithms only to train or evaluate; parsing needs its own modules and
    # the registry (agents/__init__ imports its names on first use).
    code = (
        "import sys\nfrom agents.cli import main\nfor argv in (['--help'], ['train', '--help'], ['eval', '--help']):\n"
        "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
        "assert 'torch' not in sys.modules and 'stable_baselines3' not in sys.modules, 'imported'\n"
        "loaded = {m for m in sys.modules if m == 'agents' or m.startswith('agents.')}\n"
        "parsing = {'agents', 'agents.cli', 'agents.cli_eval', 'agents.cli_settings', 'agents.cli_shared',"
        " 'agents.cli_train', 'agents.registry'}\n"
        "assert loaded <= parsing, sorted(loaded - parsing)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "--checkpoint-every N" in result.stdout and "--resume DIR" in result.stdout
