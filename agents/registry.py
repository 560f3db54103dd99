"""The algorithms by name: one record each, read by :func:`make_agent`, ``textgym train``/``eval`` and the docs.

Adding an algorithm takes its module and one :func:`register_algorithm` call (see CONTRIBUTING.md)::

    register_algorithm(AlgorithmSpec("toy", "my_module:Toy", "my_module:make_toy", "a toy", 4096, 4))

A record names its class and its factory either as objects or as ``"module:attribute"`` strings,
imported on first use: this module imports no torch, so ``textgym --help`` stays quick.

The factory's contract is the one of :func:`agents.make_ppo`: ``make(env, model=..., n_envs=...,
seed=..., **kwargs)`` returns an SB3 algorithm, and a group algorithm's also takes ``group_size``.
``textgym train`` calls it with ``tensorboard_log`` and ``verbose`` too, and with ``learning_rate``
and ``kl_coef`` when ``--lr`` and ``--kl-coef`` are given; ``textgym eval`` and ``--resume`` load a
saved model with the class's ``load``.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from textgym.validation import check_int

_NAME = re.compile(r"[a-z][a-z0-9_-]*\Z")
_REFERENCE = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*\Z")


@dataclass(frozen=True)
class AlgorithmSpec:
    """One algorithm as :func:`make_agent`, the ``textgym`` command and the docs see it.

    Attributes:
        name: The name ``--algo`` and :func:`make_agent` take: lower case, e.g. ``"ppo"``.
        cls: The class whose ``load`` reads the algorithm's saved models, or ``"module:attribute"``.
        make: The factory (contract in the module docstring), or ``"module:attribute"``.
        help: One line for ``textgym train --help`` and the docs.
        timesteps: ``textgym train``'s default env steps.
        n_envs: ``textgym train``'s default env slots.
        group_size: ``textgym train``'s default completions per prompt, for an algorithm that learns
            from groups of completions; None for one that does not (``--group-size`` is refused).
    """

    name: str
    cls: type | str
    make: Callable[..., Any] | str
    help: str
    timesteps: int
    n_envs: int
    group_size: int | None = None

    def __post_init__(self) -> None:
        """Check every field, so that a bad record fails where it is written, not at training time."""
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(f"algorithm name must be lower case letters, digits, - or _, got {self.name!r}")
        for field, value in (("cls", self.cls), ("make", self.make)):
            if isinstance(value, str) and not _REFERENCE.match(value):
                raise ValueError(f"{self.name}: {field} must be 'module:attribute', got {value!r}")
            if not isinstance(value, str) and not callable(value):
                raise TypeError(f"{self.name}: {field} must be callable or 'module:attribute', got {value!r}")
        if not isinstance(self.help, str) or not self.help.strip():
            raise ValueError(f"{self.name}: help must be a non-empty line")
        check_int(f"{self.name}: timesteps", self.timesteps)
        check_int(f"{self.name}: n_envs", self.n_envs)
        if self.group_size is not None:
            check_int(f"{self.name}: group_size", self.group_size)

    @property
    def grouped(self) -> bool:
        """Whether the algorithm learns from groups of completions per prompt (takes ``group_size``)."""
        return self.group_size is not None

    def load_class(self) -> type:
        """The algorithm's class (imported now if the record names it by string)."""
        return _resolve(self.cls)  # type: ignore[no-any-return]

    def factory(self) -> Callable[..., Any]:
        """The algorithm's factory (imported now if the record names it by string)."""
        return _resolve(self.make)  # type: ignore[no-any-return]


def _resolve(target: Any) -> Any:
    if not isinstance(target, str):
        return target
    module, _, attribute = target.partition(":")
    value: Any = importlib.import_module(module)
    for part in attribute.split("."):
        value = getattr(value, part)
    return value


def reference_text(target: type | Callable[..., Any] | str) -> str:
    """How the docs name a class or factory: ``agents.make_ppo`` for ``"agents:make_ppo"`` or the object."""
    if isinstance(target, str):
        return target.replace(":", ".")
    return f"{target.__module__}.{target.__qualname__}"


