import math

import pytest
import torch

from agents import supervised_finetune, target_loss
from textgym.models import load_model
from textgym.tokenization import resolve_tokenizer


@pytest.fixture(scope="module")
def tok():
    return resolve_tokenizer("tiny")


@torch.no_grad()
def test_target_loss_counts_only_target_tokens_by_hand(tok) -> None:
    model = load_model("tiny").eval()
    prompts = ["report : the dog ran . summary :", "the fox"]
    targets = ["the dog ran .", "slept"]
    got = float(target_loss(model, tok, prompts, targets))
    nll, count = 0.0, 0
    for p, t in zip(prompts, targets, strict=True):
        p_ids = tok(p)["input_ids"]
        t_ids = tok(t, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        logprobs = torch.log_softmax(model(input_ids=torch.tensor([p_ids + t_ids])).logits[0], -1)
        for k, token in enumerate(t_ids):
            nll -= float(logprobs[len(p_ids) - 1 + k, token])
            count += 1
    assert got == pytest.approx(nll / count, rel=1e-5)
    assert math.isfinite(got)


# Margin over seeds 0-2 at 1 torch thread and seed 0 at 2 (benchmarks/results/learning_margins.json,
# 2026-12-07): loss ratio at most 0.121 against < 0.2.
@pytest.mark.learning
def test_supervised_finetune_learns_a_mapping(tok, learning_seed, check_learned) -> None:
    # Each opening gets its own fixed continuation; after fine-tuning the model prefers it.
    torch.manual_seed(learning_seed)
    model = load_model("tiny")
    prompts = ["tom ran .", "lily sang .", "the dog slept .", "mia waited ."]
    targets = ["the cat slept .", "a kitten ran .", "the bird sang .", "the fox jumped ."]
    before = float(target_loss(model.eval(), tok, prompts, targets))
    losses = supervised_finetune(
        model, tok, prompts, targets, steps=60, batch_size=4, learning_rate=1e-3, seed=learning_seed
    )
    after = float(target_loss(model, tok, prompts, targets))
    assert len(losses) == 60 and not model.training
    check_learned("target loss after / before", after / before, "<", 0.2)


def test_bad_input_is_named(tok) -> None:
    model = load_model("tiny")
    with pytest.raises(ValueError, match="2 prompts but 1 targets"):
        target_loss(model, tok, ["a", "b"], ["c"])
    with pytest.raises(ValueError, match="more than the model's 128 positions"):
        target_loss(model, tok, ["the"], [" ".join(["cat"] * 200)])
    with pytest.raises(ValueError, match="at least one"):
        supervised_finetune(model, tok, [], [], steps=1)
