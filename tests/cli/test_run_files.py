"""Issue 30: a run's files are replaced whole or not at all (agents.run_files, agents.checkpoints)."""

import errno
import io
from pathlib import Path

import pytest
import torch

import agents
from agents.checkpoints import ResumableCheckpoint, list_checkpoints
from agents.run_dir import previous_run_files, remove_run_files
from agents.run_files import is_temporary, replacing, save_model


@pytest.fixture(scope="module")
def model() -> agents.PPO:
    return agents.make_ppo("CatText-v0", n_envs=2, n_steps=8, batch_size=16)


def fail_halfway(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make SB3's save write the first half of the policy's weights, then fail as a full disk does."""
    import stable_baselines3.common.save_util as save_util

    real_save, calls = torch.save, []

    def save_half(obj: object, file: object, **kwargs: object) -> None:
        calls.append(obj)
        if len(calls) == 1:  # pytorch_variables.pth; the next is policy.pth
            return real_save(obj, file, **kwargs)
        buffer = io.BytesIO()
        real_save(obj, buffer)
        file.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])  # type: ignore[attr-defined]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(save_util.th, "save", save_half)


def test_a_save_that_fails_halfway_keeps_the_old_model(
    model: agents.PPO, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: model.save wrote straight onto model.zip; a full disk left a fragment in place of the good model.
    path = tmp_path / "model.zip"
    save_model(model, path)
    good = path.read_bytes()
    fail_halfway(monkeypatch)
    with pytest.raises(OSError, match="No space left"):
        save_model(model, path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["model.zip"]  # the fragment went with the error
    monkeypatch.undo()
    assert agents.PPO.load(path).num_timesteps == model.num_timesteps


def test_an_interrupted_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "textgym.json"
    path.write_text("old")
    with pytest.raises(KeyboardInterrupt), replacing(path) as (tmp,):
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["textgym.json"]


def test_a_checkpoint_that_fails_halfway_keeps_the_previous_checkpoint(
    model: agents.PPO, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    callback = ResumableCheckpoint(tmp_path, every=8, keep=1)
    callback.init_callback(model)
    first = callback.save()
    model.num_timesteps += 16
    try:
        fail_halfway(monkeypatch)
        with pytest.raises(OSError, match="No space left"):
            callback.save()
    finally:
        model.num_timesteps -= 16
    monkeypatch.undo()
    assert list_checkpoints(tmp_path) == [first]  # not pruned: the new one never became whole
    assert list(tmp_path.iterdir()) == [first]  # and no fragment beside it
    assert agents.PPO.load(first).num_timesteps == model.num_timesteps


def test_temporary_names_and_run_files(tmp_path: Path) -> None:
    with replacing(tmp_path / "learning_curve.png", tmp_path / "learning_curve.json") as (png, numbers):
        assert numbers == png.with_suffix(".json")  # plot_panels writes the numbers beside the PNG
        assert png.suffix == ".png" and is_temporary(png) and is_temporary(numbers)
        png.write_bytes(b"png")
        numbers.write_text("{}")
    assert not is_temporary(tmp_path / "learning_curve.png") and not is_temporary(tmp_path / ".bashrc")
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "checkpoint_64_steps.zip").write_bytes(b"")
    (tmp_path / "checkpoints" / ".checkpoint_128_steps.0a1b2c3d.tmp.zip").write_bytes(b"")  # a killed save
    (tmp_path / "notes.txt").write_text("mine")
    found = {str(p.relative_to(tmp_path)) for p in previous_run_files(tmp_path)}
    assert found == {
        "learning_curve.png",
        "learning_curve.json",
        "checkpoints/checkpoint_64_steps.zip",
        "checkpoints/.checkpoint_128_steps.0a1b2c3d.tmp.zip",
    }
    remove_run_files(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
