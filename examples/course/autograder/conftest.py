"""Pytest configuration of the course autograder: finds and imports the work being graded.

The implementation directory is taken from the ``COURSE_DIR`` environment variable (a path
relative to the current directory, or absolute) and defaults to the untouched student
stubs in ``examples/course/exercises``. Modules are imported by file path so a student's
folder needs no ``__init__.py`` and never shadows, or is shadowed by, an installed package.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

AUTOGRADER_DIR = Path(__file__).resolve().parent
COURSE_ROOT = AUTOGRADER_DIR.parent
DEFAULT_IMPLEMENTATION_DIR = COURSE_ROOT / "exercises"

# The test modules import their shared assertion helpers from `_grading.py` next to this
# file. Pytest only puts this folder on sys.path in its default "prepend" import mode, so
# add it explicitly to keep the autograder working under `--import-mode=importlib` too.
if str(AUTOGRADER_DIR) not in sys.path:
    sys.path.insert(0, str(AUTOGRADER_DIR))


def implementation_dir() -> Path:
    """Return the directory holding the implementation files being graded.

    Returns:
        ``$COURSE_DIR`` resolved against the current directory when set, otherwise the
        course's ``exercises/`` folder.
    """
    raw = os.environ.get("COURSE_DIR", "").strip()
    return Path(raw).expanduser().resolve() if raw else DEFAULT_IMPLEMENTATION_DIR


def pytest_report_header(config: pytest.Config) -> str:
    """Show which folder is being graded at the top of the pytest output.

    Args:
        config: The pytest configuration (unused).

    Returns:
        One header line.
    """
    return f"course autograder: grading the files in {implementation_dir()}"


_loaded: dict[str, ModuleType] = {}


def _import_implementation(name: str) -> ModuleType:
    """Import ``<implementation dir>/<name>.py`` under a private module name, once.

    Args:
        name: Exercise name, i.e. the file name without ``.py``.

    Returns:
        The imported module.
    """
    if name in _loaded:
        return _loaded[name]
    path = implementation_dir() / f"{name}.py"
    if not path.is_file():
        pytest.fail(
            f"Cannot find {path}. Set COURSE_DIR to the folder that contains your {name}.py "
            "(e.g. COURSE_DIR=path/to/my_work pytest examples/course/autograder).",
            pytrace=False,
        )
    # A private name keeps a student's `gae.py` from clashing with anything else imported.
    module_name = f"course_submission_{name}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None, f"cannot load {path}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[module_name]
        if hasattr(exc, "add_note"):  # Python >= 3.11: say which file failed to import
            exc.add_note(f"(raised while importing the file being graded: {path})")
        raise
    _loaded[name] = module
    return module


@pytest.fixture(scope="session")
def load_implementation() -> Callable[[str], ModuleType]:
    """Provide a loader for the graded modules, e.g. ``load_implementation("gae")``.

    Returns:
        A function mapping an exercise name to its imported module.
    """
    return _import_implementation
