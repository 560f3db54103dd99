"""Which algorithm saved a file: recorded by ``save``, checked by ``load`` before SB3 builds anything.

SB3's ``load`` builds whatever class it is called on from whatever the zip holds: without this
check ``agents.PPO.load`` of a GRPO file loads, then fails in ``learn`` (``'_NoBuffer'
object has no attribute 'action_dim'``), and ``agents.GRPO.load`` of a PPO file trains with
GRPO's defaults without a word.

Design: SB3 saves an algorithm's attributes in the zip's ``"data"`` entry (a JSON object,
``stable_baselines3.common.save_util.data_to_json``). :meth:`SavedClassMixin.save` adds one,
:data:`SAVED_BY_KEY`: the public names of the saving class and of its bases (its method
resolution order, :func:`lineage`), plain strings, so that reading it back unpickles nothing.
:meth:`SavedClassMixin.load` reads only that entry (:func:`read_saved_data`) and refuses the
file unless the loading class and the saving class are the same or one derives from the
other (so ``agents.distributed.RayPPO`` and ``agents.PPO`` load each other's files). Names
rather than module paths: ``agents.PPO`` stays ``agents.PPO`` when its module is renamed.

Files saved before the record existed are told apart by what they hold, where that is
reliable (:func:`infer_family`): only GRPO saves its group settings (``group``; before
:class:`agents.GroupConfig`, ``loss_aggregation`` and the others one by one), so a GRPO-family
class refuses an old file without them and every other class an old file with them. Between the step-based
algorithms (``agents.PPO``, ``A2C``, ``REINFORCE``, SB3's own) nothing saved tells them apart
reliably, so such an old file loads as before.
"""

from __future__ import annotations

import io
import json
import os
import pathlib
import sys
import zipfile
from typing import Any

#: The key of the saving class's lineage in the zip's ``"data"`` entry (and the attribute it is saved from).
SAVED_BY_KEY = "_saved_by"
#: Attributes only :class:`agents.GRPO` (and its subclasses) saves, any one of them: how old files are told apart.
GRPO_ONLY_KEYS = ("group", "loss_aggregation")

SavedPath = str | os.PathLike[str] | io.BufferedIOBase


def public_name(cls: type) -> str:
    """The shortest dotted name under which ``cls`` is importable: ``agents.GRPO``, not ``agents.grpo.GRPO``.

    >>> from agents.grpo import GRPO
    >>> public_name(GRPO)
    'agents.GRPO'
    """
    parts = cls.__module__.split(".")
    for end in range(1, len(parts) + 1):
        module = sys.modules.get(".".join(parts[:end]))
        if module is not None and getattr(module, cls.__qualname__, None) is cls:
            return f"{module.__name__}.{cls.__qualname__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def lineage(cls: type) -> list[str]:
    """The public names of ``cls`` and its bases, ``cls`` first (``object`` left out)."""
    return [public_name(c) for c in cls.__mro__ if c is not object]


def saved_file(path: SavedPath) -> pathlib.Path | io.BufferedIOBase:
    """The file ``load`` will read: ``path``, or ``path + ".zip"`` as SB3 also tries; a stream as it is.

    Raises:
        FileNotFoundError: If neither exists, naming the path as given (SB3 itself reports the
            ``.zip`` name it tried last, ``cat.zip.zip`` for a missing ``cat.zip``).
    """
    if isinstance(path, io.BufferedIOBase):
        return path
    given = pathlib.Path(path)
    if given.is_file():
        return given
    with_suffix = pathlib.Path(f"{given}.zip")
    if given.suffix != ".zip" and with_suffix.is_file():
        return with_suffix
    if given.is_dir():
        raise IsADirectoryError(f"{given} is a folder, not a model saved by an algorithm's save()")
    tried = "" if given.suffix == ".zip" else f" (nor {with_suffix})"
    raise FileNotFoundError(f"no saved model at {given}{tried}")


