import gymnasium as gym
import numpy as np
import pytest
import torch

import textgym  # noqa: F401  (registers the environments)
from textgym.models import load_model
from textgym.rewards import LearnedRewardModel, Preference, Ranking, Rating, score_batch, train_reward_model
from textgym.rewards.learned import RewardNetwork


@torch.no_grad()
@pytest.mark.parametrize("append_eos", [True, False])
def test_score_is_the_head_on_the_last_real_token(append_eos: bool) -> None:
    torch.manual_seed(0)
    rm = LearnedRewardModel.from_backbone("tiny", batch_size=2, append_eos=append_eos)
    tok, net = rm.tokenizer, rm.network
    prompts = ["once upon a time , there was a dog .", "the fox ran .", "p"]
    completions = ["the cat slept in the garden .", "", "a b"]
    got = score_batch(rm, prompts, completions).total
    for i, (p, c) in enumerate(zip(prompts, completions, strict=True)):
        eos = [tok.eos_token_id] if append_eos else []
        ids = torch.tensor([tok(p)["input_ids"] + tok(c, add_special_tokens=False)["input_ids"] + eos])
        hidden = net.backbone(input_ids=ids).last_hidden_state[0, -1]
        assert got[i] == pytest.approx(float(net.head(hidden)), abs=1e-5)  # padding changes nothing


@torch.no_grad()
def test_last_plus_mean_pooling_by_hand(tmp_path) -> None:
    # The head reads [last state, mean state from the prompt's last token to the end].
    torch.manual_seed(0)
    rm = LearnedRewardModel.from_backbone("tiny", pooling="last+mean", batch_size=2)
    tok, net = rm.tokenizer, rm.network
    prompts = ["the fox ran .", "once upon a time , there was a dog .", "p"]
    completions = ["the cat slept .", "", "a b c d e"]
    got = score_batch(rm, prompts, completions).total
    for i, (p, c) in enumerate(zip(prompts, completions, strict=True)):
        p_ids = tok(p)["input_ids"]
        ids = torch.tensor([p_ids + tok(c, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]])
        hidden = net.backbone(input_ids=ids).last_hidden_state[0]  # (seq, hidden)
        features = torch.cat([hidden[-1], hidden[len(p_ids) - 1 :].mean(0)])
        assert got[i] == pytest.approx(float(net.head(features)), abs=1e-5)
    rm.save(tmp_path / "rm")
    loaded = LearnedRewardModel.load(tmp_path / "rm")
    assert loaded.network.pooling == "last+mean"
    np.testing.assert_allclose(score_batch(loaded, prompts, completions).total, got, atol=1e-6)
    with pytest.raises(ValueError, match="pooling must be one of"):
        LearnedRewardModel.from_backbone("tiny", pooling="max")


