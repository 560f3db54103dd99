"""Settings that used to be accepted silently are errors at construction, naming the setting and value (issue 30).

Each check fires before any language model is built, so these tests are fast.
"""

import math

import pytest
from stable_baselines3.common.utils import LinearSchedule

import agents
from agents.distributed import RayGRPO, RayPPO
from textgym.envs import TextGenEnv, TextGenVectorEnv
from textgym.models import load_model, load_tokenizer

BAD_RATES = [
    (math.inf, ValueError, "learning_rate must be a finite number, got inf"),
    (math.nan, ValueError, "learning_rate must be a finite number, got nan"),
    (0.0, ValueError, r"learning_rate must be > 0, got 0.0"),
    (-1e-4, ValueError, r"learning_rate must be > 0, got -0.0001"),
    ("3e-4", TypeError, "learning_rate must be a number, got '3e-4'"),
]
RATE_IDS = ["inf", "nan", "zero", "negative", "string"]


@pytest.fixture(scope="module")
def step_env():
    return agents.make_env("CatText-v0", n_envs=2)


@pytest.fixture(scope="module")
def group_env():
    return agents.make_env("CatText-v0", n_envs=4, group_size=2, whole_episodes=True)


def _build(name, step_env, group_env, **kwargs):
    """Each algorithm of agents, built directly on a small env (the model is never reached when a check fails)."""
    policy_kwargs = dict(model="tiny")
    if name == "ppo":
        kwargs = dict(n_steps=8, batch_size=8, **kwargs)
        return agents.PPO("LMActorCriticPolicy", step_env, policy_kwargs=policy_kwargs, **kwargs)
    if name == "a2c":
        return agents.A2C("LMActorCriticPolicy", step_env, n_steps=8, policy_kwargs=policy_kwargs, **kwargs)
    if name == "reinforce":
        return agents.REINFORCE("LMActorCriticPolicy", step_env, n_steps=8, policy_kwargs=policy_kwargs, **kwargs)
    if name == "grpo":
        return agents.GRPO("LMActorCriticPolicy", group_env, policy_kwargs=policy_kwargs, **kwargs)
    if name == "ray_ppo":  # the Ray variants inherit the checks; the check fires before any Ray actor
        return RayPPO(
            "LMActorCriticPolicy",
            step_env,
            worker_env="CatText-v0",
            n_steps=8,
            batch_size=8,
            policy_kwargs=policy_kwargs,
            **kwargs,
        )
    if name == "ray_grpo":
        return RayGRPO("LMActorCriticPolicy", group_env, worker_env="CatText-v0", policy_kwargs=policy_kwargs, **kwargs)
    raise AssertionError(name)


ALGORITHMS = ["ppo", "a2c", "reinforce", "grpo", "ray_ppo", "ray_grpo"]
FACTORIES = {
    "make_ppo": lambda **kw: agents.make_ppo("CatText-v0", n_envs=2, n_steps=8, batch_size=8, **kw),
    "make_a2c": lambda **kw: agents.make_a2c("CatText-v0", n_envs=2, n_steps=8, **kw),
    "make_reinforce": lambda **kw: agents.make_reinforce("CatText-v0", n_envs=2, n_steps=8, **kw),
    "make_grpo": lambda **kw: agents.make_grpo("CatText-v0", n_envs=4, group_size=2, **kw),
    "make_rloo": lambda **kw: agents.make_rloo("CatText-v0", n_envs=4, group_size=2, **kw),
}


# ----- learning rate -----
@pytest.mark.parametrize("name", ALGORITHMS)
@pytest.mark.parametrize(("rate", "error", "message"), BAD_RATES, ids=RATE_IDS)
def test_algorithms_refuse_a_bad_learning_rate(step_env, group_env, name, rate, error, message) -> None:
    with pytest.raises(error, match=message):
        _build(name, step_env, group_env, learning_rate=rate)


