"""benchmarks/real_lm.py: when a validation point is due, and reading its curves, by hand."""

import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "benchmarks") not in sys.path:
    sys.path.append(str(ROOT / "benchmarks"))
real_lm = importlib.import_module("real_lm")  # by its name: its dataclass looks itself up in sys.modules

CURVE = [{"seconds": 0.0, "steps": 0, "score": 0.1}, {"seconds": 905.0, "steps": 192, "score": 0.2}]


def test_the_final_point_is_not_scored_twice_at_the_same_step() -> None:
    # The run of 2026-12-07 scored step 192 twice (0.062, then 0.094): a scheduled point, then the forced one.
    assert not real_lm.eval_due(CURVE, 905.0, 192, 450.0, force=True)
    assert real_lm.eval_due(CURVE, 906.0, 193, 450.0, force=True)


def test_a_scheduled_point_is_due_every_period() -> None:
    assert not real_lm.eval_due(CURVE, 1354.9, 250, 450.0, force=False)
    assert real_lm.eval_due(CURVE, 1355.0, 251, 450.0, force=False)
    assert not real_lm.eval_due(CURVE[:1], 0.0, 0, 450.0, force=True)  # nothing trained yet: the start point


def test_time_to_and_score_at_read_the_curve() -> None:
    assert real_lm.time_to(CURVE, 0.15) == 905.0 and real_lm.time_to(CURVE, 0.3) is None
    assert real_lm.score_at(CURVE, 904.0) == 0.1 and real_lm.score_at(CURVE, 905.0) == 0.2


def test_save_lm_writes_weights_that_load_back(tmp_path: Path) -> None:
    import torch

    import agents
    from textgym.models import load_model

    model = agents.make_grpo("textgym/Arithmetic-v0", model="tiny", n_envs=4, group_size=4)
    real_lm.save_lm(model, "tiny", tmp_path / "lm")
    loaded = load_model(str(tmp_path / "lm")).state_dict()
    saved = model.policy.lm.state_dict()
    assert loaded.keys() == saved.keys()
    assert all(torch.equal(loaded[k], saved[k]) for k in saved)
