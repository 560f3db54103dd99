"""benchmarks/zero_shot.py: the accuracy and its standard error, by hand."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "benchmarks") not in sys.path:
    sys.path.append(str(ROOT / "benchmarks"))  # zero_shot.py imports real_lm.py beside it, as the script does
spec = importlib.util.spec_from_file_location("bench_zero_shot", ROOT / "benchmarks" / "zero_shot.py")
zero_shot = importlib.util.module_from_spec(spec)
spec.loader.exec_module(zero_shot)


def test_summary_is_the_mean_and_its_standard_error() -> None:
    # 1 of 4 right: mean 0.25; sample variance (3 * 0.0625 + 0.5625) / 3 = 0.25; SE sqrt(0.25 / 4) = 0.25.
    out = zero_shot.summary(np.array([1.0, 0.0, 0.0, 0.0]))
    assert out == {"mean": 0.25, "standard_error": pytest.approx(0.25), "n": 4}
    assert zero_shot.summary(np.array([1.0])) == {"mean": 1.0, "standard_error": 0.0, "n": 1}


def test_scores_read_the_component_or_the_reward() -> None:
    result = {
        "episodes": [{"reward": 2.0, "components": {"correct": 1.0}}, {"reward": 0.5, "components": {"correct": 0.0}}]
    }
    assert zero_shot.scores(result, "correct").tolist() == [1.0, 0.0]
    assert zero_shot.scores(result, None).tolist() == [2.0, 0.5]
