"""Plain, trainable ``transformers`` checkpoints from GGUF files, converted once and cached.

``from_pretrained(..., gguf_file=...)`` dequantizes a GGUF file's tensors but leaves a GGUF
quantizer attached to the model, which makes it untrainable and unsaveable
(``GgufHfQuantizer.is_trainable`` and ``is_serializable`` are False). :func:`cached_gguf_checkpoint`
rebuilds the same architecture from the config without the quantization entry, copies the
dequantized weights in and saves it with the tokenizer read from the same file, so that
later loads are a plain ``from_pretrained`` of a directory. Every GGUF-shipped model of
:mod:`textgym.models.loading` goes through it.
"""

from __future__ import annotations

import importlib.util
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel

# transformers' GGUF reader needs `gguf`; from_pretrained with gguf_file refuses to run without `accelerate`.
REQUIRED_MODULES = ("gguf", "accelerate")


def require_gguf_loader(model: str, install: str) -> None:
    """Raise a clear error when the modules transformers needs to read GGUF files are missing.

    Args:
        model: The model's name, for the message.
        install: The command that installs the model's extra, for the message.

    Raises:
        ModuleNotFoundError: Naming the missing module and the install command.
    """
    for module in REQUIRED_MODULES:
        if importlib.util.find_spec(module) is None:
            raise ModuleNotFoundError(f"loading {model} from GGUF needs {module!r}: {install}")


def dequantized_model(gguf: Path) -> PreTrainedModel:
    """The GGUF file's model as ``transformers`` loads it: float32 weights, the GGUF quantizer attached."""
    return AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)


def plain_copy(quantized: PreTrainedModel) -> PreTrainedModel:
    """The same architecture and weights as ``quantized``, without its quantization config.

    Raises:
        RuntimeError: If the weights do not map one to one onto the plain model (the loader
            kept some of them in packed GGUF blocks, or the architecture changed).
    """
    config_dict = quantized.config.to_dict()
    config_dict.pop("quantization_config", None)
    plain = type(quantized)(type(quantized.config).from_dict(config_dict))
    state = quantized.state_dict()
    packed = [name for name, tensor in state.items() if not tensor.is_floating_point()]
    if packed:
        raise RuntimeError(f"GGUF conversion: tensors left quantized by the loader: {packed[:5]}")
    # The GGUF loader already dequantized the tensors; copy them into the plain model.
    missing, unexpected = plain.load_state_dict(state, strict=False)
    # A tied output head has no tensor of its own in the file.
    if unexpected or [k for k in missing if "lm_head" not in k]:
        raise RuntimeError(f"GGUF conversion mismatch: missing={missing}, unexpected={unexpected}")
    if plain.config.tie_word_embeddings:
        plain.tie_weights()
    return plain.eval()


def cached_gguf_checkpoint(target: Path, provide_gguf: Callable[[Path], Path], model: str, install: str) -> Path:
    """Return ``target``, a plain checkpoint directory; the first call converts the GGUF file into it.

    Args:
        target: The cache directory of this model (``cache_dir() / name``).
        provide_gguf: Called only when converting, with a scratch directory next to ``target``
            that is deleted afterwards; returns the GGUF file's path (it may write the file
            into the scratch directory, e.g. when joining chunks).
        model: The model's name, for error messages.
        install: The command that installs the model's extra, for error messages.

    Returns:
        ``target``, holding ``config.json``, the weights and the tokenizer.
    """
    if (target / "config.json").is_file():
        return target
    require_gguf_loader(model, install)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}-") as scratch:
        gguf = provide_gguf(Path(scratch))
        out = Path(scratch) / "checkpoint"
        plain_copy(dequantized_model(gguf)).save_pretrained(out)
        AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(out)
        try:
            out.replace(target)  # atomic: a half-written cache is never picked up
        except OSError:
            # Another process converted the same file meanwhile and its checkpoint is in place.
            if not (target / "config.json").is_file():
                raise
    return target
