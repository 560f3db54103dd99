import copy
import json
import operator
import os
from collections.abc import Callable, Sequence
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

#: The training seed of every learning test (``@pytest.mark.learning``): 0 unless set. Such a test
#: must hold on any host, so ``python benchmarks/learning_margins.py`` runs them all at seeds 0, 1
#: and 2 and at 1 and 2 torch threads and records each check's margin (issue 30).
LEARNING_SEED = int(os.environ.get("TEXTGYM_LEARNING_SEED", "0"))
if "TEXTGYM_TORCH_THREADS" in os.environ:
    torch.set_num_threads(int(os.environ["TEXTGYM_TORCH_THREADS"]))
elif os.environ.get("PYTEST_XDIST_WORKER"):
    # Under pytest-xdist each worker is one of several processes sharing the cores: one torch
    # thread each (small models run best so), and one for the subprocesses that tests start.
    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the learning tests first (longest first), then the other slow ones, then the rest.

    Under ``pytest -n auto`` (the README's command) the suite's wall time is set by when its
    longest tests start: a 10-minute learning test that starts last keeps one worker busy while
    the others idle. Started first, with xdist's ``worksteal`` scheduling (pyproject's
    ``addopts``), the short tests fill the other workers around it: longest-processing-time
    first, the classic greedy rule for parallel machines (Graham, 1969).
    """

    def rank(item: pytest.Item) -> tuple[int, float]:
        learning = item.get_closest_marker("learning")
        if learning:  # the longest first: ``@pytest.mark.learning(minutes=N)`` states a test's cost
            return 0, -float(learning.kwargs.get("minutes", 0))
        return (1 if item.get_closest_marker("slow") else 2), 0.0

    items.sort(key=rank)


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}

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


@pytest.fixture
def learning_seed() -> int:
    """The seed a learning test trains with (``TEXTGYM_LEARNING_SEED``, default 0)."""
    return LEARNING_SEED


@pytest.fixture
def check_learned(request: pytest.FixtureRequest) -> Callable[[str, float, str, float], None]:
    """``check(name, value, op, bar)``: assert ``value op bar`` and record its margin.

    The margin is how far ``value`` is on the right side of ``bar`` (negative: the check
    failed). With ``TEXTGYM_MARGINS`` set, every check appends one JSON line to that file,
    which ``benchmarks/learning_margins.py`` collects over seeds and thread counts.
    """

    def check(name: str, value: float, op: str, bar: float) -> None:
        value, bar = float(value), float(bar)
        margin = value - bar if op in (">=", ">") else bar - value
        path = os.environ.get("TEXTGYM_MARGINS")
        if path:
            record = {
                "test": request.node.nodeid,
                "check": name,
                "op": op,
                "bar": bar,
                "value": value,
                "margin": margin,
                "seed": LEARNING_SEED,
                "threads": torch.get_num_threads(),
            }
            with open(path, "a") as f:
                f.write(json.dumps(record) + "\n")
        assert _COMPARE[op](value, bar), f"{name}: {value:.4g} is not {op} {bar:.4g} (seed {LEARNING_SEED})"

    return check


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
    slots = env.slots
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