@pytest.mark.parametrize("factory", sorted(FACTORIES))
@pytest.mark.parametrize(("rate", "error", "message"), BAD_RATES[:3], ids=RATE_IDS[:3])
def test_factories_refuse_a_bad_learning_rate(factory, rate, error, message) -> None:
    with pytest.raises(error, match=message):
        FACTORIES[factory](learning_rate=rate)


def test_ppo_refuses_a_bad_learning_rate_given_positionally(step_env) -> None:
    # sb3.PPO's third positional argument: the check sits where SB3 reads it, not in a keyword.
    with pytest.raises(ValueError, match="learning_rate must be a finite number, got inf"):
        agents.PPO("LMActorCriticPolicy", step_env, math.inf, n_steps=8, batch_size=8, policy_kwargs=dict(model="tiny"))


@pytest.mark.parametrize("schedule", [lambda progress: 0.0, lambda progress: math.inf, LinearSchedule(0.0, 1e-3, 1.0)])
def test_a_schedule_is_checked_at_its_start(step_env, schedule) -> None:
    with pytest.raises(ValueError, match=r"learning_rate \(the schedule's value at progress_remaining=1.0\)"):
        _build("ppo", step_env, None, learning_rate=schedule)


def test_a_schedule_that_decays_to_zero_is_allowed() -> None:
    from agents.learning_rate import check_learning_rate  # here: the module is new (issue 30)

    # SB3 schedules take the progress remaining: 1.0 at the start, 0.0 at the end of training.
    decay = LinearSchedule(3e-4, 0.0, 1.0)
    assert check_learning_rate(decay) is decay
    assert check_learning_rate(3e-4) == 3e-4


def test_supervised_finetune_refuses_a_bad_learning_rate_and_counts() -> None:
    model, tok = load_model("tiny"), load_tokenizer("tiny")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cases = [
        (dict(steps=1, learning_rate=math.inf), ValueError, "learning_rate must be a finite number, got inf"),
        (dict(steps=1, learning_rate=math.nan), ValueError, "learning_rate must be a finite number, got nan"),
        (dict(steps=2.0), TypeError, r"steps must be an integer, got 2.0 \(float\)"),
        (dict(steps=1, batch_size=2.0), TypeError, r"batch_size must be an integer, got 2.0 \(float\)"),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            agents.supervised_finetune(model, tok, ["the dog"], ["ran ."], **kwargs)
    for key, value in model.state_dict().items():  # refused before any step
        assert (value == before[key]).all(), key


# ----- the KL settings: one check, in KLController -----
BAD_KL = [
    (dict(kl_coef=math.nan), ValueError, "kl_coef must be a finite number, got nan"),
    (dict(kl_coef=math.inf), ValueError, "kl_coef must be a finite number, got inf"),
    (dict(kl_coef=0.1, kl_target=math.nan), ValueError, "kl_target must be a finite number, got nan"),
    (dict(kl_coef=0.1, kl_target=math.inf), ValueError, "kl_target must be a finite number, got inf"),
    (dict(kl_coef=0.1, kl_target=0.1, kl_horizon=2.5), TypeError, r"kl_horizon must be an integer, got 2.5"),
    (dict(kl_coef=0.1, kl_target=0.1, kl_horizon=100.0), TypeError, r"kl_horizon must be an integer, got 100.0"),
    (dict(kl_coef=0.1, kl_target=0.1, kl_horizon=True), TypeError, r"kl_horizon must be an integer, got True"),
]
KL_IDS = ["coef-nan", "coef-inf", "target-nan", "target-inf", "horizon-2.5", "horizon-100.0", "horizon-bool"]


@pytest.mark.parametrize(("kwargs", "error", "message"), BAD_KL, ids=KL_IDS)
def test_kl_controller_refuses_non_finite_settings(kwargs, error, message) -> None:
    args = dict(initial_coef=kwargs["kl_coef"], target=kwargs.get("kl_target"))
    if "kl_horizon" in kwargs:
        args["horizon"] = kwargs["kl_horizon"]
    with pytest.raises(error, match=message):
        agents.KLController(**args)


@pytest.mark.parametrize("name", ["ppo", "a2c", "reinforce", "grpo"])
@pytest.mark.parametrize(("kwargs", "error", "message"), BAD_KL, ids=KL_IDS)
def test_every_algorithm_refuses_non_finite_kl_settings(step_env, group_env, name, kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        _build(name, step_env, group_env, **kwargs)


# ----- counts: integers >= 1, an integral float included -----
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(n_envs=2.0), r"n_envs must be an integer, got 2.0 \(float\)"),
        (dict(n_envs=True), r"n_envs must be an integer, got True \(bool\)"),
        (dict(n_envs=4, group_size=2.0, whole_episodes=True), r"group_size must be an integer, got 2.0 \(float\)"),
    ],
    ids=["n_envs-float", "n_envs-bool", "group_size-float"],
)
def test_make_env_refuses_non_integer_counts(kwargs, message) -> None:
    with pytest.raises(TypeError, match=message):
        agents.make_env("CatText-v0", **kwargs)


