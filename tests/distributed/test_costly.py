"""BusyReward: the inner reward's scores, after a fixed CPU cost per scored text."""

import time

import numpy as np
import pytest

from agents.distributed import BusyReward, costly_cat_text
from textgym.envs.cat_text import CatTextEnv
from textgym.rewards import KeywordReward


def test_busy_reward_returns_the_inner_scores_and_burns_the_cpu_time() -> None:
    inner = KeywordReward(["cat"])
    busy = BusyReward(inner, cpu_seconds=0.05)
    prompts, completions = ["a", "b", "c"], ["the cat sat", "a dog", "cat cat"]
    start = time.thread_time()
    out = busy.score(prompts, completions)
    used = time.thread_time() - start
    np.testing.assert_array_equal(out.total, inner.score(prompts, completions).total)
    assert used >= 3 * 0.05  # CPU time of this thread: a lower bound that load cannot break
    assert busy.name == inner.name


def test_busy_reward_rejects_negative_cost() -> None:
    with pytest.raises(ValueError, match="cpu_seconds must be >= 0"):
        BusyReward(KeywordReward(["cat"]), cpu_seconds=-1)


def test_costly_cat_text_scores_as_cat_text() -> None:
    plain, costly = CatTextEnv(), costly_cat_text(0.0)
    for env in (plain, costly):
        env.reset(seed=3)
    texts = (["Once"], ["the cat is happy ."])
    np.testing.assert_array_equal(costly.reward_model(*texts), plain.reward_model(*texts))
    assert isinstance(costly.reward_model, BusyReward)
