"""A lean one-token decoding step for GPT-2 trunks over the per-slot KV cache.

For a small model the cost of a one-token forward through ``transformers`` is mostly Python
and module overhead (masks, cache objects, hooks), not arithmetic. This step runs the same
weights with the minimum of tensor operations, writing each new key/value straight into the
slot's cache row so a slot's tokens stay contiguous. The tests check it equals the
``transformers`` forward; other architectures use that forward (``SlotKVCache`` falls back).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def supports(trunk: torch.nn.Module) -> bool:
    """Whether ``trunk`` is a plain GPT-2 decoder this step reproduces (to float tolerance)."""
    config = getattr(trunk, "config", None)
    return (
        type(trunk).__name__ == "GPT2Model"
        and config is not None
        and not config.add_cross_attention
        and not config.reorder_and_upcast_attn
        and not config.scale_attn_by_inverse_layer_idx
        and config.activation_function in _ACTIVATIONS
    )


# GPT-2's "gelu_new" is the tanh approximation of GELU, which torch computes in one kernel.
_ACTIVATIONS = {
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "gelu": F.gelu,
    "relu": F.relu,
}


def _linear(conv1d: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    # GPT-2's Conv1D is a linear layer with a transposed weight: x @ W + b.
    return torch.addmm(conv1d.bias, x, conv1d.weight)


@torch.no_grad()
def gpt2_forward(
    trunk: torch.nn.Module,
    tokens: torch.Tensor,
    start: torch.Tensor,
    keys: list[torch.Tensor],
    values: list[torch.Tensor],
    rows: torch.Tensor | None,
) -> torch.Tensor:
    """Append L tokens per row to the cache; return the last layer's hidden states, (r, L, hidden).

    Row ``j`` writes its tokens at positions ``start[j] .. start[j] + L - 1`` of its cache slot
    and attends causally to everything before. Right padding inside ``tokens`` is harmless:
    its keys land after the row's real tokens, where later tokens overwrite them, and no real
    token attends forward.

    Args:
        trunk: A ``GPT2Model``.
        tokens: Token ids, (r, L).
        start: Tokens already cached per row, (r,).
        keys: Per layer, the cache of shape (n_slots, heads, max_len, head_dim); updated.
        values: Same for values.
        rows: Cache slots of the r rows, or None when the rows are all slots in order.
    """
    r, length = tokens.shape
    slots = torch.arange(r) if rows is None else rows
    positions = start[:, None] + torch.arange(length)[None, :]  # (r, L)
    width = int(positions.max()) + 1
    # (r, 1, L, width): causal attention over the row's own cached and new tokens.
    mask = (torch.arange(width)[None, None, :] <= positions[:, :, None])[:, None]
    act = _ACTIVATIONS[trunk.config.activation_function]
    h = (trunk.wte(tokens) + trunk.wpe(positions)).reshape(r * length, -1)  # (r*L, hidden)
    for layer, block in enumerate(trunk.h):
        attn = block.attn
        n_heads, head_dim = attn.num_heads, attn.head_dim
        q, k, v = _linear(attn.c_attn, block.ln_1(h)).split(attn.split_size, dim=-1)  # 3 x (r*L, hidden)
        # advanced indices on dims 0 and 2 select (r, L, heads, head_dim)
        keys[layer][slots[:, None], :, positions] = k.view(r, length, n_heads, head_dim)
        values[layer][slots[:, None], :, positions] = v.view(r, length, n_heads, head_dim)
        if rows is None:
            k_all, v_all = keys[layer][:, :, :width], values[layer][:, :, :width]
        else:
            k_all, v_all = keys[layer][rows, :, :width], values[layer][rows, :, :width]
        q = q.view(r, length, n_heads, head_dim).transpose(1, 2)  # (r, heads, L, head_dim)
        out = F.scaled_dot_product_attention(q, k_all, v_all, attn_mask=mask, scale=attn.scaling)
        h = h + _linear(attn.c_proj, out.transpose(1, 2).reshape(r * length, n_heads * head_dim))
        h = h + _linear(block.mlp.c_proj, act(_linear(block.mlp.c_fc, block.ln_2(h))))
    return trunk.ln_f(h).view(r, length, -1)
