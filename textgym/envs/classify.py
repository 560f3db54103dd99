"""Classify-v0: text classification as generation (which animal is a story about?)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from textgym.data import to_natural
from textgym.data.classify_tasks import ANIMAL_LABELS, MAX_STORY_WORDS, classify_examples
from textgym.envs.text_gen import SPLITS, TextGenEnv
from textgym.envs.vector import TextGenVectorEnv
from textgym.rewards import RewardModel
from textgym.rewards.known import KnownAnswerReward
from textgym.tokenization import resolve_tokenizer, speaks_grammar
from textgym.validation import check_int

PROMPT_TEMPLATE = "report : {story} summary : they saw the"
#: The prompt budget of every split, so that all splits share one observation space:
#: ``<bos>``, the template's 7 words and the longest story.
MAX_PROMPT_TOKENS = 1 + 7 + MAX_STORY_WORDS
#: Ends the answer besides EOS: the full stop that ends a summary sentence.
FULL_STOP = "."
#: The question after the story for tokenizers of natural text (SmolLM2).
QUESTION = "Which animal is this story about: cat, dog, bird or fish? Answer with one word."
#: The budget for natural text: room for a short sentence ("The story is about a dog.").
NATURAL_NEW_TOKENS = 8
#: Each label and its plural, as a natural answer may write it.
LABEL_FORMS = {"cat": ("cat", "cats"), "dog": ("dog", "dogs"), "bird": ("bird", "birds"), "fish": ("fish", "fishes")}


class LabelReward(KnownAnswerReward):
    """1.0 when the completion is exactly the prompt's label word, else 0.0 (component ``"correct"``).

    Args:
        answers: Prompt text -> its label word.
    """

    answer_name = "label"

    def is_right(self, completion: str, answer: str) -> bool:
        """Exact match of the stripped completion with the label word."""
        return completion.strip() == answer


class NamedLabelReward(KnownAnswerReward):
    """1.0 when the completion names exactly one label, and it is the prompt's; else 0.0 (component ``"correct"``).

    For natural text: a label is named by its singular or plural word (:data:`LABEL_FORMS`),
    as a whole word in any case, anywhere in the completion (``"Dog."``, ``"The story is about
    a dog."``). Naming two labels (``"cat or dog"``) scores 0, so listing them all never pays.

    Args:
        answers: Prompt text -> its label word.
    """

    answer_name = "label"
    _word = re.compile(r"[a-z]+")

    def __init__(self, answers: dict[str, str]):
        super().__init__(answers)
        self._label_of = {form: label for label, forms in LABEL_FORMS.items() for form in forms}

    def named(self, completion: str) -> set[str]:
        """The labels a completion names.

        >>> sorted(NamedLabelReward({}).named("Cats and a DOG; not a catalogue"))
        ['cat', 'dog']
        """
        return {self._label_of[w] for w in self._word.findall(completion.lower()) if w in self._label_of}

    def is_right(self, completion: str, answer: str) -> bool:
        """Whether the completion names ``answer`` and no other label."""
        return self.named(completion) == {answer}


class ClassifyEnv(TextGenEnv):
    r"""Say which animal a story is about: classification as generation.

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

    **Natural text** (any tokenizer that does not speak the grammar, e.g. ``"smollm2-135m"``;
    issue 25): the same stories as prose (:func:`textgym.data.to_natural`), followed by the
    question "Which animal is this story about: cat, dog, bird or fish? Answer with one word.",
    inside the tokenizer's chat template when it has one (else ``"Story: ...\nQuestion:
    ...\nAnswer:"``). The answer is free text, read by :class:`NamedLabelReward`: right when it
    names exactly one of the four labels (singular or plural, a whole word, any case) and
    that is the story's. Zero-shot test accuracy of SmolLM2-135M-Instruct (256 test stories):
    9.8% +- 1.9% sampling at temperature 1, 32.0% +- 2.9% greedy
    (``benchmarks/results/zero_shot_classify_smollm2-135m.json``, ``python
    benchmarks/zero_shot.py --task classify``).

    Base rate: the embedded tiny model (sampling at temperature 1; the ``textgym train``
    "before" evaluation on 256 validation episodes) is right on 2.0% of the episodes: it
    names some animal or person of its vocabulary and goes on writing the summary. Always
    saying the same animal would be right on 25%. PPO with the tiny model (40,000 steps, no
    KL penalty, lr 1e-3) raised it to 84.0% in our run (docs/envs.md), short of the 90% it
    was designed to reach.

    ## Action Space
    ``Discrete(len(tokenizer))``: the next token (247 for the tiny model's vocabulary).

    ## Observation Space
    As :class:`~textgym.envs.TextGenEnv`: right-padded ``input_ids`` and ``attention_mask``,
    int64, of length ``max_prompt_tokens + max_new_tokens`` in every split (32 + 3 = 35 for
    the tiny tokenizer; for natural text the longest prompt of the three splits + 8).

    ## Rewards
    Tiny tokenizer: at the end of the episode, 1.0 if the agent wrote exactly the label word
    and then a stop token (EOS or "."), else 0.0 (natural text: :class:`NamedLabelReward`, see
    the Description); the component ``"correct"`` in
    ``info["reward_components"]`` is the same number, so its mean is the accuracy. Special
    tokens in the completion are kept in its text (``"<pad> dog"`` is not ``"dog"``), and a
    completion cut off by the budget has ``max_new_tokens >= 2`` words, so only ``label
    stop`` scores. ``reward_mode="immediate"``: the step of the label word already gets 1.0
    (the answer so far is right) and any further word takes it back (-1.0), so an episode's
    rewards still sum to its terminal score.

    ## Episode End
    * Termination: the agent emits EOS or "." (natural text: EOS).
    * Truncation: ``max_new_tokens`` (3; natural text 8) tokens without a stop token
      (``info["budget_exhausted"]``; agents must not bootstrap past it).

    ## Arguments
    * ``split``: ``"train"`` (default), ``"validation"`` or ``"test"``.
    * ``tokenizer``: ``"tiny"`` (default) or another tokenizer of the grammar's words (the
      grammar task above), or any other tokenizer, e.g. ``"smollm2-135m"`` (natural text).
    * ``max_new_tokens``: the budget (default 3, at least 2, the label and a stop token;
      natural text: default 8).
    * ``reward_mode``, ``render_mode``: as in :class:`~textgym.envs.TextGenEnv`.

    ## Version History
    * v0: initial version. Natural text for other tokenizers came later (they had been an
      error); the tiny tokenizer's task is unchanged.

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
        max_new_tokens: int | None = None,
        reward_mode: Literal["terminal", "immediate"] = "terminal",
        render_mode: str | None = None,
        observation: str = "tokens",
        budget_as_termination: bool = False,
        info: str = "default",
    ):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
        tok = resolve_tokenizer(tokenizer)
        #: Whether the task is in the grammar's words (the tiny model's), else natural prose.
        self.grammar = speaks_grammar(tok)
        examples = classify_examples(split)
        #: The label word of each prompt, in prompt order.
        self.labels = [e.label for e in examples]
        if self.grammar:
            if max_new_tokens is None:
                max_new_tokens = 3
            max_new_tokens = check_int("max_new_tokens", max_new_tokens, minimum=2)  # the label word and EOS
            vocab = tok.get_vocab()
            missing = [w for w in (*ANIMAL_LABELS, FULL_STOP) if w not in vocab]
            if missing:
                raise ValueError(f"the tokenizer lacks the task's words {missing}")
            prompts = [PROMPT_TEMPLATE.format(story=e.story) for e in examples]
            reward: RewardModel = LabelReward(dict(zip(prompts, self.labels, strict=True)))
            stops = [int(tok.eos_token_id), int(vocab[FULL_STOP])]
            budget, special = MAX_PROMPT_TOKENS, True
        else:
            if max_new_tokens is None:
                max_new_tokens = NATURAL_NEW_TOKENS
            max_new_tokens = check_int("max_new_tokens", max_new_tokens)
            chat = bool(getattr(tok, "chat_template", None))

            def make_prompt(story: str) -> str:
                if chat:
                    return tok.apply_chat_template(
                        [{"role": "user", "content": f"{to_natural(story)}\n\n{QUESTION}"}],
                        tokenize=False,
                        add_generation_prompt=True,
                    )
                return f"Story: {to_natural(story)}\nQuestion: {QUESTION}\nAnswer:"

            prompts = [make_prompt(e.story) for e in examples]
            reward = NamedLabelReward(dict(zip(prompts, self.labels, strict=True)))
            stops, special = [int(tok.eos_token_id)], not chat  # chat templates hold their own special tokens
            # The longest prompt of every split, so that all splits share one observation space.
            every = [make_prompt(e.story) for s in SPLITS for e in classify_examples(s)]
            budget = max(len(ids) for ids in tok(every, add_special_tokens=special)["input_ids"])
        super().__init__(
            prompts,
            tokenizer=tok,
            reward=reward,
            split=split,
            max_new_tokens=max_new_tokens,
            max_prompt_tokens=budget,
            reward_mode=reward_mode,
            stop_token_ids=stops,
            add_special_tokens=special,
            render_mode=render_mode,
            observation=observation,
            budget_as_termination=budget_as_termination,
            info=info,
        )
        if self.grammar:
            self.label_token_ids = {w: int(tok.get_vocab()[w]) for w in ANIMAL_LABELS}

    def decode_completion(self, token_ids: Sequence[int]) -> str:
        """The completion without stop tokens but *with* any other special token, so it cannot hide one."""
        if not self.grammar:  # natural text: as every env decodes it (the reward reads label words only)
            return super().decode_completion(token_ids)
        ids = [int(t) for t in token_ids if int(t) not in self.stop_token_ids]
        return self.tokenizer.decode(ids, skip_special_tokens=False)


class ClassifyVectorEnv(TextGenVectorEnv):
    """Batched Classify: ``gymnasium.make_vec("textgym/Classify-v0", num_envs=N)``."""

    def __init__(self, num_envs: int = 1, group_size: int = 1, **kwargs: Any):
        super().__init__(ClassifyEnv(**kwargs), num_envs, group_size=group_size)
