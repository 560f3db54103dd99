"""LoRA policy: reference from the same weights, only adapters train, cache, save/load, missing peft."""

import builtins
import sys

import numpy as np
import pytest
import torch
from transformers import GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

import agents
from agents import LMActorCriticPolicy, fast_decode
from agents import lora as lora_utils
from textgym.models import load_model

pytest.importorskip("peft")

LORA = dict(r=4, lora_alpha=8)


def by_hand_log_probs(model, obs: dict[str, np.ndarray], actions: np.ndarray) -> np.ndarray:
    """log softmax of ``model``'s logits at each row's last real token, one unpadded forward per row."""
    out = []
    with torch.no_grad():
        for ids, mask, action in zip(obs["input_ids"], obs["attention_mask"], actions, strict=True):
            prefix = torch.as_tensor(ids)[torch.as_tensor(mask).bool()][None].long()  # (1, real tokens)
            out.append(float(torch.log_softmax(model(input_ids=prefix).logits[0, -1], -1)[int(action)]))
    return np.array(out)


@pytest.fixture(scope="module")
def trained():
    """A LoRA PPO agent before and after a few updates (large learning rate: the adapters move)."""
    torch.manual_seed(0)
    ppo = agents.make_ppo(
        "CatText-v0", n_envs=2, n_steps=8, batch_size=16, n_epochs=2, learning_rate=1e-2, lora=LORA, kl_coef=0.1
    )
    before = {k: v.clone() for k, v in ppo.policy.state_dict().items()}
    ppo.learn(4 * 2 * 8)
    return ppo, before


def test_only_adapters_and_value_head_change(trained) -> None:
    ppo, before = trained
    after = ppo.policy.state_dict()
    assert before.keys() == after.keys()
    changed = {k for k in after if not torch.equal(before[k], after[k])}
    adapter_keys = {k for k in after if "lora_" in k or k.startswith("value_net.")}
    assert changed <= adapter_keys, sorted(changed - adapter_keys)
    assert any("lora_B" in k for k in changed) and any(k.startswith("value_net.") for k in changed)
    base_keys = set(after) - adapter_keys
    assert len(base_keys) > 50  # the tiny GPT-2's weights are all there, and all bitwise unchanged
    # No copy of the model is held for the reference.
    assert sum(isinstance(m, GPT2LMHeadModel) for m in ppo.policy.modules()) == 1
    assert ppo.policy.reference is None


def test_optimizer_holds_exactly_the_trainable_params(trained) -> None:
    policy = trained[0].policy
    in_optimizer = {id(p) for group in policy.optimizer.param_groups for p in group["params"]}
    named = dict(policy.named_parameters())
    trainable = {name for name, p in named.items() if id(p) in in_optimizer}
    assert trainable == {name for name, p in named.items() if p.requires_grad}
    assert trainable == {name for name in named if "lora_" in name or name.startswith("value_net.")}
    n_lora = sum(1 for name in trainable if "lora_" in name)
    # tiny GPT-2: n_layer blocks x 4 targets (c_attn, attn c_proj, c_fc, mlp c_proj) x (A, B)
    assert n_lora == policy.lm.config.n_layer * 4 * 2


def test_reference_is_the_base_model_after_training(trained) -> None:
    ppo, _ = trained
    policy = ppo.policy
    buf = ppo.rollout_buffer
    rows = np.arange(0, buf.buffer_size * buf.n_envs, 3)
    obs = {k: v[rows] for k, v in buf.observations.items()}  # get() left them flat, env-major
    actions = buf.actions.reshape(-1)[rows].astype(np.int64)
    ref = policy.reference_log_prob({k: torch.as_tensor(v) for k, v in obs.items()}, torch.as_tensor(actions))
    base = by_hand_log_probs(load_model("tiny"), obs, actions)
    np.testing.assert_allclose(ref.numpy(), base, atol=1e-5, rtol=0)
    # The adapted policy is not the base model (so the check above is not trivially true) ...
    adapted = by_hand_log_probs(policy.lm, obs, actions)
    assert np.abs(adapted - base).max() > 1e-3
    # ... and the adapters are back on, and trainable, after the reference forward.
    assert all(not layer.disable_adapters for layer in lora_utils.lora_layers(policy.lm))
    assert all(p.requires_grad for name, p in policy.named_parameters() if "lora_" in name)
    with policy.reference_model() as model:
        assert model is policy.lm
        np.testing.assert_allclose(by_hand_log_probs(model, obs, actions), base, atol=1e-5, rtol=0)


def _randomize_adapters(policy: LMActorCriticPolicy) -> None:
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in policy.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, 0.2)  # lora_B starts at zero: make the adapters change the outputs


