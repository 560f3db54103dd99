import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import GPT2Config, GPT2ForSequenceClassification, PreTrainedTokenizerFast

from textgym.models import load_tokenizer
from textgym.rewards import SequenceClassifierReward, score_batch


def _classifier(num_labels: int, n_positions: int = 32) -> tuple[GPT2ForSequenceClassification, object]:
    tok = load_tokenizer("tiny")
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(tok),
        n_embd=16,
        n_layer=1,
        n_head=2,
        n_positions=n_positions,
        num_labels=num_labels,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        id2label={i: f"l{i}" for i in range(num_labels)},
    )
    return GPT2ForSequenceClassification(config).eval(), tok


@torch.no_grad()
def test_label_logit_and_probability_match_the_model() -> None:
    model, tok = _classifier(3)
    completions = ["the cat slept .", "", "a dog ran quickly in the park ."]
    logits = torch.stack([model(torch.tensor([tok(c)["input_ids"]])).logits[0] for c in completions])
    out = score_batch(SequenceClassifierReward(model, tok, label="l1", output="probability"), ["p"] * 3, completions)
    np.testing.assert_allclose(out.total, torch.softmax(logits, -1)[:, 1].numpy(), atol=1e-6)
    out = score_batch(SequenceClassifierReward(model, tok, label=2), ["p"] * 3, completions)
    np.testing.assert_allclose(out.total, logits[:, 2].numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="label="):
        SequenceClassifierReward(model, tok)


@torch.no_grad()
def test_regression_head_and_pair_input() -> None:
    model, tok = _classifier(1)
    reward = SequenceClassifierReward(model, tok, text="pair", output="probability")
    ids = tok("the dog ran .", "the cat slept .")["input_ids"]
    expected = torch.sigmoid(model(torch.tensor([ids])).logits[0, 0])
    assert reward(["the dog ran ."], ["the cat slept ."])[0] == pytest.approx(float(expected), abs=1e-6)


def test_unscorable_inputs_name_the_reward() -> None:
    model, tok = _classifier(1, n_positions=8)
    with pytest.raises(ValueError, match="'clf'.*more than the classifier's 8 positions"):
        SequenceClassifierReward(model, tok, name="clf")(["p"], ["the cat slept in the big garden ."])
    # a tokenizer that adds no special tokens turns "" into no tokens at all
    raw = Tokenizer(models.WordLevel({"<pad>": 0, "cat": 1, "<unk>": 2}, unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    bare = PreTrainedTokenizerFast(tokenizer_object=raw, pad_token="<pad>", unk_token="<unk>")
    with pytest.raises(ValueError, match="'clf' cannot score completion 1"):
        SequenceClassifierReward(model, bare, name="clf")(["p", "p"], ["cat", ""])
