"""agents.hf_compat passes a cache to the installed transformers' forward under the keyword it takes."""

import inspect

import torch
from transformers import Cache, DynamicCache, GPT2Model

from agents.hf_compat import CACHE_KEYWORD, cache_kwargs, output_cache
from textgym.models import load_model


def test_keyword_is_the_forwards_parameter_and_the_cache_is_used() -> None:
    trunk = load_model("tiny").transformer
    assert isinstance(trunk, GPT2Model)
    assert CACHE_KEYWORD in inspect.signature(type(trunk).forward).parameters
    ids = torch.tensor([[5, 9, 12, 7]])
    with torch.no_grad():
        full = trunk(input_ids=ids).last_hidden_state
        cache = DynamicCache()
        out = trunk(input_ids=ids[:, :3], use_cache=True, **cache_kwargs(cache))
        assert isinstance(output_cache(out), Cache) and output_cache(out).get_seq_length() == 3
        # The last token against the cached three equals the full forward: the cache was read.
        last = trunk(input_ids=ids[:, 3:], use_cache=True, **cache_kwargs(output_cache(out))).last_hidden_state
    torch.testing.assert_close(last[0, 0], full[0, 3], atol=1e-5, rtol=1e-5)
