"""``X.load`` refuses a file saved by another algorithm, and a missing file is named as given (issue 30)."""

import io
import json
import re
import zipfile

import pytest

import agents
from agents.distributed import RayGRPO, RayPPO


class MyPPO(agents.PPO):
    """A user's subclass: it and agents.PPO load each other's files."""


FACTORIES = {
    "PPO": lambda: agents.make_ppo("CatText-v0", n_envs=2, n_steps=8, batch_size=8),
    "A2C": lambda: agents.make_a2c("CatText-v0", n_envs=2, n_steps=8),
    "REINFORCE": lambda: agents.make_reinforce("CatText-v0", n_envs=2, n_steps=8),
    "GRPO": lambda: agents.make_grpo("CatText-v0", n_envs=4, group_size=2),
}
NAMES = sorted(FACTORIES)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """One file per algorithm, saved by agents' own classes (name -> path)."""
    folder = tmp_path_factory.mktemp("saved")
    paths = {}
    for name, make in FACTORIES.items():
        paths[name] = folder / f"{name.lower()}.zip"
        make().save(paths[name])
    return paths


def _without_record(src, dst):
    """A copy of a saved file without the saving-class record: what a file saved before issue 30 holds."""
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w") as new:
        for item in old.infolist():
            content = old.read(item.filename)
            if item.filename == "data":
                data = json.loads(content)
                assert "_saved_by" in data
                del data["_saved_by"]
                content = json.dumps(data).encode()
            new.writestr(item, content)
    return dst


@pytest.mark.parametrize("saver", NAMES)
@pytest.mark.parametrize("loader", NAMES)
def test_load_refuses_a_file_saved_by_another_algorithm(saved, saver, loader) -> None:
    if saver == loader:
        assert type(getattr(agents, loader).load(saved[saver], device="cpu")) is getattr(agents, loader)
        return
    message = f"{saved[saver]} was saved by agents.{saver}; load it with agents.{saver}.load, not agents.{loader}.load"
    with pytest.raises(ValueError, match=re.escape(message)):
        getattr(agents, loader).load(saved[saver], device="cpu")


def test_a_class_and_its_subclasses_load_each_other(saved, tmp_path) -> None:
    assert type(RayPPO.load(saved["PPO"], device="cpu")) is RayPPO  # no env: no Ray workers are started
    assert type(RayGRPO.load(saved["GRPO"], device="cpu")) is RayGRPO
    assert type(MyPPO.load(saved["PPO"], device="cpu")) is MyPPO
    mine = tmp_path / "mine.zip"
    MyPPO.load(saved["PPO"], device="cpu").save(mine)  # saved again: now it records MyPPO
    assert type(agents.PPO.load(mine, device="cpu")) is agents.PPO
    with pytest.raises(ValueError, match=r"mine.zip was saved by \S*MyPPO; load it with \S*MyPPO.load"):
        agents.A2C.load(mine, device="cpu")
    with pytest.raises(ValueError, match=r"was saved by agents.GRPO; load it with agents.GRPO.load, not "):
        RayPPO.load(saved["GRPO"], device="cpu")
    with pytest.raises(ValueError, match=r"was saved by agents.PPO; load it with agents.PPO.load, not "):
        RayGRPO.load(saved["PPO"], device="cpu")


@pytest.mark.parametrize(
    ("saver", "loader", "message"),
    [
        ("GRPO", "PPO", "was saved by agents.GRPO (or a subclass)"),
        ("GRPO", "REINFORCE", "was saved by agents.GRPO (or a subclass)"),
        ("PPO", "GRPO", "was saved by an algorithm other than agents.GRPO"),
        ("A2C", "GRPO", "was saved by an algorithm other than agents.GRPO"),
    ],
)
def test_files_without_a_record_are_told_apart_by_what_they_hold(saved, tmp_path, saver, loader, message) -> None:
    old = _without_record(saved[saver], tmp_path / "old.zip")
    with pytest.raises(ValueError, match=re.escape(message)):
        getattr(agents, loader).load(old, device="cpu")


def test_files_without_a_record_still_load_where_they_did(saved, tmp_path) -> None:
    # Between the step-based algorithms nothing saved tells them apart reliably: as before the record.
    old_ppo = _without_record(saved["PPO"], tmp_path / "old_ppo.zip")
    old_grpo = _without_record(saved["GRPO"], tmp_path / "old_grpo.zip")
    assert type(agents.PPO.load(old_ppo, device="cpu")) is agents.PPO
    assert type(agents.GRPO.load(old_grpo, device="cpu")) is agents.GRPO


def test_a_missing_file_is_named_as_given(tmp_path) -> None:
    with pytest.raises(FileNotFoundError) as error:
        agents.PPO.load(tmp_path / "cat.zip")
    assert str(error.value) == f"no saved model at {tmp_path / 'cat.zip'}"  # not SB3's cat.zip.zip
    with pytest.raises(FileNotFoundError, match=re.escape(f"no saved model at {tmp_path / 'cat'} (nor ")):
        agents.GRPO.load(tmp_path / "cat")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        agents.PPO.load(tmp_path)


def test_a_name_without_zip_and_a_stream_load_as_in_sb3(saved) -> None:
    stem = saved["GRPO"].with_suffix("")
    assert type(agents.GRPO.load(stem, device="cpu")) is agents.GRPO  # SB3 also tries name + ".zip"
    stream = io.BytesIO(saved["GRPO"].read_bytes())
    with pytest.raises(ValueError, match="was saved by agents.GRPO"):
        agents.PPO.load(stream, device="cpu")
    assert stream.tell() == 0  # the check put the stream back
    assert type(agents.GRPO.load(stream, device="cpu")) is agents.GRPO
