"""Adapters for text-level trainers in the style of Hugging Face TRL; TRL is not imported.

* :func:`trl_reward_function`: any textgym reward (a :class:`~textgym.rewards.RewardModel`, a
  plain callable or a textgym id's own reward) as a reward function
  ``f(prompts, completions, **kwargs) -> list[float]``, as ``GRPOTrainer(reward_funcs=...)`` calls it.
* :class:`DialogueUserEnvironment`: Dialogue-v0's simulated user as a class for
  ``GRPOTrainer(environment_factory=...)`` (TRL >= 1.16): ``reset(**row)`` returns the
  conversation's opening, the public method :meth:`~DialogueUserEnvironment.reply` is the tool
  the model calls to speak to the customer, and ``get_reward()`` gives the episode's return;
  :func:`dialogue_rows` builds its dataset rows for a chat tokenizer (with
  :func:`textgym.trl_chat.use_speak_tool`, TRL's own tool loop plays the conversation).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym

from textgym.envs.dialogue import DialogueEnv
from textgym.envs.text_gen import TextGenEnv
from textgym.rewards.base import RewardLike, as_reward_model, score_batch
from textgym.text_level import TextLevelEnv


def _as_text(value: str | Sequence[Mapping[str, Any]], what: str, role: str) -> str:
    """A plain string, or TRL's conversational form (a list of messages) reduced to one text.

    For a completion: the contents of its messages with ``role`` (the assistant), joined by
    newlines, as a textgym env joins an agent's turns; for a prompt: the last message's content.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence) and all(isinstance(m, Mapping) and "content" in m for m in value):
        if what == "prompt":
            return str(value[-1]["content"]) if value else ""
        return "\n".join(str(m["content"]) for m in value if m.get("role", role) == role)
    raise TypeError(
        f"each {what} must be a str or a list of {{'role', 'content'}} messages, got {type(value).__name__}"
    )


def trl_reward_function(reward: RewardLike | str, name: str | None = None) -> Callable[..., list[float]]:
    """A textgym reward as a TRL-style reward function ``f(prompts, completions, **kwargs)``.

    Args:
        reward: A :class:`~textgym.rewards.RewardModel`, a plain ``f(prompts, completions)``
            callable, or a textgym id (e.g. ``"textgym/CatText-v0"``), whose env's own reward
            model is used.
        name: The function's ``__name__`` (TRL logs rewards under it); default: the reward's name.

    Returns:
        A function returning one float per (prompt, completion) pair; extra keyword arguments
        (TRL passes dataset columns and the trainer state) are ignored. Completions are scored
        as the env scores a reply: the text as given (TRL decodes without special tokens, as
        the env does).

    Raises:
        TypeError: If the id is not a textgym env, or ``reward`` is not callable.
    """
    if isinstance(reward, str):
        env = gym.make(reward)
        base = env.unwrapped
        if not isinstance(base, TextGenEnv):
            raise TypeError(f"{reward!r} is not a textgym env")
        model = base.reward_model
        env.close()
    else:
        model = as_reward_model(reward)

    def reward_function(prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float]:
        prompt_texts = [_as_text(p, "prompt", "user") for p in prompts]
        completion_texts = [_as_text(c, "completion", "assistant") for c in completions]
        return [float(x) for x in score_batch(model, prompt_texts, completion_texts).total]

    reward_function.__name__ = name or model.name
    return reward_function


def dialogue_rows(
    indices: Sequence[int], env_id: str = "textgym/Dialogue-v0", **make_kwargs: Any
) -> list[dict[str, Any]]:
    """Dataset rows for ``GRPOTrainer(environment_factory=...)`` on a chat-format dialogue env.

    Each row's ``prompt`` is scenario ``i``'s system message (the task and the facts, as the env
    shows them) and an empty user message, to which TRL appends what
    :meth:`DialogueUserEnvironment.reset` returns (the customer's first message); ``prompt_index``
    picks the scenario. Rendered with the tokenizer's chat template (and the generation prompt),
    this is the token env's own prompt for the scenario.

    Args:
        indices: Scenario indices of the split.
        env_id: The dialogue id.
        **make_kwargs: Keyword arguments for ``gym.make``; use the ones the environments get
            (the scenarios, hence the facts, depend on ``split`` and ``n_scenarios``).

    Returns:
        One ``{"prompt": [...], "prompt_index": i}`` dict per index.

    Raises:
        TypeError: If the id is not a dialogue env.
        ValueError: If it renders transcripts (no chat template), or an index is out of range.
    """
    env = gym.make(env_id, **make_kwargs)
    base = env.unwrapped
    if not isinstance(base, DialogueEnv):
        raise TypeError(f"{env_id!r} is not a dialogue env")
    rows = []
    for index in indices:
        opening = base.opening_messages(int(index))
        rows.append({"prompt": [*opening[:-1], {"role": "user", "content": ""}], "prompt_index": int(index)})
    env.close()
    return rows


