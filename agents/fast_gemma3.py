"""A lean decode/prefill step for Gemma 3 text trunks over the per-slot KV cache.

The same job as :mod:`agents.fast_llama`, for ``Gemma3TextModel`` (Gemma Team 2025, "Gemma 3
Technical Report"), whose block differs from Llama's in:

* embeddings multiplied by ``sqrt(hidden_size)`` (in the weights' dtype, as transformers does);
* Gemma's RMSNorm, ``x / rms(x) * (1 + weight)``, and four of them per block: before and after
  attention, before and after the MLP (the "sandwich" norms);
* RMSNorm over each head of the queries and keys before RoPE (QK-norm, which replaced
  Gemma 2's attention soft-capping);
* attention logits scaled by ``query_pre_attn_scalar ** -0.5`` rather than ``head_dim ** -0.5``;
* layers of two types: ``sliding_attention`` (a window of ``sliding_window`` keys, RoPE base
  10k) and ``full_attention`` (every key, RoPE base 1M), each with its own rotary frequencies;
* a gated tanh-approximated GELU MLP.

What is reproduced exactly (to float tolerance; the tests compare with ``transformers``): all
of the above, with RoPE types whose frequencies do not depend on the length. :func:`supports`
is False for anything else (attention soft-capping, bidirectional attention, other
activations, ``dynamic``/``longrope`` RoPE) and ``SlotKVCache`` then falls back to the
``transformers`` forward.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch.nn import functional as F

from agents.fast_llama import (
    STATIC_ROPE,
    TORCH_OK,
    cached_attention,
    rope_tables,
    rotate,
    step_positions,
    window_masks,
)

_TRUNK = "Gemma3TextModel"
_LAYER_TYPES = frozenset({"sliding_attention", "full_attention"})


def supports(trunk: torch.nn.Module) -> bool:
    """Whether ``trunk`` is a Gemma 3 text decoder this step reproduces (to float tolerance)."""
    config = getattr(trunk, "config", None)
    rotary = getattr(trunk, "rotary_emb", None)
    if not TORCH_OK or type(trunk).__name__ != _TRUNK or config is None or rotary is None:
        return False
    layer_types = set(config.layer_types)
    rope_types = getattr(rotary, "rope_type", None)
    return (
        config.hidden_activation == "gelu_pytorch_tanh"
        and config.attn_logit_softcapping is None
        and not config.use_bidirectional_attention
        and layer_types <= _LAYER_TYPES
        and isinstance(rope_types, dict)
        and all(rope_types.get(kind) in STATIC_ROPE for kind in layer_types)
        # every dimension of a head is rotated
        and all(2 * getattr(rotary, f"{kind}_inv_freq").numel() == config.head_dim for kind in layer_types)
    )


def cache_layout(trunk: torch.nn.Module) -> tuple[int, int, int]:
    """(layers, key/value heads, head_dim) of the cache this step reads and writes, from the config."""
    config = trunk.config
    return config.num_hidden_layers, config.num_key_value_heads, config.head_dim


Linear = tuple[torch.Tensor, torch.Tensor | None]
# A Gemma RMSNorm: its weight Parameter (the output is scaled by 1 + weight) and epsilon.
Norm = tuple[torch.Tensor, float]


class _Layer(NamedTuple):
    """One block's parameters, read once: attribute lookups on modules cost more than the math."""

    input_norm: Norm
    q: Linear
    k: Linear
    v: Linear
    q_norm: Norm
    k_norm: Norm
    o: Linear
    post_attention_norm: Norm
    pre_mlp_norm: Norm
    gate: Linear
    up: Linear
    down: Linear
    post_mlp_norm: Norm
    kind: str  # "sliding_attention" or "full_attention": picks the window and the RoPE tables
    window: int | None


class _Plan(NamedTuple):
    embed: torch.Tensor
    layers: list[_Layer]
    norm: Norm
    # The rotary module, not its buffers: .to() replaces buffers with new tensors (unlike
    # parameters, which keep their objects), so the buffers are read at every call.
    rotary: torch.nn.Module
    embed_scale: float
    n_heads: int
    n_kv_heads: int
    head_dim: int
    scale: float