def read_saved_data(file: pathlib.Path | io.BufferedIOBase) -> dict[str, Any]:
    """The top level of a saved model's ``"data"`` entry, as JSON (pickled values stay encoded).

    A stream is read from its current position and put back there.

    Raises:
        ValueError: If the file is not a zip with a JSON ``"data"`` entry.
    """
    start = file.tell() if isinstance(file, io.BufferedIOBase) else None
    try:
        with zipfile.ZipFile(file) as archive:
            if "data" not in archive.namelist():
                raise ValueError(f"{file} has no 'data' entry: not a model saved by an algorithm's save()")
            data = json.loads(archive.read("data").decode())
    except zipfile.BadZipFile as error:
        raise ValueError(f"{file} is not a zip file: not a model saved by an algorithm's save()") from error
    finally:
        if start is not None:
            file.seek(start)
    if not isinstance(data, dict):
        raise ValueError(f"{file}'s 'data' entry is not a JSON object")
    return data


def infer_family(data: dict[str, Any], loader: type) -> str | None:
    """For a file saved without a record: who saved it, if it cannot have been ``loader``'s kind; else None.

    Only the GRPO / not-GRPO split is reliable (see the module docstring).
    """
    from agents.grpo import GRPO  # here: agents.grpo itself builds on this module

    saved_by_grpo = any(key in data for key in GRPO_ONLY_KEYS)
    if saved_by_grpo == issubclass(loader, GRPO):
        return None
    if saved_by_grpo:
        return "agents.GRPO (or a subclass)"
    return "an algorithm other than agents.GRPO (agents.PPO, A2C, REINFORCE or one of SB3's)"


def check_saved_class(loader: type, path: SavedPath) -> pathlib.Path | io.BufferedIOBase:
    """Refuse a file that ``loader`` did not save (nor a base or subclass of it); return the file to read.

    Raises:
        FileNotFoundError: If there is no such file (see :func:`saved_file`).
        ValueError: If the file was saved by an unrelated class, naming both and how to load it;
            or if it is not a saved model at all.
    """
    file = saved_file(path)
    data = read_saved_data(file)
    name = public_name(loader)
    record = data.get(SAVED_BY_KEY)
    if record is None:
        saver = infer_family(data, loader)
        if saver is not None:
            raise ValueError(
                f"{path} was saved by {saver} (the file predates textgym's record of the saving class, but "
                f"what it holds shows it); {name}.load cannot rebuild it: load it with the class that saved it"
            )
        return file
    if not isinstance(record, list) or not record or not all(isinstance(n, str) for n in record):
        raise ValueError(f"{path} has a malformed {SAVED_BY_KEY!r} record: {record!r}")
    if name in record or record[0] in lineage(loader):
        return file
    raise ValueError(f"{path} was saved by {record[0]}; load it with {record[0]}.load, not {name}.load")


class SavedClassMixin:
    """``save`` records the saving class; ``load`` refuses a file saved by an unrelated class.

    Put it first in the bases of an SB3 algorithm.
    """

    def save(self, path: Any, exclude: Any = None, include: Any = None) -> None:
        """SB3's ``save``, with the saving class's lineage in the saved data (see the module docstring)."""
        # An attribute, because SB3 saves the attributes; set at each save so that a model loaded
        # from a base class's file records its own class when saved again.
        setattr(self, SAVED_BY_KEY, lineage(type(self)))
        super().save(path, exclude=exclude, include=include)  # type: ignore[misc]

    @classmethod
    def load(cls, path: Any, *args: Any, **kwargs: Any) -> Any:
        """SB3's ``load``, after checking that this class (or a base or subclass of it) saved ``path``.

        Files saved before the record existed are checked by what they hold where that is
        reliable (GRPO against the rest); otherwise they load as before.

        Raises:
            FileNotFoundError: If there is no file at ``path`` (nor at ``path + ".zip"``).
            ValueError: If another algorithm saved it, naming that algorithm.
        """
        file = check_saved_class(cls, path)
        return super().load(file, *args, **kwargs)  # type: ignore[misc]
