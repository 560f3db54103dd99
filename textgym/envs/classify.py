"""Classify-v0: text classification as generation (which animal is a story about?)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from textgym.data.classify_tasks import ANIMAL_LABELS, MAX_STORY_WORDS, classify_examples
from textgym.envs.text_gen import SPLITS, TextGenEnv
from textgym.envs.vector import TextGenVectorEnv
from textgym.rewards import RewardModel, RewardOutput
from textgym.tokenization import resolve_tokenizer, speaks_grammar
from textgym.validation import check_int

PROMPT_TEMPLATE = "report : {story} summary : they saw the"
#: The prompt budget of every split, so that all splits share one observation space:
#: ``<bos>``, the template's 7 words and the longest story.
MAX_PROMPT_TOKENS = 1 + 7 + MAX_STORY_WORDS
#: Ends the answer besides EOS: the full stop that ends a summary sentence.
FULL_STOP = "."


class LabelReward(RewardModel):
    """1.0 when the completion is exactly the prompt's label word, else 0.0 (component ``"correct"``).

    Args:
        labels: Prompt text -> its label word.
    """

    name = "correct"

    def __init__(self, labels: dict[str, str]):
        self.labels = dict(labels)

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        """Exact match of each completion with its prompt's label.

        Raises:
            ValueError: If a prompt is not one of the task's prompts.
        """
        total = np.zeros(len(completions))
        for i, (prompt, completion) in enumerate(zip(prompts, completions, strict=True)):
            if prompt not in self.labels:
                raise ValueError(f"no label for the prompt {prompt!r}: not a prompt of this task")
            total[i] = float(completion.strip() == self.labels[prompt])
        return RewardOutput(total=total, components={self.name: total})


class ClassifyEnv(TextGenEnv):
    """Say which animal a story is about: classification as generation.

    ## Description
    The seeds' framing of text classification as RL: the state is the input text, the action
    the generated label, the reward whether it is right. Each prompt is a story of the
    project's grammar that names exactly one kind of animal
    (:func:`~textgym.data.classify_tasks.classify_examples`: 8192 train, 256 validation,
    256 test stories; disjoint splits, balanced labels; built once per process, in about
    20 s), in the tiny model's report format with the summary begun with a phrase whose
    next word is naturally an animal: ``"<bos> report : STORY summary : they saw the"``.
    The agent must answer with the animal's singular word, one of "cat", "dog", "bird",
    "fish", and end its answer with EOS or a full stop. (The full stop is a stop token
    because the tiny model ends a summary sentence with "." and then EOS: its probability
    of EOS right after the label word was about 3e-5 (64 stories of a first version of this
    data, prompt ending "summary : the"), and a PPO run with EOS as the only stop token
    stayed at 0.0% accuracy after 20,000 steps, never having seen a reward.)
    The animal may appear anywhere in the story, in the plural, and not as the first
    subject, so the label must be read from the story.

    Base rate: the embedded tiny model (sampling at temperature 1; the ``textgym train``
    "before" evaluation on 256 validation episodes) is right on 2.0% of the episodes: it
    names some animal or person of its vocabulary and goes on writing the summary. Always
    saying the same animal would be right on 25%. PPO with the tiny model (40,000 steps, no
    KL penalty, lr 1e-3) raised it to 84.0% in our run (docs/envs.md), short of the 90% it
    was designed to reach.

    ## Action Space
    ``Discrete(247)``: the next token of the tiny model's vocabulary.

    ## Observation Space
    As :class:`~textgym.envs.TextGenEnv`: right-padded ``input_ids`` and ``attention_mask``,
    int64, of length ``max_prompt_tokens + max_new_tokens`` (32 + 3 = 35) in every split.

    ## Rewards
    At the end of the episode: 1.0 if the agent wrote exactly the label word and then a stop
    token (EOS or "."), else 0.0; the component ``"correct"`` in
    ``info["reward_components"]`` is the same number, so its mean is the accuracy. Special
    tokens in the completion are kept in its text (``"<pad> dog"`` is not ``"dog"``), and a
    completion cut off by the budget has ``max_new_tokens >= 2`` words, so only ``label
    stop`` scores. ``reward_mode="immediate"``: the step of the label word already gets 1.0
    (the answer so far is right) and any further word takes it back (-1.0), so an episode's
    rewards still sum to its terminal score.

    ## Episode End
    * Termination: the agent emits EOS or ".".
    * Truncation: ``max_new_tokens`` (3) tokens without a stop token (``info["budget_exhausted"]``;
      agents must not bootstrap past it).

    ## Arguments
    * ``split``: ``"train"`` (default), ``"validation"`` or ``"test"``.
    * ``tokenizer``: ``"tiny"`` (default) or another tokenizer of the grammar's words; a
      tokenizer that does not speak the grammar is an error (the labels are its words).
    * ``max_new_tokens``: the budget (default 3; at least 2, the label and a stop token).
    * ``reward_mode``, ``render_mode``: as in :class:`~textgym.envs.TextGenEnv`.

    ## Version History
    * v0: initial version.

    ## Example
    >>> import gymnasium as gym
    >>> env = gym.make("textgym/Classify-v0")
    >>> obs, info = env.reset(seed=0, options={"prompt_index": 1})
    >>> info["prompt"]
    'report : at night , lucy was under the hill . the dog went to the forest . summary : they saw the'
    >>> tok = env.unwrapped.tokenizer
    >>> for word in ["dog", "<eos>"]:
    ...     obs, reward, terminated, truncated, info = env.step(tok.convert_tokens_to_ids(word))
    >>> reward, terminated, info["reward_components"]
    (1.0, True, {'correct': 1.0})
    """

    prompt_noun = "stories"

    def __init__(
        self,
        *,
        split: str = "train",
        tokenizer: str | Any = "tiny",
        max_new_tokens: int = 3,
        reward_mode: Literal["terminal", "immediate"] = "terminal",
        render_mode: str | None = None,
        observation: str = "tokens",
        budget_as_termination: bool = False,
        info: str = "default",
    ):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
        max_new_tokens = check_int("max_new_tokens", max_new_tokens, minimum=2)  # the label word and EOS
        tok = resolve_tokenizer(tokenizer)
        if not speaks_grammar(tok):
            raise ValueError(
                "Classify-v0 needs a tokenizer of the grammar's words (e.g. 'tiny'): the labels are its words"
            )
        vocab = tok.get_vocab()
        missing = [w for w in (*ANIMAL_LABELS, FULL_STOP) if w not in vocab]
        if missing:
            raise ValueError(f"the tokenizer lacks the task's words {missing}")
        examples = classify_examples(split)
        prompts = [PROMPT_TEMPLATE.format(story=e.story) for e in examples]
        #: The label word of each prompt, in prompt order.
        self.labels = [e.label for e in examples]
        super().__init__(
            prompts,
            tokenizer=tok,
            reward=LabelReward(dict(zip(prompts, self.labels, strict=True))),
            split=split,
            max_new_tokens=max_new_tokens,
            max_prompt_tokens=MAX_PROMPT_TOKENS,
            reward_mode=reward_mode,
            stop_token_ids=[int(tok.eos_token_id), int(vocab[FULL_STOP])],
            render_mode=render_mode,
            observation=observation,
            budget_as_termination=budget_as_termination,
            info=info,
        )
        self.label_token_ids = {w: int(vocab[w]) for w in ANIMAL_LABELS}

    def decode_completion(self, token_ids: Sequence[int]) -> str:
        """The completion without stop tokens but *with* any other special token, so it cannot hide one."""
        ids = [int(t) for t in token_ids if int(t) not in self.stop_token_ids]
        return self.tokenizer.decode(ids, skip_special_tokens=False)


class ClassifyVectorEnv(TextGenVectorEnv):
    """Batched Classify: ``gymnasium.make_vec("textgym/Classify-v0", num_envs=N)``."""

    def __init__(self, num_envs: int = 1, group_size: int = 1, **kwargs: Any):
        super().__init__(ClassifyEnv(**kwargs), num_envs, group_size=group_size)
