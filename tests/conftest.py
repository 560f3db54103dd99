import gymnasium as gym
import pytest

import textgym  # noqa: F401  (registers the environments)

TEXTGYM_IDS = sorted(env_id for env_id in gym.registry if env_id.startswith("textgym/"))


@pytest.fixture(params=TEXTGYM_IDS)
def env_id(request: pytest.FixtureRequest) -> str:
    return request.param
