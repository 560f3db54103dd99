"""Run every learning test at several seeds and torch thread counts; record each check's margin.

A learning test (``@pytest.mark.learning``) asserts through the ``check_learned`` fixture of
tests/conftest.py, which appends each check's value, bar and margin to ``$TEXTGYM_MARGINS``.
This script runs the marked tests once per (seed, threads) pair with ``TEXTGYM_LEARNING_SEED``
and ``TEXTGYM_TORCH_THREADS`` set, and merges the records into one JSON file (records of other
tests already in it are kept, so the Ray venv's tests can be added by a second call)::

    python benchmarks/learning_margins.py                        # seeds 0 1 2, threads 1 2
    python benchmarks/learning_margins.py --python .venv-ray/bin/python tests/distributed tests/envs/test_rllib.py
    python benchmarks/learning_margins.py --merge part1.json part2.json   # runs made in parallel
    python benchmarks/learning_margins.py --forget test_ppo_learns_classify --merge new.json  # its checks changed

A check that fails at any seed or thread count is a failing learning test (issue 30: learning
checks must hold on any host, with headroom); the lowest margin of each check is the headroom
its comment records.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from renderers.learning_margins import lowest_margins, render

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "learning_margins.json"


def run_once(python: str, paths: list[str], seed: int, threads: int, extra: list[str]) -> dict[str, Any]:
    """One pytest run of the learning tests at one seed and thread count; its records and outcome."""
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as margins:
        env = {
            **os.environ,
            "TEXTGYM_LEARNING_SEED": str(seed),
            "TEXTGYM_TORCH_THREADS": str(threads),
            "OMP_NUM_THREADS": str(threads),
            "TEXTGYM_MARGINS": margins.name,
        }
        cmd = [python, "-m", "pytest", "-m", "learning", "-q", "-p", "no:cacheprovider", "-rfE", *extra, *paths]
        t0 = time.time()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.time() - t0
        records = [json.loads(line) for line in margins.read().splitlines() if line.strip()]
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-300:]
    durations = [line for line in proc.stdout.splitlines() if re.match(r"^\d+\.\d+s call ", line)]
    print(f"seed {seed}, {threads} thread(s): {summary} ({seconds:.0f} s)", flush=True)
    if proc.returncode not in (0, 1):  # 1: some test failed, which the records show; anything else is broken
        raise SystemExit(f"pytest exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    failures = [line for line in proc.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    return {
        "seed": seed,
        "threads": threads,
        "seconds": round(seconds, 1),
        "summary": summary,
        "failures": failures,
        "durations": durations,
        "records": records,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=["tests"], help="test files or folders (default: tests)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--python", default=sys.executable, help="the venv's python that runs pytest")
    parser.add_argument("-k", default=None, help="pytest -k expression, to run some of the tests")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        default=None,
        help="run nothing: merge these result files (of runs made in parallel, each with its own --out) into --out",
    )
    parser.add_argument(
        "--forget",
        nargs="+",
        default=[],
        metavar="TEST",
        help="first drop the records of tests whose node id contains TEST (a test whose checks changed)",
    )
    args, passthrough = parser.parse_known_args()  # unknown options go to pytest (e.g. --durations=0)
    extra = (["-k", args.k] if args.k else []) + passthrough
    if args.merge:
        parts = [json.loads(path.read_text()) for path in args.merge]
        runs = [{**run, "records": []} for part in parts for run in part["runs"]]
        new = [r for part in parts for r in part["records"]]
    else:
        runs = [run_once(args.python, args.paths, s, t, extra) for s, t in itertools.product(args.seeds, args.threads)]
        new = [r for run in runs for r in run["records"]]
    fresh = {(r["test"], r["seed"], r["threads"]) for r in new}
    old = json.loads(args.out.read_text()) if args.out.is_file() else {"records": [], "runs": []}
    kept = [
        r
        for r in old["records"]
        if (r["test"], r["seed"], r["threads"]) not in fresh and not any(t in r["test"] for t in args.forget)
    ]
    results = {
        "records": kept + new,
        "runs": old["runs"] + [{k: v for k, v in run.items() if k != "records"} for run in runs],
        "date": time.strftime("%Y-%m-%d"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(render(results))
    failed = [r for r in lowest_margins(results["records"]) if r["held"] < r["runs"]]
    if failed:
        raise SystemExit(f"{len(failed)} learning checks failed at some seed or thread count")


if __name__ == "__main__":
    main()
