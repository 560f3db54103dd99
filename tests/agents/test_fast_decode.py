"""The lean GPT-2 step equals the transformers forward, whatever the rows' start positions."""

import pytest
import torch

from agents import fast_decode
from textgym.models import load_model


@pytest.mark.parametrize("starts", [[5, 5, 5], [3, 6, 4]], ids=["equal-starts", "ragged-starts"])
@torch.no_grad()
def test_prefill_then_decode_equals_transformers(starts: list[int]) -> None:
    torch.manual_seed(0)
    trunk = load_model("tiny").base_model.eval()
    assert fast_decode.supports(trunk)
    n, max_len, new = len(starts), 16, 3
    seqs = torch.randint(4, trunk.config.vocab_size, (n, max(starts) + new))
    cfg = trunk.config
    shape = (n, cfg.n_head, max_len, cfg.n_embd // cfg.n_head)
    keys = [torch.zeros(shape) for _ in range(cfg.n_layer)]
    values = [torch.zeros(shape) for _ in range(cfg.n_layer)]
    start = torch.tensor(starts)
    # prefill max(starts) tokens per row; a shorter row's extra keys are overwritten by its decode steps
    fast_decode.gpt2_forward(trunk, seqs[:, : max(starts)], torch.zeros(n, dtype=torch.long), keys, values, None)
    for step in range(new):
        pos = start + step
        tokens = seqs[torch.arange(n), pos][:, None]  # (n, 1)
        got = fast_decode.gpt2_forward(trunk, tokens, pos, keys, values, None)[:, 0]
        # reference: the full forward over each row's real tokens so far
        for i in range(n):
            want = trunk(input_ids=seqs[i : i + 1, : starts[i] + step + 1]).last_hidden_state[0, -1]
            torch.testing.assert_close(got[i], want, atol=1e-4, rtol=1e-4)
