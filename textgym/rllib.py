"""RLlib entry point for textgym's ids.

Ray's workers are separate processes that have not run ``import textgym``, so Gymnasium's
registry there holds none of textgym's ids; an env creator must import textgym itself.
:func:`env_creator` does, and passes RLlib's ``env_config`` on as ``gym.make`` keyword
arguments. This module imports neither ray nor torch (``import textgym`` never imports it), so
it can be used to build the creator anywhere::

    from ray.tune.registry import register_env
    from textgym.rllib import env_creator, register

    register()  # every textgym id, under its own name
    # or: register_env("textgym/TinyCat-v0", env_creator("textgym/TinyCat-v0"))
    config = PPOConfig().environment("textgym/TinyCat-v0", env_config={"shaping": 0.5})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym

#: What the creator adds to ``env_config`` unless it says otherwise: RLlib's default encoders
#: read a flat ``Box`` (a one-hot code of the tokens); RLlib's PPO bootstraps a value at every
#: truncation, and the token budget is part of the task (docs/ecosystem.md, "Observation options").
DEFAULT_ENV_CONFIG: dict[str, Any] = {"observation": "onehot", "budget_as_termination": True}


class _Creator:
    """A picklable ``env_config -> env`` callable for one id (a closure would not pickle by value)."""

    def __init__(self, env_id: str, defaults: Mapping[str, Any]):
        self.env_id = env_id
        self.defaults = dict(defaults)

    def __call__(self, env_config: Mapping[str, Any] | None = None) -> gym.Env:
        import textgym  # noqa: F401  (registers the ids in this process: a Ray worker has not)

        # RLlib's EnvContext is a dict with worker_index etc. as attributes, not keys, so the
        # dict's own items are exactly the user's env_config.
        kwargs = {**self.defaults, **dict(env_config or {})}
        return gym.make(self.env_id, **kwargs)

    def __repr__(self) -> str:
        return f"textgym.rllib.env_creator({self.env_id!r}, defaults={self.defaults!r})"


def env_creator(env_id: str, **defaults: Any) -> Callable[[Mapping[str, Any] | None], gym.Env]:
    """An env creator for ``ray.tune.registry.register_env`` that works in Ray's workers.

    Args:
        env_id: A textgym id, e.g. ``"textgym/TinyCat-v0"``.
        **defaults: ``gym.make`` keyword arguments that replace :data:`DEFAULT_ENV_CONFIG`'s
            (``observation="multidiscrete"`` for RLlib's own flattener, ``observation="tokens"``
            for a custom RLModule). RLlib's ``env_config`` overrides both.

    Returns:
        A picklable callable ``creator(env_config) -> gymnasium.Env`` that imports textgym and
        returns ``gym.make(env_id, **{**DEFAULT_ENV_CONFIG, **defaults, **env_config})``.

    Raises:
        ValueError: If ``env_id`` is not one of textgym's ids (checked here, before Ray
            starts any worker).
    """
    import textgym  # noqa: F401  (the ids are checked against the registry)

    if env_id not in textgym_ids():
        raise ValueError(f"{env_id!r} is not a textgym id; known ids: {textgym_ids()}")
    return _Creator(env_id, {**DEFAULT_ENV_CONFIG, **defaults})


def textgym_ids() -> list[str]:
    """Every registered textgym id (``textgym/...``), sorted."""
    import textgym  # noqa: F401

    return sorted(i for i in gym.registry if i.startswith("textgym/"))


def register(**defaults: Any) -> list[str]:
    """Register every textgym id with RLlib (``ray.tune.registry.register_env``) under its own name.

    Args:
        **defaults: As in :func:`env_creator`, for every id.

    Returns:
        The ids registered.

    Raises:
        ImportError: If ray is not installed (``pip install -e ".[rllib]"``).
    """
    try:
        from ray.tune.registry import register_env
    except ImportError as err:
        raise ImportError('textgym.rllib.register needs ray[rllib]: pip install -e ".[rllib]"') from err
    ids = textgym_ids()
    for env_id in ids:
        register_env(env_id, env_creator(env_id, **defaults))
    return ids
