"""textgym.rewards imports each reward's module on first use, so rule-based rewards need no torch."""

import importlib
import subprocess
import sys

import pytest

import textgym.rewards


def test_every_public_name_imports_from_its_module() -> None:
    assert len(textgym.rewards.__all__) == len(set(textgym.rewards.__all__)) == 32
    for name in textgym.rewards.__all__:
        value = getattr(textgym.rewards, name)
        module = importlib.import_module(f"textgym.rewards.{textgym.rewards._MODULES[name]}")
        assert value is getattr(module, name), name
        assert name in dir(textgym.rewards)
    namespace: dict = {}
    exec("from textgym.rewards import *", namespace)  # noqa: S102
    assert set(textgym.rewards.__all__) <= set(namespace)
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchReward'"):
        textgym.rewards.NoSuchReward  # noqa: B018


def test_rule_based_rewards_import_no_torch_and_model_rewards_do() -> None:
    code = (
        "import sys\n"
        "from textgym.rewards import KeywordReward, GrammarReward, WeightedSum, RougeReward, LengthPenalty\n"
        "from textgym.rewards import RewardModel, score_batch, TrainingReport, read_feedback\n"
        "assert 'torch' not in sys.modules, 'torch imported by a rule-based reward'\n"
        "from textgym.rewards import LMFluencyReward\n"
        "assert 'torch' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_training_report_lives_apart_from_training_and_learned() -> None:
    # learned.py loads reports and training.py writes them: neither imports the other for it.
    code = (
        "import sys\n"
        "import textgym.rewards.learned\n"
        "assert 'textgym.rewards.training' not in sys.modules\n"
        "from textgym.rewards.report import TrainingReport\n"
        "from textgym.rewards import training\n"
        "assert training.TrainingReport is TrainingReport is textgym.rewards.learned.TrainingReport\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
