"""Writing a run's files so that each one is either the old complete file or the new complete one.

A file written in place is a fragment for as long as it is being written: a run killed or
interrupted then, or one that fills the disk, leaves a ``model.zip`` that does not load, in
place of the good one it was replacing. So every file of a run (model, summary,
curves, checkpoints) is written to a temporary file in the same folder and renamed onto its
name with :func:`os.replace`, which POSIX makes atomic within one file system; the data are
flushed to disk (``fsync``) before the rename, so a crash cannot rename a file whose data are
not there yet.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> write_json(folder / "summary.json", {"mean_reward": 0.5})
>>> json.loads((folder / "summary.json").read_text())
{'mean_reward': 0.5}
>>> write_json(folder / "summary.json", {"kl_coef": float("nan")})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: refusing to write nan (kl_coef) into .../summary.json: JSON has no NaN or infinity
>>> sorted(p.name for p in folder.iterdir())  # the old file stands, and no temporary file is left
['summary.json']
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: Marks the temporary files of :func:`replacing` (``.model.<token>.tmp.zip``): hidden, and
#: keeping the final suffix, for writers that pick the format from it (matplotlib).
TEMPORARY_MARK = ".tmp"


def is_temporary(path: Path) -> bool:
    """Whether ``path`` is named like a temporary file of :func:`replacing` (left behind by a killed run)."""
    parts = path.name.split(".")
    # "", stem..., token, "tmp", suffix
    return path.name.startswith(".") and len(parts) >= 5 and parts[-2] == TEMPORARY_MARK[1:]


def _temporary_sibling(path: Path, token: str) -> Path:
    return path.with_name(f".{path.stem}.{token}{TEMPORARY_MARK}{path.suffix}")


def _fsync(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def replacing(*paths: str | Path) -> Iterator[tuple[Path, ...]]:
    """Temporary paths to write ``paths`` to; each replaces its path when the block ends without error.

    The temporary files are siblings of their paths (same folder, so the rename stays on one
    file system) and share one random token: ``a.png`` and ``a.json`` become ``.a.<t>.tmp.png``
    and ``.a.<t>.tmp.json``, so a writer that derives one name from the other
    (``textgym.plotting.plot_panels`` writes the JSON beside the PNG) writes both. If the block
    raises (``KeyboardInterrupt`` included), the temporary files are removed and every path
    keeps its old content. With several paths, each rename is atomic but the group is not: a
    kill between two renames leaves one new and one old file, each complete.

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "model.zip"
    >>> with replacing(target) as (tmp,):
    ...     _ = tmp.write_bytes(b"complete")
    >>> target.read_bytes()
    b'complete'

    Args:
        paths: The files to write; their folders must exist.

    Yields:
        One temporary path per path, in order.

    Raises:
        FileNotFoundError: If the block did not write one of the temporary files.
    """
    targets = [Path(p) for p in paths]
    token = secrets.token_hex(4)
    temporaries = tuple(_temporary_sibling(p, token) for p in targets)
    try:
        yield temporaries
        for tmp in temporaries:
            if not tmp.is_file():
                raise FileNotFoundError(f"nothing was written to {tmp} (for {targets[temporaries.index(tmp)]})")
            _fsync(tmp)
        for tmp, target in zip(temporaries, targets, strict=True):
            os.replace(tmp, target)
        for folder in {t.parent for t in targets}:
            _fsync(folder, directory=True)  # the renames themselves reach the disk
    finally:
        for tmp in temporaries:
            tmp.unlink(missing_ok=True)


def _non_finite(data: Any, where: str = "") -> tuple[str, float] | None:
    """The first NaN or infinite float in ``data`` and where it is (``"after.components.topic"``)."""
    if isinstance(data, float) and not math.isfinite(data):
        return where, data
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list | tuple) else ()
    for key, value in items:
        found = _non_finite(value, f"{where}.{key}" if where else str(key))
        if found is not None:
            return found
    return None


def to_json(data: Any, path: str | Path = "JSON", indent: int | None = 2) -> str:
    """``data`` as JSON text (indented by ``indent``) with a final newline; NaN and infinity are refused, not written.

    Python's ``json`` writes ``NaN`` and ``Infinity`` by default, which are not JSON: other
    readers (``jq``, JavaScript, strict parsers) reject the whole file.

    Raises:
        ValueError: If ``data`` holds a NaN or infinite float; the message names where.
    """
    found = _non_finite(data)
    if found is not None:
        where, value = found
        raise ValueError(f"refusing to write {value} ({where}) into {path}: JSON has no NaN or infinity")
    return json.dumps(data, indent=indent, allow_nan=False) + "\n"


def save_model(model: Any, path: str | Path) -> None:
    """An SB3 model's ``save`` to ``path`` through :func:`replacing`: the old file stays until the new one is whole."""
    with replacing(path) as (tmp,):
        model.save(tmp)


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through :func:`replacing`."""
    with replacing(path) as (tmp,):
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, data: Any) -> None:
    """Write ``data`` as JSON (:func:`to_json`: no NaN, no infinity) to ``path`` through :func:`replacing`.

    Raises:
        ValueError: If ``data`` holds a NaN or infinite float; ``path`` is left as it was.
    """
    write_text(path, to_json(data, path))
