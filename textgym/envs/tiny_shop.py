"""TinyShop: the shop-dialogue task with 22 tokens and a 6-token reply, for any RL agent."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from textgym.data.corpus import Shop
from textgym.data.grammar import tokenize_words
from textgym.envs.small_vocab import check_texts_in_vocabulary, word_list_tokenizer
from textgym.envs.text_gen import TextGenEnv
from textgym.envs.vector import TextGenVectorEnv
from textgym.rewards import GrammarReward, RewardLike, RewardModel, RewardOutput, score_batch

ITEMS = ("apples", "pears", "eggs")
PRICES = ("two", "three", "four")
#: The task's words (token ids 1..21; ``<eos>`` is 0), all from the project's grammar.
TINY_SHOP_WORDS = (
    "facts",
    ":",
    "the",
    "shop",
    "sells",
    "for",
    "coins",
    ".",
    "user",
    "how",
    "much",
    "are",
    "?",
    "assistant",
    "cost",
    *ITEMS,
    *PRICES,
)
SHAPING_WEIGHT = 0.5
REPLY_TOKENS = 6  # "the pears cost three coins ."


def tiny_shop_dialogues() -> dict[str, str]:
    """Every TinyShop prompt and its correct reply, in a fixed order (108 of them).

    A prompt gives the prices of two different items and asks for one of them, in the
    grammar's dialogue format; the reply is :meth:`textgym.data.corpus.Shop.reply`'s.
    """
    out = {}
    for first, second in itertools.permutations(ITEMS, 2):
        for p1, p2 in itertools.product(PRICES, repeat=2):
            shop = Shop(prices={first: p1, second: p2}, fact_order=[first, second])
            for asked in (first, second):
                question = f"how much are the {asked} ?"
                out[f"facts : {shop.facts_text()} user : {question} assistant :"] = shop.reply(question)
    return out


class TinyShopReward(RewardModel):
    """``correct + shaping * progress``, plus a ``grammar`` component that is reported only.

    * correct: 1.0 if the completion is the prompt's correct reply, word for word;
    * progress: (number of leading words that agree with the correct reply) / 6;
    * grammar: 1.0 if the completion is a reply of the grammar (``"REPLY"``), right or wrong.

    Args:
        replies: Prompt -> correct reply.
        shaping: Weight of the progress component (>= 0).

    Raises:
        ValueError: When scoring a prompt that has no known reply.
    """

    name = "tiny_shop"

    def __init__(self, replies: Mapping[str, str], shaping: float = SHAPING_WEIGHT):
        if not shaping >= 0:  # also rejects NaN
            raise ValueError(f"shaping must be >= 0, got {shaping}")
        self.replies = {p: tuple(r.split()) for p, r in replies.items()}
        self.shaping = float(shaping)
        self.grammar = GrammarReward("REPLY", name="grammar")

    def _target(self, prompt: str) -> tuple[str, ...]:
        if prompt not in self.replies:
            raise ValueError(f"TinyShopReward has no correct reply for prompt {prompt!r}")
        return self.replies[prompt]

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        """Score each completion against its prompt's correct reply."""
        correct, progress = np.zeros(len(completions)), np.zeros(len(completions))
        for i, (prompt, completion) in enumerate(zip(prompts, completions, strict=True)):
            target, words = self._target(prompt), tuple(tokenize_words(completion) or ())
            correct[i] = float(words == target)
            k = 0
            while k < min(len(words), len(target)) and words[k] == target[k]:
                k += 1
            progress[i] = k / len(target)
        grammar = score_batch(self.grammar, prompts, completions).total
        return RewardOutput(
            total=correct + self.shaping * progress,
            components={"correct": correct, "progress": progress, "grammar": grammar},
        )


