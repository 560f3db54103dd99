"""Checkpoints a run can resume from: SB3's ``CheckpointCallback``, at rollout boundaries, written atomically.

A checkpoint is SB3's own zip (``Algorithm.load`` reads it: policy and optimizer state,
``num_timesteps``, and every saved attribute, :class:`agents.KLController` included) plus one
entry SB3's loader ignores, ``textgym_resume.json``: the random generators' states
(:mod:`agents.rng_state`) and whatever the caller adds (``state``: e.g. the learning curve so
far). Files are named ``checkpoint_<steps>_steps.zip`` (SB3's naming) under one folder.

What a resumed run continues, and what restarts:

* continues: the weights, the optimizer's moments and step counts, ``num_timesteps`` (and with
  it the learning-rate and clip-range schedules' progress), the KL coefficient, SB3's episode
  statistics (``ep_info_buffer``), and the torch, NumPy and Python generators;
* restarts: the episodes in flight at the checkpoint (on-policy algorithms keep no data across
  rollouts, and SB3 does not save the envs): every slot starts a fresh episode, from a seed the
  caller gives (``textgym train --resume`` uses ``seed + num_timesteps``).
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import CheckpointCallback

from agents import rng_state
from agents.run_files import replacing, to_json
from textgym.validation import check_int

#: The entry of a checkpoint's zip that holds the generators and the caller's state.
RESUME_ENTRY = "textgym_resume.json"
_PREFIX = "checkpoint"
_NAME = re.compile(rf"^{_PREFIX}_(\d+)_steps\.zip$")


def checkpoint_steps(path: Path) -> int | None:
    """The step count in a checkpoint's file name, or None if ``path`` is not named like a checkpoint."""
    match = _NAME.match(path.name)
    return int(match.group(1)) if match else None


def list_checkpoints(folder: str | Path) -> list[Path]:
    """The checkpoints in ``folder``, oldest (fewest steps) first; none if the folder does not exist."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_file() and checkpoint_steps(p) is not None]
    return sorted(found, key=lambda p: checkpoint_steps(p) or 0)


def latest_checkpoint(folder: str | Path) -> Path | None:
    """The checkpoint with the most steps in ``folder``, or None."""
    found = list_checkpoints(folder)
    return found[-1] if found else None


def read_resume_state(path: str | Path) -> dict[str, Any]:
    """A checkpoint's ``textgym_resume.json``: ``{"rng": ..., "state": ...}``.

    Raises:
        ValueError: If ``path`` is not a zip, or a zip without that entry (an SB3 save that
            is not a textgym checkpoint).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            if RESUME_ENTRY not in archive.namelist():
                raise ValueError(f"{path} has no {RESUME_ENTRY}: it is not a checkpoint written by textgym")
            return json.loads(archive.read(RESUME_ENTRY))
    except zipfile.BadZipFile as error:
        raise ValueError(f"{path} is not a readable checkpoint ({error})") from error


class ResumableCheckpoint(CheckpointCallback):
    """SB3's ``CheckpointCallback``, saving at rollout boundaries, atomically, with what resuming needs.

    What it changes in SB3's callback, and why:

    * **When**: SB3's saves every ``save_freq`` calls of ``env.step()``, in the middle of a
      rollout; that state cannot be resumed without the half-collected rollout (SB3 does not
      save it). This one saves at the start of a rollout, i.e. after the previous update,
      once ``every`` env steps have passed since its last save, and at the end of training.
    * **How**: through :func:`agents.run_files.replacing` (a temporary file renamed into place),
      so a run killed while saving never leaves a fragment under a checkpoint's name; older
      checkpoints beyond ``keep`` are removed only after the new one is complete.
    * **What**: the zip also holds ``textgym_resume.json`` (module docstring).
    * **Stopping**: :meth:`request_stop` (e.g. from Ctrl-C, :mod:`agents.interrupt`) stops
      training at its next env step and saves the state of the last rollout boundary:
      ``num_timesteps`` counts the steps of the rollouts the model learned from, not those of
      the rollout cut short (its finished episodes do stay in SB3's ``ep_info_buffer``).

    SB3's folder creation (``_init_callback``) and file naming (``_checkpoint_path``) are kept;
    its replay-buffer and ``VecNormalize`` saves are not (on-policy LM agents use neither).

    Args:
        save_path: The folder of the checkpoints (created).
        every: Env steps between periodic checkpoints; 0 saves only at the end of training and
            when a stop is requested.
        keep: How many checkpoints to keep (the newest).
        state: Called at each save; its JSON-able dict is stored under ``"state"``.
        verbose: 2 prints each save, as SB3's.

    Attributes:
        stop_requested: Whether :meth:`request_stop` was called.
        last_path: The latest checkpoint this callback wrote (None before the first).
    """

    def __init__(
        self,
        save_path: str | Path,
        every: int,
        keep: int = 1,
        state: Callable[[], dict[str, Any]] | None = None,
        verbose: int = 0,
    ):
        # save_freq counts env steps here (SB3's counts calls of env.step()).
        super().__init__(save_freq=check_int("every", every, minimum=0), save_path=str(save_path), verbose=verbose)
        self.name_prefix = _PREFIX
        self.keep = check_int("keep", keep)
        self.state = state
        self.stop_requested = False
        self.last_path: Path | None = None
        self._last_saved = 0
        self._rollout_start = 0
        self._collecting = False

    def request_stop(self) -> None:
        """Stop training at the next env step, and save a checkpoint (at the end of training)."""
        self.stop_requested = True

    def _on_training_start(self) -> None:
        self._last_saved = self._rollout_start = self.model.num_timesteps

    def _on_rollout_start(self) -> None:
        self._rollout_start = self.model.num_timesteps
        self._collecting = True
        if self.save_freq and self.model.num_timesteps - self._last_saved >= self.save_freq:
            self.save()

    def _on_rollout_end(self) -> None:
        self._collecting = False

    def _on_step(self) -> bool:
        return not self.stop_requested

    def _on_training_end(self) -> None:
        if self.stop_requested:
            # Cut short in a rollout: the model is as it was at the rollout's start.
            self.save(self._rollout_start if self._collecting else None)
        elif self.save_freq:
            self.save()

    def save(self, timesteps: int | None = None) -> Path:
        """Write a checkpoint of the model now, recording ``timesteps`` (default: the model's) as its step count.

        Returns:
            The checkpoint's path.
        """
        model = self.model
        current = model.num_timesteps
        steps = current if timesteps is None else timesteps
        if steps == self._last_saved and self.last_path is not None and self.last_path.is_file():
            return self.last_path  # this state is saved already
        self.num_timesteps = steps
        path = Path(self._checkpoint_path(extension="zip"))
        extra = {"rng": rng_state.capture(), "state": self.state() if self.state is not None else {}}
        model.num_timesteps = steps
        try:
            with replacing(path) as (tmp,):
                model.save(tmp)
                with zipfile.ZipFile(tmp, "a") as archive:
                    archive.writestr(RESUME_ENTRY, to_json(extra, f"{path}:{RESUME_ENTRY}", indent=None))
        finally:
            model.num_timesteps = current
        self._last_saved, self.last_path = steps, path
        older = [p for p in list_checkpoints(path.parent) if p != path]
        for old in older[: max(len(older) - (self.keep - 1), 0)]:
            old.unlink()
        if self.verbose >= 2:
            print(f"Saving model checkpoint to {path}")
        return path
