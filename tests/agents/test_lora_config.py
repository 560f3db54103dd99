"""agents.LoRAConfig: the common LoRA settings, checked without peft, building the adapters the dict form builds."""

import pytest
import torch

import agents
from agents.lora_config import LoRAConfig


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(r=0), ValueError, "r must be >= 1, got 0"),
        (dict(r=4.0), TypeError, r"r must be an integer, got 4.0 \(float\)"),
        (dict(alpha=0), ValueError, "alpha must be > 0, got 0.0"),
        (dict(dropout=1.0), ValueError, "dropout must be < 1, got 1.0"),
        (dict(dropout=-0.1), ValueError, "dropout must be >= 0, got -0.1"),
        (dict(target_modules="c_attn"), TypeError, "target_modules must be a sequence of layer names, got 'c_attn'"),
        (dict(target_modules=()), ValueError, "target_modules must name at least one layer"),
    ],
)
def test_a_bad_setting_is_named_with_its_value(kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        LoRAConfig(**kwargs)


def test_target_modules_are_kept_as_a_tuple_and_given_to_peft_as_a_list() -> None:
    config = LoRAConfig(target_modules=["c_attn"])
    assert config.target_modules == ("c_attn",)
    assert config.peft_kwargs()["target_modules"] == ["c_attn"]


def test_the_config_builds_the_adapters_of_the_same_dict() -> None:
    pytest.importorskip("peft")
    policies = []
    for lora in (LoRAConfig(r=4, alpha=8), dict(r=4, lora_alpha=8)):
        torch.manual_seed(0)
        policies.append(agents.make_ppo("CatText-v0", n_envs=2, n_steps=8, batch_size=16, lora=lora).policy)
    by_config, by_dict = policies
    assert by_config.lora == by_dict.lora  # what save() records: the same constructor argument
    for (name, a), (_, b) in zip(by_config.state_dict().items(), by_dict.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
