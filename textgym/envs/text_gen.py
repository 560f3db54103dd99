"""The base token-level text-generation MDP."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from textgym.rewards.base import RewardLike, RewardModel, RewardOutput, as_reward_model, score_batch
from textgym.tokenization import resolve_tokenizer

SPLITS = ("train", "validation", "test")


def choose_prompt_index(rng: np.random.Generator, options: dict[str, Any] | None, n: int, what: str = "prompts") -> int:
    """``options["prompt_index"]`` if given (checked against ``n``), else a draw from ``rng``.

    Raises:
        ValueError: If the given index is outside ``[0, n)``; the message names ``what``.
    """
    if options and "prompt_index" in options:
        index = int(options["prompt_index"])
        if not 0 <= index < n:
            raise ValueError(f"prompt_index {index} out of range for {n} {what}")
        return index
    return int(rng.integers(n))


class TextGenEnv(gym.Env[dict[str, np.ndarray], int]):
    """Text generation as a token-level MDP: each step the agent writes one token.

    ## Description
    An episode starts from a prompt sampled from the task's data; the agent appends one token
    per step until it emits EOS (or another stop token) or has written ``max_new_tokens``
    tokens. A pluggable reward model scores the (prompt, completion) text.

    ## Action Space
    ``Discrete(vocab_size)``: the id of the next token, ``vocab_size = len(tokenizer)``.

    ## Observation Space
    ``Dict(input_ids=Box(0, vocab_size - 1, (max_length,), int64),
    attention_mask=Box(0, 1, (max_length,), int64))`` with
    ``max_length = max_prompt_tokens + max_new_tokens``. The token state is **right-padded**:
    the prompt's tokens (with the tokenizer's special tokens, e.g. the tiny model's
    ``<bos>``), then the generated tokens, then padding (the tokenizer's PAD id, or EOS if it
    has none) with ``attention_mask`` 0. A token never moves once written, so the real
    tokens are always ``input_ids[: attention_mask.sum()]``.

    ## Rewards
    From the reward model, on the completion decoded without special tokens.
    ``reward_mode="terminal"`` (default): 0 on every step but the last, which gets the
    score. ``reward_mode="immediate"``: each step gets the change in the score of the
    completion so far (counting the score before the first token as 0), so an episode's
    rewards sum to the terminal score while credit arrives as soon as it is earned.

    ## Episode End
    * Termination: the agent emits a stop token (EOS by default); it is not part of the
      completion text.
    * Truncation: ``max_new_tokens`` tokens were written without a stop token. The token
      budget is part of the task: the text is scored as it stands and the rewards paid so
      far are the episode's whole return, so ``info["budget_exhausted"]`` is True. An agent
      must not bootstrap a value past it (Pardo et al. 2018, "Time Limits in Reinforcement
      Learning"; bootstrapping here counts the future twice and made PPO collapse in our
      runs); it should still bootstrap at truncations by any *other* time limit (e.g. a
      ``TimeLimit`` wrapper), and never at termination. ``agents.make_env`` does exactly this.
    At the end, ``info`` holds ``"prompt"``, ``"completion"`` and ``"reward_components"``
    (name -> float).

    ## Arguments
    * ``prompts``: a sequence of prompts, or a mapping split -> prompts.
    * ``tokenizer``: ``"tiny"`` (default), ``"smollm2-135m"``, a path/Hugging Face id, or a
      transformers tokenizer; it must have an EOS token.
    * ``reward``: a :class:`~textgym.rewards.RewardModel` or a plain callable
      ``f(prompts, completions) -> floats``.
    * ``max_new_tokens``: episode length limit (default 24).
    * ``max_prompt_tokens``: observation budget for the prompt; default: the longest prompt.
      A longer prompt is an error, never silently truncated.
    * ``split``: ``"train"``, ``"validation"`` or ``"test"`` when ``prompts`` is a mapping.
    * ``reward_mode``: ``"terminal"`` or ``"immediate"``.
    * ``stop_token_ids``: tokens that end the episode (default: EOS).
    * ``render_mode``: ``"ansi"`` returns ``"prompt || completion"``; ``"human"`` prints it.
      After :meth:`set_token_values` (e.g. the agent's log-probabilities or the step
      rewards), each generated token is coloured by its value (:mod:`textgym.render`).

    ## Version History
    * v0: initial version.

    ## Example
    >>> from textgym.envs import TextGenEnv
    >>> env = TextGenEnv(["the dog ran ."], reward=lambda p, c: [float(len(s)) for s in c],
    ...                  max_new_tokens=3)
    >>> obs, info = env.reset(seed=0)
    >>> tok = env.tokenizer
    >>> for word in ["the", "cat", "slept"]:
    ...     obs, reward, terminated, truncated, info = env.step(tok.convert_tokens_to_ids(word))
    >>> (reward, terminated, truncated, info["completion"])
    (13.0, False, True, 'the cat slept')
    """

    metadata = {"render_modes": ["ansi", "human"], "render_fps": 4}

    def __init__(
        self,
        prompts: Sequence[str] | Mapping[str, Sequence[str]],
        *,
        tokenizer: str | Any = "tiny",
        reward: RewardLike,
        max_new_tokens: int = 24,
        max_prompt_tokens: int | None = None,
        split: str = "train",
        reward_mode: Literal["terminal", "immediate"] = "terminal",
        stop_token_ids: Sequence[int] | None = None,
        render_mode: str | None = None,
    ):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
        if isinstance(prompts, Mapping):
            if split not in prompts:
                raise ValueError(f"no prompts for split {split!r}; the data has splits {sorted(prompts)}")
            prompts = prompts[split]
        if isinstance(prompts, str) or not prompts:
            raise ValueError("prompts must be a non-empty sequence of strings")
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        if reward_mode not in ("terminal", "immediate"):
            raise ValueError(f"reward_mode must be 'terminal' or 'immediate', got {reward_mode!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.tokenizer = resolve_tokenizer(tokenizer)
        self.reward_model: RewardModel = as_reward_model(reward)
        self.prompts = [str(p) for p in prompts]
        self.split = split
        self.max_new_tokens = int(max_new_tokens)
        self.reward_mode = reward_mode
        self.render_mode = render_mode
        self.eos_token_id = int(self.tokenizer.eos_token_id)
        pad = self.tokenizer.pad_token_id
        self.pad_token_id = int(pad if pad is not None else self.eos_token_id)
        self.stop_token_ids = frozenset(
            int(t) for t in (stop_token_ids if stop_token_ids is not None else [self.eos_token_id])
        )
        self.vocab_size = len(self.tokenizer)

        self.prompt_ids = [np.asarray(ids, dtype=np.int64) for ids in self.tokenizer(self.prompts)["input_ids"]]
        longest = max(len(ids) for ids in self.prompt_ids)
        if max_prompt_tokens is None:
            max_prompt_tokens = longest
        elif longest > max_prompt_tokens:
            i = max(range(len(self.prompt_ids)), key=lambda k: len(self.prompt_ids[k]))
            raise ValueError(
                f"prompt {self.prompts[i]!r} has {longest} tokens, more than max_prompt_tokens="
                f"{max_prompt_tokens}; raise max_prompt_tokens or shorten the prompt"
            )
        self.max_prompt_tokens = int(max_prompt_tokens)
        self.max_length = self.max_prompt_tokens + self.max_new_tokens

        self.action_space = spaces.Discrete(self.vocab_size)
        self.observation_space = spaces.Dict(
            {
                "input_ids": spaces.Box(0, self.vocab_size - 1, (self.max_length,), np.int64),
                "attention_mask": spaces.Box(0, 1, (self.max_length,), np.int64),
            }
        )
        self._ids = np.full(self.max_length, self.pad_token_id, dtype=np.int64)
        self._mask = np.zeros(self.max_length, dtype=np.int64)
        self._prompt_index = -1
        self._prompt_len = 0
        self._n_new = 0
        self._done = True
        self._last_score = 0.0
        self.token_values: list[float | None] | None = None  # render colours (issue #6)

    # ----- helpers shared with the vector env -----
    def validate_action(self, action: Any) -> int:
        """Return ``action`` as an int, or raise if it is not in the action space."""
        arr = np.asarray(action)
        if arr.shape != () or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"action must be a single integer token id, got {action!r}")
        a = int(arr)
        if not 0 <= a < self.vocab_size:
            raise ValueError(f"action {a} is outside the action space Discrete({self.vocab_size})")
        return a

    def decode_completion(self, token_ids: Sequence[int]) -> str:
        """Completion text: generated tokens without stop tokens and special tokens."""
        ids = [int(t) for t in token_ids if int(t) not in self.stop_token_ids]
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> RewardOutput:
        """One validated, batched call of the reward model."""
        return score_batch(self.reward_model, prompts, completions)

    # ----- gymnasium API -----
    def _obs(self) -> dict[str, np.ndarray]:
        return {"input_ids": self._ids.copy(), "attention_mask": self._mask.copy()}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start an episode from a prompt drawn with ``self.np_random``.

        ``options={"prompt_index": i}`` picks the i-th prompt instead (evaluation sweeps).
        """
        super().reset(seed=seed)
        index = choose_prompt_index(self.np_random, options, len(self.prompts), "prompts")
        ids = self.prompt_ids[index]
        self._prompt_index = index
        self._prompt_len = len(ids)
        self._ids.fill(self.pad_token_id)
        self._mask.fill(0)
        self._ids[: len(ids)] = ids
        self._mask[: len(ids)] = 1
        self._n_new = 0
        self._done = False
        self._last_score = 0.0
        self.token_values = None
        return self._obs(), {"prompt": self.prompts[index]}

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Append one token; score the text at the end (or every step in immediate mode)."""
        if self._done:
            raise RuntimeError("step() called on a finished episode (or before reset()); call reset() first")
        a = self.validate_action(action)
        pos = self._prompt_len + self._n_new
        self._ids[pos] = a
        self._mask[pos] = 1
        self._n_new += 1
        terminated = a in self.stop_token_ids
        truncated = not terminated and self._n_new >= self.max_new_tokens
        self._done = terminated or truncated
        info: dict[str, Any] = {}
        reward = 0.0
        if self._done or self.reward_mode == "immediate":
            prompt = self.prompts[self._prompt_index]
            completion = self.completion
            out = self.score([prompt], [completion])
            score = float(out.total[0])
            reward = score - self._last_score if self.reward_mode == "immediate" else score
            self._last_score = score
            if self._done:
                info = {
                    "prompt": prompt,
                    "completion": completion,
                    "reward_components": {k: float(v[0]) for k, v in out.components.items()},
                    "budget_exhausted": truncated,
                }
        return self._obs(), reward, terminated, truncated, info

    @property
    def completion(self) -> str:
        """The text generated so far."""
        start = self._prompt_len
        return self.decode_completion(self._ids[start : start + self._n_new])

    def set_token_values(self, values: Sequence[float | None] | None) -> None:
        """Give render() one value per generated token to colour it by; ``None`` clears them.

        Values for the first tokens only are allowed (the rest stay uncoloured), so an agent
        can add its log-probabilities as it goes. reset() clears them.

        Raises:
            ValueError: If there are more values than generated tokens, or one is not finite.
        """
        if values is None:
            self.token_values = None
            return
        vals = [None if v is None else float(v) for v in values]
        if len(vals) > self._n_new:
            raise ValueError(f"got {len(vals)} token values but only {self._n_new} tokens are generated")
        if any(v is not None and not np.isfinite(v) for v in vals):
            raise ValueError(f"token values must be finite, got {values}")
        self.token_values = vals

    def render(self) -> str | None:
        """``"prompt || completion"``; printed in human mode, returned in ansi mode."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi' or 'human'")
            return None
        if self._prompt_index < 0:
            text = "(no episode yet: call reset())"
        elif self.token_values is not None:
            from textgym.render import colorize_tokens, token_pieces

            start = self._prompt_len
            pieces = token_pieces(self.tokenizer, self._ids[start : start + self._n_new])
            values = self.token_values + [None] * (len(pieces) - len(self.token_values))
            text = f"{self.prompts[self._prompt_index]} || {colorize_tokens(pieces, values).lstrip()}"
        else:
            text = f"{self.prompts[self._prompt_index]} || {self.completion}"
        if self.render_mode == "human":
            print(text)
            return None
        return text