def test_rollout_cache_with_adapters_equals_recomputation(cat_env, policy_factory, batcher) -> None:
    policy = policy_factory(cat_env, lora=LORA, build_reference=True)
    _randomize_adapters(policy)
    envs = [type(cat_env)() for _ in range(3)]
    obs_list = [env.reset(seed=i)[0] for i, env in enumerate(envs)]
    moved = 0.0
    for _ in range(8):
        obs = batcher(obs_list)
        with torch.no_grad():
            actions, _, log_prob = policy(obs)
            recomputed = policy.get_distribution(obs).log_prob(actions)  # no cache: whole prefixes
            reference = policy.reference_log_prob(obs, actions)
        torch.testing.assert_close(log_prob, recomputed, atol=1e-5, rtol=0)
        moved = max(moved, float((log_prob - reference).abs().max()))
        for i, env in enumerate(envs):
            o, _, terminated, truncated, _ = env.step(int(actions[i]))
            obs_list[i] = env.reset()[0] if terminated or truncated else o
    assert policy._actor_cache.hits > 0  # the one-token cached path ran
    assert moved > 1e-2  # the adapters matter: ignoring them would fail the equality above


def test_lean_gpt2_step_refuses_adapted_layers(cat_env, policy_factory) -> None:
    policy = policy_factory(cat_env, lora=LORA)
    assert not policy._actor_cache.lean
    trunk = policy.lm.base_model
    keys = [torch.zeros(1, 2, 8, 16) for _ in trunk.h]
    with pytest.raises(ValueError, match="plain Conv1D"):
        fast_decode.gpt2_forward(
            trunk, torch.zeros(1, 1, dtype=torch.long), torch.zeros(1, dtype=torch.long), keys, keys, None
        )


def test_save_load_keeps_adapters_and_config(tmp_path, trained) -> None:
    ppo, _ = trained
    ppo.save(tmp_path / "agent.zip")
    loaded = agents.PPO.load(tmp_path / "agent.zip", device="cpu")
    saved = loaded.policy.lora
    assert saved == ppo.policy.lora
    expected = {"r": 4, "lora_alpha": 8, "target_modules": ["c_attn", "c_fc", "c_proj"], "fan_in_fan_out": True}
    assert {k: saved[k] for k in expected} == expected
    original, restored = ppo.policy.state_dict(), loaded.policy.state_dict()
    assert original.keys() == restored.keys()
    for key, value in original.items():
        assert torch.equal(value, restored[key]), key
    assert any(not torch.equal(v, torch.zeros_like(v)) for k, v in restored.items() if "lora_B" in k)
    assert loaded.policy.reference is None and loaded.policy.build_reference
    assert {n for n, p in loaded.policy.named_parameters() if p.requires_grad} == {
        n for n, p in ppo.policy.named_parameters() if p.requires_grad
    }


def test_separate_critic_gets_its_own_adapters(cat_env, policy_factory) -> None:
    policy = policy_factory(cat_env, lora=LORA, separate_critic=True)
    actor = {n: p for n, p in policy.lm.base_model.named_parameters() if p.requires_grad}
    critic = {n: p for n, p in policy.critic_trunk.named_parameters() if p.requires_grad}
    assert actor.keys() == critic.keys() and all("lora_" in n for n in critic) and critic
    assert all(actor[n] is not critic[n] for n in critic)
    assert all("lora_" in n or n.startswith("value_net.") for n, p in policy.named_parameters() if p.requires_grad)


def test_default_targets_for_llama_and_unknown_models() -> None:
    config = LlamaConfig(
        vocab_size=32,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
    )
    model = lora_utils.add_lora(LlamaForCausalLM(config), lora_utils.lora_config({}, LlamaForCausalLM(config)))
    wrapped = {name.rsplit(".", 1)[-1] for name, m in model.named_modules() if hasattr(m, "lora_A")}
    assert wrapped == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    config.model_type = "unknown-arch"
    with pytest.raises(ValueError, match="no default LoRA target modules"):
        lora_utils.lora_config({}, LlamaForCausalLM(config))
    with pytest.raises(ValueError, match="nope"):
        lora_utils.add_lora(LlamaForCausalLM(config), lora_utils.lora_config({"target_modules": ["nope"]}, model))


def test_missing_peft_names_the_extra(cat_env, policy_factory, monkeypatch) -> None:
    real_import = builtins.__import__

    def no_peft(name, *args, **kwargs):
        if name == "peft" or name.startswith("peft."):
            raise ImportError("No module named 'peft'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "peft", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_peft)
    with pytest.raises(ImportError, match=r"textgym\[lora\]"):
        policy_factory(cat_env, lora=LORA)
    policy_factory(cat_env)  # without LoRA nothing imports peft
