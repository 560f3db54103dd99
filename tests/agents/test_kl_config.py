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
