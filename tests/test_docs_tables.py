"""Every measured table in README.md and docs/ equals its rendering from the benchmark's JSON."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("bench_tables", ROOT / "benchmarks" / "tables.py")
tables = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tables)


@pytest.mark.parametrize("path", tables.documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_tables_match_their_json(path: Path) -> None:
    _, changed = tables.render_file(path)
    assert not changed, f"tables differ from their JSON (run python benchmarks/tables.py): {changed}"


def test_a_stale_table_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = tmp_path / "page.md"
    doc.write_text("<!-- table: t data.json -->\n| typed | by hand |\n<!-- /table -->\n")
    (tmp_path / "data.json").write_text('{"x": 1.5}')
    monkeypatch.setattr(tables, "ROOT", tmp_path)
    monkeypatch.setitem(tables.RENDERERS, "t", lambda d: f"| x | {d['x']} |\n")
    text, changed = tables.render_file(doc)
    assert changed == ["page.md: t (data.json)"]
    assert "| x | 1.5 |" in text
    doc.write_text(text)
    assert tables.render_file(doc)[1] == []
