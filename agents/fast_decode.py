"""A lean one-token decoding step for GPT-2 trunks over the per-slot KV cache.

For a small model the cost of a one-token forward through ``transformers`` is mostly Python
and module overhead (masks, cache objects, hooks), not arithmetic. This step runs the same
weights with the minimum of tensor operations, writing each new key/value straight into the
slot's cache row so a slot's tokens stay contiguous. The tests check it equals the
``transformers`` forward; Llama-family trunks have their own step (:mod:`agents.fast_llama`),
other architectures use the ``transformers`` forward (``SlotKVCache`` falls back).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch.nn import functional as F
from transformers.pytorch_utils import Conv1D


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


class _Layer(NamedTuple):
    """One block's parameters, read once: attribute lookups on modules cost more than the math."""

    ln_1: tuple[torch.Tensor, torch.Tensor, float]
    c_attn: tuple[torch.Tensor, torch.Tensor]
    attn_proj: tuple[torch.Tensor, torch.Tensor]
    ln_2: tuple[torch.Tensor, torch.Tensor, float]
    c_fc: tuple[torch.Tensor, torch.Tensor]
    mlp_proj: tuple[torch.Tensor, torch.Tensor]
    n_heads: int
    head_dim: int
    scale: float


class _Plan(NamedTuple):
    wte: torch.Tensor
    wpe: torch.Tensor
    layers: list[_Layer]
    ln_f: tuple[torch.Tensor, torch.Tensor, float]
    act: Callable[[torch.Tensor], torch.Tensor]


def _plan(trunk: torch.nn.Module) -> _Plan:
    # The Parameter objects themselves are kept: optimizer steps, load_state_dict and .to()
    # update them in place, so the plan stays valid as long as the modules are not replaced,
    # which the identity check below catches.
    plan = getattr(trunk, "_textgym_fast_plan", None)
    if plan is not None and plan.wte is trunk.wte.weight and len(plan.layers) == len(trunk.h):
        return plan

    for block in trunk.h:
        for module in (block.attn.c_attn, block.attn.c_proj, block.mlp.c_fc, block.mlp.c_proj):
            # A wrapped layer (e.g. LoRA) still exposes .weight, but its output is not x @ W + b:
            # refuse instead of silently computing the base model.
            if type(module) is not Conv1D:
                raise ValueError(
                    f"the lean GPT-2 step needs plain Conv1D layers, found {type(module).__name__}; "
                    "use SlotKVCache(lean=False) (the transformers forward) for adapted models"
                )

    def ln(m: torch.nn.LayerNorm) -> tuple[torch.Tensor, torch.Tensor, float]:
        return m.weight, m.bias, m.eps

    layers = [
        _Layer(
            ln(b.ln_1),
            (b.attn.c_attn.weight, b.attn.c_attn.bias),
            (b.attn.c_proj.weight, b.attn.c_proj.bias),
            ln(b.ln_2),
            (b.mlp.c_fc.weight, b.mlp.c_fc.bias),
            (b.mlp.c_proj.weight, b.mlp.c_proj.bias),
            b.attn.num_heads,
            b.attn.head_dim,
            b.attn.scaling,
        )
        for b in trunk.h
    ]
    act = _ACTIVATIONS[trunk.config.activation_function]
    plan = _Plan(trunk.wte.weight, trunk.wpe.weight, layers, ln(trunk.ln_f), act)
    trunk._textgym_fast_plan = plan
    return plan


def _layer_norm(x: torch.Tensor, p: tuple[torch.Tensor, torch.Tensor, float]) -> torch.Tensor:
    # torch.layer_norm directly: F.layer_norm's Python dispatch checks cost as much as the math here.
    return torch.layer_norm(x, (x.shape[-1],), p[0], p[1], p[2])


def _linear(p: tuple[torch.Tensor, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    # GPT-2's Conv1D is a linear layer with a transposed weight: x @ W + b.
    return torch.addmm(p[1], x, p[0])


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
    plan = _plan(trunk)
    r, length = tokens.shape
    slots = torch.arange(r) if rows is None else rows
    positions = start[:, None] + torch.arange(length)[None, :]  # (r, L)
    width = int(positions.max()) + 1
    # (r, 1, L, width): causal attention over the row's own cached and new tokens. When every
    # row starts at the same position the mask is plain causal (or, for one new token, all
    # ones), and SDPA runs faster without an explicit mask.
    mask: torch.Tensor | None = None
    causal = False
    if bool((start == start[0]).all()) and (length == 1 or int(start[0]) == 0):
        causal = length > 1
    else:
        mask = (torch.arange(width)[None, None, :] <= positions[:, :, None])[:, None]
    h = (F.embedding(tokens, plan.wte) + F.embedding(positions, plan.wpe)).reshape(r * length, -1)  # (r*L, hidden)
    slot_index = slots[:, None]  # (r, 1), broadcast against positions (r, L)
    for layer, p in enumerate(plan.layers):
        n_heads, head_dim = p.n_heads, p.head_dim
        q, k, v = _linear(p.c_attn, _layer_norm(h, p.ln_1)).tensor_split(3, dim=-1)  # 3 x (r*L, hidden)
        # advanced indices on dims 0 and 2 select (r, L, heads, head_dim)
        keys[layer][slot_index, :, positions] = k.view(r, length, n_heads, head_dim)
        values[layer][slot_index, :, positions] = v.view(r, length, n_heads, head_dim)
        if rows is None:
            k_all, v_all = keys[layer][:, :, :width], values[layer][:, :, :width]
        else:
            k_all, v_all = keys[layer][rows, :, :width], values[layer][rows, :, :width]
        q = q.view(r, length, n_heads, head_dim).transpose(1, 2)  # (r, heads, L, head_dim)
        out = F.scaled_dot_product_attention(q, k_all, v_all, attn_mask=mask, is_causal=causal, scale=p.scale)
        h = h + _linear(p.attn_proj, out.transpose(1, 2).reshape(r * length, n_heads * head_dim))
        h = h + _linear(p.mlp_proj, plan.act(_linear(p.c_fc, _layer_norm(h, p.ln_2))))
    return _layer_norm(h, plan.ln_f).view(r, length, -1)


def cache_layout(trunk: torch.nn.Module) -> tuple[int, int, int]:
    """(layers, heads, head_dim) of the cache this step reads and writes, from the config."""
    config = trunk.config
    return config.n_layer, config.n_head, config.n_embd // config.n_head
