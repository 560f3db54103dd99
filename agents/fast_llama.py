"""A lean decode/prefill step for Llama-family trunks over the per-slot KV cache.

The same job as :mod:`agents.fast_decode` for GPT-2, for ``LlamaModel`` and the variants
that share its block (``MistralModel``, ``Qwen2Model``): RMSNorm, rotary position embeddings
(RoPE, Su et al. 2021), grouped-query attention (Ainslie et al. 2023) and a gated SiLU MLP
(Shazeer 2020), with biases wherever the checkpoint has them (Qwen2's q/k/v projections).
Each new key/value is written straight into its slot's cache row, so a slot's tokens stay
contiguous and a step costs one token's arithmetic with the fewest tensor operations.

What is reproduced exactly (to float tolerance; the tests compare with ``transformers``):
RoPE whose frequencies do not depend on the sequence length (``default``, ``linear``,
``llama3``, ``yarn``, read from the trunk's own ``rotary_emb``, including yarn's attention
scaling) and sliding-window attention (Mistral, Qwen2's sliding layers). :func:`supports`
is False for anything else (``dynamic`` and ``longrope`` RoPE rescale with the length,
partial rotary dimensions, activations other than SiLU), and ``SlotKVCache`` then falls
back to the ``transformers`` forward.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch.nn import functional as F

_TRUNKS = frozenset({"LlamaModel", "MistralModel", "Qwen2Model"})
# RoPE types whose inverse frequencies and attention scaling are fixed when the model is
# built; "dynamic" and "longrope" recompute them from the current length in every forward.
STATIC_ROPE = frozenset({"default", "linear", "llama3", "yarn"})
# torch.rms_norm arrived in torch 2.4 and SDPA's enable_gqa in 2.5; older torch keeps the
# transformers forward (the project's floor is torch 2.2).
TORCH_OK = tuple(int(part) for part in torch.__version__.split(".")[:2]) >= (2, 5)


def _head_dim(config: object) -> int:
    # Mistral and Qwen2 leave head_dim None to mean hidden_size / heads; Llama fills it in.
    return getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads


def supports(trunk: torch.nn.Module) -> bool:
    """Whether ``trunk`` is a Llama-family decoder this step reproduces (to float tolerance)."""
    config = getattr(trunk, "config", None)
    rotary = getattr(trunk, "rotary_emb", None)
    if not TORCH_OK or type(trunk).__name__ not in _TRUNKS or config is None or rotary is None:
        return False
    rope_type = getattr(rotary, "rope_type", None)
    return (
        config.hidden_act == "silu"
        # a dict of rope types means per-layer-type RoPE, which these trunks do not have
        and isinstance(rope_type, str)
        and rope_type in STATIC_ROPE
        # every dimension of a head is rotated (no partial rotary factor)
        and 2 * rotary.inv_freq.numel() == _head_dim(config)
    )


def cache_layout(trunk: torch.nn.Module) -> tuple[int, int, int]:
    """(layers, key/value heads, head_dim) of the cache this step reads and writes, from the config."""
    config = trunk.config
    return config.num_hidden_layers, config.num_key_value_heads, _head_dim(config)


Linear = tuple[torch.Tensor, torch.Tensor | None]
Norm = tuple[torch.Tensor, float]


class _Layer(NamedTuple):
    """One block's parameters, read once: attribute lookups on modules cost more than the math."""

    input_norm: Norm
    q: Linear
    k: Linear
    v: Linear
    o: Linear
    post_norm: Norm
    gate: Linear
    up: Linear
    down: Linear
    window: int | None  # sliding-window length, None for full causal attention


class _Plan(NamedTuple):
    embed: torch.Tensor
    layers: list[_Layer]
    norm: Norm
    # The rotary module, not its inv_freq: .to() replaces buffers with new tensors (unlike
    # parameters, which keep their objects), so the buffer is read at every call.
    rotary: torch.nn.Module
    n_heads: int
    n_kv_heads: int
    head_dim: int
    scale: float


def _windows(trunk: torch.nn.Module) -> list[int | None]:
    """Per layer, the sliding window ``transformers`` masks with, or None."""
    config = trunk.config
    n = config.num_hidden_layers
    window = getattr(config, "sliding_window", None)
    name = type(trunk).__name__
    if name == "MistralModel":  # one window for every layer when the config sets one
        return [window] * n
    if name == "Qwen2Model":  # only the layers typed "sliding_attention" (Qwen2's max_window_layers)
        return [window if kind == "sliding_attention" else None for kind in config.layer_types]
    return [None] * n  # LlamaModel always masks plain causal