@pytest.mark.parametrize("factory", sorted(FACTORIES))
def test_factories_refuse_a_float_n_envs(factory) -> None:
    make = {
        "make_ppo": agents.make_ppo,
        "make_a2c": agents.make_a2c,
        "make_reinforce": agents.make_reinforce,
        "make_grpo": agents.make_grpo,
        "make_rloo": agents.make_rloo,
    }[factory]
    with pytest.raises(TypeError, match=r"n_envs must be an integer, got 4.0 \(float\)"):
        make("CatText-v0", n_envs=4.0)


@pytest.mark.parametrize("make", [agents.make_grpo, agents.make_rloo], ids=["make_grpo", "make_rloo"])
def test_grouped_factories_refuse_a_float_group_size(make) -> None:
    # Before: a raw numpy error from inside the env (make_env itself accepted 2.0).
    with pytest.raises(TypeError, match=r"group_size must be an integer, got 2.0 \(float\)"):
        make("CatText-v0", n_envs=4, group_size=2.0)


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("reinforce", dict(n_steps=8.0), r"n_steps must be an integer, got 8.0 \(float\)"),
        ("grpo", dict(n_epochs=1.0), r"n_epochs must be an integer, got 1.0 \(float\)"),
        ("grpo", dict(batch_size=4.0), r"batch_size must be an integer, got 4.0 \(float\)"),
    ],
    ids=["reinforce-n_steps", "grpo-n_epochs", "grpo-batch_size"],
)
def test_algorithms_refuse_float_counts_they_take(step_env, group_env, name, kwargs, message) -> None:
    if name == "reinforce":
        with pytest.raises(TypeError, match=message):
            agents.REINFORCE("LMActorCriticPolicy", step_env, policy_kwargs=dict(model="tiny"), **kwargs)
    else:
        with pytest.raises(TypeError, match=message):
            _build(name, step_env, group_env, **kwargs)


@pytest.mark.parametrize(
    ("num_envs", "group_size", "message"),
    [
        (2.0, 1, r"num_envs must be an integer, got 2.0 \(float\)"),
        (4, 2.0, r"group_size must be an integer, got 2.0 \(float\)"),
        (4, True, r"group_size must be an integer, got True \(bool\)"),
    ],
    ids=["num_envs-float", "group_size-float", "group_size-bool"],
)
def test_vector_env_refuses_non_integer_counts(num_envs, group_size, message) -> None:
    env = TextGenEnv(["the dog ran ."], reward=lambda p, c: [0.0] * len(c), max_new_tokens=3)
    with pytest.raises(TypeError, match=message):
        TextGenVectorEnv(env, num_envs, group_size=group_size)
