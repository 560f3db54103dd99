"""The layers: nothing under textgym/ imports agents (agents builds on textgym, never the other way)."""

import ast
from pathlib import Path

TEXTGYM = Path(__file__).resolve().parents[1] / "textgym"


def agents_imports(path: Path) -> list[str]:
    """Each import of ``agents`` in ``path``, top-level or inside a function, as "line: statement"."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules = [node.module or ""]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
            "import_module",
            "__import__",
        ):
            modules = [arg.value for arg in node.args[:1] if isinstance(arg, ast.Constant)]
        else:
            continue
        if any(m == "agents" or str(m).startswith("agents.") for m in modules):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_textgym_module_imports_agents() -> None:
    files = sorted(TEXTGYM.rglob("*.py"))
    assert len(files) > 40  # the scan sees the package
    offenders = {str(p.relative_to(TEXTGYM.parent)): found for p in files if (found := agents_imports(p))}
    assert offenders == {}


def test_the_scan_finds_every_kind_of_import(tmp_path: Path) -> None:
    source = (
        "import agents\nfrom agents.cli import main\n"
        "def f():\n    import agents.registry as r\n    importlib.import_module('agents.factory')\n"
        "import agentsmith\nfrom textgym import agents_like\n"
    )
    (tmp_path / "m.py").write_text(source)
    assert [line.split(":")[0] for line in agents_imports(tmp_path / "m.py")] == ["1", "2", "4", "5"]