def _plan(trunk: torch.nn.Module) -> _Plan:
    # The Parameter objects themselves are kept: optimizer steps, load_state_dict and .to()
    # update them in place, so the plan stays valid as long as the modules are not replaced,
    # which the identity check below catches.
    plan = getattr(trunk, "_textgym_llama_plan", None)
    if plan is not None and plan.embed is trunk.embed_tokens.weight and len(plan.layers) == len(trunk.layers):
        return plan

    def lin(m: torch.nn.Linear) -> Linear:
        return m.weight, m.bias

    def norm(m: torch.nn.Module) -> Norm:
        return m.weight, m.variance_epsilon

    layers = [
        _Layer(
            norm(b.input_layernorm),
            lin(b.self_attn.q_proj),
            lin(b.self_attn.k_proj),
            lin(b.self_attn.v_proj),
            lin(b.self_attn.o_proj),
            norm(b.post_attention_layernorm),
            lin(b.mlp.gate_proj),
            lin(b.mlp.up_proj),
            lin(b.mlp.down_proj),
            window,
        )
        for b, window in zip(trunk.layers, _windows(trunk), strict=True)
    ]
    config = trunk.config
    attn = trunk.layers[0].self_attn
    plan = _Plan(
        trunk.embed_tokens.weight,
        layers,
        norm(trunk.norm),
        trunk.rotary_emb,
        config.num_attention_heads,
        config.num_key_value_heads,
        attn.head_dim,
        attn.scaling,
    )
    trunk._textgym_llama_plan = plan
    return plan


def _rms_norm(x: torch.Tensor, p: Norm) -> torch.Tensor:
    return torch.rms_norm(x, (x.shape[-1],), p[0], p[1])


def _linear(x: torch.Tensor, p: Linear) -> torch.Tensor:
    return F.linear(x, p[0], p[1])


def rope_tables(
    inv_freq: torch.Tensor, scaling: float, positions: torch.Tensor, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosines and signed sines of every row's positions, (r, L, 1, head_dim), for :func:`rotate`.

    Args:
        inv_freq: The rotary module's inverse frequencies, (head_dim / 2,).
        scaling: Its attention scaling (1 but for yarn and longrope).
        positions: Token positions, (r, L).
        dtype: The model's dtype, which the tables are cast to.
    """
    # as transformers does: angles in float32 whatever the model's dtype, then scaled and cast
    freqs = positions[..., None].float() * inv_freq.float()  # (r, L, head_dim / 2)
    cos = (freqs.cos() * scaling).to(dtype)
    sin = (freqs.sin() * scaling).to(dtype)
    # RoPE in the half-split layout (rotate_half): dimension i pairs with i + head_dim / 2, so
    # x' = x * [cos, cos] + roll(x, head_dim / 2) * [-sin, sin].
    cos = torch.cat((cos, cos), dim=-1)[:, :, None]
    sin = torch.cat((-sin, sin), dim=-1)[:, :, None]
    return cos, sin


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """RoPE of ``x`` (r, L, heads, head_dim) with the tables of :func:`rope_tables`."""
    # roll by half brings x2 to the first half and x1 to the second
    return torch.addcmul(x * cos, x.roll(x.shape[-1] // 2, dims=-1), sin)


def causal_mask(positions: torch.Tensor, width: int, window: int | None) -> torch.Tensor:
    """Bool (r, 1, L, width): key j is visible to the token at position p iff j <= p (and p - j < window)."""
    key = torch.arange(width, device=positions.device)[None, None, :]
    query = positions[:, :, None]
    visible = key <= query
    if window is not None:
        # transformers' sliding_window_overlay: kv_idx > q_idx - sliding_window
        visible &= key > query - window
    return visible[:, None]


def step_positions(tokens: torch.Tensor, start: torch.Tensor, cache_len: int) -> tuple[torch.Tensor, int]:
    """Positions (r, L) of the tokens a step appends, and the number of cached positions they see.

    Raises:
        ValueError: If a row would write past the cache's length, or the shapes disagree.
    """
    if tokens.dim() != 2 or start.shape != (tokens.shape[0],):
        raise ValueError(f"tokens must be (r, L) and start (r,); got {tuple(tokens.shape)} and {tuple(start.shape)}")
    positions = start[:, None] + torch.arange(tokens.shape[1], device=start.device)[None, :]  # (r, L)
    width = int(positions.max()) + 1
    if width > cache_len:
        raise ValueError(f"tokens reach position {width - 1} but the cache holds {cache_len} positions")
    return positions, width


def window_masks(
    start: torch.Tensor, positions: torch.Tensor, width: int, windows: set[int | None]
) -> dict[int | None, torch.Tensor | None]:
    """Per sliding window (None: full causal attention), the step's mask, or None where SDPA needs none."""
    length = positions.shape[1]
    # When every row starts at the same position, plain causal attention (or, for one new
    # token, attention to everything cached) needs no explicit mask, and SDPA runs faster
    # without one; a sliding window shorter than the keys still needs its mask.
    same_start = bool((start == start[0]).all()) and (length == 1 or int(start[0]) == 0)
    masks: dict[int | None, torch.Tensor | None] = {}
    for window in windows:
        needs_mask = not same_start or (window is not None and width > window)
        masks[window] = causal_mask(positions, width, window) if needs_mask else None
    return masks


def cached_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    cache: tuple[torch.Tensor, torch.Tensor],
    positions: torch.Tensor,
    width: int,
    slots: torch.Tensor,
    rows: torch.Tensor | None,
    mask: torch.Tensor | None,
    scale: float,
) -> torch.Tensor:
    """Write the step's keys/values into their slots' cache rows and attend; return (r * L, heads * head_dim).

    Args:
        q: Queries, (r, L, heads, head_dim), already rotated.
        k: Keys, (r, L, kv_heads, head_dim), already rotated.
        v: Values, (r, L, kv_heads, head_dim).
        cache: This layer's keys and values, each (n_slots, kv_heads, max_len, head_dim); updated.
        positions: The tokens' positions, (r, L).
        width: Cached positions the step attends over (``positions.max() + 1``, from :func:`step_positions`).
        slots: The rows' cache slots, (r,).
        rows: The same, or None when the rows are all slots in order (a faster indexing path).
        mask: From :func:`window_masks`; None means causal (or, for one token, everything cached).
        scale: The attention logits' scale.
    """
    r, length, n_heads, head_dim = q.shape
    keys, values = cache
    slot_index = slots[:, None]  # (r, 1), broadcast against positions (r, L)
    # advanced indices on dims 0 and 2 select (r, L, kv_heads, head_dim)
    keys[slot_index, :, positions] = k
    values[slot_index, :, positions] = v
    if rows is None:
        k_all, v_all = keys[:, :, :width], values[:, :, :width]
    else:
        k_all, v_all = keys[rows, :, :width], values[rows, :, :width]
    # The cache keeps kv_heads; SDPA shares each among heads / kv_heads query heads
    # (enable_gqa) without materialising the repeat: on CPU this measured 1.3-15x faster
    # than repeat_interleave on the keys/values at SmolLM2's shapes.
    out = F.scaled_dot_product_attention(
        q.transpose(1, 2),  # (r, heads, L, head_dim)
        k_all,
        v_all,
        attn_mask=mask,
        is_causal=mask is None and length > 1,
        scale=scale,
        enable_gqa=k.shape[2] != n_heads,
    )
    return out.transpose(1, 2).reshape(r * length, n_heads * head_dim)


