"""agents.GroupConfig: a GRPO's group settings, checked where they are written, kept by save/load."""

import pytest
from stable_baselines3.common.save_util import load_from_zip_file, save_to_zip_file

import agents
from agents.group_config import GroupConfig


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            dict(baseline="median"),
            r"baseline must be one of \('mean', 'leave_one_out', 'reinforce\+\+', 'reinforce\+\+_baseline'\), "
            "got 'median'",
        ),
        (dict(scale_rewards="std"), r"scale_rewards must be one of \('group', 'batch', 'none'\), got 'std'"),
        (dict(loss_aggregation="mean"), r"loss_aggregation must be one of \('token', 'sequence', 'constant'\)"),
        (dict(loss_type="ppo"), r"loss_type must be one of \('clip', 'cispo'\), got 'ppo'"),
        (dict(importance_sampling="episode"), r"importance_sampling must be one of \('token', 'sequence'\)"),
        (dict(baseline="reinforce++"), "normalises over the batch, not the group: pass scale_rewards='batch'"),
    ],
)
def test_an_unknown_option_is_named_with_its_value(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        GroupConfig(**kwargs)


def test_skipping_takes_a_bool_only() -> None:
    with pytest.raises(TypeError, match=r"skip_zero_advantage_groups must be a bool, got 1 \(int\)"):
        GroupConfig(skip_zero_advantage_groups=1)  # type: ignore[arg-type]


@pytest.mark.parametrize("kwargs", [dict(baseline="leave_one_out", scale_rewards="none"), dict()])
def test_groups_of_one_are_refused_where_a_setting_needs_two(kwargs) -> None:
    with pytest.raises(ValueError, match="need group_size >= 2"):
        GroupConfig(**kwargs).check_group_size(1)


def test_groups_of_one_are_fine_for_a_mean_baseline_without_group_scaling() -> None:
    GroupConfig(scale_rewards="batch").check_group_size(1)
    GroupConfig(baseline="reinforce++", scale_rewards="batch").check_group_size(1)  # the batch's mean


def test_a_group_mean_under_reinforce_pp_needs_groups_of_two() -> None:
    with pytest.raises(ValueError, match="baseline='reinforce\\+\\+_baseline' needs group_size >= 2"):
        GroupConfig(baseline="reinforce++_baseline", scale_rewards="batch").check_group_size(1)


def test_grpo_takes_the_group_settings_as_one_object_only() -> None:
    with pytest.raises(TypeError, match="group must be an agents.GroupConfig, got dict"):
        agents.make_grpo("CatText-v0", n_envs=4, group_size=2, group={"baseline": "mean"})
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['baseline'\]"):
        agents.make_grpo("CatText-v0", n_envs=4, group_size=2, baseline="mean")


def test_the_group_settings_are_checked_against_the_envs_group_size() -> None:
    with pytest.raises(ValueError, match="need group_size >= 2"):
        agents.make_rloo("CatText-v0", n_envs=4, group_size=1)


def test_a_file_that_holds_the_group_settings_one_by_one_keeps_them(tmp_path) -> None:
    """Files of textgym 0.1 hold ``baseline`` etc. as attributes; loading them keeps the settings."""
    group = GroupConfig(baseline="leave_one_out", scale_rewards="batch", loss_aggregation="sequence")
    model = agents.make_grpo("CatText-v0", n_envs=4, group_size=2, group=group)
    model.save(tmp_path / "new.zip")
    data, params, variables = load_from_zip_file(tmp_path / "new.zip")
    saved = data.pop("group")
    data.update({name: getattr(saved, name) for name in ("baseline", "scale_rewards", "loss_aggregation")})
    data["skip_zero_advantage_groups"] = False
    save_to_zip_file(tmp_path / "old.zip", data=data, params=params, pytorch_variables=variables)

    env = agents.make_env("CatText-v0", n_envs=4, group_size=2, whole_episodes=True)
    loaded = agents.GRPO.load(tmp_path / "old.zip", env=env)
    assert loaded.group == GroupConfig("leave_one_out", "batch", "sequence", skip_zero_advantage_groups=False)
    assert "baseline" not in loaded.__dict__
