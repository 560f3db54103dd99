"""Every top-level script in examples/ runs to completion with --smoke and writes its plot.

Scripts are discovered with a glob, so a new example is covered as soon as it exists. Each
runs in a subprocess whose working directory is a fresh temporary folder (scripts save
their plot relative to it, or under ``--out`` when they take one), and must exit 0 and leave
a PNG there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((REPO_ROOT / "examples").glob("*.py"))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# --smoke promises < 60 s; leave room for a loaded CI machine before calling it a hang.
TIMEOUT_S = 170


def test_examples_are_discovered() -> None:
    names = {s.name for s in SCRIPTS}
    assert {
        "tabular_q_learning.py",
        "reinforce_from_scratch.py",
        "ppo_from_scratch.py",
        "sb3_ppo_lm_policy.py",
    } <= names


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_example_runs_with_smoke_and_writes_a_png(script: Path, tmp_path: Path) -> None:
    takes_out = "--out" in script.read_text()
    cmd = [sys.executable, str(script), "--smoke", *(["--out", str(tmp_path)] if takes_out else [])]
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    output = f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert proc.returncode == 0, f"{script.name} exited {proc.returncode}:\n{output}"
    pngs = list(tmp_path.rglob("*.png"))
    assert pngs, f"{script.name} wrote no PNG under {tmp_path}:\n{proc.stdout[-2000:]}"
    assert all(p.read_bytes()[:8] == PNG_MAGIC for p in pngs)
