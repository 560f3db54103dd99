"""TinyCat: the cat-text task with 18 tokens and a 5-token horizon, for any RL agent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from textgym.data import CAT_WORDS
from textgym.envs.small_vocab import (
    GrammarProgressReward,
    check_texts_in_vocabulary,
    grammar_sentences,
    word_list_tokenizer,
)
from textgym.envs.text_gen import TextGenEnv
from textgym.envs.vector import TextGenVectorEnv
from textgym.rewards import GrammarReward, KeywordReward, RewardLike, RewardModel, RewardOutput, score_batch
from textgym.validation import check_int

#: The task's words (token ids 1..17; ``<eos>`` is 0), all from the project's grammar.
TINY_CAT_WORDS = (
    ".",
    "the",
    "a",
    "cat",
    "dog",
    "bird",
    "cats",
    "dogs",
    "big",
    "little",
    "ran",
    "slept",
    "sat",
    "saw",
    "chased",
    "tom",
    "it",
)
#: Story openings of four tokens each (so generated tokens always start at position 4); none
#: mentions a cat.
TINY_CAT_PROMPTS = ("the dog ran .", "a bird sat .", "the dogs slept .", "tom saw it .")
SHAPING_WEIGHT = 0.5


def cat_sentences(max_words: int) -> frozenset[tuple[str, ...]]:
    """The successes: sentences of at most ``max_words`` TinyCat words that mention a cat."""
    max_words = check_int("max_words", max_words)
    return frozenset(s for s in grammar_sentences("SENT", TINY_CAT_WORDS, max_words) if set(s) & set(CAT_WORDS))


class TinyCatReward(RewardModel):
    """``topic * grammar + shaping * progress``, reporting all three components (see TinyCatEnv).

    Args:
        max_words: The horizon; progress is measured towards cat sentences this long at most.
        shaping: Weight of the progress component (>= 0).

    Raises:
        ValueError: If no cat sentence fits in ``max_words`` or ``shaping`` is negative.
    """

    name = "tiny_cat"

    def __init__(self, max_words: int, shaping: float = SHAPING_WEIGHT):
        if not shaping >= 0:  # also rejects NaN
            raise ValueError(f"shaping must be >= 0, got {shaping}")
        targets = cat_sentences(max_words)
        if not targets:
            raise ValueError(f"max_new_tokens={max_words} is too short for any cat sentence; use at least 4")
        self.shaping = float(shaping)
        self.topic = KeywordReward(CAT_WORDS, name="topic")
        self.grammar = GrammarReward("SENT", name="grammar")
        self.progress = GrammarProgressReward(targets, max_words, name="progress")

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        """Score each completion; the components are unweighted."""
        terms = (self.topic, self.grammar, self.progress)
        parts = {r.name: score_batch(r, prompts, completions).total for r in terms}
        total = parts["topic"] * parts["grammar"] + self.shaping * parts["progress"]
        return RewardOutput(total=total, components=parts)


class TinyCatEnv(TextGenEnv):
    """Continue a tiny story with one grammatical sentence about a cat, in at most 5 tokens.

    ## Description
    The small-vocabulary variant of ``textgym/CatText-v0``: the same goal in a
    language of 17 words plus ``<eos>``, small enough for tabular agents and stock MLP
    policies. Each episode starts from one of 4 story openings, drawn uniformly with
    ``self.np_random``: "the dog ran .", "a bird sat .", "the dogs slept .", "tom saw it ."
    (none mentions a cat). The agent writes one word per step. 51 texts succeed, e.g.
    "the cat sat ." and "it saw the cat ."; a uniformly random policy writes one in about
    3e-5 of its v0 episodes (51 of the 18**5 equally likely 5-token sequences).

    ``textgym/TinyCat-v1`` is the teaching version: the same task with the
    defaults that stock agents read as they are (SB3's ``PPO("MlpPolicy", id)``, CleanRL,
    rl_zoo3, RLlib): a flat one-hot observation, the budget reported as termination, numeric
    ``info``, and the sentence's period ending the episode.

    ## Action Space
    ``Discrete(18)``: token 0 is ``<eos>``; tokens 1-17 are ". the a cat dog bird cats dogs
    big little ran slept sat saw chased tom it", in this order (:data:`TINY_CAT_WORDS`).

    ## Observation Space
    v0 (``observation="tokens"``): as :class:`~textgym.envs.TextGenEnv`, ``input_ids`` and
    ``attention_mask``, int64, of length 4 + ``max_new_tokens`` (9 by default). There is no
    BOS token; padding is ``<eos>`` (0) under an attention mask of 0.

    v1 (``observation="onehot"``): ``Box(0, 1, (162,), float32)``, the flattened ``(9, 18)``
    one-hot code of the token state. Feature ``18 * p + t`` is 1 when position ``p`` holds
    token ``t``; the real tokens (4 of the prompt, then the ones written) fill the *last*
    rows, so the latest token is always in row 8 (features 144-161) and the number of
    all-zero leading rows is the number of tokens still to write
    (:func:`textgym.envs.observations.one_hot_tokens`).

    ## Rewards
    The score of a completion is ``topic * grammar + shaping * progress``, with the
    components in ``info["reward_components"]`` (v1: ``info["reward_topic"]`` etc.):

    * topic: 1.0 if the completion contains cat or cats (:data:`textgym.data.CAT_WORDS`);
    * grammar: 1.0 if the completion is exactly one sentence of the project's grammar (start
      symbol ``"SENT"``);
    * progress (:class:`~textgym.envs.small_vocab.GrammarProgressReward`): 1.0 for a
      successful text, else (number of leading words that begin one of the 51 successful
      texts) / ``max_new_tokens``.

    Success (``topic == grammar == 1``) scores ``1 + shaping`` (1.5); anything else at most
    ``0.8 * shaping`` (0.4). Topic and grammar pay only together: paid separately, stock
    agents settled for "cat cat cat cat cat".

    With ``reward_mode="immediate"`` (the default here, unlike CatText) each step gets the
    change of the score, i.e. ``shaping / 5`` per word on the way to a successful text and
    the rest on success; that is potential-based shaping (Ng, Harada & Russell, 1999): the
    rewards of an episode sum to its terminal score, so the best policies are the same, but
    credit arrives as it is earned. ``reward_mode="terminal"`` pays the score at the end.

    ## Episode End
    * Termination: the agent emits ``<eos>``; with ``sentence_end=True`` (v1) also ``"."``,
      which stays part of the text (every successful text ends with its only period). v1
      also reports the budget below as termination (``budget_as_termination=True``).
    * Truncation: ``max_new_tokens`` (5) tokens were written (``info["budget_exhausted"]``).
      The budget is part of the task, so agents must not bootstrap past it: v1 reports it as
      termination; for v0, wrap the env in :class:`textgym.wrappers.TerminateAtHorizon` for
      stock agents.

    ## Arguments
    * ``shaping``: weight of the progress component (default 0.5; >= 0; 0 leaves only the
      sparse success reward).
    * ``max_new_tokens``: the horizon (default 5; at least 4, the shortest cat sentence).
    * ``reward``: replaces the reward above entirely.
    * ``reward_mode``: ``"immediate"`` (default) or ``"terminal"``.
    * ``sentence_end``: ``"."`` ends the episode too (default False; v1 True).
    * ``render_mode``, ``observation``, ``budget_as_termination``, ``info``: as in
      :class:`~textgym.envs.TextGenEnv` (v1: ``"onehot"``, True, ``"numeric"``).

    ## Version History
    * v1: the defaults of stock agents: ``observation="onehot"``,
      ``budget_as_termination=True``, ``info="numeric"``, ``sentence_end=True``. Without
      the last, a finished 4-word sentence needed an ``<eos>`` and any other fifth word lost
      the success reward, a trap that SB3's default PPO fell into.
    * v0: initial version.

    ## Example
    >>> import gymnasium as gym
    >>> env = gym.make("textgym/TinyCat-v0")
    >>> obs, info = env.reset(seed=0)
    >>> info["prompt"]
    'tom saw it .'
    >>> tok = env.unwrapped.tokenizer
    >>> rewards = []
    >>> for word in "the cat sat . <eos>".split():
    ...     obs, reward, terminated, truncated, info = env.step(tok.convert_tokens_to_ids(word))
    ...     rewards.append(reward)
    >>> [round(r, 6) for r in rewards], terminated, info["reward_components"]
    ([0.1, 0.1, 0.1, 1.2, 0.0], True, {'topic': 1.0, 'grammar': 1.0, 'progress': 1.0})
    >>> obs["input_ids"].tolist()
    [16, 14, 17, 1, 2, 4, 13, 1, 0]

    In v1 the period ends the episode, and the observation is the one-hot code:

    >>> env = gym.make("textgym/TinyCat-v1")
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, info["_prompt"]
    ((162,), 'tom saw it .')
    >>> for word in "the cat sat .".split():
    ...     obs, reward, terminated, truncated, info = env.step(tok.convert_tokens_to_ids(word))
    >>> round(reward, 6), terminated, info["_completion"], float(info["reward_grammar"])
    (1.2, True, 'the cat sat .', 1.0)
    >>> [TINY_CAT_WORDS[t - 1] for t in obs.reshape(9, 18).argmax(axis=1)[1:]]
    ['tom', 'saw', 'it', '.', 'the', 'cat', 'sat', '.']
    """

    def __init__(
        self,
        *,
        shaping: float = SHAPING_WEIGHT,
        max_new_tokens: int = 5,
        reward: RewardLike | None = None,
        reward_mode: Literal["terminal", "immediate"] = "immediate",
        sentence_end: bool = False,
        render_mode: str | None = None,
        observation: str = "tokens",
        budget_as_termination: bool = False,
        info: str = "default",
    ):
        check_texts_in_vocabulary(TINY_CAT_PROMPTS, TINY_CAT_WORDS)
        tokenizer = word_list_tokenizer(TINY_CAT_WORDS)
        self.sentence_end = bool(sentence_end)
        stops = [int(tokenizer.eos_token_id)]
        if self.sentence_end:
            stops.append(int(tokenizer.convert_tokens_to_ids(".")))
        max_new_tokens = check_int("max_new_tokens", max_new_tokens)  # before the reward is built from it
        self.shaping = float(shaping)
        if reward is None:
            reward = TinyCatReward(max_new_tokens, self.shaping)
        super().__init__(
            list(TINY_CAT_PROMPTS),
            tokenizer=tokenizer,
            reward=reward,
            max_new_tokens=max_new_tokens,
            reward_mode=reward_mode,
            stop_token_ids=stops,
            render_mode=render_mode,
            observation=observation,
            budget_as_termination=budget_as_termination,
            info=info,
        )

    def decode_completion(self, token_ids: Sequence[int]) -> str:
        """The completion text: the generated tokens without ``<eos>``.

        Unlike the base class this keeps the other stop token, ``"."`` (with
        ``sentence_end=True``): the period that ends the episode is part of the sentence the
        reward reads. Without ``sentence_end`` ``<eos>`` is the only stop token, so this is the
        base class's text.
        """
        ids = [int(t) for t in token_ids if int(t) != self.eos_token_id]
        return self.tokenizer.decode(ids, skip_special_tokens=True)


class TinyCatVectorEnv(TextGenVectorEnv):
    """Batched TinyCat: ``gymnasium.make_vec("textgym/TinyCat-v1", num_envs=N)`` (or ``-v0``)."""

    def __init__(self, num_envs: int = 1, group_size: int = 1, **kwargs: Any):
        super().__init__(TinyCatEnv(**kwargs), num_envs, group_size=group_size)
