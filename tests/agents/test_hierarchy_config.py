"""agents.HierarchyConfig: a hierarchical agent's settings, checked in one place, written to JSON and read back."""

import json

import pytest

import agents
from agents.hierarchy_config import HIGH_DEFAULTS, HierarchyConfig


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(env_id="CatText-v0"), ValueError, "not a view of a known hierarchy"),
        (dict(model=object()), ValueError, r"model must be a name \(so that save/load can rebuild it\), got object"),
        (dict(n_envs=2.0), TypeError, r"n_envs must be an integer, got 2.0 \(float\)"),
        (dict(n_high_envs=0), ValueError, "n_high_envs must be >= 1, got 0"),
        (dict(seed=-1), ValueError, "seed must be >= 0, got -1"),
        (dict(intrinsic_weight=float("nan")), ValueError, "intrinsic_weight must be a finite number, got nan"),
        (dict(gamma=1.5), ValueError, r"gamma must be in \[0, 1\], got 1.5"),
        (dict(schedule="sometimes"), ValueError, r"schedule must be one of \('alternate', 'joint'\), got 'sometimes'"),
        (dict(skill_tokens=-1), ValueError, "skill_tokens must be >= 0, got -1"),
        (dict(skill_tokens=64, schedule="joint"), ValueError, "skill_tokens needs the alternating schedule"),
        (dict(low_kwargs=[("n_steps", 8)]), TypeError, "low_kwargs must be a dict, got list"),
    ],
)
def test_a_bad_setting_is_named_with_its_value(kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        HierarchyConfig(**{"env_id": "HierShopHigh-v1", **kwargs})


def test_the_id_is_stored_in_full_and_the_high_level_defaults_filled_in() -> None:
    given = {"n_steps": 8}
    config = HierarchyConfig("HierShopLow-v1", high_kwargs=given)
    assert config.env_id == "textgym/HierShopLow-v1"
    assert config.views == ("textgym/HierShopLow-v1", "textgym/HierShopHigh-v1")
    assert config.high_kwargs == {**HIGH_DEFAULTS, "n_steps": 8}
    assert given == {"n_steps": 8}  # the caller's dict is not changed


def test_json_round_trip_rebuilds_the_same_config() -> None:
    config = HierarchyConfig("HierShopHigh-v2", n_envs=2, env_kwargs={"split": "train"}, schedule="joint")
    assert HierarchyConfig(**json.loads(json.dumps(config.to_json()))) == config


def test_a_file_written_before_schedules_existed_loads_with_the_defaults() -> None:
    state = HierarchyConfig("HierShopHigh-v1").to_json()
    del state["schedule"], state["skill_tokens"]
    config = HierarchyConfig(**state)
    assert (config.schedule, config.skill_tokens) == ("alternate", 0)


def test_the_agent_takes_a_config_object_only() -> None:
    with pytest.raises(TypeError, match="config must be an agents.HierarchyConfig, got dict"):
        agents.HierarchicalAgent({"env_id": "textgym/HierShopHigh-v1"})  # type: ignore[arg-type]