class DialogueUserEnvironment:
    """Dialogue-v0's simulated user for ``GRPOTrainer(environment_factory=DialogueUserEnvironment)``.

    TRL 1.16 makes one instance per rollout, calls ``reset(**row)`` with the dataset row's
    columns (a ``prompt_index`` column picks the scenario; otherwise one is drawn) and appends
    the returned text to the prompt's last message, exposes every public method (here
    :meth:`reply`, the only one) to the model as a tool, and scores a finished rollout with
    :meth:`get_reward`. The episode is the text-level view
    (:class:`~textgym.text_level.TextLevelEnv`) of the id, so its return is the token env's for
    the same replies.

    With a chat tokenizer (``tokenizer="smollm2-135m"``: the chat format) the conversation is
    messages: the rows come from :func:`dialogue_rows` (the facts in the system message),
    ``reset`` returns the customer's first message and ``reply`` the customer's answer, as the
    env shows them; with :func:`textgym.trl_chat.use_speak_tool` on the tokenizer, TRL renders
    the conversation exactly as the token env does and reads every assistant turn as a ``reply``.
    In the transcript format (the tiny model's) ``reset`` returns the whole prompt text.

    Args:
        env_id: The dialogue id.
        **make_kwargs: Keyword arguments for ``gym.make`` (e.g. ``tokenizer="smollm2-135m"``).

    Raises:
        TypeError: If the id is not a dialogue env.
    """

    def __init__(self, env_id: str = "textgym/Dialogue-v0", **make_kwargs: Any):
        self._env = TextLevelEnv(env_id, **make_kwargs)
        if not isinstance(self._env.base, DialogueEnv):
            raise TypeError(f"{env_id!r} is not a dialogue env")
        self._dialogue: DialogueEnv = self._env.base
        self._chat = self._dialogue.conversation_format == "chat"
        self._return = 0.0
        self._done = True

    def reset(self, **row: Any) -> str:
        """Start a conversation; return its opening.

        Chat format: the customer's first message (the row's ``prompt`` must be the scenario's,
        from :func:`dialogue_rows`). Transcript format: the prompt text (facts and first message).

        Raises:
            ValueError: In the chat format, if the row has no ``prompt`` or it is not the
                scenario's system message followed by an empty user message.
        """
        options = {"prompt_index": int(row["prompt_index"])} if "prompt_index" in row else None
        observation, _ = self._env.reset(seed=row.get("seed"), options=options)
        self._return, self._done = 0.0, False
        if not self._chat:
            return observation
        opening = self._dialogue.opening_messages(self._dialogue.episode.index)
        expected = [*opening[:-1], {"role": "user", "content": ""}]
        prompt = row.get("prompt")
        if prompt is None or [dict(m) for m in prompt] != expected:
            # Without the facts in its prompt the model could not answer; TRL's placeholder rows have none.
            raise ValueError(
                "in the chat format each row's 'prompt' must be its scenario's system message and an empty user "
                f"message (use dialogue_rows with the same make kwargs); got {prompt!r} for scenario "
                f"{self._dialogue.episode.index}"
            )
        return opening[-1]["content"]

    def reply(self, message: str) -> str:
        """Send your reply to the customer and read their answer.

        Args:
            message: What you say to the customer.

        Returns:
            The customer's next message, or a note that the conversation has ended.
        """
        if self._done:
            return "(the conversation has ended)"
        _, reward, terminated, truncated, _ = self._env.step(message)
        self._return += reward
        self._done = terminated or truncated
        last = self._dialogue.episode.turns[-1]
        answer = self._dialogue.shown_text(last.text) if last.role not in ("assistant", "prompt") else ""
        if self._done:
            return f"{answer} (the conversation has ended)".strip()
        return answer

    def get_reward(self) -> float:
        """The episode's return so far: the sum of the token env's rewards for the replies sent."""
        return float(self._return)
