"""Per-env-slot key/value cache for rollouts at one token per step.

During rollout collection the policy sees, for each env slot, the previous observation plus
the token it just chose. The cache keeps each slot's token sequence and its keys/values; an
observation that is exactly "cached sequence + the last action" costs a one-token forward,
anything else (a reset, another caller, changed weights) is recomputed from scratch.

Which forward runs depends on the trunk's architecture:

* GPT-2 (``GPT2Model``): the lean step of :mod:`agents.fast_decode`;
* Llama family (``LlamaModel``, ``MistralModel``, ``Qwen2Model``, e.g. SmolLM2) with a RoPE
  type of fixed frequencies: the lean step of :mod:`agents.fast_llama`;
* Gemma 3 text (``Gemma3TextModel``, e.g. Gemma 3 270M): the lean step of :mod:`agents.fast_gemma3`;
* anything else (or a configuration those steps do not reproduce): the ``transformers``
  forward with a ``DynamicCache`` built from the slots' rows, masking each row's gap.

The lean steps write keys/values straight into the slot rows, and their cache is allocated
from the config; the generic path allocates it from the shapes of its first forward.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from transformers import DynamicCache, PreTrainedModel

from agents import fast_decode, fast_gemma3, fast_llama
from agents.hf_compat import cache_kwargs, output_cache

#: A lean step: (trunk, tokens (r, L), start (r,), keys, values, rows) -> hidden (r, L, hidden).
LeanStep = Callable[
    [torch.nn.Module, torch.Tensor, torch.Tensor, list[torch.Tensor], list[torch.Tensor], torch.Tensor | None],
    torch.Tensor,
]


#: The cache layout a lean step needs: trunk -> (layers, heads, head_dim), read from the config.
CacheLayout = Callable[[torch.nn.Module], tuple[int, int, int]]


def _lean_step(trunk: torch.nn.Module) -> tuple[LeanStep, CacheLayout] | None:
    """The lean step for ``trunk`` and its cache layout, or None for the ``transformers`` forward."""
    # Looked up at call time (not bound at import) so tests can switch a step off.
    if fast_decode.supports(trunk):
        return fast_decode.gpt2_forward, fast_decode.cache_layout
    if fast_llama.supports(trunk):
        return fast_llama.llama_forward, fast_llama.cache_layout
    if fast_gemma3.supports(trunk):
        return fast_gemma3.gemma3_forward, fast_gemma3.cache_layout
    return None


def _layer_kv(cache: DynamicCache, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
    entry = cache.layers[layer]
    return entry.keys, entry.values


class SlotKVCache:
    """Keys/values of one transformer trunk for N env slots.

    Layout: per layer, keys and values of shape (N, heads, max_len, head_dim); slot i holds
    its ``length[i]`` tokens at positions ``[0, length[i])``, the rest is stale.

    Args:
        lean: Use a lean step (:mod:`agents.fast_decode`, :mod:`agents.fast_llama`,
            :mod:`agents.fast_gemma3`) where one supports the trunk. ``False`` always runs the
            transformers forward: needed when the trunk's layers are wrapped (LoRA adapters),
            since the lean steps read the plain weight tensors.
    """

    def __init__(self, lean: bool = True) -> None:
        self.lean = lean
        self.n_slots = 0
        self.keys: list[torch.Tensor] = []
        self.values: list[torch.Tensor] = []
        self.seq = torch.zeros(0, 0, dtype=torch.long)
        self.length = torch.zeros(0, dtype=torch.long)
        self.last_action = torch.zeros(0, dtype=torch.long)
        self.hits = 0  # slots served by a one-token forward
        self.misses = 0  # slots recomputed

    def invalidate(self) -> None:
        """Forget everything (e.g. after the weights changed)."""
        self.n_slots = 0

    def _ensure(self, n: int, max_len: int) -> None:
        if self.n_slots != n or self.seq.shape[1] != max_len:
            self.n_slots = n
            self.keys, self.values = [], []
            self.seq = torch.zeros(n, max_len, dtype=torch.long)
            self.length = torch.zeros(n, dtype=torch.long)  # 0 = nothing cached
            self.last_action = torch.full((n,), -1, dtype=torch.long)

    def reusable(self, ids: torch.Tensor, lengths: torch.Tensor, slots: torch.Tensor | None = None) -> torch.Tensor:
        """Bool (r,): each row is its slot's cached sequence plus the slot's last action."""
        if slots is None:
            self._ensure(len(ids), ids.shape[1])
            slots = torch.arange(len(ids))
        length, seq, last = self.length[slots], self.seq[slots], self.last_action[slots]
        in_prefix = torch.arange(ids.shape[1])[None, :] < length[:, None]
        prefix_ok = ((ids == seq) | ~in_prefix).all(dim=1)
        new_token = ids.gather(1, (lengths - 1).clamp(min=0)[:, None]).squeeze(1)
        return (length > 0) & (lengths == length + 1) & prefix_ok & (new_token == last)

    @torch.no_grad()
    def forward(
        self,
        trunk: PreTrainedModel,
        ids: torch.Tensor,
        lengths: torch.Tensor,
        slots: torch.Tensor | None = None,
        n_slots: int | None = None,
    ) -> torch.Tensor:
        """Hidden state at each row's last real token, (r, hidden), using the cache.

        Args:
            trunk: The transformer without LM head (``model.base_model``).
            ids: Right-padded token ids, (r, max_len).
            lengths: Real tokens per row, (r,).
            slots: The cache slot of each row (distinct), or None when the rows are every slot in
                order. Collectors that step only some slots (the others wait) pass them.
            n_slots: How many slots the cache holds (required with ``slots``).
        """
        if slots is None:
            slots = torch.arange(len(ids))
            n_slots = len(ids)
        elif n_slots is None:
            raise ValueError("SlotKVCache.forward needs n_slots together with slots")
        self._ensure(n_slots, ids.shape[1])
        reuse = self.reusable(ids, lengths, slots)
        lean = _lean_step(trunk) if self.lean else None
        if lean is not None and not self.keys:
            self._allocate(trunk, lean[1])
        step = None if lean is None else lean[0]
        full = torch.nonzero(~reuse).squeeze(1)
        inc = torch.nonzero(reuse).squeeze(1)
        out_rows: list[tuple[torch.Tensor, torch.Tensor]] = []  # (rows, their hidden states)
        if len(full):
            out_rows.append((full, self._recompute(trunk, step, ids, lengths, full, slots)))
        if len(inc):
            out_rows.append((inc, self._extend(trunk, step, ids, lengths, inc, slots)))
        self.hits += len(inc)
        self.misses += len(full)
        if len(out_rows) == 1:  # one kind of row (the common step): already every row, in order
            hidden = out_rows[0][1]
        elif out_rows:
            hidden = out_rows[0][1].new_empty(len(ids), out_rows[0][1].shape[-1])
            for rows, h in out_rows:
                hidden[rows] = h
        else:
            hidden = torch.empty(0)  # no rows
        self.seq[slots] = torch.where(torch.arange(ids.shape[1])[None, :] < lengths[:, None], ids, 0)
        self.length[slots] = lengths
        return hidden

    def _allocate(self, trunk: PreTrainedModel, layout: CacheLayout) -> None:
        # From the config, before any forward: (N, heads, max_len, head_dim) per layer, in the
        # dtype and on the device of the trunk's weights.
        n_layers, heads, head_dim = layout(trunk)
        weight = trunk.get_input_embeddings().weight
        shape = (self.n_slots, heads, self.seq.shape[1], head_dim)
        self.keys = [weight.new_zeros(shape) for _ in range(n_layers)]
        self.values = [weight.new_zeros(shape) for _ in range(n_layers)]

    def _rows_arg(self, cache_rows: torch.Tensor) -> torch.Tensor | None:
        # The lean steps take None for "every slot, in order" (a faster indexing path).
        if len(cache_rows) == self.n_slots and bool((cache_rows == torch.arange(self.n_slots)).all()):
            return None
        return cache_rows

    def _recompute(
        self,
        trunk: PreTrainedModel,
        step: LeanStep | None,
        ids: torch.Tensor,
        lengths: torch.Tensor,
        rows: torch.Tensor,
        slots: torch.Tensor,
    ) -> torch.Tensor:
        # Rows with identical token states (the slots of a prompt group right after a reset)
        # are computed once; the copies get that row's keys/values.
        width = int(lengths[rows].max())
        real = torch.arange(width)[None, :] < lengths[rows, None]
        uniq, inverse = torch.unique(torch.where(real, ids[rows, :width], -1), dim=0, return_inverse=True)
        if len(uniq) == len(rows):
            return self._compute(trunk, step, ids, lengths, rows, slots[rows])
        first = torch.full((len(uniq),), len(rows), dtype=torch.long).scatter_reduce(
            0, inverse, torch.arange(len(rows)), reduce="amin"
        )  # (u,): the first row of each distinct state
        hidden = self._compute(trunk, step, ids, lengths, rows[first], slots[rows[first]])
        src, dst = slots[rows[first]][inverse], slots[rows]  # (r,) cache slot to copy from / to
        for k, v in zip(self.keys, self.values, strict=True):
            k[dst, :, :width] = k[src, :, :width]
            v[dst, :, :width] = v[src, :, :width]
        return hidden[inverse]

    def _compute(
        self,
        trunk: PreTrainedModel,
        step: LeanStep | None,
        ids: torch.Tensor,
        lengths: torch.Tensor,
        rows: torch.Tensor,
        cache_rows: torch.Tensor,
    ) -> torch.Tensor:
        width = int(lengths[rows].max())
        sub_ids = ids[rows, :width]
        if step is not None:
            start = torch.zeros(len(rows), dtype=torch.long)
            hidden = step(trunk, sub_ids, start, self.keys, self.values, self._rows_arg(cache_rows))
            return hidden[torch.arange(len(rows)), lengths[rows] - 1]
        mask = (torch.arange(width)[None, :] < lengths[rows, None]).long()
        # An explicit config-less DynamicCache: given the config, transformers would keep only
        # the last `sliding_window` keys of sliding layers, and the rows below need them all.
        out = trunk(input_ids=sub_ids, attention_mask=mask, use_cache=True, **cache_kwargs(DynamicCache()))
        cache = output_cache(out)
        n_layers = len(cache.layers)
        if not self.keys:
            for layer in range(n_layers):
                k, v = _layer_kv(cache, layer)
                shape = (self.n_slots, k.shape[1], self.seq.shape[1], k.shape[3])
                self.keys.append(k.new_zeros(shape))
                self.values.append(v.new_zeros(shape))
        for layer in range(n_layers):
            k, v = _layer_kv(cache, layer)
            self.keys[layer][cache_rows, :, :width] = k
            self.values[layer][cache_rows, :, :width] = v
        # (rows, width, hidden) -> hidden state at the last real token of each row
        return out.last_hidden_state[torch.arange(len(rows)), lengths[rows] - 1]

    def _extend(
        self,
        trunk: PreTrainedModel,
        step: LeanStep | None,
        ids: torch.Tensor,
        lengths: torch.Tensor,
        rows: torch.Tensor,
        slots: torch.Tensor,
    ) -> torch.Tensor:
        cache_rows = slots[rows]
        past_len = self.length[cache_rows]  # tokens already cached per row
        new_tokens = ids[rows, past_len][:, None]  # (r, 1)
        if step is not None:
            return step(trunk, new_tokens, past_len, self.keys, self.values, self._rows_arg(cache_rows))[:, 0]
        width = int(past_len.max())
        window = getattr(trunk.config, "sliding_window", None)
        if window is not None and width >= window and bool((past_len != past_len[0]).any()):
            # transformers slides a window by a key's index in the cache, not by its position: a
            # shorter row's new token, placed after the gap below, would see its window shifted
            # and lose its oldest keys. Rows of one length have no gap, so each length runs alone.
            groups = [past_len == length for length in past_len.unique().tolist()]
            outs = [self._extend(trunk, step, ids, lengths, rows[same], slots) for same in groups]
            hidden = outs[0].new_empty(len(rows), outs[0].shape[-1])
            for same, h in zip(groups, outs, strict=True):
                hidden[same] = h
            return hidden
        cache = DynamicCache()
        for layer, (k, v) in enumerate(zip(self.keys, self.values, strict=True)):
            cache.update(k[cache_rows, :, :width], v[cache_rows, :, :width], layer)
        # Rows have different lengths: the gap between a row's cached tokens and `width` is
        # masked out, and explicit position ids put the new token where it really is.
        mask = torch.cat(
            [(torch.arange(width)[None, :] < past_len[:, None]).long(), torch.ones(len(rows), 1, dtype=torch.long)],
            dim=1,
        )
        out = trunk(
            input_ids=new_tokens,
            attention_mask=mask,
            position_ids=past_len[:, None],
            use_cache=True,
            **cache_kwargs(cache),
        )
        for layer in range(len(self.keys)):
            k, v = _layer_kv(output_cache(out), layer)
            self.keys[layer][cache_rows, :, past_len] = k[:, :, -1]
            self.values[layer][cache_rows, :, past_len] = v[:, :, -1]
        return out.last_hidden_state[:, -1]
