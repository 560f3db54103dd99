import gymnasium as gym
import pytest
import torch

import textgym  # noqa: F401  (registers the environments)

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
