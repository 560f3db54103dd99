"""CI checks for the teaching course in ``examples/course``.

The course autograder is run in subprocesses, exactly as a teacher would run it: once
against the reference solutions (everything must pass) and once against the untouched
exercise stubs (every exercise's tests must fail, otherwise a test is vacuous or a stub
leaks an answer). Both runs start together and are shared by all tests of this module to
keep the wall-clock cost at roughly one pytest start-up.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
COURSE_DIR = REPO_ROOT / "examples" / "course"
AUTOGRADER_DIR = COURSE_DIR / "autograder"
EXERCISES = ("returns_to_go", "gae", "ppo_clip", "ranking_losses", "kl_estimate", "group_advantages", "option_returns")
RUN_TIMEOUT_S = 300


@dataclass(frozen=True)
class AutograderRun:
    """Result of one autograder subprocess.

    Attributes:
        returncode: Exit status of pytest (0 all passed, 1 some tests failed).
        output: Combined stdout and stderr, for failure messages.
        outcomes: For each exercise, how many of its tests ended in each outcome
            (``"passed"``, ``"failed"``, ``"error"``, ``"skipped"``).
    """

    returncode: int
    output: str
    outcomes: dict[str, Counter[str]]

    def describe(self) -> str:
        """Summarise the run for assertion messages.

        Returns:
            The outcome counts and the tail of the output.
        """
        counts = {name: dict(counter) for name, counter in sorted(self.outcomes.items())}
        tail = self.output[-4000:]
        return f"exit code {self.returncode}, outcomes {counts}\n--- output tail ---\n{tail}"


def _start_autograder(implementation_dir: Path, junit_xml: Path) -> subprocess.Popen[str]:
    """Launch ``pytest examples/course/autograder`` grading ``implementation_dir``.

    Args:
        implementation_dir: Folder holding the implementation files (``COURSE_DIR``).
        junit_xml: Where pytest writes its per-test JUnit XML report.

    Returns:
        The running process.
    """
    env = dict(os.environ)
    env["COURSE_DIR"] = str(implementation_dir)
    # Isolate the child from options meant for this outer run, and keep __pycache__
    # folders out of the course directories.
    env.pop("PYTEST_ADDOPTS", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(AUTOGRADER_DIR.relative_to(REPO_ROOT)),
        "-q",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        f"--junitxml={junit_xml}",
    ]
    return subprocess.Popen(
        cmd,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _exercise_of(classname: str) -> str:
    """Map a JUnit classname such as ``examples.course.autograder.test_gae`` to ``gae``."""
    for part in classname.split("."):
        if part.startswith("test_"):
            return part.removeprefix("test_")
    return classname


def _parse_outcomes(junit_xml: Path) -> dict[str, Counter[str]]:
    """Count test outcomes per exercise from a JUnit XML report.

    Args:
        junit_xml: The report written by ``--junitxml``.

    Returns:
        A mapping from exercise name to outcome counts; empty if no report was written.
    """
    outcomes: dict[str, Counter[str]] = {}
    if not junit_xml.is_file():
        return outcomes
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        tags = {child.tag for child in case}
        if "error" in tags:
            outcome = "error"
        elif "failure" in tags:
            outcome = "failed"
        elif "skipped" in tags:
            outcome = "skipped"
        else:
            outcome = "passed"
        outcomes.setdefault(_exercise_of(case.get("classname", "")), Counter())[outcome] += 1
    return outcomes


@pytest.fixture(scope="module")
def autograder_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, AutograderRun]:
    """Run the autograder on the solutions and on the exercise stubs, concurrently.

    Args:
        tmp_path_factory: Pytest's temporary directory factory.

    Returns:
        ``{"solutions": ..., "exercises": ...}``.
    """
    tmp = tmp_path_factory.mktemp("course")
    procs = {
        name: (_start_autograder(COURSE_DIR / name, tmp / f"{name}.xml"), tmp / f"{name}.xml")
        for name in ("solutions", "exercises")
    }
    runs = {}
    for name, (proc, xml_path) in procs.items():
        try:
            output, _ = proc.communicate(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            for other, _ in procs.values():
                other.kill()
            pytest.fail(f"the autograder run on {name}/ took over {RUN_TIMEOUT_S} s")
        runs[name] = AutograderRun(proc.returncode, output, _parse_outcomes(xml_path))
    return runs


def test_course_layout() -> None:
    """Every exercise has a stub, a solution and an autograder file, and nothing is missed."""
    stubs = {p.stem for p in (COURSE_DIR / "exercises").glob("*.py")}
    assert stubs == set(EXERCISES), "examples/course/exercises/ and EXERCISES disagree"
    for name in EXERCISES:
        assert (COURSE_DIR / "solutions" / f"{name}.py").is_file(), f"no solution for {name}"
        assert (AUTOGRADER_DIR / f"test_{name}.py").is_file(), f"no autograder for {name}"
    assert (COURSE_DIR / "README.md").is_file()


def _public_functions(path: Path) -> dict[str, ast.FunctionDef]:
    """Top-level public functions of a module, by name, parsed without importing it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name: node for node in tree.body if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
    }


