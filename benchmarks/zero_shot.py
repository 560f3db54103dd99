"""Zero-shot held-out accuracy of a real LM on a task of ``benchmarks/real_lm.py``, sampled and greedy.

The base model (SmolLM2-135M-Instruct by default) on the first ``--test-items`` items of the
task's test split, each once (episode ``j`` is prompt ``j``, reset with seed ``10_000 + j``),
exactly as ``real_lm.py``'s "before" phase: once sampling at temperature 1 (as the agent
trains), once greedy. The score is the task's score component (e.g. ``"correct"``: the
accuracy) with its standard error.

    python benchmarks/zero_shot.py --task arithmetic

Writes ``benchmarks/results/zero_shot_{task}_{model}{tag}.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

import agents

sys.path.insert(0, str(Path(__file__).parent))
from real_lm import RESULTS, TASKS, evaluate, make_env_kwargs, n_prompts  # noqa: E402


def scores(result: dict[str, Any], component: str | None) -> np.ndarray:
    """Each episode's score: its ``component`` (None: its reward)."""
    return np.array([e["reward"] if component is None else e["components"][component] for e in result["episodes"]])


def summary(values: np.ndarray) -> dict[str, float]:
    """Mean and its standard error.

    >>> summary(np.array([1.0, 0.0, 1.0, 0.0]))
    {'mean': 0.5, 'standard_error': 0.28867513459481287, 'n': 4}
    """
    sem = float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0
    return {"mean": float(values.mean()), "standard_error": sem, "n": len(values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(TASKS), required=True)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--test-items", type=int, default=256)
    parser.add_argument("--eval-envs", type=int, default=32)
    parser.add_argument("--env-kwargs", type=json.loads, default={}, help="JSON, e.g. '{\"max_operand\": 30}'")
    parser.add_argument("--tag", default="", help="appended to the output file's name")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    task = TASKS[args.task]
    n_test = min(args.test_items, n_prompts(task, args.model, "test", args.env_kwargs))
    # The policy real_lm.py trains, untrained: make_grpo with the task's train env.
    model = agents.make_grpo(
        task.env_id,
        model=args.model,
        n_envs=2,
        group_size=2,
        env_kwargs=make_env_kwargs(task, args.model, "train", args.env_kwargs),
    )
    out: dict[str, Any] = {
        "benchmark": "zero_shot",
        "task": args.task,
        "env_id": task.env_id,
        "env_kwargs": make_env_kwargs(task, args.model, "test", args.env_kwargs),
        "model": args.model,
        "score_component": task.score,
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
    }
    for name, greedy in (("sampled", False), ("greedy", True)):
        t0 = time.perf_counter()
        result = evaluate(model, task, args, "test", n_test, deterministic=greedy)
        seconds = time.perf_counter() - t0
        out[name] = {
            **summary(scores(result, task.score)),
            "seconds": seconds,
            "samples": [
                {"prompt": e["prompt"][-120:], "completion": e["completion"], "reward": e["reward"]}
                for e in result["episodes"][:8]
            ],
        }
        s = out[name]
        print(f"{name}: {s['mean']:.3f} +- {s['standard_error']:.3f} (n={s['n']}, {seconds:.0f} s)", flush=True)
    out.update(
        machine=f"{platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads",
        load_average=[round(x, 2) for x in os.getloadavg()],
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    path = args.json or RESULTS / f"zero_shot_{args.task}_{args.model}{args.tag}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1, allow_nan=False) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
