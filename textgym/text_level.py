"""A text-level view of any textgym id: one step per agent turn, the action a whole utterance.

Text-level agents (LLM loops in the style of TRL, GEM or TextArena) write a whole reply at once.
:class:`TextLevelEnv` tokenizes the reply with the env's own tokenizer, appends the turn's stop
token and steps the token-level env with those tokens, so the rewards, ends and info are exactly
the token env's: in a multi-turn env (Dialogue-v0) the simulated user then answers and the next
observation holds the conversation so far.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from gymnasium import spaces

from textgym.envs.text_gen import TextGenEnv


def _charset(tokenizer: Any) -> tuple[frozenset[str], int]:
    """Every character any single token decodes to, and the longest token's length in characters."""
    chars: set[str] = set(" \n")
    longest = 1
    for token_id in range(len(tokenizer)):
        text = tokenizer.decode([token_id])
        chars.update(text)
        longest = max(longest, len(text))
    return frozenset(chars), longest


class TextLevelEnv(gym.Env[str, str]):
    """A textgym env whose action is an utterance (``spaces.Text``) and whose observation is text.

    ``step(utterance)`` writes ``tokenizer(utterance)`` (no special tokens) followed by the
    turn's stop token (the EOS if it is one of the env's stop tokens) into the token env, one
    token per token step, and returns the sum of those steps' rewards. The step ends early if
    the token env's episode or the agent's turn ends first (the token budget, or a multi-turn
    env's ``max_reply_tokens``); ``info["utterance_tokens_written"]`` says how many of the
    utterance's tokens were written and ``info["utterance_cut"]`` whether some were not.

    The observation is the token env's real tokens (``input_ids[: attention_mask.sum()]``)
    decoded with their special tokens: the prompt, and in a multi-turn env the whole
    conversation so far.

    Args:
        env: A textgym id (made with ``gym.make(env, **make_kwargs)``) or a made env.
        **make_kwargs: Keyword arguments for ``gym.make`` when ``env`` is an id.

    Raises:
        TypeError: If the env is not a textgym token env.
    """

    metadata = {"render_modes": ["ansi"]}

    def __init__(self, env: str | gym.Env, **make_kwargs: Any):
        if isinstance(env, str):
            # The token env's own observation and info layouts are what this view decodes.
            env = gym.make(env, **make_kwargs)
        elif make_kwargs:
            raise TypeError(f"make_kwargs {sorted(make_kwargs)} given with an already made env")
        base = env.unwrapped
        if not isinstance(base, TextGenEnv):
            raise TypeError(f"TextLevelEnv needs a textgym env, got {type(base).__name__}")
        self.token_env = env
        self.base: TextGenEnv = base
        self.tokenizer = base.tokenizer
        eos = base.eos_token_id
        self.stop_token_id = int(eos) if eos in base.stop_token_ids else min(base.stop_token_ids)
        charset, longest = _charset(self.tokenizer)
        # Text spaces bound characters, not tokens: the longest token times the token budgets.
        max_length = int(base.max_length)
        self.action_space = spaces.Text(max_length=int(base.max_new_tokens) * longest, min_length=0, charset=charset)
        self.observation_space = spaces.Text(max_length=max_length * longest, min_length=0, charset=charset)
        self._done = True

    def _observe(self) -> str:
        state = self.base.slots.obs(0)
        n_real = int(state["attention_mask"].sum())
        return self.tokenizer.decode(state["input_ids"][:n_real].tolist(), skip_special_tokens=False)

    def utterance_tokens(self, utterance: str) -> list[int]:
        """The token ids ``step(utterance)`` writes: the utterance's tokens, then the stop token.

        Raises:
            TypeError: If ``utterance`` is not a string.
            ValueError: If it contains a stop token (it would end the turn part way).
        """
        if not isinstance(utterance, str):
            raise TypeError(f"the action must be a str utterance, got {type(utterance).__name__}")
        ids = [int(t) for t in self.tokenizer(utterance, add_special_tokens=False)["input_ids"]]
        stops = [t for t in ids if t in self.base.stop_token_ids]
        if stops:
            raise ValueError(
                f"utterance {utterance!r} contains stop token(s) {sorted(set(stops))}, which would end the turn early"
            )
        return ids + [self.stop_token_id]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """Reset the token env; the observation is the prompt's text."""
        super().reset(seed=seed)
        _, info = self.token_env.reset(seed=seed, options=options)
        self._done = False
        return self._observe(), info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Write one whole agent turn; return the sum of its token steps' rewards."""
        if self._done:
            raise RuntimeError("step() called on a finished episode (or before reset()); call reset() first")
        ids = self.utterance_tokens(action)
        episode = self.base.episode
        turns_before = len(episode.agent_turns) if episode is not None else 0
        total, terminated, truncated, info, written = 0.0, False, False, {}, 0
        for token_id in ids:
            _, reward, terminated, truncated, info = self.token_env.step(token_id)
            total += float(reward)
            written += 1
            # The turn ended (stop token, or max_reply_tokens) or the episode did: the next
            # token would belong to another turn.
            if terminated or truncated or len(self.base.episode.agent_turns) > turns_before:
                break
        self._done = terminated or truncated
        info = dict(info)
        n_utterance = len(ids) - 1
        info["utterance_tokens_written"] = min(written, n_utterance)
        info["utterance_cut"] = written < len(ids)
        return self._observe(), total, terminated, truncated, info

    def render(self) -> str:
        """The token env's ``"ansi"`` text of the episode."""
        episode = self.base.episode
        if episode is None:
            return "(no episode yet: call reset())"
        return self.base.render_text(episode, self.base.slots.replies(0))

    def close(self) -> None:
        self.token_env.close()