@pytest.mark.parametrize("exercise", EXERCISES)
def test_stub_matches_solution_interface(exercise: str) -> None:
    """Stubs expose the solution's exact signatures and docstrings, with TODO bodies."""
    stub_path = COURSE_DIR / "exercises" / f"{exercise}.py"
    solution_path = COURSE_DIR / "solutions" / f"{exercise}.py"
    stub_tree = ast.parse(stub_path.read_text(encoding="utf-8"))
    solution_tree = ast.parse(solution_path.read_text(encoding="utf-8"))
    assert ast.get_docstring(stub_tree) == ast.get_docstring(solution_tree), (
        f"{exercise}: the module docstrings of the stub and the solution differ"
    )
    stubs, solutions = _public_functions(stub_path), _public_functions(solution_path)
    assert stubs.keys() == solutions.keys(), f"{exercise}: different public functions"
    stub_source = stub_path.read_text(encoding="utf-8")
    for name, stub in stubs.items():
        solution = solutions[name]
        assert ast.unparse(stub.args) == ast.unparse(solution.args), f"{exercise}.{name} args"
        assert ast.unparse(stub.returns) == ast.unparse(solution.returns), f"{exercise}.{name} return annotation"
        assert ast.get_docstring(stub) == ast.get_docstring(solution), f"{name} docstring"
        body = stub.body[1:]  # after the docstring
        assert len(body) == 1 and isinstance(body[0], ast.Raise), (
            f"{exercise}.{name}: a stub body must be TODO comments and `raise NotImplementedError`"
        )
        assert ast.unparse(body[0]) == "raise NotImplementedError"
    assert stub_source.count("# TODO(student):") == len(stubs), (
        f"{exercise}: every stub function needs one `# TODO(student):` comment"
    )


def test_autograder_passes_on_solutions(autograder_runs: dict[str, AutograderRun]) -> None:
    """The reference solutions pass every autograder test."""
    run = autograder_runs["solutions"]
    assert run.returncode == 0, run.describe()
    for exercise in EXERCISES:
        counts = run.outcomes.get(exercise, Counter())
        assert counts["passed"] >= 5 and set(counts) == {"passed"}, (
            f"{exercise}: expected only passing tests (at least 5), got {dict(counts)}\n" + run.describe()
        )


@pytest.mark.parametrize("exercise", EXERCISES)
def test_autograder_fails_untouched_exercise(autograder_runs: dict[str, AutograderRun], exercise: str) -> None:
    """Every autograder test of an exercise fails while its stub is not implemented."""
    run = autograder_runs["exercises"]
    # 1 = "tests failed"; 2-5 would mean an interrupted run, a usage error or no tests.
    assert run.returncode == 1, run.describe()
    counts = run.outcomes.get(exercise, Counter())
    assert counts["failed"] >= 5 and set(counts) == {"failed"}, (
        f"{exercise}: every test must fail against the unimplemented stub, got "
        f"{dict(counts)} (a passing test checks nothing the student writes)\n" + run.describe()
    )
