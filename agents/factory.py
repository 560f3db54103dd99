"""Convenience constructors wiring the LM policy and the episode buffer into SB3.

The ``make_*`` functions are the entry points. The builders under them
(:func:`build_algorithm`, :func:`build_grouped_algorithm`, :func:`apply_kl_defaults`) are
public too: an algorithm defined elsewhere (``agents.distributed.make_ray_ppo``,
``make_ray_grpo``) gets the same wiring and defaults through them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper, VecMonitor

from agents.algorithms import A2C, PPO
from agents.buffer import EpisodeRolloutBuffer
from agents.group_config import GroupConfig
from agents.grpo import GRPO
from agents.policy import LMActorCriticPolicy, check_token_observation_space
from agents.reinforce import REINFORCE
from agents.vec_env import TextGenSB3VecEnv
from textgym.envs import TextGenEnv
from textgym.validation import check_int

#: Keyword arguments that belong to LMActorCriticPolicy (the KL options belong to the algorithm).
POLICY_KEYS = ("temperature", "top_k", "top_p", "separate_critic", "lora")


def resolve_env_id(env_id: str) -> str:
    """Accept ``"CatText-v0"`` as well as ``"textgym/CatText-v0"``."""
    import textgym  # noqa: F401  (registers the ids)

    if env_id not in gym.registry and f"textgym/{env_id}" in gym.registry:
        return f"textgym/{env_id}"
    if env_id not in gym.registry:
        known = sorted(k for k in gym.registry if k.startswith("textgym/"))
        raise ValueError(f"unknown environment {env_id!r}; textgym registers {known}")
    return env_id


class BudgetIsPartOfTask(VecEnvWrapper):
    """Do not bootstrap past a textgym env's own token budget.

    SB3 bootstraps every truncated episode with ``V(terminal observation)``. When a textgym
    env runs out of its token budget, the text has already been scored and that reward is
    the episode's whole return: the budget is part of the task, so the episode ends there
    (Pardo et al. 2018, "Time Limits in Reinforcement Learning"). Bootstrapping it anyway
    adds a value the critic never learned (it is never trained on budget-exhausted states)
    and made PPO collapse on CatText. This wrapper clears SB3's ``TimeLimit.truncated`` for
    such episodes only (``info["budget_exhausted"]``); truncation by any other time limit is
    still bootstrapped, and termination (EOS) never is.
    """

    def reset(self) -> Any:
        return self.venv.reset()

    def step_wait(self) -> Any:
        obs, rewards, dones, infos = self.venv.step_wait()
        for info in infos:
            if info.get("budget_exhausted"):
                info["TimeLimit.truncated"] = False
        return obs, rewards, dones, infos


def make_env(
    env: str | gym.Env | Callable[[], gym.Env] | VecEnv,
    n_envs: int = 16,
    seed: int | None = 0,
    env_kwargs: dict[str, Any] | None = None,
    group_size: int = 1,
    whole_episodes: bool = False,
) -> VecEnv:
    """A VecEnv from an id, an Env (one slot), an env factory or a VecEnv, budget-aware.

    The result is wrapped in :class:`BudgetIsPartOfTask` (once).

    Args:
        env: An env id, an Env (one slot), an env factory or an SB3 VecEnv.
        n_envs: Slots.
        seed: Slot i is seeded with ``seed + i``.
        env_kwargs: Keyword arguments of the env.
        group_size: Consecutive slots in blocks of G share each episode's prompt and wait for
            each other (group-relative algorithms; :class:`textgym.envs.TextGenVectorEnv`).
        whole_episodes: No autoreset: finished slots wait until the collector resets them
            (:class:`agents.GRPO` collects this way).

    Raises:
        TypeError: If ``n_envs`` or ``group_size`` is not an integer (``2.0`` included).
        ValueError: If grouping or whole episodes are asked of an env that is not a plain
            textgym task (they need the batched env), ``n_envs`` or ``group_size`` is below 1, or
            ``n_envs % group_size != 0``.
    """
    n_envs = check_int("n_envs", n_envs)
    group_size = check_int("group_size", group_size)
    if isinstance(env, BudgetIsPartOfTask):
        return env
    if isinstance(env, VecEnv):
        return BudgetIsPartOfTask(env)
    if group_size != 1 or whole_episodes:
        template = _template(env, env_kwargs)
        if template is None or not _batchable(template):
            raise ValueError("group_size and whole_episodes need a plain textgym task (an id or TextGenEnv factory)")
        mode = AutoresetMode.DISABLED if whole_episodes else AutoresetMode.SAME_STEP
        return BudgetIsPartOfTask(_batched(template, n_envs, seed, group_size, mode))
    return BudgetIsPartOfTask(_make_vec(env, n_envs, seed, env_kwargs))


def _template(env: Any, env_kwargs: dict[str, Any] | None) -> gym.Env | None:
    if isinstance(env, str):
        return gym.make(resolve_env_id(env), **{"render_mode": None, **(env_kwargs or {})}).unwrapped
    if isinstance(env, gym.Env):
        return env
    if callable(env):
        return env()
    return None


def _batchable(env: gym.Env) -> bool:
    # TextGenEnv tasks run as one batched VecEnv, multi-turn ones too (the batched env runs the
    # same turn hooks); not a wrapped env, nor a subclass that overrides step itself.
    return (
        isinstance(env, TextGenEnv)
        and env.unwrapped is env
        and type(env).step is TextGenEnv.step
        and type(env).batchable  # e.g. HierShopLowEnv keeps its turn's act on the instance
    )


def _batched(
    template: TextGenEnv,
    n_envs: int,
    seed: int | None,
    group_size: int = 1,
    autoreset_mode: AutoresetMode = AutoresetMode.SAME_STEP,
) -> VecEnv:
    venv = VecMonitor(TextGenSB3VecEnv(template, n_envs, group_size=group_size, autoreset_mode=autoreset_mode))
    venv.seed(seed)
    return venv


def _make_vec(env: Any, n_envs: int, seed: int | None, env_kwargs: dict[str, Any] | None) -> VecEnv:
    if isinstance(env, str):
        env_id = resolve_env_id(env)
        env_kwargs = {"render_mode": None, **(env_kwargs or {})}
        template = gym.make(env_id, **env_kwargs).unwrapped
        if _batchable(template):
            return _batched(template, n_envs, seed)
        # SB3 asks for render_mode="rgb_array" unless told otherwise; text envs render ansi.
        return make_vec_env(env_id, n_envs=n_envs, seed=seed, env_kwargs=env_kwargs)
    if isinstance(env, gym.Env):
        if n_envs != 1:
            raise ValueError("an Env instance gives one slot: pass n_envs=1, or an env id or factory")
        return make_vec_env(lambda: env, n_envs=1, seed=seed)
    if callable(env):
        template = env()
        if _batchable(template):
            return _batched(template, n_envs, seed)
        return make_vec_env(env, n_envs=n_envs, seed=seed)
    raise TypeError(f"env must be an id, an Env, an env factory or an SB3 VecEnv, got {type(env).__name__}")


def _for_lm_policy(venv: VecEnv, env: Any) -> VecEnv:
    """``venv`` if the LM policy can read its observations, else a ValueError that says what to pass.

    The teaching ids' v1 (``TinyCat-v1``, ``TinyShop-v1``) observe a flat one-hot ``Box`` for stock
    agents; without this check SB3's buffer fails first with a bare ``AssertionError``.
    """
    try:
        check_token_observation_space(venv.observation_space)
    except ValueError as err:
        name = env if isinstance(env, str) else type(env).__name__
        raise ValueError(
            f"{name} observes {venv.observation_space}, but the LM policy reads textgym's token state "
            "Dict(input_ids, attention_mask): pass env_kwargs={'observation': 'tokens'} (the small-vocabulary "
            "envs' v1 observe a flat Box for stock agents) or use an id whose observation is the token state"
        ) from err
    return venv


def _split_kwargs(model: Any, kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    policy_kwargs = dict(kwargs.pop("policy_kwargs", None) or {})
    policy_kwargs.setdefault("model", model)
    for key in POLICY_KEYS:
        if key in kwargs:
            policy_kwargs[key] = kwargs.pop(key)
    return policy_kwargs, kwargs


def apply_kl_defaults(kwargs: dict[str, Any]) -> None:
    """Set this project's KL defaults in an algorithm's keyword arguments, in place.

    A KL penalty of 0.05 per token (``kl_coef``) and KL logged even without one (``log_kl``),
    where the caller gave neither; settings given as ``kl=KLConfig(...)`` stand as they are.

    Args:
        kwargs: The keyword arguments of a step-buffer algorithm (PPO, A2C, REINFORCE, RayPPO).
    """
    if "kl" in kwargs:
        return
    kwargs.setdefault("kl_coef", 0.05)
    kwargs.setdefault("log_kl", True)


def build_algorithm(
    cls: type[BaseAlgorithm],
    env: Any,
    model: Any,
    n_envs: int,
    seed: int | None,
    env_kwargs: dict[str, Any] | None,
    defaults: dict[str, Any],
    kwargs: dict[str, Any],
) -> BaseAlgorithm:
    """A step-buffer algorithm with the LM policy and :class:`EpisodeRolloutBuffer` on :func:`make_env`'s env.

    Args:
        cls: The algorithm class (:class:`agents.PPO`, :class:`agents.A2C`, ...); it takes SB3's
            ``rollout_buffer_class``.
        env: An env id, Env, env factory or VecEnv, as :func:`make_env` takes.
        model: The policy's ``model`` (a name such as ``"tiny"``, a path or a model).
        n_envs: Env slots.
        seed: Seed of the env slots and the algorithm.
        env_kwargs: Keyword arguments of the env.
        defaults: The algorithm's settings where ``kwargs`` gives none.
        kwargs: The caller's keyword arguments: :data:`POLICY_KEYS` (and ``policy_kwargs``) go to
            the policy, the rest to ``cls``. Consumed: the policy's keys are popped.
    """
    policy_kwargs, algo_kwargs = _split_kwargs(model, kwargs)
    algo_kwargs = {**defaults, **algo_kwargs}
    venv = _for_lm_policy(make_env(env, n_envs=n_envs, seed=seed, env_kwargs=env_kwargs), env)
    return cls(
        LMActorCriticPolicy,
        venv,
        policy_kwargs=policy_kwargs,
        rollout_buffer_class=EpisodeRolloutBuffer,
        seed=seed,
        **algo_kwargs,
    )


#: :func:`make_ppo`'s algorithm settings (``agents.distributed.make_ray_ppo`` uses the same).
PPO_DEFAULTS: dict[str, Any] = dict(
    learning_rate=3e-4,
    n_steps=64,
    batch_size=512,
    n_epochs=4,
    gamma=1.0,
    gae_lambda=0.95,
    ent_coef=0.0,
    clip_range=0.2,
    max_grad_norm=0.5,
)


def make_ppo(
    env: str | gym.Env | VecEnv,
    model: Any = "tiny",
    n_envs: int = 16,
    seed: int | None = 0,
    env_kwargs: dict[str, Any] | None = None,
    **kwargs: Any,
) -> PPO:
    """:class:`agents.PPO` with :class:`LMActorCriticPolicy` and :class:`EpisodeRolloutBuffer`.

    Defaults suit short token-level episodes: undiscounted returns (``gamma=1``), GAE
    ``lambda=0.95``, 64 steps per env per rollout, minibatches of about 512 steps (whole
    episode segments), 4 epochs, AdamW at 3e-4, and a fixed KL penalty of 0.05 per token to
    the initial model (``train/kl_ref`` logged). Sampling settings (``temperature``, ``top_k``,
    ``top_p``, ``separate_critic``) and ``lora`` go to the policy; everything else, the KL options
    (``kl_coef``, ``kl_target``, ``kl_horizon``, ``log_kl``) and SB3's own ``target_kl``
    included, goes to :class:`agents.PPO`.

    >>> import agents
    >>> ppo = agents.make_ppo("CatText-v0", n_envs=2, n_steps=8, batch_size=8)
    >>> type(ppo).__name__, type(ppo.rollout_buffer).__name__, ppo.kl_controller.coef
    ('PPO', 'EpisodeRolloutBuffer', 0.05)
    """
    apply_kl_defaults(kwargs)
    return build_algorithm(PPO, env, model, n_envs, seed, env_kwargs, PPO_DEFAULTS, kwargs)  # type: ignore[return-value]


def make_a2c(
    env: str | gym.Env | VecEnv,
    model: Any = "tiny",
    n_envs: int = 16,
    seed: int | None = 0,
    env_kwargs: dict[str, Any] | None = None,
    **kwargs: Any,
) -> A2C:
    """:class:`agents.A2C` with the LM policy (AdamW instead of A2C's default RMSprop), KL 0.05."""
    apply_kl_defaults(kwargs)
    defaults = dict(
        learning_rate=1e-4,
        n_steps=32,
        gamma=1.0,
        gae_lambda=0.95,
        ent_coef=0.0,
        use_rms_prop=False,
        normalize_advantage=True,
        max_grad_norm=0.5,
    )
    return build_algorithm(A2C, env, model, n_envs, seed, env_kwargs, defaults, kwargs)  # type: ignore[return-value]


def make_reinforce(
    env: str | gym.Env | VecEnv,
    model: Any = "tiny",
    n_envs: int = 16,
    seed: int | None = 0,
    env_kwargs: dict[str, Any] | None = None,
    **kwargs: Any,
) -> REINFORCE:
    """:class:`REINFORCE` with the LM policy, KL 0.05."""
    apply_kl_defaults(kwargs)
    defaults = dict(learning_rate=1e-4, n_steps=32, gamma=1.0)
    return build_algorithm(REINFORCE, env, model, n_envs, seed, env_kwargs, defaults, kwargs)  # type: ignore[return-value]


def make_grpo(
    env: str | gym.Env | Callable[[], gym.Env],
    model: Any = "tiny",
    n_envs: int = 16,
    group_size: int = 4,
    seed: int | None = 0,
    env_kwargs: dict[str, Any] | None = None,
    **kwargs: Any,
) -> GRPO:
    """:class:`agents.GRPO` with the LM policy on a grouped, whole-episode batched env.

    Each rollout is ``n_envs`` completions: ``n_envs / group_size`` prompts, ``group_size``
    completions each. Defaults: AdamW at 3e-4 (tuned on the tiny model, like ``make_ppo``;
    a pretrained LM such as SmolLM2 wants about 5e-5 or less), one epoch over the rollout in 4 minibatches
    of whole groups (so 4 optimizer steps per rollout), the token-level loss (DAPO), clip
    0.2, no KL penalty, GRPO's group settings (:class:`agents.GroupConfig`). Sampling settings
    (``temperature``, ``top_k``, ``top_p``) may be given directly; everything else goes to ``GRPO``.

    >>> import agents
    >>> grpo = agents.make_grpo("CatText-v0", n_envs=4, group_size=2)
    >>> grpo.group_size, grpo.group.baseline, grpo.policy.reference is None
    (2, 'mean', True)
    """
    return build_grouped_algorithm(GRPO, env, model, n_envs, group_size, seed, env_kwargs, {}, kwargs)


def make_rloo(
    env: str | gym.Env | Callable[[], gym.Env],
    model: Any = "tiny",
    n_envs: int = 16,
    group_size: int = 4,
    seed: int | None = 0,
    env_kwargs: dict[str, Any] | None = None,
    **kwargs: Any,
) -> GRPO:
    """RLOO (Ahmadian et al. 2024): :func:`make_grpo` with the leave-one-out baseline, unscaled.

    A ``group=GroupConfig(...)`` given here stands as it is (it replaces RLOO's whole group settings).

    >>> import agents
    >>> rloo = agents.make_rloo("CatText-v0", n_envs=4, group_size=2)
    >>> rloo.group.baseline, rloo.group.scale_rewards
    ('leave_one_out', 'none')
    """
    defaults = {"group": GroupConfig(baseline="leave_one_out", scale_rewards="none")}
    return build_grouped_algorithm(GRPO, env, model, n_envs, group_size, seed, env_kwargs, defaults, kwargs)


def build_grouped_algorithm(
    cls: type[GRPO],
    env: Any,
    model: Any,
    n_envs: int,
    group_size: int,
    seed: int | None,
    env_kwargs: dict[str, Any] | None,
    defaults: dict[str, Any],
    kwargs: dict[str, Any],
) -> GRPO:
    """A group-relative algorithm with the LM policy on a grouped, whole-episode env.

    :func:`make_grpo`'s defaults (AdamW at 3e-4, one epoch, minibatches of a quarter of the
    rollout, at least one group) apply under ``defaults``, which apply under ``kwargs``.

    Args:
        cls: :class:`agents.GRPO` or a subclass (``agents.distributed.RayGRPO``).
        env: An env id or env factory, as :func:`make_env` takes.
        model: The policy's ``model`` (a name such as ``"tiny"``, a path or a model).
        n_envs: Env slots, one episode each per rollout; a multiple of ``group_size``.
        group_size: Slots per prompt group.
        seed: Seed of the env slots and the algorithm.
        env_kwargs: Keyword arguments of the env.
        defaults: The algorithm's settings where ``kwargs`` gives none.
        kwargs: The caller's keyword arguments: :data:`POLICY_KEYS` (and ``policy_kwargs``) go to
            the policy, the rest to ``cls``. Consumed: the policy's keys are popped.
    """
    policy_kwargs, algo_kwargs = _split_kwargs(model, kwargs)
    # The env first: make_env checks n_envs and group_size before the default batch size is computed from them.
    venv = make_env(env, n_envs=n_envs, seed=seed, env_kwargs=env_kwargs, group_size=group_size, whole_episodes=True)
    venv = _for_lm_policy(venv, env)
    defaults = {"learning_rate": 3e-4, "n_epochs": 1, "batch_size": max(group_size, n_envs // 4), **defaults}
    return cls(LMActorCriticPolicy, venv, policy_kwargs=policy_kwargs, seed=seed, **{**defaults, **algo_kwargs})
