"""A run directory's layout (what ``textgym train --out DIR`` writes), and which of its files a run owns.

::

    DIR/settings.json         the run's settings, written at its start (read by --resume)
    DIR/checkpoints/          checkpoint_<steps>_steps.zip (agents.checkpoints)
    DIR/tb/                   TensorBoard event files (SB3's logger)
    DIR/model.zip             the trained agent, at the end
    DIR/learning_curve.png    and learning_curve.json beside it
    DIR/textgym.json          the run's summary, written last

A second run into the same folder must not mix with the first (overwrite its model and
summary but keep its curve, say), so :func:`previous_run_files` lists what a
new run would clash with, and :func:`remove_run_files` removes those files, and only those:
a user's own files in the folder stay.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agents.checkpoints import list_checkpoints
from agents.run_files import is_temporary

SETTINGS = "settings.json"
MODEL = "model.zip"
SUMMARY = "textgym.json"
CURVE = "learning_curve.png"
CURVE_NUMBERS = "learning_curve.json"  # textgym.plotting writes it beside the PNG
CHECKPOINTS = "checkpoints"
TENSORBOARD = "tb"
_FILES = (SETTINGS, MODEL, SUMMARY, CURVE, CURVE_NUMBERS)


def previous_run_files(folder: str | Path) -> list[Path]:
    """The files of a previous run in ``folder``: its named files, checkpoints, TensorBoard events, temporaries.

    Temporary files are those a killed run left (:func:`agents.run_files.is_temporary`).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [folder / name for name in _FILES if (folder / name).is_file()]
    found += list_checkpoints(folder / CHECKPOINTS)
    if (folder / TENSORBOARD).is_dir():
        found += sorted(p for p in (folder / TENSORBOARD).glob("*/events.out.tfevents.*") if p.is_file())
    found += temporary_files(folder)
    return found


def temporary_files(folder: str | Path) -> list[Path]:
    """Temporary files left in ``folder`` and its checkpoint folder by a killed run."""
    folder = Path(folder)
    places = [folder, folder / CHECKPOINTS]
    return sorted(p for place in places if place.is_dir() for p in place.iterdir() if p.is_file() and is_temporary(p))


def remove_run_files(folder: str | Path) -> list[Path]:
    """Remove :func:`previous_run_files` and the run's folders they leave empty; return what was removed."""
    folder = Path(folder)
    removed = previous_run_files(folder)
    for path in removed:
        path.unlink()
    tensorboard = folder / TENSORBOARD
    runs = sorted(p for p in tensorboard.iterdir() if p.is_dir()) if tensorboard.is_dir() else []
    for sub in [*runs, tensorboard, folder / CHECKPOINTS]:
        if sub.is_dir() and not any(sub.iterdir()):
            sub.rmdir()
    return removed


def read_run_json(path: str | Path) -> dict[str, Any]:
    """A run's JSON file (``settings.json``, ``textgym.json``) as a dict.

    Raises:
        FileNotFoundError: If it does not exist.
        ValueError: If it is not valid JSON, or not a JSON object; the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} holds a JSON {type(data).__name__}, not an object")
    return data
