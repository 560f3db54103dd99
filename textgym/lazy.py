"""A package's public names imported from their modules on first use (PEP 562).

``textgym.rewards`` and ``agents`` export many names whose modules import torch; importing them
only when a name is used keeps ``import textgym.rewards`` and ``textgym --help`` quick.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, namespace: dict[str, Any], exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package whose names are imported on first use.

    Args:
        package: The package's ``__name__``, for error messages.
        namespace: The package's ``globals()``; each name is kept there once imported, so later
            look-ups do not reach ``__getattr__``.
        exports: Each public name -> the full name of the module that defines it.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