class TinyShopEnv(TextGenEnv):
    """Answer a shop customer's price question in 6 tokens, reading the price from the prompt.

    ## Description
    The small-vocabulary variant of the shop dialogues: unlike TinyCat, the right
    text depends on the prompt, so the agent must read it. Each prompt gives two facts and
    a question in the grammar's dialogue format, e.g. "facts : the shop sells apples for two
    coins . the shop sells pears for three coins . user : how much are the pears ?
    assistant :" (28 tokens); the correct reply is "the pears cost three coins .". There are
    108 prompts (ordered pairs of different items of apples, pears, eggs; prices two, three
    or four each; either item asked), drawn uniformly with ``self.np_random``. The agent
    writes one word per step; a uniformly random policy is right once in 22**6 (about 1e9)
    episodes.

    ``textgym/TinyShop-v1`` is the teaching version: the same task with the
    defaults that stock agents read as they are (SB3's ``PPO("MlpPolicy", id)``, CleanRL,
    rl_zoo3, RLlib): a flat one-hot observation, the budget reported as termination and
    numeric ``info``.

    ## Action Space
    ``Discrete(22)``: token 0 is ``<eos>``; tokens 1-21 are the words of
    :data:`TINY_SHOP_WORDS`, in order.

    ## Observation Space
    v0 (``observation="tokens"``): as :class:`~textgym.envs.TextGenEnv`, ``input_ids`` and
    ``attention_mask``, int64, of length 28 + 6 = 34 (every prompt has 28 tokens). No BOS;
    padding is ``<eos>`` (0) under an attention mask of 0. For stock agents, flatten it with
    :func:`textgym.wrappers.wrap_for_stock_agents`.

    v1 (``observation="onehot"``): ``Box(0, 1, (748,), float32)``, the flattened ``(34, 22)``
    one-hot code of the token state. Feature ``22 * p + t`` is 1 when position ``p`` holds
    token ``t``; the real tokens (28 of the prompt, then the ones written) fill the *last*
    rows, so the latest token is always in row 33 and the number of all-zero leading rows is
    the number of tokens still to write (:func:`textgym.envs.observations.one_hot_tokens`).
    The facts' prices and the asked item sit in fixed features as long as the reply is
    unwritten, and move one row up per written token.

    ## Rewards
    The score of a completion is ``correct + shaping * progress`` (:class:`TinyShopReward`):
    correct is 1.0 for the exact correct reply; progress is the number of leading words that
    agree with it, over 6. So the correct reply scores ``1 + shaping`` (1.5) and anything
    else at most ``5/6 * shaping``. ``info["reward_components"]`` also reports ``grammar``
    (1.0 for any reply of the grammar, e.g. one with the wrong price), which is not paid.
    With ``reward_mode="immediate"`` (the default here) each step gets the change of the
    score: ``shaping / 6`` per right word and the rest on the last; the episode's rewards
    sum to the terminal score (potential-based shaping, Ng et al. 1999).

    ## Episode End
    * Termination: the agent emits ``<eos>``. v1 also reports the budget below as
      termination (``budget_as_termination=True``).
    * Truncation: 6 tokens were written (``info["budget_exhausted"]``); the budget is part
      of the task, so agents must not bootstrap past it (v1 reports it as termination; for
      v0 see :class:`textgym.wrappers.TerminateAtHorizon`).

    ## Arguments
    * ``shaping``: weight of the progress component (default 0.5; >= 0).
    * ``reward``: replaces the reward above entirely.
    * ``reward_mode``: ``"immediate"`` (default) or ``"terminal"``.
    * ``render_mode``, ``observation``, ``budget_as_termination``, ``info``: as in
      :class:`~textgym.envs.TextGenEnv` (v1: ``"onehot"``, True, ``"numeric"``).

    ## Version History
    * v1: the defaults of stock agents: ``observation="onehot"``,
      ``budget_as_termination=True``, ``info="numeric"``; the reward is v0's.
    * v0: initial version.

    ## Example
    >>> import gymnasium as gym
    >>> env = gym.make("textgym/TinyShop-v0")
    >>> obs, info = env.reset(seed=1)
    >>> info["prompt"]
    'facts : the shop sells pears for four coins . the shop sells apples for three coins . user : how much \
are the apples ? assistant :'
    >>> tok = env.unwrapped.tokenizer
    >>> rewards = []
    >>> for word in "the apples cost three coins .".split():
    ...     obs, reward, terminated, truncated, info = env.step(tok.convert_tokens_to_ids(word))
    ...     rewards.append(round(reward, 4))
    >>> rewards, truncated, info["reward_components"]
    ([0.0833, 0.0833, 0.0833, 0.0833, 0.0833, 1.0833], True, {'correct': 1.0, 'progress': 1.0, 'grammar': 1.0})

    In v1 the observation is the one-hot code and the budget ends the episode as termination:

    >>> env = gym.make("textgym/TinyShop-v1")
    >>> obs, info = env.reset(seed=1)
    >>> obs.shape, info["_prompt"].endswith("how much are the apples ? assistant :")
    ((748,), True)
    >>> for word in "the apples cost three coins .".split():
    ...     obs, reward, terminated, truncated, info = env.step(tok.convert_tokens_to_ids(word))
    >>> terminated, truncated, bool(info["budget_exhausted"]), float(info["reward_correct"])
    (True, False, True, 1.0)
    """

    def __init__(
        self,
        *,
        shaping: float = SHAPING_WEIGHT,
        reward: RewardLike | None = None,
        reward_mode: Literal["terminal", "immediate"] = "immediate",
        render_mode: str | None = None,
        observation: str = "tokens",
        budget_as_termination: bool = False,
        info: str = "default",
    ):
        dialogues = tiny_shop_dialogues()
        check_texts_in_vocabulary([*dialogues, *dialogues.values()], TINY_SHOP_WORDS)
        self.replies = dialogues
        self.shaping = float(shaping)
        if reward is None:
            reward = TinyShopReward(dialogues, self.shaping)
        super().__init__(
            list(dialogues),
            tokenizer=word_list_tokenizer(TINY_SHOP_WORDS),
            reward=reward,
            max_new_tokens=REPLY_TOKENS,
            reward_mode=reward_mode,
            render_mode=render_mode,
            observation=observation,
            budget_as_termination=budget_as_termination,
            info=info,
        )


class TinyShopVectorEnv(TextGenVectorEnv):
    """Batched TinyShop: ``gymnasium.make_vec("textgym/TinyShop-v1", num_envs=N)`` (or ``-v0``)."""

    def __init__(self, num_envs: int = 1, group_size: int = 1, **kwargs: Any):
        super().__init__(TinyShopEnv(**kwargs), num_envs, group_size=group_size)
