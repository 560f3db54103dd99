import gymnasium as gym
import numpy as np
import pytest
import torch

import textgym  # noqa: F401
from agents import LMActorCriticPolicy


@pytest.fixture
def cat_env():
    return gym.make("textgym/CatText-v0").unwrapped


def make_policy(env, **kwargs) -> LMActorCriticPolicy:
    policy = LMActorCriticPolicy(env.observation_space, env.action_space, lambda _: 1e-4, model="tiny", **kwargs)
    policy.set_training_mode(False)
    return policy


def to_batch(obs_list) -> dict[str, torch.Tensor]:
    return {k: torch.as_tensor(np.stack([o[k] for o in obs_list])) for k in obs_list[0]}


@pytest.fixture
def policy_factory():
    return make_policy


@pytest.fixture
def batcher():
    return to_batch
