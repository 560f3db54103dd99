"""Write every benchmark table to ``benchmarks/results/NAME.md`` and copy it into README.md and docs/.

Each module of ``benchmarks/renderers/`` declares its tables as ``TABLES = {"NAME.md": (SOURCE,
render)}``: ``render`` gets the record in ``benchmarks/results/SOURCE`` or, when SOURCE is a glob
(``hierarchy*.json``), the list of matching records in path order. A page shows a table between
two markers that name its ``.md``::

    <!-- table: benchmarks/results/peer_trl.md -->
    | ... copied from the .md ... |
    <!-- /table -->

``python benchmarks/tables.py`` renders every ``.md`` again from the stored JSON (no benchmark
runs) and copies each into the pages. ``--check`` writes nothing and exits 1, naming each problem:
a ``.md`` that differs from what its renderer gives from the JSON now, a block that differs from
its ``.md``, a ``.md`` that no renderer declares. ``tests/test_docs_tables.py`` runs the check, so
no measured number is typed by hand and none goes stale.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import renderers

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
BLOCK = re.compile(r"(<!-- table: (\S+) -->\n)(.*?)(<!-- /table -->)", re.DOTALL)

Renderer = Callable[[Any], str]


def registry() -> dict[str, tuple[str, Renderer]]:
    """Every table the renderer modules declare: ``.md`` file name -> (JSON file or glob, renderer).

    Raises:
        ValueError: if a name is not a plain ``NAME.md`` or two modules declare the same one.
    """
    tables: dict[str, tuple[str, Renderer]] = {}
    for info in pkgutil.iter_modules(renderers.__path__):
        module = importlib.import_module(f"{renderers.__name__}.{info.name}")
        for name, entry in getattr(module, "TABLES", {}).items():
            if not name.endswith(".md") or "/" in name:
                raise ValueError(f"{module.__name__}.TABLES: {name!r} is not a file name NAME.md")
            if name in tables:
                raise ValueError(f"{name} is declared by two renderer modules (the second: {module.__name__})")
            tables[name] = entry
    return tables


def render(source: str, renderer: Renderer) -> str:
    """The renderer's Markdown from the stored JSON it reads (one record, or a glob's list of records).

    Raises:
        FileNotFoundError: if the file does not exist or the glob matches no file.
    """
    paths = sorted(p for p in RESULTS.glob(source) if p.is_file())
    is_glob = "*" in source
    if not paths:
        raise FileNotFoundError(f"{RESULTS / source} {'matches no file' if is_glob else 'does not exist'}")
    records = [json.loads(p.read_text()) for p in paths]
    return renderer(records if is_glob else records[0])


def documents() -> list[Path]:
    """README.md and every Markdown page under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]


def splice(page: Path, tables: dict[str, str | None]) -> tuple[str, list[str]]:
    """The page's text with each block replaced by its ``.md``'s text, and the blocks that changed.

    Args:
        page: a Markdown page.
        tables: each declared table's path from the repository root (``benchmarks/results/NAME.md``)
            -> the text of that file (None where it does not exist yet).

    Raises:
        ValueError: if a marker names a ``.md`` that no renderer declares, or is malformed.
    """
    changed: list[str] = []

    def sub(m: re.Match[str]) -> str:
        target = m.group(2)
        if target not in tables:
            raise ValueError(f"{page}: a table marker names {target}, which no renderer declares")
        text = tables[target]
        if text != m.group(3):
            changed.append(f"{page.relative_to(ROOT)}: the block of {target} differs from that file")
        return m.group(1) + (m.group(3) if text is None else text) + m.group(4)

    text = page.read_text()
    spliced, blocks = BLOCK.subn(sub, text)
    # A marker BLOCK does not match (an old two-word one, one without its <!-- /table -->) would be skipped silently.
    if len(re.findall(r"^<!-- table:", text, re.MULTILINE)) != blocks:
        raise ValueError(f"{page}: a '<!-- table:' marker is not of the form {BLOCK.pattern!r}")
    return spliced, changed


def sync(write: bool) -> list[str]:
    """Compare (and with ``write``, bring up to date) every ``.md`` with its JSON and every block with its ``.md``.

    Returns:
        One line per ``.md`` or block that differed (and, with ``write``, was rewritten).
    """
    stale: list[str] = []
    declared = registry()
    for name, (source, renderer) in declared.items():
        path, text = RESULTS / name, render(source, renderer)
        if not path.is_file() or path.read_text() != text:
            how = "differs from" if path.is_file() else "is missing:"
            stale.append(f"{path.relative_to(ROOT)} {how} its renderer's output from {source}")
            if write:
                path.write_text(text)
    paths = {str((RESULTS / name).relative_to(ROOT)): RESULTS / name for name in declared}
    tables = {key: path.read_text() if path.is_file() else None for key, path in paths.items()}
    for page in documents():
        text, changed = splice(page, tables)
        stale += changed
        if changed and write:
            page.write_text(text)
    return stale


def undeclared() -> list[str]:
    """The ``.md`` files in benchmarks/results/ that no renderer declares (stale leftovers: never deleted here)."""
    declared = registry()
    return [str(p.relative_to(ROOT)) for p in sorted(RESULTS.glob("*.md")) if p.name not in declared]


def main(argv: list[str] | None = None) -> int:
    """Render and splice every table (or, with ``--check``, only report what differs); the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any table differs")
    args = parser.parse_args(argv)
    stale, orphans = sync(write=not args.check), undeclared()
    for line in stale:
        print(("stale: " if args.check else "rewrote: ") + line)
    for path in orphans:
        print(f"undeclared: {path} (no renderer declares it: add it to a TABLES or delete it)")
    return 1 if orphans or (stale and args.check) else 0


if __name__ == "__main__":
    sys.exit(main())
