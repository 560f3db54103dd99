"""Observation wrappers that turn the token state into what stock RL agents expect.

A textgym env observes ``Dict(input_ids, attention_mask)``, which language-model policies
read directly. Stock agents want something flat:

* :class:`OneHotTokens`: a float32 vector, the one-hot code of every real token (zeros for
  padding). For Stable-Baselines3 ``MlpPolicy`` (PPO, A2C, DQN) and hand-written MLPs.
* :class:`FlattenTokens`: the token ids as ``MultiDiscrete`` (0 = padding, ``id + 1`` = a
  token); SB3 one-hot encodes it itself.
* :class:`TokenIndexObs`: one ``Discrete`` state index per (prompt, generated tokens), a
  bijection, for tabular agents (Q-learning, SARSA) on small-vocabulary tasks.
* :class:`TerminateAtHorizon`: the end of the token budget as a terminal state, which
  value-bootstrapping agents need (Pardo et al., 2018).

:func:`wrap_for_stock_agents` applies an observation wrapper and ``TerminateAtHorizon``.

>>> import gymnasium as gym
>>> env = TokenIndexObs(gym.make("textgym/TinyCat-v0"))
>>> state, info = env.reset(seed=0)
>>> env.decode(state)
((16, 14, 17, 1), ())
>>> state, *_ = env.step(2)
>>> env.decode(state)
((16, 14, 17, 1), (2,))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from textgym.envs.observations import ALIGNS, one_hot_tokens
from textgym.envs.text_gen import TextGenEnv

#: Largest state count TokenIndexObs accepts: indices must fit a signed 64-bit integer.
MAX_STATES = 2**63 - 1


def _token_space(env: gym.Env) -> tuple[int, int]:
    """(vocab_size, max_length) of a textgym observation space, or a TypeError naming the problem."""
    space = env.observation_space
    if not (isinstance(space, spaces.Dict) and {"input_ids", "attention_mask"} <= set(space.spaces)):
        raise TypeError(
            f"expected a textgym env observing Dict(input_ids, attention_mask), got observation space {space}"
        )
    ids = space["input_ids"]
    if isinstance(ids, spaces.MultiDiscrete) and len(ids.shape) == 1:  # observation="multidiscrete"
        return int(np.max(ids.nvec)), int(ids.shape[0])
    if not isinstance(ids, spaces.Box) or len(ids.shape) != 1:
        raise TypeError(f"input_ids must be a 1-D Box or MultiDiscrete, got {ids}")
    return int(np.max(ids.high)) + 1, int(ids.shape[0])


def _real_tokens(obs: dict[str, np.ndarray]) -> np.ndarray:
    """The written tokens: textgym states are right-padded, so they are the first mask.sum()."""
    return np.asarray(obs["input_ids"])[: int(np.asarray(obs["attention_mask"]).sum())]


def _rows(n_tokens: int, length: int, align: str) -> np.ndarray:
    """Rows that ``n_tokens`` real tokens occupy in a ``length``-row code."""
    return np.arange(n_tokens) if align == "left" else np.arange(length - n_tokens, length)


def _check_align(align: str) -> str:
    if align not in ALIGNS:
        raise ValueError(f"align must be one of {ALIGNS}, got {align!r}")
    return align


class OneHotTokens(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Observation -> flattened one-hot of the token state, ``float32 Box(0, 1, (L * V,))``.

    The ``(L, V)`` matrix (``L = max_length``, ``V = vocab_size``) has one row per position:
    the one-hot code of a real token (``attention_mask == 1``) or all zeros. With
    ``align="right"`` (default) the real tokens fill the *last* rows, so the last row is
    always the most recent token, the row before it the one before, and so on: a feature
    such as "the previous word is *the*" is the same input unit at every step, as in an
    n-gram model, which is what lets an MLP learn a word order quickly: on TinyCat, SB3 PPO
    with the settings of tests/envs/test_small_vocab.py reached 100% greedy success within
    24.6k steps right-aligned, and 0% after 41k steps left-aligned (3 of 3 seeds each).
    ``align="left"`` keeps textgym's layout (token ``i`` in row ``i``). Either way
    the number of zero rows tells how many tokens are written, so the code is lossless.
    ``gym.make(id, observation="onehot")`` gives the same code (right-aligned) without a wrapper.

    Args:
        env: A textgym env (possibly wrapped by ``gym.make``).
        align: ``"right"`` or ``"left"``.

    >>> import gymnasium as gym
    >>> env = OneHotTokens(gym.make("textgym/TinyCat-v0"))
    >>> obs, _ = env.reset(seed=0)
    >>> obs.shape, obs.dtype, int(obs.sum())  # 9 positions x 18 tokens; 4 prompt tokens
    ((162,), dtype('float32'), 4)
    >>> obs.reshape(9, 18).argmax(axis=1).tolist()  # "tom saw it ." = 16 14 17 1, right-aligned
    [0, 0, 0, 0, 0, 16, 14, 17, 1]
    """

    def __init__(self, env: gym.Env, align: str = "right"):
        gym.utils.RecordConstructorArgs.__init__(self, align=align)
        gym.ObservationWrapper.__init__(self, env)
        self.vocab_size, self.max_length = _token_space(env)
        self.align = _check_align(align)
        self.observation_space = spaces.Box(0.0, 1.0, (self.max_length * self.vocab_size,), np.float32)

    def observation(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        """The one-hot code of ``observation`` (:func:`textgym.envs.observations.one_hot_tokens`)."""
        return one_hot_tokens(observation["input_ids"], observation["attention_mask"], self.vocab_size, self.align)


class FlattenTokens(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Observation -> ``MultiDiscrete([V + 1] * L)``: 0 for an empty position, ``token_id + 1`` for a token.

    The attention mask is folded into the ids, so one integer vector holds the whole state;
    ``align`` places the real tokens as in :class:`OneHotTokens`. SB3's ``MlpPolicy``
    one-hot encodes ``MultiDiscrete`` observations itself.

    Args:
        env: A textgym env (possibly wrapped by ``gym.make``).
        align: ``"right"`` (default: the latest token last) or ``"left"``.

    >>> import gymnasium as gym
    >>> env = FlattenTokens(gym.make("textgym/TinyCat-v0"), align="left")
    >>> obs, _ = env.reset(seed=0)
    >>> obs.tolist()  # "tom saw it ." = tokens 16 14 17 1, shifted by one; 5 empty positions
    [17, 15, 18, 2, 0, 0, 0, 0, 0]
    """

    def __init__(self, env: gym.Env, align: str = "right"):
        gym.utils.RecordConstructorArgs.__init__(self, align=align)
        gym.ObservationWrapper.__init__(self, env)
        self.vocab_size, self.max_length = _token_space(env)
        self.align = _check_align(align)
        nvec = np.full(self.max_length, self.vocab_size + 1, dtype=np.int64)
        self.observation_space = spaces.MultiDiscrete(nvec)

    def observation(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        """The shifted ids of ``observation``, 0 where a position is empty."""
        out = np.zeros(self.max_length, dtype=np.int64)
        tokens = _real_tokens(observation).astype(np.int64)
        out[_rows(len(tokens), self.max_length, self.align)] = tokens + 1
        return out


class TerminateAtHorizon(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Report the end at the env's token budget as termination instead of truncation.

    A textgym env truncates when ``max_new_tokens`` tokens are written and flags it with
    ``info["budget_exhausted"]``. The budget is part of the task: the text is scored as it
    stands and the state shows how many tokens are written, so by Pardo et al. (2018), "Time
    Limits in Reinforcement Learning", nothing may be bootstrapped past it. Stock agents
    (SB3's PPO, A2C, DQN) bootstrap every truncation with the value of the final state, a
    state they never train on as a non-final one, and the made-up value leaks into the
    returns: on TinyCat, SB3 PPO stayed at 0% success after 41k steps without this wrapper
    and reached 100% within 24.6k steps with it (2 of 2 seeds; the settings of
    tests/envs/test_small_vocab.py). This wrapper reports those truncations as
    terminations. A truncation without the flag (an outer ``TimeLimit``) is left alone, and
    rewards and observations are unchanged. (``agents.make_env`` does the same for the LM
    agents by clearing SB3's ``TimeLimit.truncated``.)

    Args:
        env: A textgym env, possibly wrapped.
    """

    def __init__(self, env: gym.Env):
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env; the end of the token budget is returned as a termination."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        if truncated and info.get("budget_exhausted", False):
            return obs, reward, True, False, info
        return obs, reward, terminated, truncated, info


def wrap_for_stock_agents(env: gym.Env, observation: str = "one_hot") -> gym.Env:
    """A textgym env ready for stock agents: a flat observation and the horizon as a terminal.

    Usable directly as SB3's ``make_vec_env(..., wrapper_class=wrap_for_stock_agents)``.

    Args:
        env: A textgym env.
        observation: ``"one_hot"`` (:class:`OneHotTokens`), ``"multi_discrete"``
            (:class:`FlattenTokens`) or ``"index"`` (:class:`TokenIndexObs`).

    Returns:
        ``TerminateAtHorizon(<observation wrapper>(env))``.

    Raises:
        ValueError: On an unknown ``observation``.
    """
    wrappers: dict[str, Callable[[gym.Env], gym.Env]] = {
        "one_hot": OneHotTokens,
        "multi_discrete": FlattenTokens,
        "index": TokenIndexObs,
    }
    if observation not in wrappers:
        raise ValueError(f"observation must be one of {sorted(wrappers)}, got {observation!r}")
    return TerminateAtHorizon(wrappers[observation](env))


class TokenIndexObs(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Observation -> one integer per (prompt, generated tokens): a state index for tabular agents.

    With ``V`` tokens, ``H = max_new_tokens`` and ``P`` distinct prompts, the generated
    tokens ``(t_1, ..., t_k)`` (``0 <= k <= H``) are numbered by length, then as a base-``V``
    number: ``g = (V**k - 1) / (V - 1) + sum_i t_i * V**(k - i)``, so
    ``0 <= g < G = (V**(H + 1) - 1) / (V - 1)``; the state is ``prompt_rank * G + g``. That is
    a bijection between ``Discrete(P * G)`` and all (prompt, token sequence of length <= H)
    pairs; :meth:`decode` inverts it. Only reachable states are ever visited, so a tabular
    agent should store values in a dict, not a ``P * G`` table. (TinyCat: V = 18, H = 5,
    P = 4: 8,002,876 indices, of which an agent visits a small fraction.)

    The wrapper remembers the prompt's length at ``reset`` to tell prompt from completion.

    Args:
        env: A :class:`~textgym.envs.TextGenEnv` (possibly wrapped by ``gym.make``).

    Raises:
        TypeError: If ``env`` is not a TextGenEnv.
        ValueError: If ``P * G`` does not fit a 64-bit integer (use OneHotTokens instead).
    """

    def __init__(self, env: gym.Env):
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)
        base = env.unwrapped
        if not isinstance(base, TextGenEnv):
            raise TypeError(f"TokenIndexObs needs a TextGenEnv, got {type(base).__name__}")
        self.vocab_size, _ = _token_space(env)
        self.horizon = base.max_new_tokens
        self.prompts: list[tuple[int, ...]] = []
        self._prompt_rank: dict[tuple[int, ...], int] = {}
        for ids in base.prompt_ids:
            key = tuple(int(t) for t in ids)
            if key not in self._prompt_rank:
                self._prompt_rank[key] = len(self.prompts)
                self.prompts.append(key)
        v = self.vocab_size
        # Offsets of each length: number of sequences shorter than k (geometric series).
        self._offsets = [sum(v**j for j in range(k)) for k in range(self.horizon + 2)]
        self.n_generated = self._offsets[self.horizon + 1]
        n_states = len(self.prompts) * self.n_generated
        if n_states > MAX_STATES:
            raise ValueError(
                f"{len(self.prompts)} prompts x {self.n_generated} token sequences ({v} tokens, horizon "
                f"{self.horizon}) do not fit a 64-bit state index; use OneHotTokens for this env"
            )
        self.observation_space = spaces.Discrete(n_states)
        self._prompt_len = -1

    def index(self, prompt: tuple[int, ...], generated: tuple[int, ...]) -> int:
        """The state index of a prompt (as token ids) and the tokens generated after it."""
        if prompt not in self._prompt_rank:
            raise ValueError(f"token sequence {prompt} is not one of the env's prompts")
        if len(generated) > self.horizon:
            raise ValueError(f"{len(generated)} generated tokens exceed the horizon {self.horizon}")
        g = 0
        for t in generated:
            if not 0 <= t < self.vocab_size:
                raise ValueError(f"token {t} is outside the vocabulary of {self.vocab_size}")
            g = g * self.vocab_size + int(t)
        return self._prompt_rank[prompt] * self.n_generated + self._offsets[len(generated)] + g

    def decode(self, state: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Invert :meth:`index`: the prompt's token ids and the generated tokens."""
        if not 0 <= state < self.observation_space.n:
            raise ValueError(f"state {state} is outside Discrete({self.observation_space.n})")
        rank, g = divmod(int(state), self.n_generated)
        k = max(j for j in range(self.horizon + 1) if self._offsets[j] <= g)
        g -= self._offsets[k]
        tokens = []
        for _ in range(k):
            g, t = divmod(g, self.vocab_size)
            tokens.append(t)
        return self.prompts[rank], tuple(reversed(tokens))

    def _state(self, obs: dict[str, np.ndarray]) -> int:
        tokens = tuple(int(t) for t in _real_tokens(obs))
        return self.index(tokens[: self._prompt_len], tokens[self._prompt_len :])

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """Reset the env and return the index of its prompt with nothing generated."""
        obs, info = self.env.reset(seed=seed, options=options)
        self._prompt_len = int(np.asarray(obs["attention_mask"]).sum())
        return self._state(obs), info

    def step(self, action: Any) -> tuple[int, float, bool, bool, dict[str, Any]]:
        """Step the env and return the index of the new state."""
        if self._prompt_len < 0:
            raise RuntimeError("step() called before reset()")
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._state(obs), float(reward), terminated, truncated, info
