"""The KL settings as one KLConfig: the same penalty as the keywords, one check, clear misuse errors."""

import math

import pytest

import agents


@pytest.mark.parametrize("make", [agents.make_ppo, agents.make_a2c, agents.make_reinforce, agents.make_grpo])
def test_kl_config_builds_the_same_penalty_as_the_keywords(make) -> None:
    kw = dict(n_envs=4) if make is not agents.make_grpo else dict(n_envs=4, group_size=2)
    by_keywords = make("CatText-v0", kl_coef=0.2, kl_target=0.05, kl_horizon=500, log_kl=True, **kw)
    by_config = make("CatText-v0", kl=agents.KLConfig(coef=0.2, target=0.05, horizon=500, log=True), **kw)
    assert by_config.kl_controller == by_keywords.kl_controller
    assert by_config.kl_penalty.estimator == by_keywords.kl_penalty.estimator
    assert by_config.policy.reference is not None


def test_grpo_defaults_to_k3_in_the_loss_and_the_step_algorithms_to_k1_in_the_reward() -> None:
    grpo = agents.make_grpo("CatText-v0", n_envs=4, group_size=2, kl=agents.KLConfig(coef=0.1))
    ppo = agents.make_ppo("CatText-v0", n_envs=2, kl=agents.KLConfig(coef=0.1))
    assert (grpo.kl_penalty.estimator, ppo.kl_penalty.estimator) == ("k3_loss", "k1_reward")


def test_kl_misuse_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match=r"not both: got kl and \['kl_coef'\]"):
        agents.make_grpo("CatText-v0", n_envs=4, group_size=2, kl=agents.KLConfig(coef=0.1), kl_coef=0.2)
    with pytest.raises(ValueError, match="PPO applies the KL penalty as 'k1_reward', not 'k3_loss'"):
        agents.make_ppo("CatText-v0", n_envs=2, kl_estimator="k3_loss")
    with pytest.raises(ValueError, match="kl_estimator must be 'k1_reward' or 'k3_loss', got 'k2'"):
        agents.KLConfig(coef=0.1, estimator="k2")
    with pytest.raises(ValueError, match="kl_coef must be a finite number, got nan"):
        agents.KLConfig(coef=math.nan)
    with pytest.raises(TypeError, match="log_kl must be a bool"):
        agents.KLConfig(log=1)
    with pytest.raises(TypeError, match=r"GRPO got unexpected keyword arguments \['kl_coeff'\]"):
        agents.make_grpo("CatText-v0", n_envs=4, group_size=2, kl_coeff=0.1)


@pytest.mark.parametrize(
    ("make", "old_keys"),
    [
        (agents.make_ppo, {"log_kl": True, "kl_per_token": 0.25}),
        (agents.make_grpo, {"kl_coef": 0.1, "kl_estimator": "k1_reward", "log_kl": False}),
    ],
)
def test_a_file_saved_before_kl_penalty_keeps_its_kl_state(make, old_keys, tmp_path) -> None:
    """Files of textgym 0.1 hold ``kl_controller`` etc. as attributes; loading them keeps the penalty."""
    from stable_baselines3.common.save_util import load_from_zip_file, save_to_zip_file

    kw = dict(n_envs=4) if make is not agents.make_grpo else dict(n_envs=4, group_size=2)
    model = make("CatText-v0", kl_coef=0.1, kl_target=0.05, kl_horizon=500, **kw)
    model.kl_controller.coef = 0.123  # as an adaptive run leaves it
    model.save(tmp_path / "new.zip")
    # Rewrite the saved attributes as the old code wrote them: no kl_penalty, a bare controller.
    data, params, variables = load_from_zip_file(tmp_path / "new.zip")
    penalty = data.pop("kl_penalty")
    data.update(kl_controller=penalty.controller, **old_keys)
    save_to_zip_file(tmp_path / "old.zip", data=data, params=params, pytorch_variables=variables)

    env_kw = dict(n_envs=4) if make is not agents.make_grpo else dict(n_envs=4, group_size=2, whole_episodes=True)
    loaded = type(model).load(tmp_path / "old.zip", env=agents.make_env("CatText-v0", **env_kw))
    assert loaded.kl_controller.coef == pytest.approx(0.123)
    assert (loaded.kl_controller.target, loaded.kl_controller.horizon) == (0.05, 500)
    assert loaded.kl_penalty.estimator == old_keys.get("kl_estimator", "k1_reward")
    assert loaded.kl_per_token == old_keys.get("kl_per_token")
    assert loaded.policy.reference is not None
    assert "kl_controller" not in loaded.__dict__
