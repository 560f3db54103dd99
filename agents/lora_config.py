"""The LoRA settings this project's policy uses most, checked before any model is loaded.

:class:`LoRAConfig` is the common subset of ``peft.LoraConfig``; the policy's ``lora=`` also
takes a dict of ``peft.LoraConfig`` keyword arguments or a ``LoraConfig`` itself for the rest of
peft's options. Importing this module needs no ``peft``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textgym.validation import check_float, check_int


@dataclass(frozen=True)
class LoRAConfig:
    """Low-rank adapters (Hu et al. 2021) on the policy's linear layers.

    >>> LoRAConfig(r=16, alpha=32).peft_kwargs()
    {'r': 16, 'lora_alpha': 32.0, 'lora_dropout': 0.0}

    Attributes:
        r: The adapters' rank.
        alpha: Scale numerator: an adapter's update is multiplied by ``alpha / r`` (peft's ``lora_alpha``).
        dropout: Dropout on the adapters' input (peft's ``lora_dropout``); the policy switches every
            dropout off, so it matters only to a model used elsewhere.
        target_modules: Names of the layers that get adapters; None: every attention and MLP
            projection of the architecture (:data:`agents.lora.DEFAULT_TARGET_MODULES`).

    Raises:
        ValueError: If ``r`` is below 1, ``alpha`` is not a finite number > 0, ``dropout`` is
            outside [0, 1), or ``target_modules`` is empty.
        TypeError: If ``r`` is not an integer, ``alpha`` or ``dropout`` not a number, or
            ``target_modules`` not a sequence of strings.
    """

    r: int = 8
    alpha: float = 8.0
    dropout: float = 0.0
    target_modules: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        dropout = check_float("dropout", self.dropout, non_negative=True)
        if dropout >= 1:
            raise ValueError(f"dropout must be < 1, got {dropout}")
        modules = self.target_modules
        if modules is not None:
            if isinstance(modules, str) or not all(isinstance(name, str) for name in modules):
                raise TypeError(f"target_modules must be a sequence of layer names, got {modules!r}")
            if not modules:
                raise ValueError("target_modules must name at least one layer (None: the architecture's defaults)")
            modules = tuple(modules)
        # frozen: the checked values replace the given ones
        object.__setattr__(self, "r", check_int("r", self.r))
        object.__setattr__(self, "alpha", check_float("alpha", self.alpha, positive=True))
        object.__setattr__(self, "dropout", dropout)
        object.__setattr__(self, "target_modules", modules)

    def peft_kwargs(self) -> dict[str, Any]:
        """The ``peft.LoraConfig`` keyword arguments of these settings (no ``target_modules`` when None)."""
        kwargs: dict[str, Any] = {"r": self.r, "lora_alpha": self.alpha, "lora_dropout": self.dropout}
        if self.target_modules is not None:
            kwargs["target_modules"] = list(self.target_modules)
        return kwargs
