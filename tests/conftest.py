import copy
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

import textgym  # noqa: F401  (registers the environments)
from textgym.envs import TextGenVectorEnv
from textgym.envs.hier_shop import HierShopHighEnv
from textgym.rewards import RewardModel, RewardOutput, as_reward_model, score_batch

TEXTGYM_IDS = sorted(env_id for env_id in gym.registry if env_id.startswith("textgym/"))


@pytest.fixture(params=TEXTGYM_IDS)
def env_id(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(autouse=True)
def _restore_torch_threads():
    """Undo a test's ``torch.set_num_threads`` so that later tests run with the suite's thread count.

    Several learning tests pin one thread for bit-equal floats; without this every later test
    (e.g. the reward-model accuracy test) silently ran single-threaded, with other float sums.
    The no-torch import checks run in subprocesses, so importing torch here does not hide them.
    """
    before = torch.get_num_threads()
    yield
    if torch.get_num_threads() != before:
        torch.set_num_threads(before)


# ----- all-or-nothing steps (issue 30): an env's whole state, copied and compared exactly -----
# A step that fails must leave the env as it was; the fixture ``tx`` gives the tests one
# definition of "as it was" for every kind of env: the token arrays, the episode records, the
# env's own flags and counters, and (vector env) its autoreset bookkeeping and slot generators.
FAILURES = ("raise", "nan", "inf")


def env_state(env: Any) -> dict[str, Any]:
    """Copies of everything a step may change: a textgym env, its vector env, agents' SB3 adapter, HierShopHigh."""
    env = env.unwrapped
    out: dict[str, Any] = {}
    if hasattr(env, "vec"):  # agents.vec_env.TextGenSB3VecEnv: the vector env inside
        env = env.vec
    if isinstance(env, HierShopHighEnv):
        out["high_done"] = env._done
        env = env.low
    slots = env._slots
    out.update(
        ids=slots.ids.copy(),
        mask=slots.mask.copy(),
        length=slots.length.copy(),
        n_new=slots.n_new.copy(),
        turn_start=slots.turn_start.copy(),
        last_score=slots.last_score.copy(),
        episodes=copy.deepcopy(slots.episodes),
    )
    if isinstance(env, TextGenVectorEnv):
        out.update(
            autoreset=env._autoreset.copy(),
            waiting=env._waiting.copy(),
            group_id=env._group_id.copy(),
            next_group_id=env._next_group_id,
            step_infos=copy.deepcopy(env.step_infos),
            reset_infos=copy.deepcopy(env.reset_infos),
            rngs=[None if r is None else copy.deepcopy(r.bit_generator.state) for r in env._rngs],
        )
    else:
        rng = env._np_random
        out.update(
            done=env._done,
            token_values=copy.copy(env.token_values),
            rng=None if rng is None else copy.deepcopy(rng.bit_generator.state),
        )
        for name in ("goals", "_return"):  # HierShopLowEnv's per-episode state
            if hasattr(env, name):
                out[name] = copy.deepcopy(getattr(env, name))
    return out


def assert_same(a: Any, b: Any, where: str = "state") -> None:
    """Recursive exact equality of states and step results (dicts, sequences, arrays, dataclasses)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{where}: keys {sorted(a)} != {sorted(b)}"
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, np.ndarray) and a.dtype == object:  # gymnasium's batched infos: dicts, arrays, text
        assert isinstance(b, np.ndarray) and b.dtype == object and a.shape == b.shape, f"{where}: {a!r} != {b!r}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, f"{where}: {a!r} != {b!r}"
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, list | tuple):
        assert type(a) is type(b) and len(a) == len(b), f"{where}: {a!r} != {b!r}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def error_text(err: BaseException) -> str:
    """An error's message with its PEP 678 notes, where score_batch names the reward that raised."""
    return "\n".join([str(err), *getattr(err, "__notes__", [])])


class FlakyReward(RewardModel):
    """``inner``'s scores, except that the next call after :meth:`arm` fails once.

    Failing means raising ``RuntimeError`` (``how="raise"``) or returning NaN / +inf as the
    last pair's score (``"nan"``, ``"inf"``), which score_batch refuses.
    """

    name = "flaky_judge"

    def __init__(self, inner: Any, how: str = "raise"):
        assert how in FAILURES
        self.inner = as_reward_model(inner)
        self.how = how
        self.armed = False
        self.failures = 0

    def arm(self, how: str | None = None) -> None:
        self.armed = True
        self.how = how or self.how

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        out = score_batch(self.inner, prompts, completions)
        if not self.armed:
            return out
        self.armed = False
        self.failures += 1
        if self.how == "raise":
            raise RuntimeError("the judge is unavailable")
        total = out.total.copy()
        total[-1] = np.nan if self.how == "nan" else np.inf
        return RewardOutput(total=total, components=out.components)


@pytest.fixture
def tx() -> SimpleNamespace:
    """The all-or-nothing step helpers: ``tx.state(env)``, ``tx.same(a, b)``, ``tx.error_text(err)``, ``tx.Flaky``."""
    return SimpleNamespace(state=env_state, same=assert_same, error_text=error_text, Flaky=FlakyReward)