_ALGORITHMS: dict[str, AlgorithmSpec] = {}
#: Every registered algorithm by name, in registration order (read-only: use :func:`register_algorithm`).
ALGORITHMS: Mapping[str, AlgorithmSpec] = MappingProxyType(_ALGORITHMS)


def register_algorithm(spec: AlgorithmSpec) -> AlgorithmSpec:
    """Add ``spec`` under its name and return it.

    Raises:
        TypeError: If ``spec`` is not an :class:`AlgorithmSpec`.
        ValueError: If the name is taken (unregister it first to replace it).
    """
    if not isinstance(spec, AlgorithmSpec):
        raise TypeError(f"register_algorithm takes an AlgorithmSpec, got {type(spec).__name__}")
    if spec.name in _ALGORITHMS:
        raise ValueError(f"algorithm {spec.name!r} is already registered")
    _ALGORITHMS[spec.name] = spec
    return spec


def unregister_algorithm(name: str) -> AlgorithmSpec:
    """Remove the algorithm ``name`` and return its record (for tests and plugins that replace one)."""
    spec = get_algorithm(name)
    del _ALGORITHMS[name]
    return spec


def get_algorithm(name: str) -> AlgorithmSpec:
    """The record of ``name``.

    Raises:
        ValueError: If no algorithm of that name is registered; the message lists the known ones.
    """
    if not isinstance(name, str) or name not in _ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; known: {', '.join(_ALGORITHMS)}")
    return _ALGORITHMS[name]


def make_agent(algo: str, env: Any, **kwargs: Any) -> Any:
    """The registered algorithm ``algo`` built by its factory on ``env``.

    >>> import agents
    >>> ppo = agents.make_agent("ppo", "CatText-v0", n_envs=2, n_steps=8, batch_size=8)
    >>> type(ppo).__name__
    'PPO'

    Args:
        algo: A registered name (:data:`ALGORITHMS`), e.g. ``"ppo"`` or ``"grpo"``.
        env: What the factory takes: an env id, an env, an env factory (or a VecEnv, for step-based ones).
        **kwargs: The factory's keyword arguments (``model``, ``n_envs``, ``seed``, ``group_size``, ...).

    Raises:
        ValueError: If ``algo`` is unknown, or ``group_size`` is given to an algorithm that takes none.
    """
    spec = get_algorithm(algo)
    if "group_size" in kwargs and not spec.grouped:
        raise ValueError(f"group_size is for group algorithms ({', '.join(grouped_names())}), not {algo}")
    return spec.factory()(env, **kwargs)


def grouped_names() -> list[str]:
    """The names of the registered algorithms that take ``group_size``."""
    return [name for name, spec in _ALGORITHMS.items() if spec.grouped]


def markdown_table() -> str:
    """The registered algorithms as a Markdown table (docs/agents.md shows it; a test keeps it current)."""
    rows = ["| `--algo` | class | factory | default steps | default slots | group size | what it is |"]
    rows.append("|---|---|---|---|---|---|---|")
    for spec in _ALGORITHMS.values():
        group = "" if spec.group_size is None else str(spec.group_size)
        rows.append(
            f"| `{spec.name}` | `{reference_text(spec.cls)}` | `{reference_text(spec.make)}` | "
            f"{spec.timesteps:,} | {spec.n_envs} | {group} | {spec.help} |"
        )
    return "\n".join(rows) + "\n"


# textgym's own algorithms. Group-relative ones learn from whole groups of episodes, so they take
# more slots by default (8 prompts x 8 completions per rollout on the tiny model).
register_algorithm(AlgorithmSpec("ppo", "agents:PPO", "agents:make_ppo", "PPO, clipped, KL penalty", 20_000, 16))
register_algorithm(AlgorithmSpec("a2c", "agents:A2C", "agents:make_a2c", "A2C, KL penalty", 20_000, 16))
register_algorithm(
    AlgorithmSpec("reinforce", "agents:REINFORCE", "agents:make_reinforce", "REINFORCE, baseline, KL", 20_000, 16)
)
register_algorithm(AlgorithmSpec("grpo", "agents:GRPO", "agents:make_grpo", "GRPO, no critic", 24_576, 64, 8))
register_algorithm(AlgorithmSpec("rloo", "agents:GRPO", "agents:make_rloo", "GRPO, leave-one-out", 24_576, 64, 8))
