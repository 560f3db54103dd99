"""Command-line flags from a dataclass: the ``Args`` of each example script.

Each field ``name: type = default`` becomes ``--name`` (underscores as dashes); booleans get
``--name`` / ``--no-name``. A ``smoke`` mapping gives the overrides that ``--smoke`` applies
(a run of seconds that checks the pipeline), so a script lists them beside its ``Args``.

>>> from dataclasses import dataclass
>>> @dataclass
... class Args:
...     steps: int = 1000
...     lr: float = 3e-4
...     env_id: str = "textgym/TinyCat-v0"
...     smoke: bool = False
>>> parse_args(Args, argv=["--lr", "1e-3", "--smoke"], smoke={"steps": 10})
Args(steps=10, lr=0.001, env_id='textgym/TinyCat-v0', smoke=True)
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
_SIMPLE = (bool, int, float, str)


def parse_args(
    cls: type[T],
    description: str | None = None,
    argv: Sequence[str] | None = None,
    smoke: Mapping[str, Any] | None = None,
) -> T:
    """Parse ``argv`` (default: ``sys.argv[1:]``) into an instance of the dataclass ``cls``.

    Args:
        cls: A dataclass whose fields are ``bool``, ``int``, ``float`` or ``str`` with defaults.
        description: The ``--help`` text (a script passes its module docstring; its first line is used).
        argv: The arguments; None reads the command line.
        smoke: Field overrides applied when the parsed ``smoke`` field is true.

    Returns:
        The parsed instance.

    Raises:
        TypeError: If ``cls`` is not a dataclass, or a field has another type or no default.
        ValueError: If ``smoke`` is given but ``cls`` has no ``smoke`` field, or names a field it lacks.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"parse_args needs a dataclass, got {cls!r}")
    fields = dataclasses.fields(cls)
    names = {f.name for f in fields}
    if smoke is not None and ("smoke" not in names or set(smoke) - names):
        raise ValueError(f"smoke overrides need a 'smoke' field and known fields; {cls.__name__} has {sorted(names)}")
    hints = typing.get_type_hints(cls)  # resolves `from __future__ import annotations` strings
    first_line = (description or "").strip().splitlines()[:1]
    parser = argparse.ArgumentParser(description=first_line[0] if first_line else None)
    for field in fields:
        kind = hints[field.name]
        if kind not in _SIMPLE or field.default is dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{field.name}: parse_args handles bool/int/float/str fields with a default")
        flag = "--" + field.name.replace("_", "-")
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=field.default)
        else:
            parser.add_argument(flag, type=kind, default=field.default)
    args = cls(**vars(parser.parse_args(argv)))
    if smoke and getattr(args, "smoke"):  # noqa: B009  (checked above; T declares no attributes)
        args = dataclasses.replace(args, **smoke)
    return args
