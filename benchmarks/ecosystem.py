"""Run every row of docs/ecosystem.md's opening table on TinyCat-v1; write ``benchmarks/results/ecosystem.json``.

Each row (``benchmarks/ecosystem_rows.py``: the client, its exact command or code, whether it
runs unmodified) runs its command as the slow tests do, at one seed, and records the env steps it
trained and its greedy return. RLlib lives in its own venv (ray pins its own Gymnasium), so its
row runs this script again under ``--rllib-python`` and reads the row back. Then
``python benchmarks/tables.py`` renders ``benchmarks/results/ecosystem.md`` into the docs.

    OMP_NUM_THREADS=1 python benchmarks/ecosystem.py --rllib-python .venv-ray/bin/python   # ~15 min
    python benchmarks/ecosystem.py --rows sb3 --out /tmp/sb3.json                           # one row
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import ecosystem_rows as rows

RESULT = rows.ROOT / "benchmarks" / "results" / "ecosystem.json"


def versions(names: tuple[str, ...]) -> dict[str, str | None]:
    """The installed version of each distribution (None where it is not installed)."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def run_row(key: str, seed: int, rllib_python: str) -> dict[str, Any]:
    """Run one row's command; its result (``steps``, greedy return(s)), or None for a row that is not run.

    Raises:
        RuntimeError: if the row's command fails.
    """
    with tempfile.TemporaryDirectory() as tmp:
        if key == "sb3":
            return rows.run_sb3(seed)
        if key == "zoo":
            return rows.run_zoo(seed, Path(tmp))
        if key == "cleanrl_copy":
            return rows.run_cleanrl_copy(seed, Path(tmp))
        if key == "rllib":
            # Not resolve(): a venv's python is a symlink to the same base interpreter as every other venv's.
            if os.path.abspath(rllib_python) == os.path.abspath(sys.executable):
                return rows.run_rllib(seed)
            part = Path(tmp) / "rllib.json"
            cmd = [rllib_python, __file__, "--rows", "rllib", "--seed", str(seed), "--partial", str(part)]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
            if done.returncode != 0:
                raise RuntimeError(f"the RLlib row under {rllib_python} failed:\n{done.stderr[-3000:]}")
            return json.loads(part.read_text())["rllib"]
    raise ValueError(f"row {key!r} has no runner")


def measure(keys: list[str], seed: int, rllib_python: str) -> list[dict[str, Any]]:
    """Every row of ``keys``, in the table's order: its cells, its result and how long it took."""
    records = []
    for spec in rows.ROWS:
        if spec.key not in keys:
            continue
        record: dict[str, Any] = {
            "key": spec.key,
            "client": spec.client,
            "command": list(spec.command),
            "unmodified": spec.unmodified,
            "not_run": spec.not_run,
            "result": None,
            "seconds": 0.0,
        }
        if spec.not_run is None:
            print(f"-- {spec.key}: {' ; '.join(spec.command)}", flush=True)
            t0 = time.perf_counter()
            record["result"] = run_row(spec.key, seed, rllib_python)
            record["seconds"] = round(time.perf_counter() - t0, 1)
            print(f"   {record['result']} ({record['seconds']:.0f} s)", flush=True)
        records.append(record)
    return records


def main(argv: list[str] | None = None) -> int:
    """Run the rows and write the JSON (or, with ``--partial``, only the rows' results); the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    keys = [r.key for r in rows.ROWS]
    parser.add_argument("--rows", nargs="+", choices=keys, default=keys, help="the rows to run (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rllib-python", default=sys.executable, help="the python of a venv with ray[rllib]")
    parser.add_argument("--out", type=Path, default=RESULT)
    parser.add_argument("--partial", type=Path, help=argparse.SUPPRESS)  # a row run under another python
    args = parser.parse_args(argv)

    if args.partial is not None:
        results = {key: run_row(key, args.seed, args.rllib_python) for key in args.rows}
        args.partial.write_text(json.dumps(results) + "\n")
        return 0
    records = measure(args.rows, args.seed, args.rllib_python)
    rllib_versions = subprocess.run(
        [args.rllib_python, "-c", "import ray, gymnasium; print(ray.__version__, gymnasium.__version__)"],
        capture_output=True,
        text=True,
    ).stdout.split()
    from common import write_result  # here: it imports torch and transformers

    result = {
        "env_id": rows.ENV_ID,
        "seed": args.seed,
        "complete": [r["key"] for r in records] == keys,
        "rows": records,
        "versions": versions(("gymnasium", "stable-baselines3", "rl_zoo3")),
        "rllib_versions": dict(zip(("ray", "gymnasium"), rllib_versions, strict=False)),
    }
    write_result(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
