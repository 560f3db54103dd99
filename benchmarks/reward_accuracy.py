"""Held-out accuracy of learned reward models against the hidden preference, by pooling and feedback kind.

    python benchmarks/reward_accuracy.py      # writes benchmarks/results/reward_accuracy.json

The setup is the slow test ``tests/rewards/test_learned_accuracy.py``'s, loaded from that file so
the two cannot drift apart: every kind annotates the same 384 train openings x 8 grammar-made
completions once each (rated, compared in pairs, ranked in groups of 8, or edited), noise 0.3;
6 epochs, batch 8, learning rate 1e-3, seed 0. Accuracy is on the pairs of the validation
openings' completions whose hidden utilities differ. The test asserts the ``"last+mean+lm"``
row; this script also measures ``"last+mean"``, the RLHF pipeline's default (docs/rewards.md).
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path
from types import ModuleType

from common import write_result

from textgym.rewards import SimulatedAnnotator, train_reward_model
from textgym.rewards.annotator import hidden_pairwise_accuracy

ROOT = Path(__file__).resolve().parent.parent
TEST = ROOT / "tests" / "rewards" / "test_learned_accuracy.py"
KINDS = ("rating", "preference", "ranking", "edit")
POOLINGS = ("last+mean", "last+mean+lm")  # the RLHF pipeline's default, and the test's (its POOLING)


def load_test_setup() -> ModuleType:
    """The accuracy test's module: its SETTINGS, TRAIN_PROMPTS, TRAIN (384 x 8), VAL_PROMPTS and VAL (256 x 4)."""
    spec = importlib.util.spec_from_file_location("test_learned_accuracy", TEST)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(setup: ModuleType, pooling: str, kind: str) -> dict[str, object]:
    """Train one reward model on ``kind`` feedback with ``pooling``; its held-out accuracy and cost."""
    s = setup.SETTINGS  # the test's settings, so the two measure the same thing
    records = SimulatedAnnotator(noise=s["noise"], seed=s["seed"]).annotate(setup.TRAIN_PROMPTS, setup.TRAIN, kind)
    t0 = time.perf_counter()
    rm = train_reward_model(
        records,
        epochs=s["epochs"],
        batch_size=s["batch_size"],
        learning_rate=s["learning_rate"],
        pooling=pooling,
        seed=s["seed"],
    )
    accuracy, n_pairs = hidden_pairwise_accuracy(rm, setup.VAL_PROMPTS, setup.VAL)
    row = {
        "pooling": pooling,
        "kind": kind,
        "records": len(records),
        "accuracy": accuracy,
        "n_pairs": n_pairs,
        "seconds": time.perf_counter() - t0,
    }
    print(f"{pooling:>13} {kind:>10}: accuracy {accuracy:.3f} on {n_pairs} pairs ({row['seconds']:.0f} s)", flush=True)
    return row


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "reward_accuracy.json")
    parser.add_argument("--poolings", nargs="+", choices=POOLINGS, default=list(POOLINGS))
    args = parser.parse_args()
    setup = load_test_setup()
    t0 = time.perf_counter()
    rows: list[dict[str, object]] = []
    for pooling in args.poolings:
        for kind in KINDS:
            rows.append(measure(setup, pooling, kind))
            # Written after every model (``complete`` false until the last), so a run cut short
            # by a time limit keeps what it measured; the docs table renders only a complete file.
            result = {
                "setup": {
                    **setup.SETTINGS,
                    "train_openings": len(setup.TRAIN_PROMPTS),
                    "completions_per_opening": len(setup.TRAIN[0]),
                    "validation_openings": len(setup.VAL_PROMPTS),
                },
                "rows": rows,
                "complete": len(rows) == len(args.poolings) * len(KINDS),
                "seconds": time.perf_counter() - t0,
            }
            write_result(result, args.json)
