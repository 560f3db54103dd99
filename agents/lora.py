"""LoRA adapters for the LM policy, through the optional ``peft`` extra (``pip install 'textgym[lora]'``).

The adapters are injected into the transformers model in place (``peft.inject_adapter_in_model``),
so the policy's model stays a plain ``PreTrainedModel`` (``base_model``, ``get_output_embeddings``
work as before) whose frozen base weights double as the KL reference: switching the adapters off
(peft's ``enable_adapters(False)`` on every LoRA layer) gives the initial model's distribution
without a second copy of the weights.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from torch import nn

from agents.lora_config import LoRAConfig

#: LoRA target modules per ``config.model_type`` when none are given: every projection of the
#: attention and MLP blocks (GPT-2's fused ``c_attn`` and its two ``c_proj``, ``c_fc``).
DEFAULT_TARGET_MODULES: dict[str, list[str]] = {
    "gpt2": ["c_attn", "c_proj", "c_fc"],
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "mistral": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "qwen2": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
}

#: Architectures whose linear layers are transformers' ``Conv1D`` (weight stored as (in, out)).
_CONV1D_TYPES = {"gpt2"}


def import_peft() -> Any:
    """Import ``peft``, or raise an ImportError naming the extra that provides it."""
    try:
        import peft
    except ImportError as error:
        raise ImportError(
            "LoRA (LMActorCriticPolicy(lora=...)) needs the optional 'peft' package: "
            "pip install 'textgym[lora]' (or pip install 'peft>=0.17')"
        ) from error
    return peft


def lora_config(spec: Any, model: nn.Module) -> Any:
    """A ``peft.LoraConfig`` from an :class:`agents.LoRAConfig`, a dict of its keyword arguments or a ``LoraConfig``.

    Without ``target_modules`` the architecture's defaults (:data:`DEFAULT_TARGET_MODULES`) are
    used; GPT-2's ``Conv1D`` layers get ``fan_in_fan_out=True`` unless told otherwise.
    """
    peft = import_peft()
    if isinstance(spec, peft.LoraConfig):
        kwargs = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec) if f.init}
    elif isinstance(spec, LoRAConfig):
        kwargs = spec.peft_kwargs()
    elif isinstance(spec, dict):
        kwargs = dict(spec)
    else:
        raise TypeError(
            "lora must be an agents.LoRAConfig, a dict of peft.LoraConfig keyword arguments or a LoraConfig; "
            f"got {spec!r}"
        )
    model_type = getattr(model.config, "model_type", None)
    if kwargs.get("target_modules") is None:
        if model_type not in DEFAULT_TARGET_MODULES:
            raise ValueError(
                f"no default LoRA target modules for model_type {model_type!r} (known: "
                f"{sorted(DEFAULT_TARGET_MODULES)}); pass lora=dict(target_modules=[...])"
            )
        kwargs["target_modules"] = list(DEFAULT_TARGET_MODULES[model_type])
    if model_type in _CONV1D_TYPES and "fan_in_fan_out" not in (spec if isinstance(spec, dict) else {}):
        kwargs["fan_in_fan_out"] = True
    return peft.LoraConfig(**kwargs)


#: Fields that fix what the adapters compute, saved even at peft's defaults, so that a newer peft
#: with other defaults rebuilds the same adapters.
_ALWAYS_SAVED = ("r", "lora_alpha", "target_modules", "fan_in_fan_out", "use_rslora", "use_dora", "bias")


def config_kwargs(config: Any) -> dict[str, Any]:
    """Keyword arguments that rebuild ``config``: the core fields and every field off its default."""
    peft = import_peft()
    default = peft.LoraConfig()
    out = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if field.init and (field.name in _ALWAYS_SAVED or value != getattr(default, field.name)):
            out[field.name] = sorted(value) if isinstance(value, set) else value
    return out


def add_lora(model: nn.Module, config: Any) -> nn.Module:
    """Inject LoRA layers into ``model`` in place; only adapter weights stay trainable."""
    peft = import_peft()
    model = peft.inject_adapter_in_model(config, model)
    if not any(True for _ in lora_layers(model)):
        raise ValueError(f"LoRA target_modules {config.target_modules} matched no layer of {type(model).__name__}")
    return model


def lora_layers(model: nn.Module) -> Iterator[nn.Module]:
    """The LoRA-wrapped layers of ``model``."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    return (m for m in model.modules() if isinstance(m, BaseTunerLayer))


def has_lora(model: nn.Module) -> bool:
    """Whether ``model`` holds LoRA layers (without importing peft when it is not installed)."""
    return any(hasattr(m, "lora_A") for m in model.modules())


@contextmanager
def adapters_disabled(model: nn.Module) -> Iterator[nn.Module]:
    """Run ``model`` as its base weights: every LoRA layer's adapters off, restored on exit.

    peft's ``enable_adapters(False)`` also clears the adapters' ``requires_grad`` and
    ``enable_adapters(True)`` sets it again for the active adapters, so the trainable set is
    the same after the block.
    """
    layers = list(lora_layers(model))
    was_disabled = [layer.disable_adapters for layer in layers]
    for layer in layers:
        layer.enable_adapters(False)
    try:
        yield model
    finally:
        for layer, disabled in zip(layers, was_disabled, strict=True):
            layer.enable_adapters(not disabled)