@torch.no_grad()
def test_lm_pooling_by_hand(tmp_path) -> None:
    # The head reads [last state, mean state, tanh(A [mean lp, min lp] / 5 + b)], where the
    # log-probs are those of the completion's tokens and EOS under the backbone's tied LM head.
    torch.manual_seed(0)
    rm = LearnedRewardModel.from_backbone("tiny", pooling="last+mean+lm", batch_size=2)
    tok, net = rm.tokenizer, rm.network
    lm = load_model("tiny").eval()  # the same weights, as a full causal LM
    prompts = ["the fox ran .", "once upon a time , there was a dog .", "p"]
    completions = ["the cat slept .", "", "a b c d e"]
    got = score_batch(rm, prompts, completions).total
    for i, (p, c) in enumerate(zip(prompts, completions, strict=True)):
        p_ids = tok(p)["input_ids"]
        targets = tok(c, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        ids = torch.tensor([p_ids + targets])
        hidden = net.backbone(input_ids=ids).last_hidden_state[0]  # (seq, hidden)
        logprobs = torch.log_softmax(lm(input_ids=ids).logits[0], dim=-1)  # (seq, vocab)
        token_lp = [float(logprobs[len(p_ids) - 1 + k, t]) for k, t in enumerate(targets)]
        stats = torch.tensor([sum(token_lp) / len(token_lp), min(token_lp)]) / 5.0
        lin = net.lm_features[0]
        features = torch.cat([hidden[-1], hidden[len(p_ids) - 1 :].mean(0), torch.tanh(lin.weight @ stats + lin.bias)])
        assert got[i] == pytest.approx(float(net.head(features)), abs=1e-5)
    rm.save(tmp_path / "rm")
    loaded = LearnedRewardModel.load(tmp_path / "rm")
    assert loaded.network.pooling == "last+mean+lm"
    np.testing.assert_allclose(score_batch(loaded, prompts, completions).total, got, atol=1e-6)


def test_lm_pooling_needs_tied_embeddings() -> None:
    backbone = load_model("tiny").base_model
    backbone.config.tie_word_embeddings = False
    with pytest.raises(ValueError, match="tie_word_embeddings=True"):
        RewardNetwork(backbone, pooling="last+mean+lm")


@torch.no_grad()
def test_token_scores_are_prefix_score_differences() -> None:
    torch.manual_seed(0)
    rm = LearnedRewardModel.from_backbone("tiny", token_scores=True, score_mean=0.5, score_std=2.0)
    prompt, completion = "the fox ran .", "the cat slept ."
    out = score_batch(rm, [prompt, prompt], [completion, ""])
    words = completion.split()
    prefixes = [" ".join(words[: k + 1]) for k in range(len(words))]
    prefix_scores = score_batch(rm, [prompt] * len(words), prefixes).total
    np.testing.assert_allclose(out.token_scores[0], np.diff(prefix_scores, prepend=0.0), atol=1e-5)
    assert out.token_scores[0].sum() == pytest.approx(out.total[0])
    assert len(out.token_scores[1]) == 0  # empty completion: no tokens, but still a total
    raw = float(rm.raw_scores([prompt], [completion])[0])
    assert out.total[0] == pytest.approx((raw - 0.5) / 2.0, abs=1e-5)


def test_too_long_pair_names_the_reward() -> None:
    rm = LearnedRewardModel.from_backbone("tiny", name="rm")
    with pytest.raises(ValueError, match="'rm': pair 0 has 203 tokens, more than the backbone's 128"):
        rm(["the"], [" ".join(["cat"] * 200)])


def test_train_save_load_and_plug_into_an_env(tmp_path) -> None:
    records = [
        Rating("p", "the cat slept .", 9.0),
        Rating("p", "slept the", 2.0),
        Rating("q", "a", 5.0),
        Preference("p", "the cat slept .", "slept the"),
        Ranking("q", ("the cat ran .", "ran the", "x")),
    ]
    rm = train_reward_model(records * 4, epochs=1, batch_size=4, val_fraction=0.2, save_to=tmp_path / "rm")
    report = rm.report
    assert report.n_train + report.n_val == 20 and report.n_val == 4
    assert report.val_pairwise_accuracy is not None and 0 <= report.val_pairwise_accuracy <= 1
    assert len(report.epoch_losses) == 1 and np.isfinite(report.epoch_losses[0])
    loaded = LearnedRewardModel.load(tmp_path / "rm")
    texts = ["the cat slept .", "", "ran the"]
    np.testing.assert_allclose(loaded(["p"] * 3, texts), rm(["p"] * 3, texts), atol=1e-6)
    assert loaded.report == report
    env = gym.make("textgym/CatText-v0", reward=loaded, max_new_tokens=3)
    env.reset(seed=0)
    tok = env.unwrapped.tokenizer
    for word in ["the", "cat", "<eos>"]:
        _, reward, terminated, _, info = env.step(tok.convert_tokens_to_ids(word))
    assert terminated
    expected = loaded([info["prompt"]], ["the cat"])[0]
    assert reward == pytest.approx(expected) and info["reward_components"] == {
        "learned_reward": pytest.approx(expected)
    }
    with pytest.raises(FileNotFoundError, match="reward_config.json is missing"):
        LearnedRewardModel.load(tmp_path)


def test_training_rejects_bad_feedback_with_file_and_line(tmp_path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_text('{"prompt": "p", "completion": "a", "rating": 1}\n{"prompt": "p", "chosen": "a"}\n')
    with pytest.raises(ValueError, match=r"f\.jsonl:2: preference record is missing field"):
        train_reward_model(path)
    with pytest.raises(ValueError, match="feedback record 1: .*missing"):
        train_reward_model([{"prompt": "p", "completion": "a", "rating": 1}, {"prompt": "p", "edited": "x"}])
    with pytest.raises(ValueError, match="pairwise_loss"):
        train_reward_model([Rating("p", "a", 1.0)], pairwise_loss="logistic")
