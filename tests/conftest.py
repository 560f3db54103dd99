import json
import operator
import os
from collections.abc import Callable

import gymnasium as gym
import pytest
import torch

import textgym  # noqa: F401  (registers the environments)

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
