"""The settings of a :class:`agents.HierarchicalAgent`: what :meth:`~agents.HierarchicalAgent.save` writes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from agents.factory import resolve_env_id
from textgym.validation import check_choice, check_float, check_int

#: Each hierarchy: either view's id -> (low-level view id, high-level view id).
HIERARCHIES = {
    f"textgym/HierShop{view}-{v}": (f"textgym/HierShopLow-{v}", f"textgym/HierShopHigh-{v}")
    for v in ("v0", "v1", "v2")
    for view in ("Low", "High")
}
Schedule = Literal["alternate", "joint"]
#: How :meth:`agents.HierarchicalAgent.learn` trains the two levels.
SCHEDULES: tuple[Schedule, ...] = ("alternate", "joint")
#: The high level's SB3 ``PPO`` settings where ``high_kwargs`` gives none.
HIGH_DEFAULTS: dict[str, Any] = {"n_steps": 64, "batch_size": 64, "learning_rate": 3e-3}


@dataclass(frozen=True)
class HierarchyConfig:
    """Everything that builds a :class:`agents.HierarchicalAgent`; JSON-serializable (:meth:`to_json`).

    Attributes:
        env_id: Either view of a hierarchy (``"HierShopLow-v1"`` or ``"HierShopHigh-v1"``; v0 and
            v2 too); stored as its full id (``"textgym/..."``).
        model: The low level's LM (a name for :func:`textgym.models.load_model`; saved by name).
        n_envs: Low-level env slots.
        n_high_envs: High-level env slots.
        seed: Seed of both learners and their envs.
        intrinsic_weight: The low level's reward is extrinsic + this x intrinsic.
        gamma: The high level's discount per token (semi-MDP: ``gamma**span`` per decision).
        env_kwargs: Keyword arguments of the low-level view, also used inside the high-level
            view (e.g. ``{"split": "train"}``); JSON-serializable.
        low_kwargs: :func:`agents.make_ppo`'s keyword arguments (e.g. ``n_steps``, ``learning_rate``).
        high_kwargs: SB3 ``PPO``'s, over :data:`HIGH_DEFAULTS` (``n_steps=64, batch_size=64,
            learning_rate=3e-3``); stored with the defaults filled in.
        schedule: ``"alternate"``: rounds of low-level PPO, then high-level PPO on rollouts of
            its own view (whose tokens train only the high level). ``"joint"``: the high
            level's decisions are the acts it samples for the low level's own training
            turns, and it is updated on them after each round (:mod:`agents.hier_joint`), so
            every token trains both levels.
        skill_tokens: A skill phase at the start of training (alternating schedule only): until
            this many tokens are written, the low level trains on uniformly random acts and the
            high level is not trained. While the low level still ignores its act, every act
            earns the same extrinsic return, and the high level's normalized advantages turn
            that noise into confident wrong acts; after the skill phase, the acts' returns
            differ. The tokens count against ``learn``'s budget.

    Raises:
        ValueError: If ``env_id`` is not a view of a known hierarchy, ``model`` is not a name,
            ``schedule`` is unknown, a count is below its minimum, ``gamma`` is outside [0, 1],
            or ``skill_tokens`` is set with the joint schedule.
        TypeError: If a count is not an integer, a number not a number, or a ``*_kwargs`` not a dict.
    """

    env_id: str
    model: str = "tiny"
    n_envs: int = 8
    n_high_envs: int = 4
    seed: int = 0
    intrinsic_weight: float = 1.0
    gamma: float = 0.99
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    low_kwargs: dict[str, Any] = field(default_factory=dict)
    high_kwargs: dict[str, Any] = field(default_factory=dict)
    schedule: Schedule = "alternate"
    skill_tokens: int = 0

    def __post_init__(self) -> None:
        resolved = resolve_env_id(self.env_id)
        if resolved not in HIERARCHIES:
            raise ValueError(f"{self.env_id!r} is not a view of a known hierarchy; choose one of {sorted(HIERARCHIES)}")
        if not isinstance(self.model, str):
            raise ValueError(
                f"model must be a name (so that save/load can rebuild it), got {type(self.model).__name__}"
            )
        gamma = check_float("gamma", self.gamma)
        if not 0 <= gamma <= 1:
            raise ValueError(f"gamma must be in [0, 1], got {gamma}")
        check_choice("schedule", self.schedule, SCHEDULES)
        skill_tokens = check_int("skill_tokens", self.skill_tokens, minimum=0)
        if skill_tokens and self.schedule != "alternate":
            raise ValueError(f"skill_tokens needs the alternating schedule, got {skill_tokens} with {self.schedule!r}")
        for name in ("env_kwargs", "low_kwargs", "high_kwargs"):
            if not isinstance(getattr(self, name), dict):
                raise TypeError(f"{name} must be a dict, got {type(getattr(self, name)).__name__}")
        checked = {
            "env_id": resolved,
            "n_envs": check_int("n_envs", self.n_envs),
            "n_high_envs": check_int("n_high_envs", self.n_high_envs),
            "seed": check_int("seed", self.seed, minimum=0),
            "intrinsic_weight": check_float("intrinsic_weight", self.intrinsic_weight),
            "gamma": gamma,
            # copies: the caller's dicts stay theirs
            "env_kwargs": dict(self.env_kwargs),
            "low_kwargs": dict(self.low_kwargs),
            "high_kwargs": {**HIGH_DEFAULTS, **self.high_kwargs},
            "skill_tokens": skill_tokens,
        }
        for name, value in checked.items():  # frozen: the checked values replace the given ones
            object.__setattr__(self, name, value)

    @property
    def views(self) -> tuple[str, str]:
        """The ids of the low-level and the high-level view."""
        return HIERARCHIES[self.env_id]

    def to_json(self) -> dict[str, Any]:
        """The settings as a JSON object; ``HierarchyConfig(**config.to_json())`` rebuilds them."""
        return dataclasses.asdict(self)
