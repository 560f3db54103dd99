"""The summarization task: write a one-sentence summary of a document, scored against references."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from textgym.data import to_natural
from textgym.data.loaders import load_summarization_pairs
from textgym.data.report_tasks import report_pairs
from textgym.envs.text_gen import SPLITS, TextGenEnv
from textgym.envs.vector import TextGenVectorEnv
from textgym.rewards import RougeReward
from textgym.tokenization import resolve_tokenizer, speaks_grammar
from textgym.validation import check_int

DEFAULT_ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
# Observation budget of the prompt, in tokens, and completion length: the tiny model has 128
# positions; the generated reports' prompts are at most ~45 tiny tokens and their summaries 6.
GRAMMAR_PROMPT_BUDGET, GRAMMAR_NEW_TOKENS = 64, 12
NATURAL_PROMPT_BUDGET, NATURAL_NEW_TOKENS = 256, 48
INSTRUCTION = "Summarize the following report in one sentence."


def _prompt_maker(tokenizer: Any, prompt_format: str) -> Callable[[str], str]:
    if prompt_format == "grammar":
        return lambda doc: f"report : {doc} summary :"
    if prompt_format == "plain":
        return lambda doc: f"Report: {doc}\nSummary:"
    if prompt_format == "chat":
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError("prompt_format='chat' needs a tokenizer with a chat template")
        return lambda doc: tokenizer.apply_chat_template(
            [{"role": "user", "content": f"{INSTRUCTION}\n\n{doc}"}],
            tokenize=False,
            add_generation_prompt=True,
        )
    raise ValueError(f"prompt_format must be 'auto', 'grammar', 'chat' or 'plain', got {prompt_format!r}")


def fit_prompt(tokenizer: Any, make_prompt: Callable[[str], str], document: str, budget: int) -> tuple[str, bool]:
    """The prompt of ``document``, cut at a token boundary so that it has <= ``budget`` tokens.

    Only the document is shortened, never the template around it.

    Returns:
        ``(prompt, truncated)``.

    Raises:
        ValueError: If even an empty document does not fit.
    """

    def n_tokens(text: str) -> int:
        return len(tokenizer(text)["input_ids"])

    prompt = make_prompt(document)
    n = n_tokens(prompt)
    if n <= budget:
        return prompt, False
    offsets = tokenizer(document, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    k = min(len(offsets), budget - (n - len(offsets)))
    while k > 0:  # merges across the cut can cost a token or two: step back until it fits
        prompt = make_prompt(document[: offsets[k - 1][1]])
        if n_tokens(prompt) <= budget:
            return prompt, True
        k -= 1
    raise ValueError(f"max_prompt_tokens={budget} leaves no room for the document in the prompt template")


class SummarizationEnv(TextGenEnv):
    r"""Summarize a document in one sentence, scored by ROUGE against reference summaries.

    ## Description
    Each episode shows a document and the agent writes its summary token by token. The
    default data are generated from the project's own world: a report whose first sentence is
    the main event, dressed up with adjectives, an opener and a place, then one or two
    unrelated sentences; the reference summary is the main event stripped to subject, verb
    and object (:func:`textgym.data.report_tasks.report_pairs`, 512 per split, disjoint
    splits). The tiny model was pretrained on ``"report : BODY summary : SUMMARY <eos>"``, so
    its prompt is ``"report : BODY summary :"``. Chat models (``"smollm2-135m"``) get the
    report as prose inside their chat template with the instruction "Summarize the following
    report in one sentence." Other data: JSONL files or Hugging Face datasets
    (``dataset=``, see :mod:`textgym.data.loaders`).

    ## Action Space
    ``Discrete(len(tokenizer))``: the next token (247 for ``"tiny"``).

    ## Observation Space
    As :class:`~textgym.envs.TextGenEnv`: right-padded ``input_ids`` and ``attention_mask``,
    int64, of length ``max_prompt_tokens + max_new_tokens``. The prompt budget
    ``max_prompt_tokens`` is fixed so that every split has the same shape: 64 tokens for
    the tiny tokenizer, 256 for others (12 and 48 new tokens). A document whose prompt
    would exceed it is cut at a token boundary to fit (the template around it is kept)
    and a warning says how many were cut; ``env.truncated_documents`` lists their indices.
    The generated reports always fit.

    ## Rewards
    At the end of the episode (``reward_mode="terminal"``) or as the change of the score
    per token (``"immediate"``). Default (``reward="rouge"``): the mean of the ROUGE-1,
    ROUGE-2 and ROUGE-L F1 scores against the reference(s) (Lin, 2004; computed by
    ``rouge-score`` through :class:`~textgym.rewards.RougeReward`, with Porter stemming; case
    and punctuation are ignored), in [0, 1], with components ``"rouge1"``, ``"rouge2"`` and
    ``"rougeL"``. ``reward="embedding"``: cosine similarity of all-MiniLM-L6-v2 sentence
    embeddings (:class:`~textgym.rewards.EmbeddingSimilarityReward`, extra
    ``textgym[embed]``). Or any reward model or callable ``f(prompts, completions)`` (e.g. a
    :class:`~textgym.rewards.LearnedRewardModel`); ``env.references`` maps each prompt to
    its reference summaries.

    ## Episode End
    Terminated when the agent emits EOS; truncated after ``max_new_tokens`` tokens.

    ## Arguments
    * ``tokenizer``: ``"tiny"`` (default), ``"smollm2-135m"`` or any tokenizer spec.
    * ``dataset``: ``"generated"`` (default); a JSONL directory, ``{split}`` pattern or
      mapping split -> file; or ``"hf:NAME"`` / ``"hf:NAME:CONFIG"``.
    * ``document_field``, ``summary_field``: JSONL keys / dataset columns.
    * ``reward``: ``"rouge"``, ``"embedding"`` or a reward model/callable.
    * ``rouge_types``: the ROUGE F1 scores averaged into the reward (any of ``"rouge1"``,
      ``"rouge2"``, ``"rougeL"``, ``"rougeLsum"``; one type: the reward is that score).
    * ``prompt_format``: ``"auto"`` (grammar for the tiny tokenizer, the chat template when
      the tokenizer has one, else ``"Report: ...\nSummary:"``), ``"grammar"``, ``"chat"``,
      ``"plain"``.
    * ``n_documents``: documents per split of the generated data (an integer >= 1, as are the
      token budgets).
    * ``split``, ``max_new_tokens``, ``max_prompt_tokens``, ``reward_mode``, ``render_mode``,
      ``observation``, ``budget_as_termination``, ``info``: as in :class:`~textgym.envs.TextGenEnv`
      (``options={"prompt_index": i}`` in ``reset`` picks a document).

    ## Version History
    * v0: initial version.

    ## Example
    >>> import gymnasium as gym
    >>> env = gym.make("textgym/Summarization-v0", split="test")
    >>> obs, info = env.reset(seed=0)
    >>> info["prompt"].startswith("report : ") and info["prompt"].endswith(" summary :")
    True
    >>> reference = env.unwrapped.references[info["prompt"]][0]
    >>> tok = env.unwrapped.tokenizer
    >>> for token in tok(reference, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]:
    ...     obs, reward, terminated, truncated, info = env.step(token)
    >>> reward, terminated, info["reward_components"]["rouge1"]
    (1.0, True, 1.0)
    """

    def __init__(
        self,
        *,
        tokenizer: str | Any = "tiny",
        dataset: str | Path | Mapping[str, str | Path] = "generated",
        document_field: str = "document",
        summary_field: str = "summary",
        reward: Literal["rouge", "embedding"] | Any = "rouge",
        rouge_types: Sequence[str] = DEFAULT_ROUGE_TYPES,
        prompt_format: Literal["auto", "grammar", "chat", "plain"] = "auto",
        split: str = "train",
        n_documents: int = 512,
        max_new_tokens: int | None = None,
        max_prompt_tokens: int | None = None,
        **kwargs: Any,
    ):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
        n_documents = check_int("n_documents", n_documents)
        if max_new_tokens is not None:
            max_new_tokens = check_int("max_new_tokens", max_new_tokens)
        if max_prompt_tokens is not None:  # checked here: fit_prompt cuts documents to it before TextGenEnv sees it
            max_prompt_tokens = check_int("max_prompt_tokens", max_prompt_tokens)
        tok = resolve_tokenizer(tokenizer)
        grammar = speaks_grammar(tok)
        if prompt_format == "auto":
            has_template = bool(getattr(tok, "chat_template", None))
            prompt_format = "grammar" if grammar else ("chat" if has_template else "plain")
        make_prompt = _prompt_maker(tok, prompt_format)
        if max_prompt_tokens is None:
            max_prompt_tokens = GRAMMAR_PROMPT_BUDGET if grammar else NATURAL_PROMPT_BUDGET
        if max_new_tokens is None:
            max_new_tokens = GRAMMAR_NEW_TOKENS if grammar else NATURAL_NEW_TOKENS

        if isinstance(dataset, str) and dataset == "generated":
            pairs = report_pairs(split, n_documents)
            if not grammar:
                pairs = [(to_natural(d), to_natural(s)) for d, s in pairs]
        else:
            pairs = load_summarization_pairs(dataset, split, document_field, summary_field)
        self.documents = [d for d, _ in pairs]
        prompts: list[str] = []
        references: dict[str, list[str]] = {}
        self.truncated_documents: list[int] = []
        for i, (document, summary) in enumerate(pairs):
            prompt, cut = fit_prompt(tok, make_prompt, document, max_prompt_tokens)
            if cut:
                self.truncated_documents.append(i)
            prompts.append(prompt)
            references.setdefault(prompt, []).append(summary)
        if self.truncated_documents:
            cut = self.truncated_documents
            warnings.warn(
                f"{len(cut)} of {len(pairs)} documents of the {split!r} split are longer than the "
                f"observation budget of max_prompt_tokens={max_prompt_tokens} prompt tokens and were "
                f"truncated to fit (first: document {cut[0]}); raise max_prompt_tokens to keep more of them",
                stacklevel=2,
            )
        self.references = references
        if isinstance(reward, str):
            if reward == "rouge":
                reward = RougeReward(references, rouge_types=rouge_types, use_stemmer=True)
            elif reward == "embedding":
                from textgym.rewards.embedding import EmbeddingSimilarityReward  # imports torch: only when used

                reward = EmbeddingSimilarityReward(references)
            else:
                raise ValueError(f"reward must be 'rouge', 'embedding' or a reward model, got {reward!r}")
        super().__init__(
            prompts,
            tokenizer=tok,
            reward=reward,
            split=split,
            max_new_tokens=max_new_tokens,
            max_prompt_tokens=max_prompt_tokens,
            **kwargs,
        )


class SummarizationVectorEnv(TextGenVectorEnv):
    """Batched Summarization: ``gymnasium.make_vec("textgym/Summarization-v0", num_envs=N)``."""

    def __init__(self, num_envs: int = 1, group_size: int = 1, **kwargs: Any):
        super().__init__(SummarizationEnv(**kwargs), num_envs, group_size=group_size)
