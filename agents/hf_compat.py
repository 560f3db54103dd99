"""The keyword that passes a key/value cache to a ``transformers`` forward, across versions.

transformers 5.24 renamed the ``past_key_values`` argument of model forwards, and the output
field of the same name, to ``cache`` (the old keyword is deprecated until 5.40). textgym supports
transformers from 5.18, so the few calls that hand a cache to a forward go through these two helpers.
"""

from __future__ import annotations

from typing import Any

import transformers
from packaging.version import Version
from transformers import Cache

#: The forward keyword (and output field) that carries the cache in the installed transformers.
CACHE_KEYWORD = "cache" if Version(transformers.__version__).release >= (5, 24) else "past_key_values"


def cache_kwargs(cache: Cache) -> dict[str, Cache]:
    """Keyword arguments that pass ``cache`` to a model forward: ``trunk(..., **cache_kwargs(c))``."""
    return {CACHE_KEYWORD: cache}


def output_cache(out: Any) -> Cache:
    """The cache a forward returned in ``out`` (a ``BaseModelOutputWithPast`` or subclass)."""
    return getattr(out, CACHE_KEYWORD)
