"""Issue 14, part 7: TRL's GRPOTrainer trains the tiny model with a textgym reward through trl_reward_function."""

import gymnasium as gym
import pytest
import torch

import textgym  # noqa: F401  (registers the environments)
from textgym.models import load_model, load_tokenizer
from textgym.trl_adapters import trl_reward_function


@pytest.mark.slow
def test_grpo_trainer_two_steps_on_cattext_with_the_adapted_reward(tmp_path) -> None:
    pytest.importorskip("trl")
    datasets = pytest.importorskip("datasets")
    from trl import GRPOConfig, GRPOTrainer

    torch.manual_seed(0)
    prompts = list(gym.make("textgym/CatText-v0").unwrapped.prompts[:4])
    reward_fn = trl_reward_function("textgym/CatText-v0")
    calls = []

    def logged(prompts: list, completions: list, **kwargs) -> list[float]:
        rewards = reward_fn(prompts, completions, **kwargs)
        calls.append((list(prompts), list(completions), rewards))
        return rewards

    model = load_model("tiny")
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    tokenizer = load_tokenizer("tiny")
    tokenizer.padding_side = "left"
    config = GRPOConfig(
        output_dir=str(tmp_path),
        learning_rate=1e-3,
        per_device_train_batch_size=8,
        num_generations=4,
        max_completion_length=8,
        max_steps=2,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        bf16=False,
        seed=0,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[logged],
        args=config,
        train_dataset=datasets.Dataset.from_dict({"prompt": prompts * 4}),
        processing_class=tokenizer,
    )
    trainer.train()
    assert trainer.state.global_step == 2
    assert len(calls) >= 2
    # TRL passed the decoded completions; the adapter scored them as the env's reward does.
    env_reward = gym.make("textgym/CatText-v0").unwrapped.reward_model
    for called_prompts, completions, rewards in calls:
        assert all(isinstance(c, str) for c in completions) and set(called_prompts) <= set(prompts)
        assert rewards == pytest.approx(env_reward(called_prompts, completions).tolist(), abs=1e-12)
    changed = any(not torch.equal(before[name], p.detach()) for name, p in model.named_parameters())
    assert changed, "two GRPO steps left every weight unchanged"
