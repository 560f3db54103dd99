"""The cat-text task: continue a story so that it mentions a cat, fluently."""

from __future__ import annotations

from typing import Any, Literal

from textgym.data import CAT_WORDS, story_openings, to_natural
from textgym.envs.text_gen import SPLITS, TextGenEnv
from textgym.envs.vector import TextGenVectorEnv
from textgym.rewards import GrammarReward, KeywordReward, WeightedSum
from textgym.tokenization import resolve_tokenizer, speaks_grammar

TOPIC_WEIGHT = 1.0
GRAMMAR_WEIGHT = 1.0
LM_FLUENCY_WEIGHT = 0.2


class CatTextEnv(TextGenEnv):
    """Write a short continuation of a story opening that mentions a cat, fluently.

    ## Description
    The seeds' cat-text task. Prompts are story openings from the project's grammar that do
    not mention a cat (512 per split; splits are disjoint). The agent writes a continuation
    token by token. The embedded tiny model mentions a cat in only about one completion in
    ten, so there is something to learn.

    ## Action Space
    ``Discrete(len(tokenizer))``: the next token (247 for ``"tiny"``).

    ## Observation Space
    As :class:`~textgym.envs.TextGenEnv`: right-padded ``input_ids`` and ``attention_mask``,
    int64, of length ``max_prompt_tokens + max_new_tokens`` (for ``"tiny"``: 15 + 24 = 39, the
    longest prompt being 15 tokens).

    ## Rewards
    ``reward = 1.0 * topic + w_f * fluency`` at the end of the episode, with components
    ``"topic"`` and ``"fluency"`` in ``info["reward_components"]``:

    * topic: 1.0 if the completion contains cat, cats, kitten, kittens, kitty or kitties as a
      whole word (case-insensitive), else 0.0;
    * fluency, for the tiny model's language (``fluency="grammar"``): 1.0 if the completion
      is one or more complete sentences of the grammar, else 0.0; ``w_f = 1.0``;
    * fluency for any other tokenizer (``fluency="lm"``): mean log-likelihood per token (nats)
      of the completion and EOS under the frozen reference LM of the same name; ``w_f = 0.2``.

    The maximum with the grammar is 2.0: a grammatical continuation about a cat.

    ## Episode End
    Terminated when the agent emits EOS; truncated after ``max_new_tokens`` (24) tokens.

    ## Arguments
    * ``tokenizer``: ``"tiny"`` (default) or any tokenizer spec (e.g. ``"smollm2-135m"``, which
      gets the openings as natural prose: "Once upon a time, there was a dog.").
    * ``fluency``: ``"auto"`` (grammar for the tiny tokenizer, else ``"lm"``), ``"grammar"``,
      ``"lm"``.
    * ``reward``: replaces the reward above entirely.
    * ``split``, ``max_new_tokens``, ``max_prompt_tokens``, ``reward_mode``, ``render_mode``,
      ``observation``, ``budget_as_termination``, ``info``: as in :class:`~textgym.envs.TextGenEnv`.

    ## Version History
    * v0: initial version.

    ## Example
    >>> import gymnasium as gym
    >>> env = gym.make("textgym/CatText-v0")
    >>> obs, info = env.reset(seed=0)
    >>> obs["input_ids"].shape
    (39,)
    >>> tok = env.unwrapped.tokenizer
    >>> for word in "the cat slept . <eos>".split():
    ...     obs, reward, terminated, truncated, info = env.step(tok.convert_tokens_to_ids(word))
    >>> reward, terminated, info["reward_components"]
    (2.0, True, {'topic': 1.0, 'fluency': 1.0})
    """

    def __init__(
        self,
        *,
        tokenizer: str | Any = "tiny",
        fluency: Literal["auto", "grammar", "lm"] = "auto",
        reward: Any = None,
        split: str = "train",
        max_new_tokens: int = 24,
        **kwargs: Any,
    ):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
        tok = resolve_tokenizer(tokenizer)
        grammar_vocab = speaks_grammar(tok)
        if fluency == "auto":
            fluency = "grammar" if grammar_vocab else "lm"
        if fluency not in ("grammar", "lm"):
            raise ValueError(f"fluency must be 'auto', 'grammar' or 'lm', got {fluency!r}")
        if reward is None:
            if fluency == "grammar":
                fluency_term = (GrammarReward("BODY"), GRAMMAR_WEIGHT)
            else:
                if not isinstance(tokenizer, str):
                    raise ValueError("fluency='lm' needs tokenizer given as a model name or path")
                from textgym.rewards.fluency import LMFluencyReward  # imports torch: only when used

                fluency_term = (LMFluencyReward(tokenizer), LM_FLUENCY_WEIGHT)
            reward = WeightedSum(
                {"topic": (KeywordReward(CAT_WORDS), TOPIC_WEIGHT), "fluency": fluency_term},
                name="cat_text",
            )
        prompts = story_openings(split)
        if not grammar_vocab:
            prompts = [to_natural(p) for p in prompts]
        super().__init__(prompts, tokenizer=tok, reward=reward, split=split, max_new_tokens=max_new_tokens, **kwargs)


class CatTextVectorEnv(TextGenVectorEnv):
    """Batched CatText: ``gymnasium.make_vec("textgym/CatText-v0", num_envs=N)``."""

    def __init__(self, num_envs: int = 1, group_size: int = 1, **kwargs: Any):
        super().__init__(CatTextEnv(**kwargs), num_envs, group_size=group_size)
