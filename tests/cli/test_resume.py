"""Issue 30: Ctrl-C during learn saves a checkpoint; ``textgym train --resume DIR`` continues it (in process)."""

import contextlib
import copy
import io
import json
import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest
import torch

import agents
from agents.checkpoints import ResumableCheckpoint, read_resume_state
from agents.cli import main

TINY = ["--n-envs", "2", "--eval-episodes", "4", "--samples", "1", "--no-progress"]


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str]:
    """A 512-step run (4 rollouts of 128) that got Ctrl-C at the end of its second rollout."""
    out = tmp_path_factory.mktemp("interrupted") / "run"
    on_rollout_end = agents.RewardCurve._on_rollout_end

    def ctrl_c_at_256(self: agents.RewardCurve) -> None:
        on_rollout_end(self)
        if self.num_timesteps == 256:
            os.kill(os.getpid(), signal.SIGINT)

    argv = ["train", "CatText-v0", "--timesteps", "512", *TINY, "--out", str(out), "--checkpoint-every", "0"]
    err = io.StringIO()  # the CLI's last line goes to sys.stderr
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exit_info:
        patch.setattr(agents.RewardCurve, "_on_rollout_end", ctrl_c_at_256)
        main(argv)
    return out, exit_info.value.code, err.getvalue()


@pytest.fixture
def run(interrupted: tuple[Path, int, str], tmp_path: Path) -> Path:
    copy_ = tmp_path / "run"
    shutil.copytree(interrupted[0], copy_)
    return copy_


def test_ctrl_c_saves_a_checkpoint_and_exits_130_with_one_line(interrupted: tuple[Path, int, str]) -> None:
    # Before: a raw KeyboardInterrupt traceback, and no checkpoint.
    out, code, err = interrupted
    checkpoint = out / "checkpoints" / "checkpoint_256_steps.zip"
    assert code == 130
    assert err.strip().splitlines()[-1] == (
        f"textgym: interrupted; checkpoint {checkpoint} (256 of 512 steps); resume with: textgym train --resume {out}"
    )
    assert agents.PPO.load(checkpoint).num_timesteps == 256
    assert not (out / "model.zip").exists() and not (out / "textgym.json").exists()


def test_resume_continues_steps_optimizer_kl_and_generators(run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checkpoint = run / "checkpoints" / "checkpoint_256_steps.zip"
    saved = agents.PPO.load(checkpoint)
    saved_rng = read_resume_state(checkpoint)["rng"]
    seen: dict = {}
    on_training_start = ResumableCheckpoint._on_training_start

    def spy(self: ResumableCheckpoint) -> None:  # the state learn() starts from
        model = self.model
        seen.update(
            num_timesteps=model.num_timesteps,
            optimizer=copy.deepcopy(model.policy.optimizer.state_dict()),
            kl=vars(model.kl_controller).copy(),
            torch_rng=torch.get_rng_state().tolist(),
            numpy_rng=np.random.get_state()[1].tolist(),
        )
        on_training_start(self)

    monkeypatch.setattr(ResumableCheckpoint, "_on_training_start", spy)
    main(["train", "--resume", str(run), "--no-progress", "--samples", "1"])

    assert seen["num_timesteps"] == 256
    expected = saved.policy.optimizer.state_dict()
    assert expected["state"] and seen["optimizer"]["state"].keys() == expected["state"].keys()
    for key, state in expected["state"].items():
        assert int(state["step"]) == 8  # 2 rollouts x 4 epochs x 1 minibatch of 128 steps
        assert int(seen["optimizer"]["state"][key]["step"]) == 8
        assert torch.equal(seen["optimizer"]["state"][key]["exp_avg"], state["exp_avg"])
        assert torch.equal(seen["optimizer"]["state"][key]["exp_avg_sq"], state["exp_avg_sq"])
    assert seen["kl"] == vars(saved.kl_controller)
    assert seen["torch_rng"] == saved_rng["torch"] and seen["numpy_rng"] == saved_rng["numpy"]["state"]["key"]

    final = agents.PPO.load(run / "model.zip")
    assert final.num_timesteps == 512
    meta = json.loads((run / "textgym.json").read_text())
    assert meta["timesteps"] == meta["trained_steps"] == 512 and meta["resumed_from"] == [256]
    # The learning curve continues the interrupted run's points.
    curve = json.loads((run / "learning_curve.json").read_text())["panels"][0]["curves"]["PPO"]
    assert curve["steps"] == [128.0, 256.0, 384.0, 512.0]
    with pytest.raises(SystemExit, match="holds a finished run"):
        main(["train", "--resume", str(run)])


def test_resume_refuses_other_settings(run: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "Classify-v0", "--resume", str(run), "--timesteps", "1024", "--seed", "0"])
    message = str(exit_info.value.code)
    assert message.startswith(
        f"--resume {run}: ENV textgym/Classify-v0 (the run's: textgym/CatText-v0); --timesteps 1024 (the run's: 512) "
        "differ from the run's settings"
    )
    with pytest.raises(SystemExit, match="--resume continues a run and --overwrite deletes it"):
        main(["train", "--resume", str(run), "--overwrite"])
    with pytest.raises(SystemExit, match=r"settings\.json not found: .* is not a run started by 'textgym train'"):
        main(["train", "--resume", str(run / "checkpoints")])
    assert not (run / "model.zip").exists()
