"""The layers and their boundaries.

Nothing under textgym/ imports agents (agents builds on textgym, never the other way); no module
uses another's private names; the policy knows no algorithm's rollout format.
"""

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


# ----- no module imports a private name from another -----
REPO = TEXTGYM.parent
#: Where the scan looks: the packages, and the scripts that use them.
SCANNED = ("agents", "textgym", "benchmarks", "examples")


def _module_file(base: Path, parts: list[str]) -> Path | None:
    """The file of module ``parts`` under ``base`` (a module or a package), or None."""
    path = base.joinpath(*parts)
    for candidate in (path.with_suffix(".py") if parts else None, path / "__init__.py"):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_imports(path: Path, root: Path = REPO) -> list[str]:
    """Each use in ``path`` of another project module's private name, as "file:line: what".

    A project module is one with a file under ``root`` (``agents``, ``textgym``, ...) or next to
    ``path`` (benchmark and example scripts import their siblings, ``from common import ...``).
    Flagged: ``from M import _name``, ``M._name`` on a name bound to module ``M``, and a private
    module (``_grading``) imported from outside its own folder, where it is private to. Out of
    scope: other packages' privates (``torch._C``: not this project's to fix), ``getattr(m,
    "_name")``, and private attributes of objects (``env._slots``, a separate check).
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    where = f"{path.relative_to(root)}"
    found: list[str] = []
    bound: dict[str, tuple[Path, list[str]]] = {}  # local name -> (base folder, module parts)

    def resolve(module: str, level: int) -> tuple[Path, list[str]] | None:
        parts = module.split(".") if module else []
        if level:
            base = path.parent
            for _ in range(level - 1):
                base = base.parent
            return (base, parts) if _module_file(base, parts) else None
        for base in (root, path.parent):
            if parts and _module_file(base, parts):
                return base, parts
        return None

    def check_private_module(node: ast.stmt, base: Path, parts: list[str]) -> None:
        for i, part in enumerate(parts):
            if _private(part) and base.joinpath(*parts[:i]) != path.parent:
                found.append(f"{where}:{node.lineno}: imports private module {'.'.join(parts[: i + 1])}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if (target := resolve(alias.name, 0)) is None:
                    continue
                check_private_module(node, *target)
                base, parts = target
                bound[alias.asname or parts[0]] = (base, parts if alias.asname else parts[:1])
        elif isinstance(node, ast.ImportFrom):
            if (target := resolve(node.module or "", node.level)) is None:
                continue
            check_private_module(node, *target)
            base, parts = target
            for alias in node.names:
                submodule = _module_file(base, [*parts, alias.name])
                # a private submodule of the importer's own folder is private to that folder, so allowed
                if _private(alias.name) and not (submodule and base.joinpath(*parts) == path.parent):
                    found.append(f"{where}:{node.lineno}: from {'.'.join(parts) or '.'} import {alias.name}")
                elif submodule:
                    bound[alias.asname or alias.name] = (base, [*parts, alias.name])
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and _private(node.attr)):
            continue
        chain, value = [], node.value
        while isinstance(value, ast.Attribute):
            chain.insert(0, value.attr)
            value = value.value
        if isinstance(value, ast.Name) and value.id in bound:
            base, parts = bound[value.id]
            if _module_file(base, [*parts, *chain]):
                found.append(f"{where}:{node.lineno}: {'.'.join([*parts, *chain, node.attr])}")
    return sorted(found, key=lambda hit: int(hit.split(":")[1]))


def test_no_module_imports_a_private_name_from_another() -> None:
    files = sorted(p for folder in SCANNED for p in (REPO / folder).rglob("*.py"))
    assert len(files) > 150  # the scan sees all four folders
    offenders = [hit for p in files for hit in private_imports(p)]
    assert offenders == [], "make the name public, or move the code that needs it:\n" + "\n".join(offenders)


def test_the_private_name_scan_finds_every_kind_of_use(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "mod.py").write_text("_hidden = 1\npublic = 2\n")
    (tmp_path / "pkg" / "_impl.py").write_text("helper = 1\n")
    (tmp_path / "pkg" / "inside.py").write_text("from pkg._impl import helper\nfrom . import _impl\n")
    (tmp_path / "sibling.py").write_text("")
    (tmp_path / "script.py").write_text(
        "import pkg.mod\nimport pkg.mod as m\nfrom pkg import mod\nfrom pkg.mod import _hidden, public\n"
        "def f():\n    return pkg.mod._hidden, m._hidden, mod._hidden, mod.public\n"
        "from pkg._impl import helper\nimport sibling\nsibling._x\n"
        "import numpy\nnumpy._core\nfrom torch import _C\nself_obj = object()\nself_obj._x\n"
    )
    found = private_imports(tmp_path / "script.py", root=tmp_path)
    assert found == [
        "script.py:4: from pkg.mod import _hidden",
        "script.py:6: pkg.mod._hidden",
        "script.py:6: pkg.mod._hidden",
        "script.py:6: pkg.mod._hidden",
        "script.py:7: imports private module pkg._impl",
        "script.py:9: sibling._x",
    ]
    assert private_imports(tmp_path / "pkg" / "inside.py", root=tmp_path) == []  # private to its own folder


def test_the_policy_imports_no_algorithm_module() -> None:
    # The policy serves every algorithm: algorithms hand it plain tensors (its shared-prefix
    # forward), so it never imports their modules or their rollout containers.
    tree = ast.parse((REPO / "agents" / "policy.py").read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported |= {node.module or ""} | {f"{node.module}.{alias.name}" for alias in node.names}
    algorithm_modules = {
        "agents.algorithms",
        "agents.buffer",
        "agents.episode_batch",
        "agents.grpo",
        "agents.kl_penalty",
        "agents.reinforce",
        "agents.semi_mdp",
        "agents.hierarchical",
    }
    assert "agents.sampling" in imported  # the scan reads the imports
    assert imported & algorithm_modules == set()
