"""SlotKVCache: the generic transformers path on current API, and the lean Llama path without it."""

import logging
import warnings

import pytest
import torch
from transformers import GPTNeoXConfig, GPTNeoXForCausalLM, LlamaConfig, LlamaModel, MistralConfig, MistralModel
from transformers.utils import logging as hf_logging

from agents import fast_decode, fast_llama
from agents.kv_cache import SlotKVCache


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def step_slots(cache: SlotKVCache, trunk: torch.nn.Module, seqs: torch.Tensor, lengths: list[list[int]]) -> None:
    """Feed the cache observations of the given lengths; check each hidden state against a plain forward."""
    width = seqs.shape[1]
    for step_lengths in lengths:
        n = torch.tensor(step_lengths)
        ids = torch.where(torch.arange(width)[None, :] < n[:, None], seqs, 0)  # right-padded observations
        got = cache.forward(trunk, ids, n)
        cache.last_action = seqs[torch.arange(len(n)), n.clamp(max=width - 1)]  # the token each slot "chose"
        for i, length in enumerate(step_lengths):
            want = trunk(input_ids=seqs[i : i + 1, :length]).last_hidden_state[0, -1]
            torch.testing.assert_close(got[i], want, atol=1e-4, rtol=1e-4)


# ragged first fill, three one-token extensions, then slot 1 starts over (a reset) while the others extend
LENGTHS = [[4, 6, 5], [5, 7, 6], [6, 8, 7], [7, 9, 8], [8, 3, 9]]


@torch.no_grad()
def test_generic_path_matches_and_uses_no_deprecated_transformers_api() -> None:
    torch.manual_seed(0)
    config = GPTNeoXConfig(
        vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64
    )
    trunk = GPTNeoXForCausalLM(config).eval().base_model
    assert not fast_decode.supports(trunk) and not fast_llama.supports(trunk)  # the generic path
    seqs = torch.randint(0, 50, (3, 12))
    cache = SlotKVCache()
    # transformers announces renamed arguments with FutureWarning and renamed output fields
    # through its logger (once per process, so the once-cache is cleared first).
    hf_logging.warning_once.cache_clear()
    records = _Records()
    hf_logger = logging.getLogger("transformers")
    hf_logger.addHandler(records)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            step_slots(cache, trunk, seqs, LENGTHS)
    finally:
        hf_logger.removeHandler(records)
    assert not [m for m in records.messages if "deprecat" in m.lower()], records.messages
    assert cache.hits == 3 * 3 + 2 and cache.misses == 3 + 1


@torch.no_grad()
def test_llama_cache_is_allocated_without_the_transformers_forward(monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=50,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=32,
    )
    trunk = LlamaModel(config).eval()
    for name, p in trunk.named_parameters():  # far from uniform attention, so positions matter
        if "norm" not in name:
            torch.nn.init.normal_(p, std=0.2)
    seqs = torch.randint(0, 50, (3, 12))
    wants = {
        (i, length): trunk(input_ids=seqs[i : i + 1, :length]).last_hidden_state[0, -1]
        for lengths in LENGTHS
        for i, length in enumerate(lengths)
    }
    cache = SlotKVCache()
    with monkeypatch.context() as patch:
        patch.setattr(type(trunk), "forward", lambda *a, **k: pytest.fail("the transformers forward ran"))
        for lengths in LENGTHS:
            n = torch.tensor(lengths)
            ids = torch.where(torch.arange(12)[None, :] < n[:, None], seqs, 0)
            got = cache.forward(trunk, ids, n)
            cache.last_action = seqs[torch.arange(3), n.clamp(max=11)]
            for i, length in enumerate(lengths):
                torch.testing.assert_close(got[i], wants[i, length], atol=1e-4, rtol=1e-4)
    # (slots, kv heads, max_len, head_dim), from the config
    assert [tuple(k.shape) for k in cache.keys] == [(3, 2, 12, 8)] * 2
    assert cache.hits == 3 * 3 + 2 and cache.misses == 3 + 1


@torch.no_grad()
def test_generic_path_slides_each_row_window_from_its_own_position() -> None:
    # transformers places a sliding window by a key's index in the cache; the generic path pads
    # shorter rows with a gap, so a ragged batch longer than the window lost keys (errors of ~6).
    torch.manual_seed(0)
    config = MistralConfig(
        vocab_size=50,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        sliding_window=3,
        max_position_embeddings=32,
    )
    trunk = MistralModel(config).eval()
    for name, p in trunk.named_parameters():  # far from uniform attention, so the window matters
        if "norm" not in name:
            torch.nn.init.normal_(p, std=0.2)
    cache = SlotKVCache(lean=False)  # the transformers forward, as with LoRA adapters
    step_slots(cache, trunk, torch.randint(0, 50, (3, 12)), LENGTHS)
    assert cache.hits == 3 * 3 + 2 and cache.misses == 3 + 1
