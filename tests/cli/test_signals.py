"""Issue 30: ``textgym train`` killed (SIGKILL) or interrupted (SIGINT) in a subprocess leaves only files that load.

Each test starts a real ``textgym train`` on the tiny model (2 slots: a rollout is 128 steps,
a checkpoint at every rollout boundary with ``--checkpoint-every 128``) and signals it at a
chosen moment, found by watching its run directory.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import agents
from agents.checkpoints import checkpoint_steps, latest_checkpoint, list_checkpoints, read_resume_state
from agents.cli import main
from agents.run_dir import temporary_files
from agents.run_files import is_temporary

REPO = Path(__file__).resolve().parents[2]
TINY = ["--n-envs", "2", "--eval-episodes", "4", "--samples", "1", "--no-progress", "--checkpoint-every", "128"]


def start(out: Path, timesteps: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "agents.cli", "train", "CatText-v0", "--timesteps", str(timesteps), *TINY]
    with open(out.parent / "stdout", "w") as stdout, open(out.parent / "stderr", "w") as stderr:
        return subprocess.Popen([*argv, "--out", str(out)], env=env, cwd=out.parent, stdout=stdout, stderr=stderr)


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen, period: float, timeout: float = 600) -> bool:
    """Poll ``condition`` every ``period`` s until it holds (True) or the process ends or time is up (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if condition():
            return True
        time.sleep(period)
    return False


def temporary_smaller_than(folder: Path, size: int) -> bool:
    """A temporary file in ``folder`` still under ``size`` bytes: a save has begun and is far from done."""
    try:
        return any(is_temporary(p) and p.stat().st_size < size for p in folder.iterdir())
    except FileNotFoundError:  # the folder does not exist yet, or the file was renamed meanwhile
        return False


def assert_all_load(out: Path) -> list[Path]:
    """Every checkpoint and model.zip in ``out`` loads, with the step count its name says."""
    checkpoints = list_checkpoints(out / "checkpoints")
    for path in checkpoints:
        assert agents.PPO.load(path).num_timesteps == checkpoint_steps(path)
        assert set(read_resume_state(path)) == {"rng", "state"}
    if (out / "model.zip").exists():
        agents.PPO.load(out / "model.zip")
    return checkpoints


@pytest.mark.parametrize("moment", ["writing a checkpoint", "learning"])
def test_sigkill_leaves_only_files_that_load(moment: str, tmp_path: Path) -> None:
    # Before: a kill during a save left a fragment under the final name (0 bytes, 522 KB of 6.8 MB).
    out = tmp_path / "run"
    proc = start(out, timesteps=100_000)
    try:
        checkpoints = out / "checkpoints"
        caught = wait_for(lambda: bool(list_checkpoints(checkpoints)), proc, period=0.05)
        if caught and moment == "writing a checkpoint":
            # the next save, caught in its first megabyte (a checkpoint of the tiny model is 13.5 MB)
            caught = wait_for(lambda: temporary_smaller_than(checkpoints, 1_000_000), proc, period=0.0005)
        elif caught:
            time.sleep(0.5)
        proc.kill()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert caught, (out.parent / "stderr").read_text()[-3000:]
    assert proc.returncode == -signal.SIGKILL
    if moment == "writing a checkpoint":
        assert temporary_files(out), "the kill should have landed in the middle of a save"
    kept = assert_all_load(out)
    assert kept and latest_checkpoint(checkpoints) == kept[-1]  # the fragment is no checkpoint
    assert not (out / "model.zip").exists() and not (out / "textgym.json").exists()


def test_sigkill_during_the_final_save_then_resume(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = start(out, timesteps=128)
    try:
        # The end-of-training checkpoint comes first, then the evaluation, then model.zip.
        caught = wait_for(lambda: bool(list_checkpoints(out / "checkpoints")), proc, period=0.05)
        caught = caught and wait_for(lambda: bool(temporary_files(out)), proc, period=0.0005)
        proc.kill()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert caught, (out.parent / "stderr").read_text()[-3000:]
    assert proc.returncode == -signal.SIGKILL
    assert_all_load(out)
    left = temporary_files(out)
    if left:  # killed in the save (nearly always): its fragment is only a temporary file
        assert [p.name.split(".")[1] for p in left] == ["model"] and not (out / "model.zip").exists()
    else:  # killed in the microseconds between the rename and the kill: the model is whole (loaded above)
        assert (out / "model.zip").exists()
    assert not (out / "textgym.json").exists()
    # Resume: nothing left to learn; it evaluates and writes the run's files, and clears the fragment.
    main(["train", "--resume", str(out), "--no-progress", "--samples", "1"])
    assert agents.PPO.load(out / "model.zip").num_timesteps == 128
    assert json.loads((out / "textgym.json").read_text())["resumed_from"] == [128]
    assert not temporary_files(out)


def test_sigint_during_learn_saves_a_checkpoint_and_exits_130(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = start(out, timesteps=100_000)
    try:
        learning = wait_for(lambda: bool(list_checkpoints(out / "checkpoints")), proc, period=0.05)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = (out.parent / "stderr").read_text()
    assert learning, err[-3000:]
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    pattern = (
        r"textgym: interrupted; checkpoint (\S+) \(([\d,]+) of 100,000 steps\); "
        rf"resume with: textgym train --resume {re.escape(str(out))}"
    )
    match = re.fullmatch(pattern, last)
    assert match, last
    checkpoint, steps = Path(match[1]), int(match[2].replace(",", ""))
    assert checkpoint == latest_checkpoint(out / "checkpoints") and steps >= 128
    assert agents.PPO.load(checkpoint).num_timesteps == steps