@torch.no_grad()
def llama_forward(
    trunk: torch.nn.Module,
    tokens: torch.Tensor,
    start: torch.Tensor,
    keys: list[torch.Tensor],
    values: list[torch.Tensor],
    rows: torch.Tensor | None,
) -> torch.Tensor:
    """Append L tokens per row to the cache; return the final-norm hidden states, (r, L, hidden).

    Row ``j`` writes its tokens at positions ``start[j] .. start[j] + L - 1`` of its cache slot
    and attends causally to everything before. Right padding inside ``tokens`` is harmless:
    its keys land after the row's real tokens, where later tokens overwrite them, and no real
    token attends forward.

    Args:
        trunk: A ``LlamaModel`` (or ``MistralModel``/``Qwen2Model``) that :func:`supports`.
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
    h = F.embedding(tokens, plan.embed).reshape(r * length, -1)  # (r*L, hidden)
    cos, sin = rope_tables(plan.rotary.inv_freq, plan.rotary.attention_scaling, positions, h.dtype)
    for layer, p in enumerate(plan.layers):
        x = _rms_norm(h, p.input_norm)
        q = rotate(_linear(x, p.q).view(r, length, n_heads, head_dim), cos, sin)
        k = rotate(_linear(x, p.k).view(r, length, n_kv, head_dim), cos, sin)
        v = _linear(x, p.v).view(r, length, n_kv, head_dim)
        out = cached_attention(
            q, k, v, (keys[layer], values[layer]), positions, width, slots, rows, masks[p.window], plan.scale
        )
        h = h + _linear(out, p.o)
        x = _rms_norm(h, p.post_norm)
        h = h + _linear(F.silu(_linear(x, p.gate)) * _linear(x, p.up), p.down)
    return _rms_norm(h, plan.norm).view(r, length, -1)
