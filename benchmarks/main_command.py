"""The README's main command and its test-split evaluation, measured into one JSON for the README table.

    python -m benchmarks.main_command      # from the repo root; writes benchmarks/results/main_command_ppo.json

Runs ``textgym train CatText-v0 --algo ppo --model tiny --timesteps 49152`` and then
``textgym eval RUN --episodes 256 --split test`` (the README's two commands), and keeps both
summaries: the before/after validation numbers of training and the test-split evaluation.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from agents.cli import main as textgym

OUT = Path(__file__).resolve().parent / "results" / "main_command_ppo.json"


def run(out: Path, timesteps: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        run_dir, train_json, eval_json = Path(tmp) / "run", Path(tmp) / "train.json", Path(tmp) / "eval.json"
        train = ["train", "CatText-v0", "--algo", "ppo", "--model", "tiny", "--timesteps", str(timesteps)]
        textgym([*train, "--out", str(run_dir), "--no-progress", "--json", str(train_json)])
        textgym(["eval", str(run_dir), "--episodes", "256", "--split", "test", "--json", str(eval_json)])
        data = {"train": json.loads(train_json.read_text()), "eval": json.loads(eval_json.read_text())}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2) + "\n")
    return data


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=49_152)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    run(args.out, args.timesteps)
    print(f"wrote {args.out}")