def _plan(trunk: torch.nn.Module) -> _Plan:
    # As in fast_llama: the Parameter objects are kept (optimizer steps update them in place),
    # and the plan is rebuilt if the modules were replaced.
    plan = getattr(trunk, "_textgym_gemma3_plan", None)
    if plan is not None and plan.embed is trunk.embed_tokens.weight and len(plan.layers) == len(trunk.layers):
        return plan

    def lin(m: torch.nn.Linear) -> Linear:
        return m.weight, m.bias

    def norm(m: torch.nn.Module) -> Norm:
        return m.weight, m.eps

    config = trunk.config
    layers = []
    for b, kind in zip(trunk.layers, config.layer_types, strict=True):
        attn = b.self_attn
        layers.append(
            _Layer(
                norm(b.input_layernorm),
                lin(attn.q_proj),
                lin(attn.k_proj),
                lin(attn.v_proj),
                norm(attn.q_norm),
                norm(attn.k_norm),
                lin(attn.o_proj),
                norm(b.post_attention_layernorm),
                norm(b.pre_feedforward_layernorm),
                lin(b.mlp.gate_proj),
                lin(b.mlp.up_proj),
                lin(b.mlp.down_proj),
                norm(b.post_feedforward_layernorm),
                kind,
                # transformers' Gemma3Attention: the window applies to sliding layers only
                config.sliding_window if kind == "sliding_attention" else None,
            )
        )
    attn = trunk.layers[0].self_attn
    plan = _Plan(
        trunk.embed_tokens.weight,
        layers,
        norm(trunk.norm),
        trunk.rotary_emb,
        trunk.embed_tokens.scalar_embed_scale,
        config.num_attention_heads,
        config.num_key_value_heads,
        attn.head_dim,
        attn.scaling,
    )
    trunk._textgym_gemma3_plan = plan
    return plan


def _rms_norm(x: torch.Tensor, p: Norm) -> torch.Tensor:
    # Gemma's RMSNorm scales by (1 + weight) and computes in float32 (then casts back).
    return torch.rms_norm(x.float(), (x.shape[-1],), 1.0 + p[0].float(), p[1]).type_as(x)


def _linear(x: torch.Tensor, p: Linear) -> torch.Tensor:
    return F.linear(x, p[0], p[1])


@torch.no_grad()
def gemma3_forward(
    trunk: torch.nn.Module,
    tokens: torch.Tensor,
    start: torch.Tensor,
    keys: list[torch.Tensor],
    values: list[torch.Tensor],
    rows: torch.Tensor | None,
) -> torch.Tensor:
    """Append L tokens per row to the cache; return the final-norm hidden states, (r, L, hidden).

    The contract of :func:`agents.fast_llama.llama_forward`: row ``j`` writes its tokens at
    positions ``start[j] .. start[j] + L - 1`` of its cache slot and attends causally to
    everything before (within the window on sliding layers).

    Args:
        trunk: A ``Gemma3TextModel`` that :func:`supports`.
        tokens: Token ids, (r, L).
        start: Tokens already cached per row, (r,).
        keys: Per layer, the cache of shape (n_slots, kv_heads, max_len, head_dim); updated.
        values: Same for values.
        rows: Cache slots of the r rows, or None when the rows are all slots in order.

    Raises:
        ValueError: If a row would write past the cache's length, or the shapes disagree.
    """
    plan = _plan(trunk)
    positions, width = step_positions(tokens, start, keys[0].shape[2])
    r, length = tokens.shape
    slots = torch.arange(r, device=start.device) if rows is None else rows
    n_heads, n_kv, head_dim = plan.n_heads, plan.n_kv_heads, plan.head_dim
    masks = window_masks(start, positions, width, {p.window for p in plan.layers})
    embed = plan.embed
    # Gemma3TextScaledWordEmbedding: the scale is cast to the weights' dtype before multiplying.
    scale = torch.tensor(plan.embed_scale, dtype=embed.dtype)
    h = (F.embedding(tokens, embed) * scale).reshape(r * length, -1)  # (r*L, hidden)
    rotary = plan.rotary
    tables = {
        kind: rope_tables(
            getattr(rotary, f"{kind}_inv_freq"), getattr(rotary, f"{kind}_attention_scaling"), positions, h.dtype
        )
        for kind in {p.kind for p in plan.layers}
    }
    for layer, p in enumerate(plan.layers):
        cos, sin = tables[p.kind]
        x = _rms_norm(h, p.input_norm)
        q = rotate(_rms_norm(_linear(x, p.q).view(r, length, n_heads, head_dim), p.q_norm), cos, sin)
        k = rotate(_rms_norm(_linear(x, p.k).view(r, length, n_kv, head_dim), p.k_norm), cos, sin)
        v = _linear(x, p.v).view(r, length, n_kv, head_dim)
        out = cached_attention(
            q, k, v, (keys[layer], values[layer]), positions, width, slots, rows, masks[p.window], plan.scale
        )
        h = h + _rms_norm(_linear(out, p.o), p.post_attention_norm)
        x = _rms_norm(h, p.pre_mlp_norm)
        mlp = _linear(F.gelu(_linear(x, p.gate), approximate="tanh") * _linear(x, p.up), p.down)
        h = h + _rms_norm(mlp, p.post_mlp_norm)
    return _rms_norm(h, plan.norm).view(r, length, -1)
